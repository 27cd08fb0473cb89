# shellcheck shell=bash
# common.sh: sourced by ingest.sh, label.sh, train.sh, evaluate.sh and pipeline.sh. Builds one spark-submit command line:
#
#   $SPARK_SUBMIT --properties-file <env.conf + executors-<cpu|gpu>.conf, merged> \
#       --class org.distillery.jobs.cli.Distill --name distillery-<job> [$SPARK_SUBMIT_ARGS] <jar> <job> [flags]
#
# Read by every script (all optional):
#   DISTILLERY_ENV        local (default) | standalone | yarn | k8s   -> deploy/spark-defaults/<env>.conf
#   DISTILLERY_EXECUTORS  cpu (default) | gpu                         -> deploy/spark-defaults/executors-<cpu|gpu>.conf
#   DISTILLERY_JAR        the shaded jar; default pipeline-jobs/target/pipeline-jobs-0.1.0-SNAPSHOT-shaded.jar in this
#                         repository, else /opt/distillery/distillery.jar; for k8s
#                         local:///opt/distillery/distillery.jar (a path inside the image). A URI (hdfs://, s3a://,
#                         local://, ...) is passed on unchecked.
#   SPARK_SUBMIT          the spark-submit binary; default $SPARK_HOME/bin/spark-submit if SPARK_HOME is set, else
#                         spark-submit on PATH
#   SPARK_SUBMIT_ARGS     extra spark-submit options, split on whitespace (e.g. "--queue etl --conf spark.x=y")
#   DISTILLERY_CONFIG     HOCON file passed as --config (flag > file > default)
#   DRY_RUN=1             appends --dry-run to the job's flags
#
# Merging: later files win key by key, except spark.{driver,executor}.extraJavaOptions, which are concatenated so the
# executor profile's -D options add to the environment's --add-opens list instead of replacing it. A --conf for one of
# those keys in SPARK_SUBMIT_ARGS replaces the merged value entirely (spark-submit's rule).
set -euo pipefail

DISTILLERY_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DISTILLERY_REPO_JAR="$DISTILLERY_DEPLOY_DIR/../pipeline-jobs/target/pipeline-jobs-0.1.0-SNAPSHOT-shaded.jar"
DISTILLERY_INSTALLED_JAR=/opt/distillery/distillery.jar
DISTILLERY_IMAGE_JAR=local:///opt/distillery/distillery.jar

# One line on stderr, exit 2 (as the CLI does for bad input).
die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

is_true() {
  case "${1:-}" in 1 | true | yes | TRUE | YES) return 0 ;; *) return 1 ;; esac
}

# require VAR "what it is": fails with one line naming VAR when it is unset or empty.
require() {
  [[ -n "${!1:-}" ]] || die "$1 is not set ($2)"
}

# check_mode [incremental]: MODE, when set, must be one the job accepts (label also takes incremental).
check_mode() {
  case "${MODE:-}" in
    "" | fail-if-exists | overwrite) ;;
    incremental) [[ ${1:-} == incremental ]] || die "MODE incremental applies to label only, not '$MODE' here" ;;
    *) die "MODE must be fail-if-exists or overwrite${1:+ or incremental}, not '$MODE'" ;;
  esac
}

# wants_help "$@": true when the first argument asks for this script's help (job flags come after it otherwise).
wants_help() {
  [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]
}

common_help() {
  cat <<'EOF'
Common (all optional):
  DISTILLERY_ENV        local (default) | standalone | yarn | k8s  -> deploy/spark-defaults/<env>.conf
  DISTILLERY_EXECUTORS  cpu (default) | gpu  -> deploy/spark-defaults/executors-<cpu|gpu>.conf (gpu: jar built with mvn -Pcuda)
  DISTILLERY_JAR        shaded jar (default: the repository's pipeline-jobs/target jar, else /opt/distillery/distillery.jar;
                        for k8s local:///opt/distillery/distillery.jar)
  DISTILLERY_CONFIG     HOCON file passed as --config
  DRY_RUN=1             add --dry-run to the job's flags
  SPARK_SUBMIT          spark-submit binary (default: $SPARK_HOME/bin/spark-submit, else spark-submit on PATH)
  SPARK_SUBMIT_ARGS     extra spark-submit options, whitespace-separated (e.g. "--queue etl --conf spark.executor.instances=8")
Arguments after the variables' flags are passed to the job as extra flags; `distill <job> --help` lists them.
The job's last stdout line is its one-line JSON summary (in YARN/k8s cluster mode it is in the driver's log).
EOF
}

_distillery_jar() {
  local env="$1" jar="${DISTILLERY_JAR:-}"
  if [[ -z "$jar" ]]; then
    if [[ "$env" == k8s ]]; then
      echo "$DISTILLERY_IMAGE_JAR"
      return
    fi
    for jar in "$DISTILLERY_REPO_JAR" "$DISTILLERY_INSTALLED_JAR"; do
      [[ -f "$jar" ]] && { (cd "$(dirname "$jar")" && echo "$PWD/$(basename "$jar")"); return; }
    done
    die "jar not found: neither $(cd "$DISTILLERY_DEPLOY_DIR/.." && pwd)/pipeline-jobs/target/pipeline-jobs-0.1.0-SNAPSHOT-shaded.jar nor $DISTILLERY_INSTALLED_JAR exists (build it with 'mvn -B -DskipTests package' or set DISTILLERY_JAR)"
  fi
  case "$jar" in
    file:*) [[ -f "${jar#file:}" ]] || die "DISTILLERY_JAR not found: $jar" ;;
    *://* | local:*) ;;
    *) [[ -f "$jar" ]] || die "DISTILLERY_JAR not found: $jar" ;;
  esac
  echo "$jar"
}

_spark_submit_bin() {
  local bin="${SPARK_SUBMIT:-}"
  if [[ -z "$bin" ]]; then
    if [[ -n "${SPARK_HOME:-}" ]]; then bin="$SPARK_HOME/bin/spark-submit"; else bin=spark-submit; fi
  fi
  command -v "$bin" >/dev/null 2>&1 || die "spark-submit not found: '$bin' (set SPARK_SUBMIT or SPARK_HOME)"
  echo "$bin"
}

# _merge_properties FILE...: Java-properties files (comments, continuation lines, 'key value' / key=value / key:value)
# to one 'key value' file on stdout; later keys win, *.extraJavaOptions are concatenated.
_merge_properties() {
  awk '
    function put(line,   key, val) {
      sub(/^[ \t\f]+/, "", line)
      if (line == "") return
      if (match(line, /[ \t\f=:]/)) {
        key = substr(line, 1, RSTART - 1); val = substr(line, RSTART)
        sub(/^[ \t\f]*[=:]?[ \t\f]*/, "", val)
      } else { key = line; val = "" }
      sub(/[ \t\f]+$/, "", val)
      if (!(key in v)) { order[++n] = key; v[key] = val }
      else if (key ~ /extraJavaOptions$/) { v[key] = (v[key] == "" ? val : (val == "" ? v[key] : v[key] " " val)) }
      else v[key] = val
    }
    {
      line = $0
      if (!cont && line ~ /^[ \t\f]*[#!]/) next
      if (cont) { sub(/^[ \t\f]+/, "", line); buf = buf line } else buf = line
      if (match(buf, /\\+$/) && RLENGTH % 2 == 1) { buf = substr(buf, 1, length(buf) - 1); cont = 1; next }
      cont = 0; put(buf)
    }
    END { if (cont) put(buf); for (i = 1; i <= n; i++) print order[i] " " v[order[i]] }
  ' "$@"
}

# _property FILE KEY: the value of KEY in a merged file, or nothing.
_property() {
  awk -v k="$2" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$1"
}

_DISTILLERY_TMP_FILES=()
_distillery_cleanup() {
  local f
  for f in "${_DISTILLERY_TMP_FILES[@]+"${_DISTILLERY_TMP_FILES[@]}"}"; do rm -f "$f"; done
}
trap _distillery_cleanup EXIT

# submit JOB [FLAG...]: runs `distill JOB FLAG...` through spark-submit with the chosen profiles; returns its exit code.
submit() {
  [[ $# -ge 1 ]] || die "submit: no job given"
  local job="$1"
  shift
  local env="${DISTILLERY_ENV:-local}" executors="${DISTILLERY_EXECUTORS:-cpu}"
  case "$env" in
    local | standalone | yarn | k8s) ;;
    *) die "unknown DISTILLERY_ENV '$env' (local, standalone, yarn or k8s)" ;;
  esac
  case "$executors" in cpu | gpu) ;; *) die "unknown DISTILLERY_EXECUTORS '$executors' (cpu or gpu)" ;; esac
  if [[ "$env" == local && "$executors" == gpu ]]; then
    die "DISTILLERY_EXECUTORS=gpu needs a cluster (standalone, yarn or k8s); in local mode use cpu with the CUDA jar"
  fi
  local env_conf="$DISTILLERY_DEPLOY_DIR/spark-defaults/$env.conf"
  local exec_conf="$DISTILLERY_DEPLOY_DIR/spark-defaults/executors-$executors.conf"
  [[ -f "$env_conf" ]] || die "missing $env_conf"
  [[ -f "$exec_conf" ]] || die "missing $exec_conf"
  local jar bin
  jar="$(_distillery_jar "$env")" || exit $?
  bin="$(_spark_submit_bin)" || exit $?

  local extra props files=() job_args=("$job")
  extra="$(mktemp "${TMPDIR:-/tmp}/distillery-extra.XXXXXX")"
  props="$(mktemp "${TMPDIR:-/tmp}/distillery-$job.XXXXXX.conf")"
  _DISTILLERY_TMP_FILES+=("$extra" "$props")
  if [[ "$env" == local ]]; then
    # Local mode: the driver is the executor, so logging, OpenMP and the bind address come from here.
    echo "spark.driver.extraJavaOptions -Dlog4j2.configurationFile=file:$DISTILLERY_DEPLOY_DIR/local/log4j2.properties" >>"$extra"
    export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
  fi
  if [[ "$env" == yarn && "$executors" == gpu ]]; then
    # YARN localizes --files into each container's working directory before the executor starts.
    files+=("$DISTILLERY_DEPLOY_DIR/spark-defaults/gpu/getGpusResources.sh")
    echo "spark.executor.resource.gpu.discoveryScript ./getGpusResources.sh" >>"$extra"
  fi
  _merge_properties "$env_conf" "$exec_conf" "$extra" >"$props"

  if [[ -n "${DISTILLERY_CONFIG:-}" ]]; then
    local config="$DISTILLERY_CONFIG"
    if [[ -f "$config" && "$(_property "$props" spark.master)" == yarn &&
      "$(_property "$props" spark.submit.deployMode)" == cluster ]]; then
      # The driver runs in a YARN container: ship the file and name it relative to the container.
      files+=("$(cd "$(dirname "$config")" && pwd)/$(basename "$config")")
      config="$(basename "$config")"
    elif [[ "$config" != *://* && ! -f "$config" ]]; then
      die "DISTILLERY_CONFIG not found: $config"
    fi
    job_args+=(--config "$config")
  fi
  job_args+=("$@")
  if is_true "${DRY_RUN:-}"; then job_args+=(--dry-run); fi

  # One OpenMP thread per task, and no spin-waiting (../../../shared/STACK.md); executors get theirs from the conf.
  export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

  local cmd=("$bin" --properties-file "$props" --class org.distillery.jobs.cli.Distill --name "distillery-$job")
  if [[ ${#files[@]} -gt 0 ]]; then cmd+=(--files "$(IFS=,; echo "${files[*]}")"); fi
  if [[ -n "${SPARK_SUBMIT_ARGS:-}" ]]; then
    local submit_args
    read -r -a submit_args <<<"$SPARK_SUBMIT_ARGS"
    cmd+=("${submit_args[@]}")
  fi
  cmd+=("$jar" "${job_args[@]}")

  echo "distillery: env=$env executors=$executors jar=$jar" >&2
  echo "distillery: $(printf '%q ' "${cmd[@]}")" >&2
  local rc=0
  "${cmd[@]}" || rc=$?
  rm -f "$extra" "$props"
  return "$rc"
}
