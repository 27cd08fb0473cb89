#!/usr/bin/env bash
# Label job benchmark (issue 3), side by side in one run (docs/PERFORMANCE.md, "Label job"). The teacher is
# the 784-1200-1200-10 MLP (random init, seed 42) read from a DL4J model zip; 4.79 MFLOP per row.
#  (a) raw single-JVM ND4J, batches of 1024 synthetic rows from memory: DL4J output() vs the fast dense path
#      (LogitModel), passes alternated, medians; 1 Java thread x OMP_NUM_THREADS=2, and 2 Java threads x 1 (the label
#      job's layout);
#  (b) the label job (LabelJob in Spark local[2], OMP_NUM_THREADS=1 per task, Parquet read and write included) on a
#      published synthetic transfer set of ROWS rows, after a warm-up run on 16,384 rows in the same JVM; heap used
#      after GC before and after the run (local mode: the driver and both task threads share that heap);
#  (c) PyTorch on the CPU, 2 threads, batch 1024, same layer sizes, same method as (a);
#  (d) GFLOP/s of each and the fraction of this CPU's fp32 peak, 485 GFLOP/s by docs/scripts/fma_peak.c (BENCH_PEAK_GFLOPS);
#  and (b) again at 1,000,000 and 10,000,000 rows (BENCH_SCALE), each in its own JVM, with the time ratio (<= 10.5).
# Usage: docs/scripts/bench-label.sh [ROWS=1000000]   (needs `mvn -B -DskipTests install` once, and torch;
#        BENCH_CP=<classpath with the compiled classes> skips Maven)
#        docs/scripts/bench-label.sh relabel [ROWS_PER_PARTITION=200000] [PARTITIONS=5]: what reruns cost instead
#        (LabelBench relabel: a partitioned transfer set labelled, rerun unchanged, rerun with one new partition; the
#        same rows as one table labelled and rerun unchanged; all with --mode incremental, in one JVM)
#
# Data, made once under BENCH_DATA (default /tmp/distillery-labelbench), not timed, kept for re-runs: delete the
# directory when done. Transfer rows are synthetic pixels like ingested Fashion-MNIST (pixel / 255): half zeros, the
# rest k/255 with k in 1..255, seeded by the row id, ids 0..N-1 (distinct). Parquet stores them in about 725 bytes per
# row (measured: 14.5 MB for 20,000 rows), so the 1M set takes ~0.73 GB and the 10M set ~7.3 GB; each run's soft
# targets (~0.1 KB per row, ~1 GB at 10M) are deleted after the run. Disk cost of a default run: ~8 GB. The script
# measures bytes per row on the warm-up set and refuses to generate when free space is below 1.5x its estimate.
# Rejected alternatives: dense random floats do not compress (3.1 KB per row: 31 GB at 10M). Ten hard links to the 1M
# set's files would cost no disk, and the label job would accept them (nothing in LabelJob or TransferTables checks
# ids for duplicates), but every id would appear ten times in the soft targets (TrainingRows joins them to the
# transfer set by id) and the 10M run would read the same 0.73 GB of page cache ten times, hiding any I/O growth. Fewer
# features would not be the same teacher. Both sets fit in this machine's page cache (24 GiB): set
# BENCH_DROP_CACHES=1 (root) to drop it before each label job run for cold-read numbers.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-1000000}"
DATA="${BENCH_DATA:-/tmp/distillery-labelbench}"
RAW_ROWS="${BENCH_RAW_ROWS:-65536}" # rows per timed pass of (a) and (c): 64 batches of 1024
PASSES="${BENCH_PASSES:-7}"
SCALE="${BENCH_SCALE:-1000000 10000000}"
PEAK="${BENCH_PEAK_GFLOPS:-485}" # docs/scripts/fma_peak.c on this machine (STACK.md's 233 was too low)
WARMUP_ROWS="${BENCH_WARMUP_ROWS:-16384}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
export OMP_WAIT_POLICY=passive SPARK_LOCAL_IP=127.0.0.1
if [ -n "${BENCH_CP:-}" ]; then
  CP="$BENCH_CP"
else
  mvn -B -q -o test-compile -pl pipeline-jobs -am >/dev/null
  mvn -B -q -o dependency:build-classpath -pl pipeline-jobs -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-cp.txt >/dev/null
  CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
fi
OPENS=$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)
mkdir -p "$DATA/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$DATA/results-$STAMP.jsonl"
bench() { # bench NAME ARGS...: one JVM; JSON lines to stdout and $RESULTS, its log in $DATA/logs
  local log="$DATA/logs/$STAMP-$1.log" out; shift
  if ! out=$(java $OPENS -Xmx4g -Dlog4j2.configurationFile=deploy/local/log4j2.properties \
      -Dspark.local.dir="$DATA/spark-local" -Dorg.bytedeco.javacpp.cachedir="$HOME/.javacpp/cache" \
      -Dbench.peakGflops="$PEAK" \
      -Dorg.deeplearning4j.spark.time.TimeSource=org.deeplearning4j.spark.time.SystemClockTimeSource \
      -cp "$CP" org.distillery.jobs.label.LabelBench "$@" 2>"$log"); then
    echo "LabelBench $* failed; the end of $log:" >&2; tail -20 "$log" >&2; exit 1
  fi
  grep '^[{#]' <<<"$out" | tee -a "$RESULTS" || true
}
if [ "$ROWS" = relabel ]; then
  OMP_NUM_THREADS=1 bench teacher teacher "$DATA/teacher.zip"
  OMP_NUM_THREADS=1 bench relabel relabel "$DATA" "$DATA/teacher.zip" "${2:-200000}" "${3:-5}"
  exit 0
fi
published() { [ -f "$DATA/transfer-$1/_SUCCESS" ]; }
JOB_ROWS=$(printf '%s\n' "$ROWS" $SCALE | awk '!seen[$0]++' | tr '\n' ' ')

echo "# label benchmark: rows=$ROWS scale=[$SCALE] raw rows/pass=$RAW_ROWS passes=$PASSES, $(nproc) cores,"\
  "$(date -u +%FT%TZ), results in $RESULTS"
# Data (not timed)
OMP_NUM_THREADS=1 bench teacher teacher "$DATA/teacher.zip"
OMP_NUM_THREADS=1 bench data-$WARMUP_ROWS transfer "$DATA/transfer-$WARMUP_ROWS" "$WARMUP_ROWS"
PER_ROW=$(( $(du -sb "$DATA/transfer-$WARMUP_ROWS" | cut -f1) / WARMUP_ROWS + 1 ))
NEED=0
for n in $JOB_ROWS; do
  published "$n" || NEED=$(( NEED + n * PER_ROW ))
  NEED=$(( NEED + n * 120 )) # the run's soft-target output, deleted afterwards
done
AVAIL=$(df -B1 --output=avail "$DATA" | tail -1)
if [ $(( NEED * 3 / 2 )) -gt "$AVAIL" ]; then
  echo "not enough disk under $DATA: need ~$(( NEED / 1000000000 )) GB (x1.5 margin), $(( AVAIL / 1000000000 )) GB free" >&2
  exit 1
fi
for n in $JOB_ROWS; do
  published "$n" || echo "# generating the $n-row transfer set (~$(( n * PER_ROW / 1000000 )) MB, not timed)"
  OMP_NUM_THREADS=1 bench data-$n transfer "$DATA/transfer-$n" "$n"
done

# (a) raw ND4J, (c) PyTorch
OMP_NUM_THREADS=2 bench raw-1x2 raw "$DATA/teacher.zip" "$RAW_ROWS" "$PASSES" 1
OMP_NUM_THREADS=1 bench raw-2x1 raw "$DATA/teacher.zip" "$RAW_ROWS" "$PASSES" 2
python3 docs/scripts/bench_label_torch.py "$RAW_ROWS" "$PASSES" 2 "$PEAK" | tee -a "$RESULTS"
# (b) the label job, ROWS and the scale runs
for n in $JOB_ROWS; do
  if [ "${BENCH_DROP_CACHES:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
  OMP_NUM_THREADS=1 bench job-$n job "$DATA/transfer-$n" "$DATA/teacher.zip" "$DATA/soft-$n" \
    "$DATA/transfer-$WARMUP_ROWS"
done

python3 - "$RESULTS" "$ROWS" $SCALE <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
rows, scale = int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
def find(*parts, n=None):
    for l in lines:
        if all(p in l["engine"] for p in parts) and (n is None or l["rows"] == n):
            return l
    return None
a_out = find("output()", "1 Java thread")
a = find("fast dense path", "1 Java thread")
a2 = find("fast dense path", "2 Java threads")
c = find("pytorch")
b = find("label job", n=rows)
print("\n| measurement | rows/s | GFLOP/s | of peak |\n|---|---|---|---|")
for l in [a_out, a, find("output()", "2 Java threads"), a2, c] + [find("label job", n=n) for n in dict.fromkeys([rows] + scale)]:
    if l:
        print(f"| {l['engine']}, {l['rows']:,} rows | {l['rowsPerSecond']:,.0f} | {l['gflops']} | {100 * l['peakFraction']:.0f}% |")
def check(name, value, target, ok):
    print(f"{name}: {value:.2f} (target {target}) {'met' if ok else 'NOT met'}")
print()
if a and b:
    check("(b) / (a) label job vs raw fast path (1 thread x 2 OMP)", b["rowsPerSecond"] / a["rowsPerSecond"], ">= 0.9",
          b["rowsPerSecond"] >= 0.9 * a["rowsPerSecond"])
if a2 and b:
    print(f"(b) / (a) vs raw fast path in the job's layout (2 threads x 1 OMP): {b['rowsPerSecond'] / a2['rowsPerSecond']:.2f}")
if c and b:
    check("(b) / (c) label job vs PyTorch", b["rowsPerSecond"] / c["rowsPerSecond"], ">= 1.0",
          b["rowsPerSecond"] >= c["rowsPerSecond"])
if b:
    check("(d) label job's fraction of peak", b["peakFraction"], ">= 0.80", b["peakFraction"] >= 0.8)
if a:
    print(f"(d) raw fast path's fraction of peak: {a['peakFraction']:.2f}")
if len(scale) == 2:
    small, big = find("label job", n=scale[0]), find("label job", n=scale[1])
    if small and big:
        limit = 1.05 * big["rows"] / small["rows"]  # 10.5 for 1M -> 10M
        check(f"time ratio {big['rows']:,} / {small['rows']:,} rows", big["seconds"] / small["seconds"],
              f"<= {limit:g}", big["seconds"] / small["seconds"] <= limit)
    for l in (small, big):
        if l:
            print(f"driver heap after GC, {l['rows']:,} rows: {l['driverHeapUsedBeforeMB']} MB before,"
                  f" {l['driverHeapUsedAfterMB']} MB after ({l['driverHeapUsedAfterMB'] - l['driverHeapUsedBeforeMB']:+.1f} MB),"
                  f" old-gen peak {l['oldGenPeakMB']} MB of {l['heapMaxMB']} MB max")
EOF
