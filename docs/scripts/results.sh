#!/usr/bin/env bash
# Produces docs/RESULTS.md: on a finished demo run's teacher and soft targets (Fashion-MNIST, 1,000 hard labels kept),
# trains a baseline, KD students over a small (T, alpha) grid, reverse-KL and Jensen-Shannon students, FitNets-hint
# and relation-based students (on soft targets relabelled with the teacher's last hidden layer stored), and a
# self-distilled student (the teacher's own architecture), each with 3 seeds, evaluates all of them on the test split
# (calibration fitted on validation), and adds the omitted-class table of `distill omitted-class` when OMITTED_RUN has it.
# Usage: docs/scripts/results.sh RUN_DIR OUT_DIR [OMITTED_RUN]     (reruns skip what is already published)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN="$1"; OUT="$2"; OMITTED="${3:-}"
SEEDS=(${SEEDS:-1 2 3})
D="$ROOT/bin/distill"
TEACHER_ARCH=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['facts']['architecture'])" "$RUN/models/teacher/_manifest.json")
# The teacher's last hidden layer (index among its layers: two per convolution block, then the dense ones).
HINT_LAYER=$(python3 -c "import sys; p=sys.argv[1].split(':'); print((2*len(p[1].split(',')) if p[0]=='cnn' else 0) + len(p[-1].split(',')) - 1)" "$TEACHER_ARCH")
HINTED="$OUT/soft-targets-hint"
[[ -e $HINTED/_SUCCESS ]] || "$D" label --transfer "$RUN/data/train" --teacher "$RUN/models/teacher" -T 1 \
    --hint-layer "$HINT_LAYER" --out "$HINTED" | tail -1
train() { # name seed args...
  local name="$1" seed="$2"; shift 2
  [[ -e $OUT/$seed/$name/_SUCCESS ]] || "$D" train --validation "$RUN/data/validation" --labelled 1000 --seed "$seed" \
      --out "$OUT/$seed/$name" "$@" | tail -1
}
for s in "${SEEDS[@]}"; do
  soft=(--objective kd --soft-targets "$RUN/soft-targets/train" --epochs 30 --patience 8 --retemper)
  train baseline "$s" --objective hard --transfer "$RUN/data/train" --epochs 200 --patience 20
  train kd_T1_a1 "$s" "${soft[@]}" -T 1 --alpha 1
  train kd_T4_a1 "$s" "${soft[@]}" -T 4 --alpha 1
  train kd_T1_a0.5 "$s" "${soft[@]}" -T 1 --alpha 0.5
  train kd_T4_a0.5 "$s" "${soft[@]}" -T 4 --alpha 0.5
  train reverse_kl "$s" "${soft[@]}" -T 1 --alpha 1 --divergence reverse
  train jsd "$s" "${soft[@]}" -T 1 --alpha 1 --divergence js
  hinted=(--objective kd --soft-targets "$HINTED" --epochs 30 --patience 8 -T 1 --alpha 1)
  train hints_two_stage "$s" "${hinted[@]}" --hint-weight 1 --hint-schedule two-stage --hint-epochs 5
  train hints_joint "$s" "${hinted[@]}" --hint-weight 1 --hint-schedule joint
  train rkd "$s" "${hinted[@]}" --relation rkd --relation-weight 25       # Park et al.'s lambda_D = 25, lambda_A = 50
  train sp "$s" "${hinted[@]}" --relation sp --relation-weight 3000       # Tung and Mori's gamma = 3000
  train self_distilled "$s" --objective kd --soft-targets "$RUN/soft-targets/train" -T 1 --alpha 1 --retemper \
      --arch "$TEACHER_ARCH" --epochs 4 --patience 4
  models=()
  for m in baseline kd_T1_a1 kd_T4_a1 kd_T1_a0.5 kd_T4_a0.5 reverse_kl jsd hints_two_stage hints_joint rkd sp \
      self_distilled; do
    models+=(--model "${m//./}=$OUT/$s/$m")   # model names take no dots: kd_T1_a0.5 -> kd_T1_a05
  done
  "$D" evaluate --test "$RUN/data/test" --teacher "$RUN/models/teacher" --validation "$RUN/data/validation" \
      "${models[@]}" --out "$OUT/$s/evaluation" --mode overwrite | tail -1   # cheap; always reflects every model
done
python3 "$ROOT/docs/scripts/results_md.py" "$RUN" "$OUT" "$OMITTED" "${SEEDS[@]}" > "$ROOT/docs/RESULTS.md"
echo "wrote $ROOT/docs/RESULTS.md"
