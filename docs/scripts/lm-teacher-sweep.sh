#!/usr/bin/env bash
# The LM demo's teacher, batch and width against speed and bits/char: trains one epoch over the first WINDOWS windows
# of a text transfer set's seeded order for each NAME:HIDDEN:BATCH:LR (embedding 32, one LSTM layer, as the demo's
# teacher) and prints a Markdown table: wall and CPU seconds of the whole command (JVM start, caching, the untrained
# and the trained validation scoring included), CPU milliseconds per training window, the load average before and
# after (the machine is shared: wall seconds follow the load, CPU seconds much less) and validation bits/char.
# Usage: docs/scripts/lm-teacher-sweep.sh DATA_DIR OUT_DIR WINDOWS NAME:HIDDEN:BATCH:LR...
#        (DATA_DIR: ingest --format text output, e.g. RUN/data of `demo --task lm`; a NAME already in OUT_DIR is kept)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="$1"; OUT="$2"; WINDOWS="$3"; shift 3
mkdir -p "$OUT"
for spec in "$@"; do
  IFS=: read -r name hidden batch lr <<< "$spec"
  [[ -e $OUT/$name ]] && continue
  before=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -o "$OUT/$name.time" -f "%e %U %S" "$ROOT/bin/distill" train --task lm --objective hard \
      --transfer "$DATA/train" --validation "$DATA/validation" --windows "$WINDOWS" --embedding 32 --hidden "$hidden" \
      --layers 1 --batch-size "$batch" --learning-rate "$lr" --epochs 1 --out "$OUT/$name" > "$OUT/$name.log" 2>&1
  echo "$before $(cut -d' ' -f1 /proc/loadavg)" > "$OUT/$name.load"
done
python3 - "$OUT" "$@" <<'EOF'
import json, sys
out = sys.argv[1]
print("| teacher | batch | learning rate | windows | wall s | CPU s | CPU ms / window | load before, after |"
      " validation bits/char |")
print("|---|---|---|---|---|---|---|---|---|")
for spec in sys.argv[2:]:
    name = spec.split(":")[0]
    m = json.load(open(f"{out}/{name}/_manifest.json", encoding="utf-8"))
    c, f = m["config"], m["facts"]
    wall, user, sys_ = map(float, open(f"{out}/{name}.time").read().split()[-3:])
    load = open(f"{out}/{name}.load").read().split()
    cpu = user + sys_
    print(f"| `{f['architecture']}` | {c['batchSize']} | {c['learningRate']:g} | {int(f['rows']):,} | {wall:.0f} |"
          f" {cpu:.0f} | {1000 * cpu / f['rows']:.1f} | {load[0]}, {load[1]} | {f['validationBitsPerChar']:.3f} |")
EOF
