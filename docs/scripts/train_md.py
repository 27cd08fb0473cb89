#!/usr/bin/env python3
"""The trainer benchmark's table for docs/PERFORMANCE.md, from docs/scripts/bench-train.sh's JSON lines: examples/s
per engine, each against the single-JVM dense step and single-JVM DL4J fit, the final training score, the cost model
per round (a + b x F, fitted on F = 10 and 20) and the two targets of issue 4.

Usage: train_md.py RESULTS.jsonl
"""
import json
import re
import sys

SPARK = re.compile(r"^(?P<master>.*) parameter averaging, averaging frequency (?P<f>\d+), worker step (?P<step>\w+),"
                   r" rounds as (?P<rounds>\w+)$")


def main(path):
    lines = [json.loads(l) for l in open(path, encoding="utf-8") if l.startswith("{")]
    header = next((l[2:].strip() for l in open(path, encoding="utf-8") if l.startswith("# rows=")), "")
    by = {l["engine"]: l for l in lines}
    dense = by.get("single-jvm dense step")
    fit = by.get("single-jvm fit (1 thread)")
    torch2 = by.get("pytorch cpu (2 threads)")

    def ratio(l, ref):
        return f"{l['examplesPerSecond'] / ref['examplesPerSecond']:.2f}" if ref else "-"

    print(f"\n{header}\n")
    print("| engine | examples/s | vs single-JVM dense step | vs single-JVM DL4J `fit` | final score | ms per round |")
    print("|---|---|---|---|---|---|")
    for l in lines:
        score = l.get("score", l.get("loss"))
        per_round = f"{1000 * l['secondsPerRound']:.1f}" if "secondsPerRound" in l else "-"
        print(f"| {l['engine']} | {l['examplesPerSecond']:,.0f} | {ratio(l, dense)} | {ratio(l, fit)} |"
              f" {'-' if score is None else f'{score:.4f}'} | {per_round} |")

    # cost model per (master, step, rounds): time per round = a + b x F, from F = 10 and F = 20
    groups = {}
    for l in lines:
        m = SPARK.match(l["engine"])
        if m:
            groups.setdefault((m["master"], m["step"], m["rounds"]), {})[int(m["f"])] = l["secondsPerRound"]
    fitted = [(k, v) for k, v in groups.items() if 10 in v and 20 in v]
    if fitted:
        print("\nCost per round, a + b x F, fitted on F = 10 and 20 (a: fixed per round; b: one minibatch step of"
              " every worker):\n")
        print("| master | worker step | rounds as | a (ms) | b (ms) |")
        print("|---|---|---|---|---|")
        for (master, step, rounds), v in fitted:
            b = (v[20] - v[10]) / 10
            a = v[10] - 10 * b
            print(f"| {master} | {step} | {rounds} | {1000 * a:.1f} | {1000 * b:.2f} |")

    print()
    default = next((l for l in lines if SPARK.match(l["engine"]) and "local" in l["engine"]
                    and ", averaging frequency 10, worker step dense, rounds as exchange" in l["engine"]), None)
    if default and dense:
        r = default["examplesPerSecond"] / dense["examplesPerSecond"]
        print(f"- `local[2]` (F = 10, dense step, exchange) vs single-JVM dense step: {r:.2f} (target >= 0.8:"
              f" {'met' if r >= 0.8 else 'not met'}).")
    if dense and torch2:
        r = dense["examplesPerSecond"] / torch2["examplesPerSecond"]
        print(f"- Single-JVM dense step vs PyTorch with 2 threads: {r:.2f} (target >= 0.5: {'met' if r >= 0.5 else 'not met'})"
              + (f"; single-JVM DL4J `fit`: {fit['examplesPerSecond'] / torch2['examplesPerSecond']:.2f}." if fit else "."))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
