#!/usr/bin/env bash
# spark-properties.sh: prints the Spark properties the scripts here would submit with, for DISTILLERY_ENV (local |
# standalone | yarn | k8s) and DISTILLERY_EXECUTORS (cpu | gpu): spark-defaults/<env>.conf and
# executors-<profile>.conf merged (later keys win, extraJavaOptions joined). Install the result where callers that
# do not use these scripts can read it, e.g. the Airflow DAG's `properties_file` param:
#   DISTILLERY_ENV=yarn DISTILLERY_EXECUTORS=gpu deploy/spark-submit/spark-properties.sh > /opt/distillery/conf/spark.conf
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
if wants_help "$@"; then
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  common_help
  exit 0
fi
env_name="${DISTILLERY_ENV:-local}"
profile="${DISTILLERY_EXECUTORS:-cpu}"
defaults="$HERE/../spark-defaults"
[[ -f "$defaults/$env_name.conf" ]] || die "unknown DISTILLERY_ENV '$env_name' (local, standalone, yarn, k8s)"
[[ -f "$defaults/executors-$profile.conf" ]] || die "unknown DISTILLERY_EXECUTORS '$profile' (cpu, gpu)"
_merge_properties "$defaults/$env_name.conf" "$defaults/executors-$profile.conf"
