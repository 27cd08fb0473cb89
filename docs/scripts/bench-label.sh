#!/usr/bin/env bash
# Label job benchmark (issues 3 and 21), side by side in one run (docs/PERFORMANCE.md, "Label job"). Teachers, random
# init, seed 42, saved as DL4J model zips (LabelBench teacher ZIP SPEC):
#   mlp   784-1200-1200-10 (Hinton et al.'s MNIST teacher), 4.79 MFLOP per row;
#   heavy 784-4096-4096-10, 40.1 MFLOP per row (compute-bound);
#   cnn   the demo's teacher, cnn:20,50:500 (bin/distill demo --teacher-arch), 4.59 MFLOP per row, its fast path a
#         convolution front (ConvFront) before the dense layers.
# Measurements, each JSON line kept in $BENCH_DATA/results-*.jsonl:
#  (e) fma_peak.c with OMP_NUM_THREADS=1 and 2, five runs each, alternated, medians (gcc -O3 -march=native -fopenmp;
#      skipped without gcc);
#  (a) raw single-JVM ND4J, batches of 1024 synthetic rows from memory: DL4J output() vs the fast dense path
#      (LogitModel) when the teacher has one, passes alternated, medians; 1 Java thread x OMP_NUM_THREADS=2, and 2 Java
#      threads x 1 (the label job's layout); for each of the three teachers;
#  (c) PyTorch on the CPU, 2 threads, batch 1024, same shapes, same method as (a) (bench_label_torch.py), each teacher;
#  (k) check, on the warm-up set: the label job's output (kept) against the Python job's (p) (bench_label_e2e_torch.py
#      --check): every input_hash equal, logits and soft targets within 1e-4; the run stops on any mismatch;
#  (b) the label job (LabelBench job: LabelJob.run in Spark local[2], OMP_NUM_THREADS=1 per task, Parquet read and
#      write included, after a warm-up run on the warm-up set in the same JVM) on the ROWS set with the mlp teacher,
#      alternated BENCH_E2E_RUNS times with
#  (p) the Python job a user would otherwise write (bench_label_e2e_torch.py: pyarrow, the same validation and
#      input_hash, PyTorch 2 threads batch 1024 on the teacher's ONNX export, the same columns, snappy);
#      both report wall and CPU seconds (the JVM's OperatingSystemMXBean process CPU time; Python's os.times), the job
#      its GC collections and pause time and the JIT compilers' time;
#  (s) the label job again at each BENCH_SCALE size (other than ROWS), each in its own JVM, heap before and after;
#  (h) the label job with the heavy teacher on BENCH_HEAVY_ROWS rows, and (n) with the cnn teacher on BENCH_CNN_ROWS
#      (both after a warm-up run on 4,096 rows; by default the 1M set, the size the per-row overhead target is set at:
#      on a short set the run's fixed seconds, 1.6-5.5 s in docs/PERFORMANCE.md's run, weigh as much as the rows);
#  (j) around each label job of (b), (s), (h) and (n), in its JVM, right before it (after the warm-up) and right
#      after it (Spark stopped): its teacher's raw passes on the job's path in the job's layout (2 Java threads x 1, as
#      (a), the same rows per pass), each rate rows over the passes' summed seconds; each job's per-row overhead and
#      its job vs raw ratio are taken against the harmonic mean of the two, measured in the seconds around the job, so
#      that the machine's drift between the raw JVMs of (a) and the jobs minutes later moves them less (the figures
#      against (a) are printed beside them);
# then docs/scripts/label_bench_md.py prints the tables, the figures next to their targets and one final JSON line
# (overhead_us_1m, overhead_us_10m, vs_python_e2e, heavy_vs_raw, cnn_vs_raw, raw_vs_pytorch, ...).
# Usage: docs/scripts/bench-label.sh [ROWS=1000000]   (Maven builds the classes, or BENCH_CP=<classpath> skips it;
#        torch, pyarrow, onnx for the Python parts)
#        docs/scripts/bench-label.sh relabel [ROWS_PER_PARTITION=200000] [PARTITIONS=5]: what reruns cost instead
#        (LabelBench relabel: a partitioned transfer set labelled, rerun unchanged, rerun with one new partition; the
#        same rows as one table labelled and rerun unchanged; all with --mode incremental, in one JVM)
# Knobs: BENCH_DATA (/tmp/distillery-labelbench), BENCH_SCALE ("1000000 10000000"), BENCH_E2E_RUNS (3),
#        BENCH_HEAVY_ROWS (1000000), BENCH_CNN_ROWS (1000000), BENCH_RAW_ROWS (65536 rows per raw pass, mlp),
#        BENCH_HEAVY_RAW_ROWS (16384), BENCH_CNN_RAW_ROWS (32768: passes of 8,192 rows take under a
#        second and ranged from 8.4k to 11.2k rows/s in three JVMs), BENCH_PASSES (7), BENCH_WARMUP_ROWS (16384),
#        BENCH_PEAK_GFLOPS (default: fma_peak's 2-thread median, else 485), BENCH_DROP_CACHES=1 (root),
#        BENCH_BLAS_KERNEL (auto: spark.distillery.blas.kernel for every JVM, as the jobs take it; each ND4J line
#        records the OpenBLAS kernel that ran, "blasKernel").
#
# Data, made once under BENCH_DATA, not timed, kept for re-runs: delete the
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
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit 0
fi
DATA=$(realpath -m "${BENCH_DATA:-/tmp/distillery-labelbench}") # absolute: `formats` runs in pipeline-jobs
cd "$(dirname "$0")/../.."
ROWS="${1:-1000000}"
for v in "ROWS=$ROWS" "BENCH_E2E_RUNS=${BENCH_E2E_RUNS:-3}" "BENCH_HEAVY_ROWS=${BENCH_HEAVY_ROWS:-1}" \
    "BENCH_CNN_ROWS=${BENCH_CNN_ROWS:-1}"; do
  [ "$ROWS" = relabel ] && break
  [[ "${v#*=}" =~ ^[1-9][0-9]*$ ]] || { echo "${v%%=*} must be a positive whole number, got '${v#*=}'" >&2; exit 2; }
done
RAW_ROWS="${BENCH_RAW_ROWS:-65536}" # rows per timed pass of (a) and (c): 64 batches of 1024
HEAVY_RAW_ROWS="${BENCH_HEAVY_RAW_ROWS:-16384}"
CNN_RAW_ROWS="${BENCH_CNN_RAW_ROWS:-32768}"
PASSES="${BENCH_PASSES:-7}"
SCALE="${BENCH_SCALE:-1000000 10000000}"
E2E_RUNS="${BENCH_E2E_RUNS:-3}"
HEAVY_ROWS="${BENCH_HEAVY_ROWS:-1000000}"
CNN_ROWS="${BENCH_CNN_ROWS:-1000000}"
WARMUP_ROWS="${BENCH_WARMUP_ROWS:-16384}"
SMALL_WARMUP_ROWS=4096 # the heavy and cnn jobs' warm-up: the same code paths at a tenth of their teachers' cost
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
export OMP_WAIT_POLICY=passive SPARK_LOCAL_IP=127.0.0.1
if [ -n "${BENCH_CP:-}" ]; then
  CP="$BENCH_CP"
else
  # one reactor invocation: model-lib resolves to this checkout's classes, never to a jar in ~/.m2
  mvn -B -q -o test-compile dependency:build-classpath -pl pipeline-jobs -am -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-cp.txt >/dev/null
  CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
fi
CP=$(tr ':' '\n' <<<"$CP" | sed "s#^\([^/]\)#$PWD/\1#" | paste -sd:) # absolute: `formats` runs in pipeline-jobs
OPENS=$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)
mkdir -p "$DATA/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$DATA/results-$STAMP.jsonl"
PEAK="${BENCH_PEAK_GFLOPS:-485}"
bench() { # bench NAME ARGS...: one JVM; JSON lines to stdout and $RESULTS, its log in $DATA/logs
  local log="$DATA/logs/$STAMP-$1.log" out; shift
  if ! out=$(java $OPENS -Xmx4g ${JVM_EXTRA:-} -Dlog4j2.configurationFile="$PWD/deploy/local/log4j2.properties" \
      -Dspark.local.dir="$DATA/spark-local" -Dorg.bytedeco.javacpp.cachedir="$HOME/.javacpp/cache" \
      -Dbench.peakGflops="$PEAK" -Dspark.distillery.blas.kernel="${BENCH_BLAS_KERNEL:-auto}" \
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
DATA_ROWS=$(printf '%s\n' $JOB_ROWS "$HEAVY_ROWS" "$CNN_ROWS" "$SMALL_WARMUP_ROWS" \
  | awk -v w="$WARMUP_ROWS" '$0 != w && !seen[$0]++' | tr '\n' ' ')

echo "# label benchmark: rows=$ROWS scale=[$SCALE] e2e runs=$E2E_RUNS heavy rows=$HEAVY_ROWS cnn rows=$CNN_ROWS"\
  "raw rows/pass=$RAW_ROWS/$HEAVY_RAW_ROWS/$CNN_RAW_ROWS passes=$PASSES, $(nproc) cores, $(date -u +%FT%TZ),"\
  "results in $RESULTS"
printf '{"bench":"label","rows":%s,"scale":[%s],"e2eRuns":%s,"heavyRows":%s,"cnnRows":%s,"cores":%s}\n' "$ROWS" \
  "$(tr ' ' ',' <<<"$SCALE")" "$E2E_RUNS" "$HEAVY_ROWS" "$CNN_ROWS" "$(nproc)" >>"$RESULTS"

# (e) the CPU's FMA peak, 1 and 2 threads
if command -v gcc >/dev/null; then
  gcc -O3 -march=native -fopenmp docs/scripts/fma_peak.c -o "$DATA/fma_peak"
  PEAK_RUNS=() # a run takes half a second, which a moment's interference slows: five of each, alternated, medians
  for r in 1 2 3 4 5; do
    for t in 1 2; do
      line=$(OMP_NUM_THREADS=$t "$DATA/fma_peak" | sed "s/^{/{\"engine\":\"fma_peak\",\"run\":$r,/")
      echo "$line" | tee -a "$RESULTS"
      [ "$t" = 2 ] && PEAK_RUNS+=("$(sed 's/.*"gflops":\([0-9.]*\).*/\1/' <<<"$line")")
    done
  done
  [ -n "${BENCH_PEAK_GFLOPS:-}" ] || PEAK=$(printf '%s\n' "${PEAK_RUNS[@]}" | sort -g | sed -n 3p)
else
  echo "# gcc not found: fma_peak skipped, peak $PEAK GFLOP/s"
fi

# Data (not timed)
OMP_NUM_THREADS=1 bench teacher teacher "$DATA/teacher.zip"
OMP_NUM_THREADS=1 bench teacher-heavy teacher "$DATA/teacher-heavy.zip" mlp:4096,4096
OMP_NUM_THREADS=1 bench teacher-cnn teacher "$DATA/teacher-cnn.zip" cnn:20,50:500
if [ ! -f "$DATA/formats/teacher.onnx" ]; then # the mlp teacher as ONNX for the Python job (make_teachers.py)
  (cd pipeline-jobs && OMP_NUM_THREADS=1 bench formats formats "$DATA/teacher.zip" "$DATA/formats")
fi
OMP_NUM_THREADS=1 bench data-$WARMUP_ROWS transfer "$DATA/transfer-$WARMUP_ROWS" "$WARMUP_ROWS"
PER_ROW=$(( $(du -sb "$DATA/transfer-$WARMUP_ROWS" | cut -f1) / WARMUP_ROWS + 1 ))
NEED=0
for n in $DATA_ROWS; do
  published "$n" || NEED=$(( NEED + n * PER_ROW ))
  NEED=$(( NEED + n * 240 )) # a run's soft-target output, the label job's or Python's, deleted afterwards
done
AVAIL=$(df -B1 --output=avail "$DATA" | tail -1)
if [ $(( NEED * 3 / 2 )) -gt "$AVAIL" ]; then
  echo "not enough disk under $DATA: need ~$(( NEED / 1000000000 )) GB (x1.5 margin), $(( AVAIL / 1000000000 )) GB free" >&2
  exit 1
fi
for n in $DATA_ROWS; do
  published "$n" || echo "# generating the $n-row transfer set (~$(( n * PER_ROW / 1000000 )) MB, not timed)"
  OMP_NUM_THREADS=1 bench data-$n transfer "$DATA/transfer-$n" "$n"
done

# (k) the Python job's input_hash and logits against the label job's, on the warm-up set (its timing not kept)
OMP_NUM_THREADS=1 bench check-label label "$DATA/transfer-$WARMUP_ROWS" "$DATA/teacher.zip" "$DATA/check-label"
if ! CHECK=$(python3 docs/scripts/bench_label_e2e_torch.py "$DATA/transfer-$WARMUP_ROWS" "$DATA/formats/teacher.onnx" \
    "$DATA/check-python" --check "$DATA/check-label"); then
  echo "$CHECK"
  echo "the Python job's output does not match the label job's (above): its timings would not be comparable" >&2
  exit 1
fi
grep '"check"' <<<"$CHECK" | tee -a "$RESULTS"
rm -rf "$DATA/check-label" "$DATA/check-python"

# (a) raw ND4J and (c) PyTorch, each teacher
raw() { # raw NAME ZIP ROWS_PER_PASS ARCH
  OMP_NUM_THREADS=2 bench "raw-$1-1x2" raw "$2" "$3" "$PASSES" 1
  OMP_NUM_THREADS=1 bench "raw-$1-2x1" raw "$2" "$3" "$PASSES" 2
  python3 docs/scripts/bench_label_torch.py "$3" "$PASSES" 2 "$PEAK" "$4" | tee -a "$RESULTS"
}
raw mlp "$DATA/teacher.zip" "$RAW_ROWS" mlp:1200,1200
raw heavy "$DATA/teacher-heavy.zip" "$HEAVY_RAW_ROWS" mlp:4096,4096
raw cnn "$DATA/teacher-cnn.zip" "$CNN_RAW_ROWS" cnn:20,50:500

job() { # job NAME ROWS ZIP RAW_ROWS_PER_PASS [WARMUP_ROWS]: the job, the teacher's raw passes in its JVM around it
  if [ "${BENCH_DROP_CACHES:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
  JVM_EXTRA="-Dbench.adjacentRawRows=$4 -Dbench.adjacentRawPasses=$PASSES" OMP_NUM_THREADS=1 \
    bench "$1" job "$DATA/transfer-$2" "$3" "$DATA/soft-$2" "$DATA/transfer-${5:-$WARMUP_ROWS}"
}
# (b) the label job and (p) the Python job, alternated on the ROWS set
for r in $(seq 1 "$E2E_RUNS"); do
  echo "# run $r of $E2E_RUNS: label job, then the Python job, $ROWS rows"
  job "job-$ROWS-run$r" "$ROWS" "$DATA/teacher.zip" "$RAW_ROWS"
  if [ "${BENCH_DROP_CACHES:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
  python3 docs/scripts/bench_label_e2e_torch.py "$DATA/transfer-$ROWS" "$DATA/formats/teacher.onnx" \
    "$DATA/python-$ROWS" | tee -a "$RESULTS"
  rm -rf "$DATA/python-$ROWS"
done
# (s) the other sizes, (h) the heavy teacher, (n) the cnn teacher
for n in $JOB_ROWS; do
  [ "$n" = "$ROWS" ] || job "job-$n" "$n" "$DATA/teacher.zip" "$RAW_ROWS"
done
job "job-heavy-$HEAVY_ROWS" "$HEAVY_ROWS" "$DATA/teacher-heavy.zip" "$HEAVY_RAW_ROWS" "$SMALL_WARMUP_ROWS"
job "job-cnn-$CNN_ROWS" "$CNN_ROWS" "$DATA/teacher-cnn.zip" "$CNN_RAW_ROWS" "$SMALL_WARMUP_ROWS"

printf '{"engine":"peak used for peakFraction","gflops":%s}\n' "$PEAK" >>"$RESULTS"
python3 docs/scripts/label_bench_md.py --json "$RESULTS"
