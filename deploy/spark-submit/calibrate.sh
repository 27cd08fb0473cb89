#!/usr/bin/env bash
# calibrate.sh: submits `distill calibrate` (temperature scaling, optionally per-class biases, fitted on validation
# and folded into the model's output layer). --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] calibrate.sh [extra calibrate flags ...]
Runs `distill calibrate` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  MODEL        published model directory                                   -> --model
  VALIDATION   published split with labels to fit on (never the test split) -> --validation
  OUT          output directory of the calibrated model                    -> --out
Optional:
  METHOD       temperature (job default) | bias | temperature+bias          -> --method
  MODE         fail-if-exists (job default) | overwrite                     -> --mode
USAGE
  common_help
  exit 0
fi

require MODEL "the published model directory"
require VALIDATION "the published validation split"
require OUT "the output directory of the calibrated model"
check_mode

args=(--model "$MODEL" --validation "$VALIDATION" --out "$OUT")
if [[ -n "${METHOD:-}" ]]; then args+=(--method "$METHOD"); fi
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit calibrate "${args[@]}" "$@"
