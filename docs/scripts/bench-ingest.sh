#!/usr/bin/env bash
# Ingest benchmark (issue 18), every engine side by side in one run (docs/PERFORMANCE.md, "Ingest benchmark"):
#  (a) the ingest job against a plain Spark read + write of the same table, in one JVM (Spark local[2]), runs
#      alternated after a warm-up pair on 20,000 rows: a CSV table with 784 numeric columns (read with header and
#      inferSchema by both) and a Parquet table with an array column, ROWS rows each. The ingest command is a user's:
#      --id id --label label (strings c0..c9), --features-prefix px_ or --features features, --scale 1/255,
#      --split validation=0.1,test=0.1. Target: ingest <= 1.5x the plain read + write.
#  (b) PNG decoding, one thread, the same bytes (Fashion-MNIST's 70,000 images, 28x28 grey): ingest's ImageDecoder
#      (javax.imageio) against Pillow (docs/scripts/bench_ingest_pil.py, to numpy float32), passes alternated;
#  (c) the ingest job over a Parquet table of those PNG bytes (decode, scale, split, write; 2 task threads) against a
#      plain read + write of the same table.
# Medians of RUNS runs; the table for docs/PERFORMANCE.md is printed at the end (docs/scripts/ingest_md.py).
# Usage: docs/scripts/bench-ingest.sh [ROWS=1000000] [RUNS=3]   (needs the test classes compiled and, for (b),
#        python3 with numpy and Pillow (BENCH_PYTHON); BENCH_CP=<classpath with the compiled classes> skips Maven)
# Data, made once under BENCH_DATA (default /tmp/distillery-ingestbench), not timed, kept for re-runs: ~2.3 KB per
# row as CSV and ~0.7 KB as Parquet (1M rows: ~3 GB); each run's output is deleted after it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-1000000}"
RUNS="${2:-3}"
DATA="${BENCH_DATA:-/tmp/distillery-ingestbench}"
PY="${BENCH_PYTHON:-python3}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1 SPARK_LOCAL_IP=127.0.0.1
if [ -n "${BENCH_CP:-}" ]; then
  CP="$BENCH_CP"
else
  mvn -B -q -o test-compile dependency:build-classpath -pl pipeline-jobs -am -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-cp.txt >/dev/null
  CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
fi
OPENS=$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)
mkdir -p "$DATA/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$DATA/results-$STAMP.jsonl"
bench() { # bench NAME ARGS...: one JVM; JSON lines to stdout and $RESULTS, its log in $DATA/logs
  local log="$DATA/logs/$STAMP-$1.log" out; shift
  if ! out=$(java $OPENS -Xmx6g -Dlog4j2.configurationFile=deploy/local/log4j2.properties \
      -Dspark.local.dir="$DATA/spark-local" -cp "$CP" org.distillery.jobs.ingest.IngestBench "$@" 2>"$log"); then
    echo "IngestBench $* failed; the end of $log:" >&2; tail -20 "$log" >&2; exit 1
  fi
  grep '^[{#]' <<<"$out" | tee -a "$RESULTS" || true
}
echo "# ingest benchmark: rows=$ROWS runs=$RUNS, $(getconf _NPROCESSORS_ONLN) cores, $(date -u +%FT%TZ), results in $RESULTS" | tee -a "$RESULTS"
bench data data "$DATA" "$ROWS"
bench table-parquet table "$DATA" parquet "$ROWS" "$RUNS"
bench table-csv table "$DATA" csv "$ROWS" "$RUNS"
for ((i = 0; i < RUNS; i++)); do
  bench decode decode "$DATA" 1
  "$PY" docs/scripts/bench_ingest_pil.py "$DATA" 1 | tee -a "$RESULTS"
done
bench images images "$DATA" "$RUNS"
python3 docs/scripts/ingest_md.py "$RESULTS"
