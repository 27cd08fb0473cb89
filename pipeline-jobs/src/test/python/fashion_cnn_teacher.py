#!/usr/bin/env python3
"""Trains a small CNN with PyTorch on the first Fashion-MNIST training images, exports it with torch.onnx.export's
defaults, and writes the framework's own logits for those images, for the PNG end-to-end test to compare ours with.

Usage: fashion_cnn_teacher.py IDX_DIR ROWS OUT_DIR

Reads train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz from IDX_DIR (Debian's dataset-fashion-mnist) and
uses the first ROWS images, as pixel / 255 in float32, shaped [N, 1, 28, 28] (what `ingest --shape 1x28x28
--scale 1/255` stores for the same images as PNG bytes). Writes into OUT_DIR:
  fashion_cnn.onnx   Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, MaxPool2d, Linear on [N, 1, 28, 28], a symbolic batch axis
  expected.json      {"rows": ROWS, "logits": [[...] per image, in image order], "accuracy": on the ROWS images}
Exit status 3 when torch or onnxscript are missing (the Java test then skips, except in CI).
"""
import gzip
import json
import os
import sys

try:
    import numpy as np
    import torch
    from torch import nn
    import onnxscript  # noqa: F401  (torch.onnx.export's exporter needs it)
except ImportError as e:
    print(f"fashion_cnn_teacher: {e} (python3 -m pip install -r pipeline-jobs/src/test/python/requirements.txt)",
          file=sys.stderr)
    sys.exit(3)


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.out = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.out(torch.flatten(self.features(x), 1))


def main():
    source, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    images = idx(os.path.join(source, "train-images-idx3-ubyte.gz"), 16)[: rows * 784]
    labels = idx(os.path.join(source, "train-labels-idx1-ubyte.gz"), 8)[:rows]
    x = torch.from_numpy((images.astype(np.float32) / np.float32(255)).reshape(rows, 1, 28, 28))
    y = torch.from_numpy(labels.astype(np.int64))
    torch.manual_seed(5)
    model = Cnn()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(8):
        for batch in torch.randperm(rows).split(64):
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        logits = model(x)
    os.makedirs(out, exist_ok=True)
    torch.onnx.export(model, (x[:2],), os.path.join(out, "fashion_cnn.onnx"),
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    accuracy = float((logits.argmax(1) == y).float().mean())
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"rows": rows, "logits": logits.tolist(), "accuracy": accuracy}, f)
    print(f"fashion_cnn_teacher: {rows} images, train accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
