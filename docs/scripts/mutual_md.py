#!/usr/bin/env python3
"""The mutual-learning table of README from the runs of docs/scripts/mutual.sh.

Usage: python3 docs/scripts/mutual_md.py OUT_DIR SEED...

Reads OUT_DIR/SEED/evaluation/report.json (baseline, mutual_1, mutual_2, mutual_ensemble) and the training seconds of
OUT_DIR/SEED/{baseline,mutual}/_SUCCESS; prints per seed the test accuracy of each model, then mean +/- sample
standard deviation, and each mutual row minus the baseline paired by seed.
"""
import json
import statistics
import sys


def main(out, seeds):
    reports = {s: json.load(open(f"{out}/{s}/evaluation/report.json"))["models"] for s in seeds}
    names = list(reports[seeds[0]].keys())
    seconds = {s: {k: json.load(open(f"{out}/{s}/{k}/_SUCCESS"))["seconds"] for k in ("baseline", "mutual")}
               for s in seeds}
    print("| seed | " + " | ".join(names) + " | train seconds (baseline, mutual) |")
    print("|---|" + "---|" * len(names) + "---|")
    for s in seeds:
        cells = [f"{100 * reports[s][n]['accuracy']:.2f}%" for n in names]
        print(f"| {s} | " + " | ".join(cells) + f" | {seconds[s]['baseline']:.0f}, {seconds[s]['mutual']:.0f} |")

    def summary(values):
        if len(values) < 2:
            return f"{values[0]:+.2f}" if values else "-"
        return f"{statistics.mean(values):.2f} +/- {statistics.stdev(values):.2f}"

    means = [summary([100 * reports[s][n]["accuracy"] for s in seeds]) for n in names]
    print(f"| mean +/- sd | " + " | ".join(means) + " | |")
    print()
    for n in names:
        if n == "baseline":
            continue
        diffs = [100 * (reports[s][n]["accuracy"] - reports[s]["baseline"]["accuracy"]) for s in seeds]
        mean = statistics.mean(diffs)
        se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
        verdict = "beyond two standard errors" if abs(mean) > 2 * se else "within two standard errors"
        print(f"{n} minus baseline, paired by seed: " + ", ".join(f"{d:+.2f}" for d in diffs)
              + f" points (mean {mean:+.2f}, {verdict}).")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: mutual_md.py OUT_DIR SEED...")
    main(sys.argv[1], sys.argv[2:])
