#!/usr/bin/env bash
# Trains the pseudo-label and KD students again with other seeds on a finished demo run's soft targets, evaluates them
# on the test split, and prints the README's seeds table (docs/scripts/readme_md.py seeds: mean +/- std per model,
# KD minus pseudo-label paired by seed). Usage: docs/scripts/seeds.sh RUN_DIR OUT_DIR SEED... [-- TRAIN_ARGS]
# (TRAIN_ARGS are passed to both trainings, e.g. --learning-rate 0.0005). The teacher and soft targets stay fixed;
# a seed changes the student's initialisation, the data order and which 1,000 rows keep their label.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN="$1"; OUT="$2"; shift 2
SEEDS=(); EXTRA=()
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then shift; EXTRA=("$@"); break; fi
  SEEDS+=("$1"); shift
done
D="$ROOT/bin/distill"
for s in "${SEEDS[@]}"; do
  common=(--soft-targets "$RUN/soft-targets/train" --validation "$RUN/data/validation" --labelled 1000 --seed "$s"
          --epochs 30 --patience 8 "${EXTRA[@]}")
  [[ -e $OUT/$s/baseline ]] || "$D" train --objective hard --transfer "$RUN/data/train" --validation "$RUN/data/validation" \
      --labelled 1000 --seed "$s" --epochs 200 --patience 20 --out "$OUT/$s/baseline" | tail -1
  [[ -e $OUT/$s/pseudo_label ]] || "$D" train --objective pseudo_label "${common[@]}" --out "$OUT/$s/pseudo_label" | tail -1
  [[ -e $OUT/$s/kd ]] || "$D" train --objective kd -T 1 --alpha 1 "${common[@]}" --out "$OUT/$s/kd" | tail -1
  [[ -e $OUT/$s/evaluation ]] || "$D" evaluate --test "$RUN/data/test" --teacher "$RUN/models/teacher" \
      --model baseline="$OUT/$s/baseline" --model pseudo_label="$OUT/$s/pseudo_label" --model student="$OUT/$s/kd" \
      --out "$OUT/$s/evaluation" | tail -1
done
python3 "$ROOT/docs/scripts/readme_md.py" seeds "$RUN" "$OUT" "${SEEDS[@]}"   # the README's seeds table, one row
