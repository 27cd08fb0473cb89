"""Writes a transfer set's part files as pyarrow writes Parquet, for the label job's page reader (FeatureBatchesTest).

Usage: pyarrow_transfer.py OUT_DIR ROWS WIDTH CLASSES

Two part files of ROWS rows together (id int64, features list<float32> of WIDTH pixel-like values, label int32 below
CLASSES with some nulls; every column optional, as pyarrow writes them), seeded. Small version 1 data pages,
dictionary-encoded values, several row groups per file, snappy. Exit 3 when pyarrow or numpy is missing.
"""
import os
import sys

try:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:
    print(f"needs numpy and pyarrow: {e}", file=sys.stderr)
    sys.exit(3)


def main(out, rows, width, classes):
    rng = np.random.default_rng(7)
    os.makedirs(out, exist_ok=True)
    halves = [(0, rows // 2), (rows // 2, rows)]
    for part, (start, end) in enumerate(halves):
        n = end - start
        x = rng.integers(0, 256, size=(n, width)) / 255.0
        x[rng.random((n, width)) < 0.5] = 0.0
        table = pa.table({
            "id": pa.array(np.arange(1000 + start, 1000 + end, dtype=np.int64)),
            "features": pa.array(list(x.astype(np.float32)), type=pa.list_(pa.float32())),
            "label": pa.array([None if i % 7 == 0 else i % classes for i in range(start, end)], type=pa.int32()),
        })
        pq.write_table(table, os.path.join(out, f"part-{part:05d}.parquet"), data_page_version="1.0",
                       data_page_size=width * 3 // 2, write_batch_size=max(8, width // 3), row_group_size=n // 3 + 1,
                       compression="snappy", use_dictionary=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
