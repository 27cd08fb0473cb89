#!/usr/bin/env bash
# Trainer benchmark, side by side in one run (docs/PERFORMANCE.md): KD training examples/s of the same 784-64-10
# student on the same synthetic data as (1) single-JVM DL4J fit with 1 and 2 OpenMP threads, (2) Spark local[2]
# parameter averaging through distillery's trainer (1 thread per task), averaging every 10 and every 20 minibatches,
# (3) PyTorch on the CPU with 2 and 1 threads; plus DL4J's own softmax + cross-entropy as a loss-cost reference.
# Usage: docs/scripts/bench-train.sh [ROWS=55000] [EPOCHS=3]   (needs `mvn -B -DskipTests install` once, and torch)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-55000}"
EPOCHS="${2:-3}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
mvn -B -q -o test-compile -pl pipeline-jobs -am >/dev/null
mvn -B -q -o dependency:build-classpath -pl pipeline-jobs -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-cp.txt >/dev/null
CP="pipeline-jobs/target/test-classes:pipeline-jobs/target/classes:model-lib/target/classes:$(cat pipeline-jobs/target/bench-cp.txt)"
OPENS=$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)
run() { java $OPENS -Xmx8g ${BENCH_JAVA_OPTS:-} -Dlog4j2.level=WARN -cp "$CP" org.distillery.jobs.train.TrainBench "$ROWS" "$EPOCHS" "$@" 2>/dev/null | grep '^{'; }
echo "# rows=$ROWS epochs=$EPOCHS (after one warm-up epoch each), $(nproc) cores, $(date -u +%FT%TZ)"
OMP_NUM_THREADS=1 run single | sed 's/"engine":"single-jvm fit"/"engine":"single-jvm fit (1 thread)"/'
OMP_NUM_THREADS=2 run single | sed 's/"engine":"single-jvm fit"/"engine":"single-jvm fit (2 threads)"/'
OMP_NUM_THREADS=1 run single-ce
OMP_NUM_THREADS=1 run spark
OMP_NUM_THREADS=1 BENCH_JAVA_OPTS=-Dbench.averaging=20 run spark
python3 docs/scripts/bench_train_torch.py "$ROWS" "$EPOCHS" 2
python3 docs/scripts/bench_train_torch.py "$ROWS" "$EPOCHS" 1
