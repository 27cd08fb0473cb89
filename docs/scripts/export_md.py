#!/usr/bin/env python3
"""The exported-student table of docs/PERFORMANCE.md from bench-export.sh's JSON lines.

Usage: export_md.py RESULTS.jsonl

One row per architecture and engine: bytes on disk, latency of one row and rows/s on batches of 1024 with 1 and 2
threads, and each ONNX Runtime figure relative to DL4J output() of the same architecture and thread count.
"""
import json
import sys


def main(path):
    lines = [json.loads(l) for l in open(path, encoding="utf-8") if l.startswith("{")]
    by = {(l["arch"], l["engine"], l["threads"]): l for l in lines}
    archs = list(dict.fromkeys(l["arch"] for l in lines))
    engines = list(dict.fromkeys(l["engine"] for l in lines))
    first = lines[0]
    print(f"\n{first['runs']} alternated runs per figure, medians; latency: {first['calls']} single-row calls per run;"
          f" rows/s: {first['batches']} batches of 1024 per run.\n")
    print("| model | engine | file | bytes | latency, 1 row, 1 thread (ms) | 2 threads (ms) |"
          " rows/s, batch 1024, 1 thread | 2 threads |")
    print("|---|---|---|---|---|---|---|---|")
    for arch in archs:
        for engine in engines:
            one, two = by.get((arch, engine, "1")), by.get((arch, engine, "2"))
            any_ = one or two
            if not any_:
                continue
            cells = [f"`{arch}` ({any_['parameters']:,} parameters)", engine, any_["file"], f"{any_['bytes']:,}"]
            for key in ("latencyMsP50", "rowsPerSecond"):
                for l, t in ((one, "1"), (two, "2")):
                    cells.append(cell(l, key, by.get((arch, "DL4J output()", t))))
            print("| " + " | ".join(cells) + " |")


def cell(line, key, reference):
    if line is None:
        return "-"
    v = line[key]
    text = f"{v:.3f}" if key == "latencyMsP50" else f"{v:,.0f}"
    if reference is not None and reference is not line and line["engine"].startswith("ONNX"):
        ratio = v / reference[key]
        text += f" ({ratio:.2f}x)"
    return text


if __name__ == "__main__":
    main(sys.argv[1])
