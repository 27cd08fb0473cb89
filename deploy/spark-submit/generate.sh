#!/usr/bin/env bash
# generate.sh: submits `distill generate` (a frozen teacher LM samples continuations of the windows of a text
# transfer set, published as a text transfer set for sequence-level distillation). --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] generate.sh [extra generate flags ...]
Runs `distill generate` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  PROMPTS      published text transfer set whose windows give the prompts      -> --prompts
  TEACHER      teacher LM: published model directory, DL4J zip or ONNX file    -> --teacher
  OUT          output directory of the generated text transfer set            -> --out
Optional:
  TOKENS       tokens sampled per prompt at most (job default 128)            -> --tokens
  PROMPT_TOKENS  prompt length P (job default 16)                             -> --prompt-tokens
  TEMPERATURE  sampling temperature > 0 (job default 1.0)                     -> --temperature
  TOP_P        nucleus in (0, 1] (job default 1.0)                            -> --top-p
  SAMPLES_PER_PROMPT  continuations per prompt (job default 1)                -> --samples-per-prompt
  SEED         seed (job default 42)                                          -> --seed
  LIMIT        prompts taken at most (default: every window)                  -> --limit
  MODE         fail-if-exists (job default) | overwrite                       -> --mode
USAGE
  common_help
  exit 0
fi

require PROMPTS "the published text transfer set of the prompts"
require TEACHER "the teacher LM"
require OUT "the output directory of the generated text transfer set"
check_mode

args=(--prompts "$PROMPTS" --teacher "$TEACHER" --out "$OUT")
if [[ -n "${TOKENS:-}" ]]; then args+=(--tokens "$TOKENS"); fi
if [[ -n "${PROMPT_TOKENS:-}" ]]; then args+=(--prompt-tokens "$PROMPT_TOKENS"); fi
if [[ -n "${TEMPERATURE:-}" ]]; then args+=(--temperature "$TEMPERATURE"); fi
if [[ -n "${TOP_P:-}" ]]; then args+=(--top-p "$TOP_P"); fi
if [[ -n "${SAMPLES_PER_PROMPT:-}" ]]; then args+=(--samples-per-prompt "$SAMPLES_PER_PROMPT"); fi
if [[ -n "${SEED:-}" ]]; then args+=(--seed "$SEED"); fi
if [[ -n "${LIMIT:-}" ]]; then args+=(--limit "$LIMIT"); fi
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit generate "${args[@]}" "$@"
