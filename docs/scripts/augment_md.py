#!/usr/bin/env python3
"""The augmentation table of README from the runs of docs/scripts/augment-study.sh.

Usage: python3 docs/scripts/augment_md.py OUT_DIR SEED...

Reads OUT_DIR/SEED/evaluation/report.json (baseline, student = KD on the 55,000 real images; written by seeds.sh) and
OUT_DIR/SEED/augment-evaluation/report.json (the KD students on teacher-labelled augmentations of the 1,000 labelled
images), and each augmented transfer set's row count; prints per seed the test accuracy of each model, their mean +/-
sample standard deviation, and the paired differences (against the baseline and against KD on the real images) with
whether their mean lies beyond two standard errors of the paired differences.
"""
import json
import statistics
import sys

COLUMNS = [("baseline", "evaluation", "baseline (1,000 labels)"),
           ("aug_shift_flip", "augment-evaluation", "KD, augmented 1,000 (shift=2,flip)"),
           ("aug_mixup", "augment-evaluation", "KD, augmented 1,000 (shift=2,flip,mixup=0.4)"),
           ("student", "evaluation", "KD, 55,000 real images")]
PAIRS = [("aug_shift_flip", "baseline"), ("aug_mixup", "baseline"), ("aug_mixup", "aug_shift_flip"),
         ("student", "aug_shift_flip"), ("student", "baseline")]


def main(out, seeds):
    acc = {}
    per_class = {}
    agreement = {}
    for s in seeds:
        reports = {d: json.load(open(f"{out}/{s}/{d}/report.json"))["models"] for d in ("evaluation",
                                                                                       "augment-evaluation")}
        acc[s] = {key: 100 * reports[d][key]["accuracy"] for key, d, _ in COLUMNS}
        per_class[s] = {key: reports[d][key]["per_class_accuracy"] for key, d, _ in COLUMNS}
        agreement[s] = {key: 100 * reports[d][key]["agreement_with_teacher"] for key, d, _ in COLUMNS}
    rows = {arm: json.load(open(f"{out}/{seeds[0]}/{arm}/transfer/_SUCCESS"))["rows"]
            for arm in ("aug_shift_flip", "aug_mixup")}
    labels = [label for _, _, label in COLUMNS]
    print("| seed | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for s in seeds:
        print(f"| {s} | " + " | ".join(f"{acc[s][k]:.2f}%" for k, _, _ in COLUMNS) + " |")
    if len(seeds) > 1:
        print("| mean +/- sd | " + " | ".join(
            f"{statistics.mean(acc[s][k] for s in seeds):.2f} +/- {statistics.stdev(acc[s][k] for s in seeds):.2f}"
            for k, _, _ in COLUMNS) + " |")
    print()
    print(f"Augmented transfer sets: {rows['aug_shift_flip']:,} and {rows['aug_mixup']:,} rows (the 1,000 labelled"
          " images and their copies).")
    seconds = {f"{arm} {step}": statistics.mean(json.load(open(f"{out}/{s}/{arm}/{step}/_SUCCESS"))["seconds"]
                                                for s in seeds)
               for arm in ("aug_shift_flip", "aug_mixup") for step in ("transfer", "soft-targets", "student")}
    for model in ("baseline", "kd"):
        seconds[f"{model} train"] = statistics.mean(json.load(open(f"{out}/{s}/{model}/_SUCCESS"))["seconds"]
                                                    for s in seeds)
    print("Seconds (mean over seeds; transfer = augment, soft-targets = label, student = train): "
          + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()) + ".")
    names = {k: label for k, _, label in COLUMNS}
    for a, b in PAIRS:
        diffs = [acc[s][a] - acc[s][b] for s in seeds]
        mean = statistics.mean(diffs)
        if len(diffs) > 1:
            se = statistics.stdev(diffs) / len(diffs) ** 0.5
            verdict = "beyond" if abs(mean) > 2 * se else "within"
            tail = f" (mean {mean:+.2f}, {verdict} two standard errors, {2 * se:.2f})"
        else:
            tail = " (one seed)"
        print(f"{names[a]} minus {names[b]}, paired by seed: " + ", ".join(f"{d:+.2f}" for d in diffs)
              + " points" + tail + ".")
    print()
    print("Agreement with the teacher on the test split (mean over seeds): " + ", ".join(
        f"{label} {statistics.mean(agreement[s][k] for s in seeds):.2f}%" for k, _, label in COLUMNS) + ".")
    classes = json.load(open(f"{out}/{seeds[0]}/aug_shift_flip/student/_manifest.json"))["facts"]["classNames"]
    for a, b in (("aug_shift_flip", "baseline"), ("student", "aug_shift_flip")):
        gaps = [statistics.mean(100 * (per_class[s][a][c] - per_class[s][b][c]) for s in seeds)
                for c in range(len(classes))]
        print(f"Per class, {names[a]} minus {names[b]} (mean over seeds, points): "
              + ", ".join(f"{n} {g:+.1f}" for n, g in zip(classes, gaps)) + ".")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: augment_md.py OUT_DIR SEED...")
    main(sys.argv[1], sys.argv[2:])
