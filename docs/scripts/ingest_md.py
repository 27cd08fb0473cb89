#!/usr/bin/env python3
"""The ingest benchmark's results (JSON lines from docs/scripts/bench-ingest.sh) as the Markdown table of
docs/PERFORMANCE.md: medians per engine, and the ratios the targets are about.

    python3 docs/scripts/ingest_md.py RESULTS.jsonl
"""
import json
import statistics
import sys


def main():
    lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
    header = next((l[2:].strip() for l in open(sys.argv[1]) if l.startswith("# ingest benchmark")), "")

    def runs(**want):
        return [l for l in lines if all(l.get(k) == v for k, v in want.items())]

    def each(rs, key, spec):
        return ", ".join(format(r[key], spec) for r in rs)

    def median(rs, key="seconds"):
        return statistics.median(r[key] for r in rs) if rs else None

    def cpu(plain, ingest):
        """Median CPU seconds of the JVM per engine and their ratio ("-" for results without them)."""
        if not all("cpuSeconds" in r for r in plain + ingest):
            return "- | - |"
        p, i = median(plain, "cpuSeconds"), median(ingest, "cpuSeconds")
        return f"{p:.1f} / {i:.1f} | {i / p:.2f}x |"

    print(f"\n{header}\n")
    print("| table | rows | plain Spark read + write (s) | ingest (s) | ingest / plain | target |"
          " CPU s, plain / ingest | CPU ingest / plain |")
    print("|---|---|---|---|---|---|---|---|")
    for case, what in (("csv", "CSV, 784 numeric columns (header, inferSchema)"),
                       ("parquet", "Parquet, array<float>[784] column")):
        plain, ingest = runs(bench="table", case=case, engine="plain"), runs(bench="table", case=case, engine="ingest")
        if plain and ingest:
            p, i = median(plain), median(ingest)
            print(f"| {what} | {plain[0]['rows']:,} | {p:.1f} ({each(plain, 'seconds', '.1f')})"
                  f" | {i:.1f} ({each(ingest, 'seconds', '.1f')}) | **{i / p:.2f}x** | <= 1.5x"
                  f" {'met' if i / p <= 1.5 else 'NOT met'} | {cpu(plain, ingest)}")
    plain, ingest = runs(bench="images", engine="plain"), runs(bench="images", engine="ingest")
    if plain and ingest:
        p, i = median(plain), median(ingest)
        print(f"| Parquet, PNG bytes (28x28 grey), decoded to 1x28x28 | {plain[0]['rows']:,} | {p:.1f} | {i:.1f} |"
              f" {i / p:.2f}x | - | {cpu(plain, ingest)}")
    decode = [l for l in lines if l.get("bench") == "decode"]
    if decode:
        print("\n| PNG decoding, 1 thread, same bytes | images | rows/s (median) | passes |")
        print("|---|---|---|---|")
        engines = list(dict.fromkeys(l["engine"] for l in decode))
        rates = {}
        for e in engines:
            rs = [l for l in decode if l["engine"] == e]
            rates[e] = median(rs, "rowsPerSecond")
            print(f"| {e} | {rs[0]['rows']:,} | {rates[e]:,.0f} | {each(rs, 'rowsPerSecond', ',.0f')} |")
        java = next((r for e, r in rates.items() if e.startswith("java")), None)
        pil = next((r for e, r in rates.items() if e.startswith("Pillow")), None)
        if java and pil:
            print(f"\nImageIO / Pillow: {java / pil:.2f}x")
    if ingest:
        print(f"ingest job over the PNG table: {median(ingest, 'rowsPerSecond'):,.0f} rows/s end to end (2 task threads)")


if __name__ == "__main__":
    main()
