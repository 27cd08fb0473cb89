#!/usr/bin/env bash
# evaluate.sh: submits `distill evaluate` (teacher and models on the test split). --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] evaluate.sh [extra evaluate flags ...]
Runs `distill evaluate` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  TEST      published test split                                   -> --test
  OUT       output directory for report.json                       -> --out
Optional:
  TEACHER   published teacher (directory or model file); it must be the one the models' soft targets came from
            (default: that teacher, read from where it was labelled from)  -> --teacher
  MODELS    space-separated NAME=DIR pairs, e.g.
            "student=/runs/students/kd baseline=/runs/students/baseline"  -> --model NAME=DIR each
            (without it only the teacher is scored)
  MODE      fail-if-exists (job default) | overwrite               -> --mode
USAGE
  common_help
  exit 0
fi

require TEST "the published test split"
require OUT "the output directory for the evaluation"
check_mode

args=(--test "$TEST")
if [[ -n "${TEACHER:-}" ]]; then args+=(--teacher "$TEACHER"); fi
read -r -a models <<<"${MODELS:-}"
for m in "${models[@]+"${models[@]}"}"; do
  [[ "$m" == ?*=?* ]] || die "MODELS must be space-separated NAME=DIR pairs; '$m' is not"
  args+=(--model "$m")
done
args+=(--out "$OUT")
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit evaluate "${args[@]}" "$@"
