#!/usr/bin/env bash
# Trainer benchmark, side by side in one run (docs/PERFORMANCE.md): KD training examples/s of the demo's 784-64-10
# student, of a wider 784-512-512-10 one and of the demo's CNN teacher (cnn:20,50:500, dropout 0.5; on
# BENCH_CNN_ROWS=8192 rows for BENCH_CNN_EPOCHS=1 epoch, as DL4J's own CNN layers are slow) on the same synthetic
# data, alternated over BENCH_REPS runs (default 3;
# medians and per-run ratios in the table): (1) single-JVM, one OpenMP thread, in one JVM one after the other (the
# order reversed every other run): DenseTrainingStep as trained by default (Java kernels, fused Adam), the same with
# DL4J's updater, the same in ND4J only, DL4J `fit` with FastAdam and with DL4J's native Adam; (2) distillery's trainer
# in Spark local[2] (1 thread per task, averaging every 10 minibatches, dense step, rounds through the driver's
# exchange: the defaults); (3) PyTorch on the CPU with 1 and 2 threads. It prints which variant wins here for each
# choice made for speed, and ends with one JSON line (single_vs_pytorch, local2_vs_single, *_wide for the wide student).
# Usage: docs/scripts/bench-train.sh [ROWS=55000] [EPOCHS=3]   (needs torch; builds with $MVN, default mvn)
# BENCH_STUDENTS="64 512,512 cnn:20,50:500" (hidden widths or a CNN spec, one network each), BENCH_REPS=3, BENCH_EXTRA=1 adds the older matrix
# for the demo student (fit with 2 threads, DL4J's softmax + cross-entropy, F = 20, workers on `fit`, one Spark job per
# round), BENCH_STANDALONE=1 adds the trainer on a standalone master with two single-core worker JVMs (127.0.0.1,
# started from the Spark jars Maven has, stopped at the end); BENCH_ONLY=standalone runs that case alone. The JSON
# lines are kept in $BENCH_OUT/results-*.jsonl (default /tmp/distillery-trainbench); docs/scripts/train_md.py makes the
# table of docs/PERFORMANCE.md from them.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-55000}"
EPOCHS="${2:-3}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
MVN="${MVN:-mvn}"
# one reactor invocation: model-lib resolves to this checkout's classes, never to a jar in ~/.m2
$MVN -B -q -o test-compile dependency:build-classpath -pl model-lib,pipeline-jobs -am -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-cp.txt >/dev/null
CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
OPENS=$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)
run() { java $OPENS -Xmx8g ${BENCH_JAVA_OPTS:-} -Dlog4j2.level=WARN -cp "$CP" org.distillery.jobs.train.averaging.TrainBench "${R:-$ROWS}" "${E:-$EPOCHS}" "$@" 2>/dev/null | grep '^{'; }
standalone() { # the trainer across two worker JVMs (a SPARK_HOME whose jars/ links to Maven's Spark jars)
  local sh pids=() port
  sh=$(mktemp -d)
  mkdir -p "$sh/jars"
  for j in $(tr ':' '\n' < pipeline-jobs/target/provided-classpath.txt) \
           $(tr ':' '\n' < pipeline-jobs/target/runtime-classpath.txt | grep -v -E '/(org/deeplearning4j|org/nd4j|org/datavec|org/bytedeco|org/distillery)/|model-lib'); do
    ln -sf "$j" "$sh/jars/"
  done
  (cd pipeline-jobs/target/test-classes && jar cf "$sh/bench.jar" org/distillery/jobs/train/averaging/TrainBench*.class)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export SPARK_HOME="$sh" SPARK_LOCAL_IP=127.0.0.1 SPARK_SCALA_VERSION=2.12
  java $OPENS -Xmx512m -cp "$sh/jars/*" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" \
      --webui-port 0 >"$sh/master.log" 2>&1 & pids+=($!)
  for w in 1 2; do
    OMP_NUM_THREADS=1 java $OPENS -Xmx512m -cp "$sh/jars/*" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
        --cores 1 --memory 6g --webui-port 0 --work-dir "$sh/work$w" "spark://127.0.0.1:$port" >"$sh/worker$w.log" 2>&1 &
    pids+=($!)
  done
  for w in 1 2; do
    for _ in $(seq 120); do grep -q "Successfully registered" "$sh/worker$w.log" 2>/dev/null && break; sleep 0.5; done
  done
  java $OPENS -Xmx8g -cp "$sh/jars/*" org.apache.spark.deploy.SparkSubmit --master "spark://127.0.0.1:$port" \
      --class org.distillery.jobs.train.averaging.TrainBench --total-executor-cores 2 --executor-cores 1 --executor-memory 6g \
      --conf "spark.executor.extraJavaOptions=$OPENS" --conf spark.executorEnv.OMP_NUM_THREADS=1 \
      --conf spark.driver.host=127.0.0.1 --conf spark.ui.enabled=false \
      --jars pipeline-jobs/target/pipeline-jobs-0.1.0-SNAPSHOT-shaded.jar "$sh/bench.jar" "$ROWS" "$EPOCHS" spark \
      2>"$sh/submit.log" | grep '^{' || echo "standalone run failed: see $sh/submit.log" >&2
  for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
if [[ ${BENCH_ONLY:-} == standalone ]]; then standalone; exit 0; fi
OUT="${BENCH_OUT:-/tmp/distillery-trainbench}"
STUDENTS="${BENCH_STUDENTS:-64 512,512 cnn:20,50:500}"
CNN_ROWS="${BENCH_CNN_ROWS:-8192}"
CNN_EPOCHS="${BENCH_CNN_EPOCHS:-1}"
REPS="${BENCH_REPS:-3}"
mkdir -p "$OUT"
RESULTS="$OUT/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
{
echo "# rows=$ROWS epochs=$EPOCHS (CNN: rows=$CNN_ROWS epochs=$CNN_EPOCHS) (after one warm-up epoch each), $REPS alternated runs, $(nproc) cores, $(date -u +%FT%TZ)"
for rep in $(seq "$REPS"); do
  for h in $STUDENTS; do
    R=$ROWS E=$EPOCHS
    if [[ $h == cnn:* ]]; then R=$CNN_ROWS E=$CNN_EPOCHS; fi
    OMP_NUM_THREADS=1 BENCH_JAVA_OPTS="-Dbench.hidden=$h -Dbench.rep=$rep" run single-variants
    OMP_NUM_THREADS=1 BENCH_JAVA_OPTS="-Dbench.hidden=$h -Dbench.rep=$rep" run spark
    threads="1 2"
    if (( rep % 2 == 0 )); then threads="2 1"; fi
    for t in $threads; do python3 docs/scripts/bench_train_torch.py "$R" "$E" "$t" "$h" "$rep"; done
  done
done
R="" E=""
if [[ -n ${BENCH_EXTRA:-} ]]; then
  OMP_NUM_THREADS=2 BENCH_JAVA_OPTS=-Dbench.rep=0 run single | sed 's/"engine":"single-jvm fit"/"engine":"single-jvm fit (2 threads)"/'
  OMP_NUM_THREADS=1 BENCH_JAVA_OPTS=-Dbench.rep=0 run single-ce
  for rounds in exchange jobs; do
    for step in dense fit; do
      for f in 10 20; do
        OMP_NUM_THREADS=1 BENCH_JAVA_OPTS="-Dbench.averaging=$f -Dbench.step=$step -Dbench.rounds=$rounds -Dbench.rep=0" run spark
      done
    done
  done
fi
if [[ -n ${BENCH_STANDALONE:-} ]]; then standalone; fi
} | tee "$RESULTS"
python3 docs/scripts/train_md.py "$RESULTS"
