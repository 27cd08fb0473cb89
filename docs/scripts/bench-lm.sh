#!/usr/bin/env bash
# Language-model benchmarks (issue 20), every engine side by side in one run (docs/PERFORMANCE.md, "Language-model
# label and train benchmarks"); harness LmBench (pipeline-jobs/src/bench), PyTorch in docs/scripts/bench_lm_torch.py.
#  Label: tokens/s of the teacher lstm:32:256,256 (random init, seed 42; windows of 128 tokens, burn-in 32):
#   (a) the label job, Spark local[2], OMP_NUM_THREADS=1 per task, Parquet in and out, alternated in one JVM with
#   (b) raw single-JVM inference of the same windows, TokenLogitFunction.logits in calls of 8 windows (the job's 1024
#       positions per call), 2 Java threads x 1 OpenMP thread (the job's layout);
#   (c) the same, 1 Java thread x 2 OpenMP threads, in its own JVM;
#   (d) PyTorch, the same layer shapes and calls, torch.set_num_threads(2).
#  Train: tokens/s of kd training of the student lstm:32:128 from the teacher's stored logits (T=2, alpha=0.5, Adam
#  1e-3, batch 64), after one warm-up epoch of each:
#   (e) distillery's parameter averaging in local[2] (2 workers, averaging every 10 minibatches, the train job's
#       defaults), alternated in one JVM with (f) single-JVM DL4J fit on the very same minibatches (1 OpenMP thread);
#   (g) the whole train --task lm job once (reading, minibatches, validation after each epoch, publishing);
#   (h) PyTorch, 2 and 1 threads, the same shapes and loss.
# Medians of RUNS runs; wall and CPU seconds of each run (the machine is shared: compare ratios within the run).
# The table for docs/PERFORMANCE.md is printed at the end (docs/scripts/lm_md.py RESULTS.jsonl).
# Usage: docs/scripts/bench-lm.sh [RUNS=3] [EPOCHS=1]   (needs the test classes compiled, or BENCH_CP=<classpath>;
#        MVN=mvnl to build through a wrapper; python3 with torch, BENCH_PYTHON)
# Data, made once under BENCH_DATA (default /tmp/distillery-lmbench), not timed, kept for re-runs: two text transfer
# sets ingested from Debian's fortunes (the demo corpus's package): BENCH_LABEL_SOURCE for the label runs and
# BENCH_TRAIN_SOURCE for training, whose training split is labelled once by the teacher (every logit, fp32).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
EPOCHS="${2:-1}"
DATA="${BENCH_DATA:-/tmp/distillery-lmbench}"
PY="${BENCH_PYTHON:-python3}"
F=/usr/share/games/fortunes
LABEL_SOURCE="${BENCH_LABEL_SOURCE:-$F/food}"
TRAIN_SOURCE="${BENCH_TRAIN_SOURCE:-}"
[ -n "$TRAIN_SOURCE" ] || TRAIN_SOURCE="$F/{education,drugs,law}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
export OMP_WAIT_POLICY=passive SPARK_LOCAL_IP=127.0.0.1
if [ -n "${BENCH_CP:-}" ]; then
  CP="$BENCH_CP"
else
  ${MVN:-mvn} -B -q -o test-compile dependency:build-classpath -pl model-lib,pipeline-jobs -am -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-cp.txt >/dev/null
  CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
fi
OPENS=$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)
mkdir -p "$DATA/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$DATA/results-$STAMP.jsonl"
bench() { # bench NAME OMP_THREADS ARGS...: one JVM; JSON lines to stdout and $RESULTS, its log in $DATA/logs
  local log="$DATA/logs/$STAMP-$1.log" omp="$2" out; shift 2
  if ! out=$(OMP_NUM_THREADS="$omp" java $OPENS -Xmx6g -Dlog4j2.configurationFile=deploy/local/log4j2.properties \
      -Dspark.local.dir="$DATA/spark-local" -cp "$CP" org.distillery.jobs.train.LmBench "$@" 2>"$log"); then
    echo "LmBench $* failed; the end of $log:" >&2; tail -20 "$log" >&2; exit 1
  fi
  grep '^[{#]' <<<"$out" | tee -a "$RESULTS" || true
}
fact() { # fact DIR KEY: a number from the data line of DIR
  grep '"bench":"data"' "$RESULTS" | grep -F "\"dir\":\"$1\"" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | head -1
}
echo "# lm benchmark: runs=$RUNS epochs=$EPOCHS, $(getconf _NPROCESSORS_ONLN) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), results in $RESULTS" | tee -a "$RESULTS"
bench data-label 1 data "$DATA/label" "$LABEL_SOURCE"
bench data-train 1 data "$DATA/train" "$TRAIN_SOURCE" soft
LV=$(fact "$DATA/label" vocabulary); LW=$(fact "$DATA/label" trainWindows)
TV=$(fact "$DATA/train" vocabulary); TW=$(fact "$DATA/train" trainWindows)

# Label: (a) + (b) alternated in one JVM; (c) and (d) each in their own process
bench label 1 label "$DATA/label" "$RUNS"
bench raw-1x2 2 raw "$DATA/label" "$RUNS" 1
"$PY" docs/scripts/bench_lm_torch.py label "$LV" "$LW" "$RUNS" 2 | tee -a "$RESULTS"
# Train: (e) + (f) alternated in one JVM, then (g); (h)
bench train 1 train "$DATA/train" "$EPOCHS" "$RUNS"
"$PY" docs/scripts/bench_lm_torch.py train "$TV" "$TW" "$EPOCHS" "$RUNS" 2 | tee -a "$RESULTS"
"$PY" docs/scripts/bench_lm_torch.py train "$TV" "$TW" "$EPOCHS" "$RUNS" 1 | tee -a "$RESULTS"
echo "# done $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS"
python3 docs/scripts/lm_md.py "$RESULTS"
