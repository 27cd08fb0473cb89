#!/usr/bin/env python3
"""Pillow decoding the PNG bytes IngestBench wrote (DIR/png.bin: 4-byte big-endian length, then the bytes), one
thread, each image to a float32 array as ingest's decoder produces (grey: H x W samples). One JSON line per pass.

    python3 docs/scripts/bench_ingest_pil.py DIR PASSES
"""
import io
import json
import struct
import sys
import time

import numpy as np
import PIL
from PIL import Image


def read(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        (n,) = struct.unpack(">i", data[i:i + 4])
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


def main():
    directory, passes = sys.argv[1], int(sys.argv[2])
    pngs = read(f"{directory}/png.bin")
    sink = 0.0
    for b in pngs[:10000]:  # warm-up, as the Java side
        sink += float(np.asarray(Image.open(io.BytesIO(b)), dtype=np.float32)[0, 0])
    for p in range(passes):
        t0 = time.perf_counter()
        for b in pngs:
            sink += float(np.asarray(Image.open(io.BytesIO(b)), dtype=np.float32)[3, 16])
        s = time.perf_counter() - t0
        print(json.dumps({"bench": "decode", "engine": f"Pillow {PIL.__version__} (numpy float32), 1 thread",
                          "pass": p, "rows": len(pngs), "seconds": s, "rowsPerSecond": len(pngs) / s}))
    if sink == 42:
        print("#")


if __name__ == "__main__":
    main()
