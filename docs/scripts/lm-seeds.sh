#!/usr/bin/env bash
# Trains the LM demo's students again with other seeds on a finished `demo --task lm` run, evaluates them on the test
# split against the run's teacher, and prints the README's seeds table (docs/scripts/lm_readme_md.py seeds: mean +/- sd
# per model over the run's own seed and these, each KD student minus the baseline paired by seed).
# Usage: docs/scripts/lm-seeds.sh RUN_DIR OUT_DIR SEED... [-- STUDENT...]
# STUDENT: baseline, kd_slice, kd_corpus, kd_generated (default: all four). The teacher, its soft targets and its
# generated text stay fixed; each student's recipe is read from the run's own manifest of it (shape, epochs,
# patience, batch, learning rate, T, alpha, slice) and only the seed differs, which changes the initialisation, the
# data order and so which windows form the slice. The script checks that each retrained student's config equals the
# run's but for the seed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN="$1"; OUT="$2"; shift 2
SEEDS=(); STUDENTS=(baseline kd_slice kd_corpus kd_generated)
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then shift; STUDENTS=("$@"); break; fi
  SEEDS+=("$1"); shift
done
D="$ROOT/bin/distill"

# the train arguments of the run's student NAME with seed SEED, from its manifest's config
recipe() {
  python3 - "$RUN/students/$1/_manifest.json" "$2" "$3" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1], encoding="utf-8"))["config"]
a = ["--task", "lm", "--objective", c["objective"].lower(), "--validation", c["validation"],
     "--embedding", c["lm"]["embedding"], "--hidden", c["lm"]["hidden"], "--layers", c["lm"]["layers"],
     "--epochs", c["epochs"], "--patience", c["patience"], "--learning-rate", c["learningRate"],
     "--lr-schedule", c["lrSchedule"], "--batch-size", c["batchSize"], "--workers", c["workers"],
     "--averaging-frequency", c["averagingFrequency"], "--storage-level", c["engine"]["storageLevel"],
     "--divergence", c["divergence"], "--seed", sys.argv[2], "--out", sys.argv[3]]
for key, flag in (("transfer", "--transfer"), ("softTargets", "--soft-targets"), ("windows", "--windows")):
    if c.get(key) is not None:
        a += [flag, c[key]]
if c["temperatures"]:
    a += ["-T", ",".join(map(str, c["temperatures"]))]
if c["objective"].lower() == "kd":
    a += ["--alpha", ",".join(map(str, c["alphas"]))]
print("\n".join(map(str, a)))
EOF
}

# fails unless the retrained student's config is the run's but for seed and out
same_recipe() {
  python3 - "$RUN/students/$1/_manifest.json" "$2/_manifest.json" <<'EOF'
import json, sys
a, b = (json.load(open(p, encoding="utf-8"))["config"] for p in sys.argv[1:])
diff = sorted(k for k in set(a) | set(b) if k not in ("seed", "out", "mode") and a.get(k) != b.get(k))
if diff:
    sys.exit(f"{sys.argv[2]}: config differs from the run's student in {diff}")
EOF
}

for s in "${SEEDS[@]}"; do
  models=()
  for name in "${STUDENTS[@]}"; do
    out="$OUT/$s/$name"
    if [[ ! -e $out ]]; then
      mapfile -t args < <(recipe "$name" "$s" "$out")
      "$D" train "${args[@]}" | tail -1
    fi
    same_recipe "$name" "$out"
    models+=(--model "$name=$out")
  done
  [[ -e $OUT/$s/evaluation ]] || "$D" evaluate --test "$RUN/data/test" --teacher "$RUN/models/teacher" \
      "${models[@]}" --out "$OUT/$s/evaluation" | tail -1
done
python3 "$ROOT/docs/scripts/lm_readme_md.py" seeds "$RUN" "$OUT" "${SEEDS[@]}"   # the README's seeds table
