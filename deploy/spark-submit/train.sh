#!/usr/bin/env bash
# train.sh: submits `distill train` (KD student, hard-label baseline or pseudo-label student).
# --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] train.sh [extra train flags ...]
Runs `distill train` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  OUT                  output directory for the model                          -> --out
  SOFT_TARGETS         published soft targets (required for kd, pseudo_label)  -> --soft-targets
  TRANSFER             published transfer set (required for hard; for kd and pseudo_label the default is the set
                       the soft targets were labelled from)                    -> --transfer
Optional:
  OBJECTIVE            kd (default) | hard | pseudo_label                      -> --objective
  VALIDATION           published validation set (best epoch, T and alpha)      -> --validation
  ARCH                 network shape, e.g. mlp:64 (job default)                -> --arch
  EPOCHS               maximum epochs                                          -> --epochs
  WORKERS              parallel training workers (match the executor slots)    -> --workers
  AVERAGING_FREQUENCY  minibatches per worker between averagings               -> --averaging-frequency
  CHECKPOINT_DIR       where to keep training checkpoints                      -> --checkpoint-dir
  RESUME=1             continue from the checkpoints in CHECKPOINT_DIR         -> --resume
  MODE                 fail-if-exists (job default) | overwrite                -> --mode
USAGE
  common_help
  exit 0
fi

OBJECTIVE="${OBJECTIVE:-kd}"
case "$OBJECTIVE" in
  kd | pseudo_label) require SOFT_TARGETS "the published soft targets; OBJECTIVE=$OBJECTIVE needs them" ;;
  hard) require TRANSFER "the published transfer set; OBJECTIVE=hard trains on its hard labels" ;;
  *) die "OBJECTIVE must be kd, hard or pseudo_label, not '$OBJECTIVE'" ;;
esac
require OUT "the output directory for the model"
check_mode

args=(--objective "$OBJECTIVE")
if [[ -n "${SOFT_TARGETS:-}" ]]; then args+=(--soft-targets "$SOFT_TARGETS"); fi
if [[ -n "${TRANSFER:-}" ]]; then args+=(--transfer "$TRANSFER"); fi
if [[ -n "${VALIDATION:-}" ]]; then args+=(--validation "$VALIDATION"); fi
args+=(--out "$OUT")
if [[ -n "${ARCH:-}" ]]; then args+=(--arch "$ARCH"); fi
if [[ -n "${EPOCHS:-}" ]]; then args+=(--epochs "$EPOCHS"); fi
if [[ -n "${WORKERS:-}" ]]; then args+=(--workers "$WORKERS"); fi
if [[ -n "${AVERAGING_FREQUENCY:-}" ]]; then args+=(--averaging-frequency "$AVERAGING_FREQUENCY"); fi
if [[ -n "${CHECKPOINT_DIR:-}" ]]; then args+=(--checkpoint-dir "$CHECKPOINT_DIR"); fi
if is_true "${RESUME:-}"; then args+=(--resume); fi
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit train "${args[@]}" "$@"
