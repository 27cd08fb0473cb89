#!/usr/bin/env bash
# Deep mutual learning on the image demo's scarce-label split: for each seed, the demo's baseline (mlp:64 trained alone
# on the 1,000 labelled rows, hard labels) and K = 2 mutual peers of the same shape (train --objective mutual on all
# 55,000 transfer rows, hard labels on the same 1,000, the peers' softened predictions on every row), each evaluated on
# the test split; prints the table of docs/scripts/mutual_md.py (README). Usage: docs/scripts/mutual.sh OUT_DIR SEED... [-- TRAIN_ARGS]
# (TRAIN_ARGS go to the mutual training, e.g. --alpha 0.1). Ingests Fashion-MNIST as the demo does into OUT_DIR/data
# unless it is there. The same seed selects the same 1,000 labelled rows for both, and peer 1 starts from the
# baseline's initialisation (peer k from seed + k - 1).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$1"; shift
SEEDS=(); EXTRA=()
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then shift; EXTRA=("$@"); break; fi
  SEEDS+=("$1"); shift
done
D="${DISTILL:-$ROOT/bin/distill}"
[[ -e $OUT/data/test ]] || "$D" ingest --out "$OUT/data" | tail -1
for s in "${SEEDS[@]}"; do
  [[ -e $OUT/$s/baseline ]] || "$D" train --objective hard --transfer "$OUT/data/train" \
      --validation "$OUT/data/validation" --labelled 1000 --seed "$s" --epochs 200 --patience 20 \
      --out "$OUT/$s/baseline" | tail -1
  [[ -e $OUT/$s/mutual ]] || "$D" train --objective mutual --peers 2 --transfer "$OUT/data/train" \
      --validation "$OUT/data/validation" --labelled 1000 --seed "$s" --epochs 30 --patience 8 "${EXTRA[@]}" \
      --out "$OUT/$s/mutual" | tail -1
  [[ -e $OUT/$s/evaluation ]] || "$D" evaluate --test "$OUT/data/test" --model baseline="$OUT/$s/baseline" \
      --model mutual_1="$OUT/$s/mutual/student-1" --model mutual_2="$OUT/$s/mutual/student-2" \
      --out "$OUT/$s/evaluation" | tail -1
done
python3 "$ROOT/docs/scripts/mutual_md.py" "$OUT" "${SEEDS[@]}"
