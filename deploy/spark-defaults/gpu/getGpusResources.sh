#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript): prints the GPUs this executor can see,
# {"name": "gpu", "addresses": ["0","1",...]}, from nvidia-smi, as Spark's
# examples/src/main/scripts/getGpusResources.sh does.
# Under YARN or Kubernetes the container sees only the GPUs assigned to it.
set -euo pipefail
command -v nvidia-smi >/dev/null 2>&1 || { echo "getGpusResources.sh: nvidia-smi not found" >&2; exit 1; }
indices="$(nvidia-smi --query-gpu=index --format=csv,noheader)"
addresses=()
while IFS= read -r index; do
  index="${index//[[:space:]]/}"
  if [[ -n "$index" ]]; then addresses+=("\"$index\""); fi
done <<<"$indices"
(IFS=,; echo "{\"name\": \"gpu\", \"addresses\": [${addresses[*]}]}")
