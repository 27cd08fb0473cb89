#!/usr/bin/env bash
# Trains the PyTorch reference (docs/scripts/lm_reference_torch.py) with the recipes of a finished `demo --task lm`
# run's slice students, baseline (objective hard) and kd_slice, each read from the run's manifest of the student
# (shape, epochs, patience, batch, learning rate, T, alpha, divergence, the slice of --windows, workers and averaging
# frequency: train's parameter averaging run serially), once per SEED: the seed picks the same slice as train's with
# that seed. Scores them on the run's test split (against the teacher's
# stored test logits only if RUN_DIR/soft-targets/test exists) and prints the README's reference table
# (docs/scripts/lm_readme_md.py reference): distillery's students (the run's own seed from RUN_DIR/report.json, other
# seeds from SEEDS_DIR/SEED/evaluation/report.json, docs/scripts/lm-seeds.sh) beside the reference's.
# Usage: docs/scripts/lm-reference.sh RUN_DIR OUT_DIR SEED... [-- SEEDS_DIR]
# One run at a time, on THREADS torch threads (default 2); a reference already in OUT_DIR/SEED/NAME.json is kept.
# WORKERS=1 trains the reference as one process instead (every minibatch an optimiser step).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN="$1"; OUT="$2"; shift 2
SEEDS=(); JAVA_SEEDS=""
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then JAVA_SEEDS="${2:-}"; break; fi
  SEEDS+=("$1"); shift
done
REF="$ROOT/docs/scripts/lm_reference_torch.py"

# the script's arguments for the run's student NAME with seed SEED, from its manifest's config
recipe() {
  python3 - "$RUN" "$1" "$2" "${THREADS:-2}" "${WORKERS:-}" <<'EOF2'
import json, os, sys
run, name, seed, threads, workers = sys.argv[1:]
c = json.load(open(os.path.join(run, "students", name, "_manifest.json"), encoding="utf-8"))["config"]
if c["lrSchedule"] != "constant":
    sys.exit(f"{name}: learning-rate schedule {c['lrSchedule']}; the reference has only a constant one")
a = ["--objective", c["objective"].lower(), "--validation", c["validation"], "--test", os.path.join(run, "data", "test"),
     "--embedding", c["lm"]["embedding"], "--hidden", c["lm"]["hidden"], "--layers", c["lm"]["layers"],
     "--epochs", c["epochs"], "--patience", c["patience"], "--learning-rate", c["learningRate"],
     "--batch-size", c["batchSize"], "--divergence", {"FORWARD_KL": "forward", "REVERSE_KL": "reverse",
                                                      "JSD": "js"}[c["divergence"]],
     "--workers", workers or c["workers"], "--averaging-frequency", c["averagingFrequency"],
     "--seed", seed, "--threads", threads]
for key, flag in (("transfer", "--transfer"), ("softTargets", "--soft-targets"), ("windows", "--windows")):
    if c.get(key) is not None:
        a += [flag, c[key]]
if len(c["temperatures"]) > 1 or len(c["alphas"]) > 1:
    sys.exit(f"{name}: a schedule of T or alpha; the reference takes one of each")
if c["temperatures"]:
    a += ["-T", c["temperatures"][0]]
a += ["--alpha", c["alphas"][0]]
if os.path.isdir(os.path.join(run, "soft-targets", "test")):
    a += ["--test-soft-targets", os.path.join(run, "soft-targets", "test")]
print("\n".join(map(str, a)))
EOF2
}

for s in "${SEEDS[@]}"; do
  mkdir -p "$OUT/$s"
  for name in baseline kd_slice; do
    out="$OUT/$s/$name.json"
    [[ -e $out ]] && continue
    mapfile -t args < <(recipe "$name" "$s")
    start=$SECONDS
    python3 "$REF" "${args[@]}" --out "$out.part" > /dev/null
    mv "$out.part" "$out"
    echo "reference $name seed $s: $((SECONDS - start)) s" >&2
  done
done
python3 "$ROOT/docs/scripts/lm_readme_md.py" reference "$RUN" "$OUT" "${JAVA_SEEDS:--}" "${SEEDS[@]}"
