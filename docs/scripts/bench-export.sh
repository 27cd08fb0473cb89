#!/usr/bin/env bash
# Export benchmark (issue 23), side by side in one JVM per thread count (docs/PERFORMANCE.md, "Exported students"):
# the demo's student (mlp:64, 784-64-10) and the CNN (cnn:20,50:500, the demo teacher's shape), random init (seed 42),
# exported with distillery's exporter (fp32, and int8 calibrated on 1,000 synthetic pixel rows), run by
#   DL4J output(), DL4J through LogitModel (the fast dense path for the MLP), ONNX Runtime fp32 and ONNX Runtime int8:
# latency of one row (median of CALLS single-row calls) and rows/s on batches of 1024 (BATCHES batches), the engines
# alternated within every run, each figure the median of RUNS runs; bytes on disk of each file. Once with
# OMP_NUM_THREADS=1 and once with 2 (ND4J's OpenMP threads and ONNX Runtime's intra-op threads alike).
# Usage: docs/scripts/bench-export.sh [RUNS=7] [CALLS=300] [BATCHES=20]
#        (BENCH_CP=<classpath with the compiled test classes> skips Maven; BENCH_OUT, default /tmp/distillery-exportbench)
# Prints the JSON lines (also in $BENCH_OUT/results-*.jsonl) and then the Markdown table of docs/PERFORMANCE.md
# (docs/scripts/export_md.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-7}"
CALLS="${2:-300}"
BATCHES="${3:-20}"
OUT="${BENCH_OUT:-/tmp/distillery-exportbench}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
export OMP_WAIT_POLICY=passive
MVN=$(command -v mvnl || command -v mvn)
if [ -n "${BENCH_CP:-}" ]; then
  CP="$BENCH_CP"
else
  "$MVN" -B -q -o test-compile dependency:build-classpath -pl pipeline-jobs -am -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-cp.txt >/dev/null
  CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
fi
mkdir -p "$OUT"
RESULTS="$OUT/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
echo "# export benchmark: runs=$RUNS calls=$CALLS batches=$BATCHES, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(date -u +%FT%TZ)" | tee "$RESULTS"
for threads in 1 2; do
  OMP_NUM_THREADS=$threads java -Xmx4g -Dlog4j2.configurationFile=deploy/local/log4j2.properties \
    -cp "$CP" org.distillery.jobs.export.ExportBench "$OUT/models" "$RUNS" "$CALLS" "$BATCHES" \
    mlp:64 cnn:20,50:500 2>"$OUT/bench-$threads.log" | grep '^{' | tee -a "$RESULTS"
done
python3 docs/scripts/export_md.py "$RESULTS"
