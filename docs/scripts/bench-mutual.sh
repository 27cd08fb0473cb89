#!/usr/bin/env bash
# Issue-22 speed figures, side by side in one run (docs/PERFORMANCE.md, "Mutual training and augmentation"):
# (1) train --objective mutual --peers 2 against one student of the same shape trained alone (objective hard), both
# over every row of the same transfer set with hard labels, alternated RUNS times; examples/s per student from the
# steady epochs' seconds (scores.jsonl, epochs 2..EPOCHS: the first also caches the minibatches);
# (2) augment rows/s against the label job's rows/s on what augment wrote (--copies 1: every row and one copy),
# alternated RUNS times; each from its job's JSON summary (rows / seconds).
# Usage: docs/scripts/bench-mutual.sh RUN_DIR [RUNS=3] [EPOCHS=3]   RUN_DIR: an image demo run (data/train,
# data/validation, models/teacher). DISTILL=... picks the launcher (default bin/distill of this checkout). JSON lines
# go to $BENCH_OUT/results-*.jsonl (default /tmp/distillery-mutualbench); docs/scripts/mutual_bench_md.py prints the
# table from them.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN="$1"; RUNS="${2:-3}"; EPOCHS="${3:-3}"
D="${DISTILL:-$ROOT/bin/distill}"
OUT="${BENCH_OUT:-/tmp/distillery-mutualbench}"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
W="$OUT/work-$STAMP"; RESULTS="$OUT/results-$STAMP.jsonl"
mkdir -p "$W"
echo "{\"case\":\"machine\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\",\"nproc\":$(nproc),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"runs\":$RUNS,\"epochs\":$EPOCHS}" >> "$RESULTS"
epoch_json() { # CASE RUN_INDEX OUT_DIR SUMMARY_LINE: steady epoch seconds of OUT_DIR/scores.jsonl
  python3 - "$@" <<'PY'
import json, statistics, sys
case, i, out, summary = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
epochs = [json.loads(l) for l in open(f"{out}/scores.jsonl")]
steady = [e["seconds"] for e in epochs if e["epoch"] >= 2]
print(json.dumps({"case": case, "run": i, "rows": summary["rows"], "epoch_seconds": steady,
                  "job_seconds": summary["seconds"], "examples_per_s": summary["rows"] / statistics.median(steady)}))
PY
}
for i in $(seq 1 "$RUNS"); do
  s=$("$D" train --objective hard --transfer "$RUN/data/train" --validation "$RUN/data/validation" --arch mlp:64 \
      --epochs "$EPOCHS" --patience "$EPOCHS" --seed 42 --out "$W/alone-$i" | tail -1)
  epoch_json alone "$i" "$W/alone-$i" "$s" | tee -a "$RESULTS"
  s=$("$D" train --objective mutual --peers 2 --transfer "$RUN/data/train" --validation "$RUN/data/validation" \
      --arch mlp:64 --epochs "$EPOCHS" --patience "$EPOCHS" --seed 42 --out "$W/mutual-$i" | tail -1)
  epoch_json mutual "$i" "$W/mutual-$i" "$s" | tee -a "$RESULTS"
  s=$("$D" augment --transfer "$RUN/data/train" --transform shift=2,flip --copies 1 --out "$W/augmented-$i" | tail -1)
  python3 -c 'import json,sys; s=json.loads(sys.argv[2]); print(json.dumps({"case":"augment","run":int(sys.argv[1]),"rows":s["rows"],"job_seconds":s["seconds"],"rows_per_s":s["rows"]/s["seconds"]}))' "$i" "$s" | tee -a "$RESULTS"
  s=$("$D" label --transfer "$W/augmented-$i" --teacher "$RUN/models/teacher" -T 1 --out "$W/labelled-$i" | tail -1)
  python3 -c 'import json,sys; s=json.loads(sys.argv[2]); print(json.dumps({"case":"label","run":int(sys.argv[1]),"rows":s["rows"],"job_seconds":s["seconds"],"rows_per_s":s["rows"]/s["seconds"]}))' "$i" "$s" | tee -a "$RESULTS"
  rm -rf "$W/augmented-$i" "$W/labelled-$i"
done
echo "{\"case\":\"machine_end\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$RESULTS"
python3 "$ROOT/docs/scripts/mutual_bench_md.py" "$RESULTS"
