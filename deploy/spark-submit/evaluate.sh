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
  TEACHER   published teacher directory or DL4J model zip          -> --teacher
  OUT       output directory for report.json                       -> --out
Optional:
  MODELS    space-separated NAME=DIR pairs, e.g.
            "student=/runs/students/kd baseline=/runs/students/baseline"  -> --model NAME=DIR each
            (without it only the teacher is scored)
  MODE      fail-if-exists (job default) | overwrite               -> --mode
USAGE
  common_help
  exit 0
fi

require TEST "the published test split"
require TEACHER "the published teacher directory or DL4J model zip"
require OUT "the output directory for the evaluation"
check_mode

args=(--test "$TEST" --teacher "$TEACHER")
read -r -a models <<<"${MODELS:-}"
for m in "${models[@]+"${models[@]}"}"; do
  [[ "$m" == ?*=?* ]] || die "MODELS must be space-separated NAME=DIR pairs; '$m' is not"
  args+=(--model "$m")
done
args+=(--out "$OUT")
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit evaluate "${args[@]}" "$@"
