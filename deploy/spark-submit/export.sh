#!/usr/bin/env bash
# export.sh: submits `distill export` (a published student as ONNX, fp32 and optionally int8, with a model card).
# --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] export.sh [extra export flags ...]
Runs `distill export` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  MODEL        published model directory (a student, or a calibrated one)  -> --model
  OUT          output directory: model.onnx, model-int8.onnx, card.json, card.md  -> --out
Optional:
  QUANTIZE     none (job default) | int8                                    -> --quantize
  CALIBRATION  published transfer set: calibrates int8, verifies the files  -> --calibration (required with int8)
  EVALUATION   published evaluate output: the card's test metrics           -> --evaluation
  MODE         fail-if-exists (job default) | overwrite                     -> --mode
USAGE
  common_help
  exit 0
fi

require MODEL "the published model directory"
require OUT "the output directory of the exported files"
check_mode
if [[ "${QUANTIZE:-}" == int8 ]]; then require CALIBRATION "the transfer set int8 is calibrated on"; fi

args=(--model "$MODEL" --out "$OUT")
if [[ -n "${QUANTIZE:-}" ]]; then args+=(--quantize "$QUANTIZE"); fi
if [[ -n "${CALIBRATION:-}" ]]; then args+=(--calibration "$CALIBRATION"); fi
if [[ -n "${EVALUATION:-}" ]]; then args+=(--evaluation "$EVALUATION"); fi
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit export "${args[@]}" "$@"
