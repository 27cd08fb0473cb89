#!/usr/bin/env bash
# ingest.sh: submits `distill ingest` (a table from any Spark source -> transfer sets) with spark-submit.
# --help lists the variables.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if wants_help "$@"; then
  cat <<'USAGE'
Usage: [VAR=value ...] ingest.sh [extra ingest flags ...]
Runs `distill ingest` through spark-submit --class org.distillery.jobs.cli.Distill

Required:
  SOURCE           a path on any Hadoop filesystem (folder, file or glob), or a catalog table  -> --source
  OUT              output directory: OUT/train, OUT/validation, OUT/test, or with SPLIT=none
                   one transfer set at OUT                                                -> --out
Optional (unset: the config file's ingest section, else the job default):
  FORMAT           parquet | csv | json | orc | image | binaryFile | table | idx             -> --format
  OPTIONS          Spark reader options, whitespace-separated KEY=VALUE (header=true ...)  -> --option (each)
  ID               id column (integer as is, string hashed to 64 bits)                    -> --id
  ID_FROM          columns hashed together into the id, COL,COL                           -> --id-from
  LABEL            class label column (integer or string)                                  -> --label
  CLASSES          class names in index order, NAME,NAME,...                               -> --classes
  FEATURES         array / vector / image-bytes column, or numeric columns COL,COL        -> --features
  FEATURES_PREFIX  numeric feature columns by name prefix                                  -> --features-prefix
  SHAPE            image shape CxHxW (images of another size are resized)                  -> --shape
  SCALE            scale of every feature value, e.g. 1/255                                -> --scale
  STANDARDIZE=1    standardize each feature (statistics fitted on the training split)     -> --standardize
  TRANSFORM_FROM   published transfer set whose classes and transform to apply            -> --transform-from
  SPLIT            validation=F,test=F | none                                              -> --split
  SPLIT_COLUMN     column holding train / validation / test                                -> --split-column
  MODE             fail-if-exists (job default) | overwrite                                -> --mode
USAGE
  common_help
  exit 0
fi

require SOURCE "the source to ingest: a path or a catalog table"
require OUT "the output directory for the transfer sets"
check_mode

args=(--source "$SOURCE" --out "$OUT")
if [[ -n "${FORMAT:-}" ]]; then args+=(--format "$FORMAT"); fi
if [[ -n "${OPTIONS:-}" ]]; then
  read -r -a reader_options <<<"$OPTIONS"
  for o in "${reader_options[@]}"; do args+=(--option "$o"); done
fi
if [[ -n "${ID:-}" ]]; then args+=(--id "$ID"); fi
if [[ -n "${ID_FROM:-}" ]]; then args+=(--id-from "$ID_FROM"); fi
if [[ -n "${LABEL:-}" ]]; then args+=(--label "$LABEL"); fi
if [[ -n "${CLASSES:-}" ]]; then args+=(--classes "$CLASSES"); fi
if [[ -n "${FEATURES:-}" ]]; then args+=(--features "$FEATURES"); fi
if [[ -n "${FEATURES_PREFIX:-}" ]]; then args+=(--features-prefix "$FEATURES_PREFIX"); fi
if [[ -n "${SHAPE:-}" ]]; then args+=(--shape "$SHAPE"); fi
if [[ -n "${SCALE:-}" ]]; then args+=(--scale "$SCALE"); fi
if is_true "${STANDARDIZE:-}"; then args+=(--standardize); fi
if [[ -n "${TRANSFORM_FROM:-}" ]]; then args+=(--transform-from "$TRANSFORM_FROM"); fi
if [[ -n "${SPLIT:-}" ]]; then args+=(--split "$SPLIT"); fi
if [[ -n "${SPLIT_COLUMN:-}" ]]; then args+=(--split-column "$SPLIT_COLUMN"); fi
if [[ -n "${MODE:-}" ]]; then args+=(--mode "$MODE"); fi

submit ingest "${args[@]}" "$@"
