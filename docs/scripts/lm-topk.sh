#!/usr/bin/env bash
# Top-K bias of token soft targets (issue 20 item 9; docs/PERFORMANCE.md, "Token soft targets: what top-K costs a
# language-model student"). One teacher LM labels the same training windows densely (fp32, every logit) and with
# `label --top-k K` for each K; the same student (same shape, seed, windows and schedule) is distilled from each, at
# T = 1 (where a top-K row's tail is exact in mass: only its shape is spread evenly) and at T = 2 (the tail's mass is
# approximate too); a second student seed at the last K given and dense measures seed noise. Evaluate scores every
# student on the test split with the teacher pinned; docs/scripts/lm_topk_md.py prints the table.
# Usage: docs/scripts/lm-topk.sh WORK_DIR [K...]          (K default: 1 4 8 16)
# Environment (defaults in brackets): TOPK_SOURCE [three fortunes files: people, science, politics, ~410 k chars],
#   TOPK_TEACHER [lstm:32:128] TOPK_TEACHER_EPOCHS [3] TOPK_STUDENT [lstm:16:64] TOPK_STUDENT_EPOCHS [2]
#   TOPK_TEMPERATURES [1 2] TOPK_SEEDS [42 43] (the first trains every student, the others only the last K given and dense)
#   TOPK_ALPHA [1: the soft term only, so that the students differ by their targets alone].
# A rerun reuses every published output under WORK_DIR (delete one to redo it) and evaluates again: evaluate scores every
# published student under WORK_DIR/students, so a run stopped part way (or continued with other K, T or seeds) still
# gives a table of what it has.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 WORK_DIR [K...]" >&2; exit 2; }
W="$1"; shift
KS=("$@"); [[ ${#KS[@]} -gt 0 ]] || KS=(1 4 8 16)
F=/usr/share/games/fortunes
SOURCE="${TOPK_SOURCE:-$F/people,$F/science,$F/politics}"
TEACHER="${TOPK_TEACHER:-lstm:32:128}"
STUDENT="${TOPK_STUDENT:-lstm:16:64}"
read -r -a TEMPS <<<"${TOPK_TEMPERATURES:-1 2}"
read -r -a SEEDS <<<"${TOPK_SEEDS:-42 43}"
ALPHA="${TOPK_ALPHA:-1}"
D="$ROOT/bin/distill"
export OMP_WAIT_POLICY=passive SPARK_LOCAL_IP=127.0.0.1
mkdir -p "$W/logs"
shape() { # shape lstm:E:H[,H...] -> --embedding E --hidden H --layers L
  local e h; IFS=: read -r _ e h <<<"$1"
  echo "--embedding $e --hidden ${h%%,*} --layers $(tr ',' '\n' <<<"$h" | wc -l)"
}
step() { # step NAME OUT COMMAND...: runs a stage unless OUT is published; its seconds go to WORK_DIR/seconds.tsv
  local name="$1" out="$2"; shift 2
  if [[ -e $out/_SUCCESS ]]; then echo "== $name: $out published, reused"; return; fi
  echo "== $name ($(date -u +%T))"
  local t0=$SECONDS
  if ! "$@" >"$W/logs/$name.out" 2>"$W/logs/$name.err"; then
    echo "$name failed; the end of $W/logs/$name.err:" >&2; tail -20 "$W/logs/$name.err" >&2; exit 1
  fi
  tail -1 "$W/logs/$name.out"
  printf '%s\t%s\n' "$name" "$((SECONDS - t0))" >>"$W/seconds.tsv"
}
echo "# lm-topk: K=${KS[*]} T=${TEMPS[*]} seeds=${SEEDS[*]} teacher=$TEACHER student=$STUDENT, $(getconf _NPROCESSORS_ONLN) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
START=$SECONDS

step ingest "$W/data/test" "$D" ingest --format text --source "$SOURCE" --documents 'delimiter:%' --window 64 \
    --burn-in 16 --split validation=0.05,test=0.05 --seed 42 --out "$W/data"
# shellcheck disable=SC2046
step teacher "$W/teacher" "$D" train --task lm --objective hard --transfer "$W/data/train" \
    --validation "$W/data/validation" $(shape "$TEACHER") --epochs "${TOPK_TEACHER_EPOCHS:-3}" --learning-rate 0.003 \
    --batch-size 64 --seed 42 --out "$W/teacher"
step label-dense "$W/soft/dense" "$D" label --transfer "$W/data/train" --teacher "$W/teacher" --out "$W/soft/dense"
for k in "${KS[@]}"; do
  step "label-k$k" "$W/soft/k$k" "$D" label --transfer "$W/data/train" --teacher "$W/teacher" --top-k "$k" \
      --out "$W/soft/k$k"
done

LARGEST="k${KS[-1]}"
student() { # student TARGETS T SEED
  local name="$1_t$2_s$3"
  # shellcheck disable=SC2046
  step "student-$name" "$W/students/$name" "$D" train --task lm --objective kd --soft-targets "$W/soft/$1" \
      --validation "$W/data/validation" $(shape "$STUDENT") -T "$2" --alpha "$ALPHA" \
      --epochs "${TOPK_STUDENT_EPOCHS:-2}" --patience 100 --learning-rate 0.003 --batch-size 64 --seed "$3" \
      --out "$W/students/$name"
}
# first every target set at T = 1 and the first seed, then the noise seeds, then the other temperatures
for t in dense "${KS[@]/#/k}"; do student "$t" "${TEMPS[0]}" "${SEEDS[0]}"; done
for s in "${SEEDS[@]:1}"; do student "$LARGEST" "${TEMPS[0]}" "$s"; student dense "${TEMPS[0]}" "$s"; done
for temp in "${TEMPS[@]:1}"; do
  for t in dense "${KS[@]/#/k}"; do student "$t" "$temp" "${SEEDS[0]}"; done
done

MODELS=()
for m in "$W"/students/*/_SUCCESS; do m="$(dirname "$m")"; MODELS+=(--model "$(basename "$m")=$m"); done
echo "== evaluate $((${#MODELS[@]} / 2)) students ($(date -u +%T))"
t0=$SECONDS
"$D" evaluate --mode overwrite --test "$W/data/test" --teacher "$W/teacher" "${MODELS[@]}" --latency-runs 20 \
    --samples 1 --out "$W/evaluation" >"$W/logs/evaluate.out" 2>"$W/logs/evaluate.err" \
  || { echo "evaluate failed; the end of $W/logs/evaluate.err:" >&2; tail -20 "$W/logs/evaluate.err" >&2; exit 1; }
printf 'evaluate\t%s\n' "$((SECONDS - t0))" >>"$W/seconds.tsv"
echo "# done $(date -u +%FT%TZ), $((SECONDS - START)) s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/docs/scripts/lm_topk_md.py" "$W"
