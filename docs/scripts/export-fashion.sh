#!/usr/bin/env bash
# Exported students on real data (README, "Shipping the student"): Fashion-MNIST ingested, the demo's student shape
# (mlp:64) and CNN shape (cnn:20,50:500) trained on the hard labels for a few epochs, each exported (fp32 and int8,
# calibrated on 1,000 rows of the training split), and all six files scored by evaluate on the 10,000 test images,
# the DL4J MLP as the reference ("teacher" column: agreement is with the DL4J CNN when scoring the CNN's files, see
# below). Prints the Markdown table from the two evaluation reports.
# Usage: docs/scripts/export-fashion.sh [RUN_DIR=/tmp/distillery-export-fashion] [MLP_EPOCHS=5] [CNN_EPOCHS=1]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN="${1:-/tmp/distillery-export-fashion}"
MLP_EPOCHS="${2:-5}"
CNN_EPOCHS="${3:-1}"
D=bin/distill
[ -f "$RUN/data/test/_SUCCESS" ] || $D ingest --out "$RUN/data" | tail -1
for arch in mlp:64 cnn:20,50:500; do
  name=${arch%%:*}
  epochs=$([ "$name" = mlp ] && echo "$MLP_EPOCHS" || echo "$CNN_EPOCHS")
  [ -f "$RUN/models/$name/_SUCCESS" ] || $D train --objective hard --transfer "$RUN/data/train" \
    --validation "$RUN/data/validation" --arch "$arch" --epochs "$epochs" --out "$RUN/models/$name" | tail -1
  [ -f "$RUN/export/$name/_SUCCESS" ] || $D export --model "$RUN/models/$name" --format onnx --quantize int8 \
    --calibration "$RUN/data/train" --out "$RUN/export/$name" | tail -1
  # the DL4J model is its own files' reference: agreement_with_teacher = same argmax as DL4J
  [ -f "$RUN/evaluation-$name/_SUCCESS" ] || $D evaluate --test "$RUN/data/test" --teacher "$RUN/models/$name" \
    --model "onnx=$RUN/export/$name" --model "onnx_int8=$RUN/export/$name/model-int8.onnx" \
    --out "$RUN/evaluation-$name" | tail -1
done
python3 - "$RUN" <<'PY'
import json, sys
run = sys.argv[1]
print("\n| model | file | test accuracy | same argmax as DL4J | KL(DL4J ‖ file) | ECE | parameters | bytes | latency (1 row, ms) |")
print("|---|---|---|---|---|---|---|---|---|")
for name, arch in (("mlp", "mlp:64"), ("cnn", "cnn:20,50:500")):
    report = json.load(open(f"{run}/evaluation-{name}/report.json"))
    manifest = json.load(open(f"{run}/export/{name}/_manifest.json"))
    for key, file in (("teacher", "model.zip (DL4J)"), ("onnx", "model.onnx"), ("onnx_int8", "model-int8.onnx")):
        m = report["models"][key]
        print(f"| `{arch}` | {file} | {100 * m['accuracy']:.2f}% | {100 * m['agreement_with_teacher']:.2f}% |"
              f" {m['mean_kl_from_teacher']:.2e} | {m['ece']:.4f} | {m['params']:,} | {m['model_bytes']:,} |"
              f" {m['latency_ms_p50']:.3f} |")
    v = manifest["facts"]["verification"]
    print(f"<!-- {arch}: export verification on {v['rows']}: fp32 max |diff| {v['fp32']['maxAbsDiff']:.3g}"
          f" (relative {v['fp32']['maxRelDiff']:.3g}), int8 argmax agreement {v['int8']['argmaxAgreement']:.4f} -->")
PY
