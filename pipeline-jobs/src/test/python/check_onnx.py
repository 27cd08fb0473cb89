#!/usr/bin/env python3
"""Runs an exported student with Python's ONNX Runtime and compares its logits with DL4J's.

Usage: check_onnx.py MODEL.onnx ROWS.f32 EXPECTED.f32

ROWS.f32 and EXPECTED.f32: little-endian float32, the feature rows [N, D] and DL4J's logits [N, C], row-major (D and
C are read from the model's input and output). The model must pass onnx.checker (full check, with shape inference).

Prints one JSON line: maxAbsDiff, maxRelDiff (per row: max |ONNX - DL4J| / max(1, max |DL4J logit|)), argmaxAgreement,
rows, irVersion, opsets, the input and output names and shapes, metadata (metadata_props) and the onnx and
onnxruntime versions. Exit status 3 when onnx, onnxruntime or numpy are missing (the Java test then skips, except in CI).
"""
import json
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:  # the caller tells "missing packages" from a real failure by this status
    print(f"check_onnx: {e} (python3 -m pip install -r pipeline-jobs/src/test/python/requirements.txt)",
          file=sys.stderr)
    sys.exit(3)


def main(model_path, rows_path, expected_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    width, classes = inp.shape[1], out.shape[1]
    x = np.fromfile(rows_path, dtype="<f4").reshape(-1, width)
    expected = np.fromfile(expected_path, dtype="<f4").reshape(-1, classes)
    (z,) = session.run([out.name], {inp.name: x})
    diff = np.abs(z.astype(np.float64) - expected)
    scale = np.maximum(1.0, np.abs(expected).max(axis=1))
    print(json.dumps({
        "rows": int(x.shape[0]),
        "maxAbsDiff": float(diff.max()),
        "maxRelDiff": float((diff.max(axis=1) / scale).max()),
        "argmaxAgreement": float((z.argmax(axis=1) == expected.argmax(axis=1)).mean()),
        "irVersion": model.ir_version,
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "input": [inp.name, [str(d) for d in inp.shape]],
        "output": [out.name, [str(d) for d in out.shape]],
        "metadata": {p.key: p.value for p in model.metadata_props},
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
