#!/usr/bin/env bash
# Teacher-labelled augmentations on the image demo's scarce-label case. RUN_DIR is a finished image demo run
# (data/{train,validation,test}, models/teacher, soft-targets/train). For each seed: the demo's baseline, pseudo_label
# and KD student on the 55,000 real images (docs/scripts/seeds.sh, reused as it is), then, for each transform set
# below, `augment --labelled 1000 --seed S` (only the 1,000 rows `train --labelled 1000 --seed S` keeps labelled,
# kept with their labels, plus COPIES transformed copies of each; no other image), `label` with the run's teacher and
# the KD recipe of seeds.sh (mlp:64, T=1, alpha=1, 30 epochs, patience 8) on those soft targets; all evaluated on the
# test split. Prints the table of docs/scripts/augment_md.py (README). Usage:
# docs/scripts/augment-study.sh RUN_DIR OUT_DIR SEED...   (COPIES=20 by default; DISTILL overrides bin/distill)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN="$1"; OUT="$2"; shift 2
SEEDS=("$@")
D="${DISTILL:-$ROOT/bin/distill}"
COPIES="${COPIES:-20}"
declare -A TRANSFORMS=([aug_shift_flip]="shift=2,flip" [aug_mixup]="shift=2,flip,mixup=0.4")
ARMS=(aug_shift_flip aug_mixup)
for s in "${SEEDS[@]}"; do
  for arm in "${ARMS[@]}"; do
    w="$OUT/$s/$arm"
    [[ -e $w/transfer ]] || "$D" augment --transfer "$RUN/data/train" --labelled 1000 --seed "$s" \
        --transform "${TRANSFORMS[$arm]}" --copies "$COPIES" --out "$w/transfer" | tail -1
    [[ -e $w/soft-targets ]] || "$D" label --transfer "$w/transfer" --teacher "$RUN/models/teacher" -T 1 \
        --out "$w/soft-targets" | tail -1
    [[ -e $w/student ]] || "$D" train --objective kd -T 1 --alpha 1 --soft-targets "$w/soft-targets" \
        --validation "$RUN/data/validation" --seed "$s" --epochs 30 --patience 8 --out "$w/student" | tail -1
  done
  [[ -e $OUT/$s/augment-evaluation ]] || "$D" evaluate --test "$RUN/data/test" --teacher "$RUN/models/teacher" \
      --model aug_shift_flip="$OUT/$s/aug_shift_flip/student" --model aug_mixup="$OUT/$s/aug_mixup/student" \
      --out "$OUT/$s/augment-evaluation" | tail -1
  "$ROOT/docs/scripts/seeds.sh" "$RUN" "$OUT" "$s"   # baseline, pseudo_label, kd on the 55,000 images
done
python3 "$ROOT/docs/scripts/augment_md.py" "$OUT" "${SEEDS[@]}"
