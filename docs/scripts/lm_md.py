#!/usr/bin/env python3
"""The language-model benchmark's results (JSON lines from docs/scripts/bench-lm.sh) as the Markdown tables of
docs/PERFORMANCE.md: medians per engine over the alternated runs, wall and CPU seconds, and the ratios the targets of
issue 20 are about.

    python3 docs/scripts/lm_md.py RESULTS.jsonl
"""
import json
import statistics
import sys


def main():
    path = sys.argv[1]
    lines = [json.loads(l) for l in open(path) if l.startswith("{")]
    notes = [l[2:].strip() for l in open(path) if l.startswith("# ")]

    def runs(bench, *parts):
        return [l for l in lines if l.get("bench") == bench and all(p in l["engine"] for p in parts)]

    def med(rs, key):
        return statistics.median(r[key] for r in rs) if rs else None

    def each(rs, key):
        return ", ".join(f"{r[key]:,.0f}" for r in rs)

    def row(name, rs, *ratios):
        if not rs:
            return
        cells = [f"{r:.2f}x" if r else "-" for r in ratios]
        print(f"| {name} | {rs[0]['windows']:,} x {rs[0]['tokens'] // rs[0]['windows']:,} | **{med(rs, 'tokensPerSecond'):,.0f}**"
              f" ({each(rs, 'tokensPerSecond')}) | {med(rs, 'seconds'):.1f} | {med(rs, 'cpuSeconds'):.1f} | "
              + " | ".join(cells) + " |")

    def ratio(a, b):
        return med(a, "tokensPerSecond") / med(b, "tokensPerSecond") if a and b else None

    def paired(a, b):
        """The median of run-by-run ratios of two engines alternated in one JVM (run i of a against run i of b)."""
        pairs = {r["run"]: r["tokensPerSecond"] for r in b}
        rs = [r["tokensPerSecond"] / pairs[r["run"]] for r in a if r["run"] in pairs]
        return statistics.median(rs) if rs else None

    print("\n\n".join(notes) + "\n")
    for d in (l for l in lines if l.get("bench") == "data"):
        print(f"- {d['dir'].rsplit('/', 1)[-1]} set: {d['source']}, vocabulary V = {d['vocabulary']}, "
              f"{d['trainWindows']:,} training windows of {d['window']} tokens (burn-in {d['burnIn']}, "
              f"{d['trainScoredTokens']:,} scored tokens); teacher {d['teacher']} ({d['teacherParameters']:,} parameters),"
              f" student {d['student']} ({d['studentParameters']:,})")

    job = runs("label", "label job")
    raw2 = runs("label", "raw", "2 Java threads")
    raw1 = runs("label", "raw", "1 Java thread")
    torch = runs("label", "PyTorch")
    if job or raw2 or torch:
        print("\nLabel, teacher inference (tokens = windows x positions; medians of the runs, each run's figure in"
              " brackets):\n")
        print("| engine | windows x tokens | tokens/s | wall s | CPU s | vs raw, 2 threads x 1 | vs PyTorch |")
        print("|---|---|---|---|---|---|---|")
        row("label job, `local[2]`, 1 OpenMP thread per task, Parquet in and out", job, paired(job, raw2),
            ratio(job, torch))
        row("raw `TokenLogitFunction.logits`, 2 Java threads x 1 OpenMP (same JVM, alternated with the job)", raw2,
            1.0, ratio(raw2, torch))
        row("raw `TokenLogitFunction.logits`, 1 Java thread x 2 OpenMP", raw1, ratio(raw1, raw2), ratio(raw1, torch))
        if torch:
            row(f"{torch[0]['engine']}, same shapes and calls", torch, ratio(torch, raw2), 1.0)

    spark = runs("train", "parameter averaging")
    single = runs("train", "single-JVM")
    whole = runs("train", "train --task lm job")
    t2 = runs("train", "PyTorch", "2 threads")
    t1 = runs("train", "PyTorch", "1 thread")
    if spark or single:
        epochs = (spark or single)[0]["epochs"]
        print(f"\nTrain, kd, {epochs} epoch(s) per run after a warm-up epoch (tokens = windows x positions x epochs):\n")
        print("| engine | windows x tokens | tokens/s | wall s | CPU s | vs single-JVM | vs PyTorch 2 threads |")
        print("|---|---|---|---|---|---|---|")
        extra = f", {spark[0]['roundsPerEpoch']} round(s) per epoch" if spark else ""
        row(f"`local[2]` parameter averaging, F = 10{extra}", spark, paired(spark, single), ratio(spark, t2))
        row("single-JVM DL4J `fit`, 1 OpenMP thread (same JVM, same minibatches, alternated)", single, 1.0,
            ratio(single, t2))
        row("PyTorch, 2 threads", t2, ratio(t2, single), 1.0)
        row("PyTorch, 1 thread", t1, ratio(t1, single), ratio(t1, t2))
        if whole:
            w = whole[0]
            print(f"\n`train --task lm` end to end, once: {w['seconds']:.1f} s wall, {w['cpuSeconds']:.1f} s CPU for"
                  f" {w['epochs']} epoch(s) ({w['tokens'] / w['seconds']:,.0f} tokens/s overall); its epochs alone"
                  f" {w['epochSeconds']:.1f} s ({w['tokensPerEpochSecond']:,.0f} tokens/s).")
        print()
        if spark and single:
            r = paired(spark, single)
            print(f"- `local[2]` / single-JVM (run by run, median): **{r:.2f}x** (target >= 0.8x:"
                  f" {'met' if r >= 0.8 else 'NOT met'}); CPU seconds {med(spark, 'cpuSeconds'):.1f} against"
                  f" {med(single, 'cpuSeconds'):.1f}.")
        if single and t2:
            r = ratio(single, t2)
            print(f"- single-JVM DL4J / PyTorch 2 threads: **{r:.2f}x** (aim >= 0.5x: {'met' if r >= 0.5 else 'NOT met'});"
                  f" `local[2]` / PyTorch 2 threads: {ratio(spark, t2):.2f}x.")


if __name__ == "__main__":
    main()
