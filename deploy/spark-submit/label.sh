#!/usr/bin/env bash
# label.sh: submits `distill label` (teacher -> soft targets) with spark-submit. --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] label.sh [extra label flags ...]
Runs `distill label` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  TRANSFER        published transfer set, or a partitioned one   -> --transfer
                  (a directory of COLUMN=VALUE published transfer sets)
  TEACHER         published teacher directory, or a model file   -> --teacher
                  (DL4J zip, Keras .keras/.h5, ONNX with its external data beside it)
  OUT             output directory for the soft targets          -> --out
Optional:
  TEMPERATURE     temperature of the stored soft column (job default 2.0)  -> --temperature
  TEACHER_SHA256  refuse to run unless the teacher has this SHA-256        -> --teacher-sha256
  TEACHER_OUTPUT  the output to read of an ONNX teacher with several       -> --teacher-output
  MODE            fail-if-exists (job default) | overwrite | incremental   -> --mode
USAGE
  common_help
  exit 0
fi

require TRANSFER "the published transfer set to label"
require TEACHER "the published teacher directory or model file"
require OUT "the output directory for the soft targets"
check_mode incremental

args=(--transfer "$TRANSFER" --teacher "$TEACHER" --out "$OUT")
if [[ -n "${TEMPERATURE:-}" ]]; then args+=(--temperature "$TEMPERATURE"); fi
if [[ -n "${TEACHER_SHA256:-}" ]]; then args+=(--teacher-sha256 "$TEACHER_SHA256"); fi
if [[ -n "${TEACHER_OUTPUT:-}" ]]; then args+=(--teacher-output "$TEACHER_OUTPUT"); fi
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit label "${args[@]}" "$@"
