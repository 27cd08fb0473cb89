#!/usr/bin/env bash
# pipeline.sh: [ingest ->] label -> train (KD student) -> train (hard-label baseline) -> evaluate -> export, for one
# partition DS under ROOT,
# in the Airflow DAG's path layout. Every step overwrites its output and training resumes from its checkpoints, so a
# rerun is safe. Stops at the first failing step with its exit code. --help lists the variables.
# Each step runs one spark-submit --class org.distillery.jobs.cli.Distill
# shellcheck disable=SC2153  # ROOT and DS come from the environment
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: ROOT=... DS=YYYY-MM-DD [VAR=value ...] pipeline.sh
Runs ingest.sh (when INGEST_SOURCE is set), label.sh, train.sh (kd), train.sh (hard baseline), evaluate.sh and
export.sh in turn.

Required:
  ROOT      run root, a local path or a URI (e.g. hdfs://namenode:8020/distillery)
  DS        partition date, YYYY-MM-DD
Optional:
  TEACHER   published teacher directory or DL4J model zip (default: $ROOT/models/teacher, as the Airflow DAG)
  INGEST_SOURCE   a source to ingest into $ROOT/transfer/dt=$DS first (ingest.sh with SPLIT=none, MODE=overwrite;
                  <ds> in it becomes $DS); unset: the transfer set is published upstream
  INGEST_FORMAT, INGEST_OPTIONS, INGEST_ID, INGEST_ID_FROM, INGEST_LABEL, INGEST_CLASSES, INGEST_FEATURES,
  INGEST_FEATURES_PREFIX, INGEST_SHAPE, INGEST_SCALE, INGEST_STANDARDIZE, INGEST_TRANSFORM_FROM
                  passed to ingest.sh as FORMAT, OPTIONS, ID, ...
  TEMPERATURE, TEACHER_SHA256     passed to label.sh
  ARCH, EPOCHS, WORKERS, AVERAGING_FREQUENCY   passed to both train.sh runs
  INGEST_ARGS, LABEL_ARGS, KD_ARGS, BASELINE_ARGS, EVALUATE_ARGS, EXPORT_ARGS
                                  extra flags for one step, whitespace-separated
                                  (e.g. KD_ARGS="--labelled 1000 -T 1,2,4 --retemper --alpha 0.5,1")

Paths (inputs must already be published; label runs with MODE=incremental, the others with MODE=overwrite, training
with RESUME=1):
  transfer      $ROOT/transfer/dt=$DS                    (input, or ingested from INGEST_SOURCE)
  validation    $ROOT/reference/validation               (input)
  test          $ROOT/reference/test                     (input)
  soft targets  $ROOT/soft-targets/dt=$DS
  students      $ROOT/students/dt=$DS/{kd,baseline}
  checkpoints   $ROOT/checkpoints/dt=$DS/{kd,baseline}
  evaluation    $ROOT/evaluations/dt=$DS                 (models named student and baseline)
  export        $ROOT/exports/dt=$DS/kd                  (the KD student as ONNX, fp32 and int8 calibrated on the
                                                          transfer set, with its card)
Each job also writes its JSON summary into <output>/_SUCCESS, as the Airflow DAG reads it.
USAGE
  common_help
  exit 0
fi

require ROOT "the run root, e.g. hdfs://namenode:8020/distillery"
require DS "the partition date, YYYY-MM-DD"
[[ "$DS" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die "DS must be a date YYYY-MM-DD, not '$DS'"
[[ $# -eq 0 ]] || die "takes no arguments: per-step flags go in INGEST_ARGS, LABEL_ARGS, KD_ARGS, BASELINE_ARGS, EVALUATE_ARGS, EXPORT_ARGS or DISTILLERY_CONFIG"

root="${ROOT%/}"
transfer="$root/transfer/dt=$DS"
validation="$root/reference/validation"
test_split="$root/reference/test"
soft="$root/soft-targets/dt=$DS"
students="$root/students/dt=$DS"
checkpoints="$root/checkpoints/dt=$DS"
evaluation="$root/evaluations/dt=$DS"
exported="$root/exports/dt=$DS/kd"
teacher="${TEACHER:-$root/models/teacher}"

# step NAME SCRIPT EXTRA_ARGS_VARIABLE VAR=value...: runs one script with exactly these job variables.
step() {
  local name="$1" script="$2" extra_var="$3"
  shift 3
  local extra=() rc=0
  read -r -a extra <<<"${!extra_var:-}"
  echo "pipeline: $name" >&2
  env -u TRANSFER -u TEACHER -u OUT -u SOFT_TARGETS -u VALIDATION -u TEST -u MODELS -u OBJECTIVE \
    -u CHECKPOINT_DIR -u RESUME -u MODE -u MODEL -u QUANTIZE -u CALIBRATION -u EVALUATION -u SOURCE -u FORMAT -u OPTIONS -u ID -u ID_FROM -u LABEL -u CLASSES \
    -u FEATURES -u FEATURES_PREFIX -u SHAPE -u SCALE -u STANDARDIZE -u TRANSFORM_FROM -u SPLIT -u SPLIT_COLUMN \
    "$@" "$HERE/$script" "${extra[@]+"${extra[@]}"}" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "pipeline.sh: step '$name' failed (exit $rc); later steps not run" >&2
    exit "$rc"
  fi
}

if [[ -n "${INGEST_SOURCE:-}" ]]; then
  step ingest ingest.sh INGEST_ARGS \
    SOURCE="${INGEST_SOURCE//<ds>/$DS}" OUT="$transfer" SPLIT=none MODE=overwrite \
    FORMAT="${INGEST_FORMAT:-}" OPTIONS="${INGEST_OPTIONS:-}" ID="${INGEST_ID:-}" ID_FROM="${INGEST_ID_FROM:-}" \
    LABEL="${INGEST_LABEL:-}" CLASSES="${INGEST_CLASSES:-}" FEATURES="${INGEST_FEATURES:-}" \
    FEATURES_PREFIX="${INGEST_FEATURES_PREFIX:-}" SHAPE="${INGEST_SHAPE:-}" SCALE="${INGEST_SCALE:-}" \
    STANDARDIZE="${INGEST_STANDARDIZE:-}" TRANSFORM_FROM="${INGEST_TRANSFORM_FROM:-}"
fi
step label label.sh LABEL_ARGS \
  TRANSFER="$transfer" TEACHER="$teacher" OUT="$soft" MODE=incremental
step "train kd" train.sh KD_ARGS \
  OBJECTIVE=kd SOFT_TARGETS="$soft" VALIDATION="$validation" OUT="$students/kd" \
  CHECKPOINT_DIR="$checkpoints/kd" RESUME=1 MODE=overwrite
step "train baseline" train.sh BASELINE_ARGS \
  OBJECTIVE=hard TRANSFER="$transfer" VALIDATION="$validation" OUT="$students/baseline" \
  CHECKPOINT_DIR="$checkpoints/baseline" RESUME=1 MODE=overwrite
step evaluate evaluate.sh EVALUATE_ARGS \
  TEST="$test_split" TEACHER="$teacher" MODELS="student=$students/kd baseline=$students/baseline" \
  OUT="$evaluation" MODE=overwrite
step export export.sh EXPORT_ARGS \
  MODEL="$students/kd" QUANTIZE=int8 CALIBRATION="$transfer" EVALUATION="$evaluation" OUT="$exported" MODE=overwrite
