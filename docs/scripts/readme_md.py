#!/usr/bin/env python3
"""The README's result tables, printed as Markdown from a run's own outputs (standard library only).

Usage: readme_md.py demo RUN_DIR                         the demo table, from RUN_DIR/report.json (`bin/distill demo`)
       readme_md.py seeds RUN_DIR OUT_DIR SEED... [-- RUN_DIR OUT_DIR SEED...]
                                                       the seeds table, from OUT_DIR/SEED/evaluation/report.json
                                                       (docs/scripts/seeds.sh), one row per RUN_DIR's teacher
       readme_md.py omitted OMITTED_DIR                  the omitted-class table, from OMITTED_DIR/omitted-class.json
                                                       (`bin/distill omitted-class`)
       readme_md.py stages RUN_DIR                       the demo's stage times (docs/PERFORMANCE.md), from
                                                       RUN_DIR/report.json and the trained stages' manifests

Each table is followed by the sentences its numbers support (computed here, not written by hand). Manifests next to
the reports (RUN_DIR/models/teacher, RUN_DIR/students/*) name the teacher's architecture, the labelled rows and the
picked T and alpha; without them the rows keep generic names.
"""
import json
import math
import os
import statistics
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def facts(run, stage):
    path = os.path.join(run, stage, "_manifest.json")
    return load(path).get("facts", {}) if os.path.exists(path) else {}


def size(n):
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def noise(diffs):
    """(mean, sample std, beyond noise): beyond when the mean is more than two standard errors from zero."""
    m, s = mean_std(diffs)
    return m, s, len(diffs) > 1 and abs(m) > 2 * s / math.sqrt(len(diffs))


STAGES = ("ingest", "teacher", "label", "baseline", "pseudo_label", "student", "export", "evaluate")


def demo(run):
    report = load(os.path.join(run, "report.json"))
    models = report["models"]
    arch = facts(run, "models/teacher").get("architecture")
    labelled = facts(run, "students/baseline").get("labelledRows")
    kd = facts(run, "students/kd")
    labels = {
        "teacher": f"teacher (`{arch}`)" if arch else "teacher",
        "baseline": f"baseline ({labelled:,} labels)" if labelled else "baseline (the labelled rows only)",
        "pseudo_label": "pseudo_label (teacher argmax)",
        "student": ("student (KD; T={:g}, alpha={:g} picked on validation)".format(kd["temperature"], kd["alpha"])
                    if "temperature" in kd else "student (KD)"),
        "student_onnx": "student as ONNX, fp32 (`model.onnx`)",
        "student_int8": "student as ONNX, int8 (`model-int8.onnx`)",
    }
    students = [k for k in ("baseline", "pseudo_label", "student") if k in models]
    best = {"accuracy": max(students, key=lambda k: models[k]["accuracy"]),
            "mean_kl_from_teacher": min(students, key=lambda k: models[k]["mean_kl_from_teacher"]),
            "ece": min(students, key=lambda k: models[k]["ece"])}

    def cell(name, key, text):
        return f"**{text}**" if best.get(key) == name else text

    print("| model | test accuracy | agreement with teacher | KL(teacher ‖ model) | ECE | parameters | model bytes |"
          " latency (1 row) |")
    print("|---|---|---|---|---|---|---|---|")
    # report.json's keys are sorted: show the pipeline's order, then any other model
    order = [k for k in labels if k in models] + sorted(k for k in models if k not in labels)
    for name in order:
        m = models[name]
        agreement = m.get("agreement_with_teacher")
        kl = m.get("mean_kl_from_teacher")
        acc = cell(name, "accuracy", "{:.2f}%".format(100 * m["accuracy"]))
        agr = "-" if agreement is None else "{:.2f}%".format(100 * agreement)
        kl = "-" if kl is None else cell(name, "mean_kl_from_teacher",
                                         "{:.3f}".format(kl) if kl == 0 or kl >= 1e-3 else "{:.1e}".format(kl))
        ece = cell(name, "ece", "{:.3f}".format(m["ece"]))
        print(f"| {labels.get(name, name)} | {acc} | {agr} | {kl} | {ece} | {m['params']:,} | {size(m['model_bytes'])} |"
              f" {m['latency_ms_p50']:.2f} ms |")
    stages = report.get("stage_seconds", {})
    if stages:
        total = sum(stages.values())
        print("\nStage seconds (`stage_seconds`, 0 for a stage the run reused): "
              + ", ".join(f"{k} {stages[k]:,.0f}" for k in STAGES if k in stages)
              + f"; {total:,.0f} s in all ({int(total // 60)} min {int(total % 60)} s).")
    if "student" in models:
        s = models["student"]["accuracy"]
        parts = [f"{name} {100 * (s - models[name]['accuracy']):+.2f}" for name in ("baseline", "pseudo_label")
                 if name in models]
        print(f"\nKD student minus {', minus '.join(parts)} points of test accuracy (one run, one seed).")
        for name in ("student_onnx", "student_int8"):
            if name in models and models[name].get("agreement_with_teacher") is not None:
                m = models[name]
                print(f"{labels[name]}: {100 * (m['accuracy'] - s):+.2f} points against the DL4J student,"
                      f" {size(m['model_bytes'])}.")


def seeds(groups):
    print("| teacher | baseline | pseudo_label | KD student | KD - pseudo_label (paired) |")
    print("|---|---|---|---|---|")
    said = []
    for run, out, seed_list in groups:
        reports = [load(os.path.join(out, s, "evaluation", "report.json"))["models"] for s in seed_list]
        arch = facts(run, "models/teacher").get("architecture", "teacher")
        acc = {k: [100 * r[k]["accuracy"] for r in reports] for k in ("teacher", "baseline", "pseudo_label", "student")}
        paired = [kd - pl for kd, pl in zip(acc["student"], acc["pseudo_label"])]
        m, s, beyond = noise(paired)
        cells = {k: "{:.2f} +/- {:.2f}".format(*mean_std(acc[k])) for k in ("baseline", "pseudo_label", "student")}
        print(f"| `{arch}`, {statistics.mean(acc['teacher']):.2f}% (seeds {', '.join(seed_list)}) | {cells['baseline']} |"
              f" {cells['pseudo_label']} | {cells['student']} | {m:+.2f} +/- {s:.2f}"
              f" ({', '.join(f'{d:+.2f}' for d in paired)}) |")
        gain = statistics.mean(acc["student"]) - statistics.mean(acc["baseline"])
        kl = {k: statistics.mean(r[k]["mean_kl_from_teacher"] for r in reports) for k in ("pseudo_label", "student")}
        ece = {k: statistics.mean(r[k]["ece"] for r in reports) for k in ("pseudo_label", "student")}
        said.append(
            f"With the `{arch}` teacher, the KD student is {gain:+.2f} points from the baseline; against pseudo-labels"
            f" it is {m:+.2f} points, {'beyond' if beyond else 'within'} seed noise (two standard errors of the paired"
            f" difference: {2 * s / math.sqrt(len(paired)):.2f}). Its KL from the teacher is {kl['student']:.3f}"
            f" ({'lower' if kl['student'] < kl['pseudo_label'] else 'not lower'} than pseudo-label's"
            f" {kl['pseudo_label']:.3f}) and its ECE {ece['student']:.3f}"
            f" ({'lower' if ece['student'] < ece['pseudo_label'] else 'not lower'} than {ece['pseudo_label']:.3f}).")
    print()
    print("\n".join(said))


OMITTED_NAMES = {"teacher": "teacher (saw every class)", "kd_soft_only": "KD student, soft targets only",
                 "hard_labels": "hard-label student"}


def omitted(out):
    doc = load(os.path.join(out, "omitted-class.json"))
    c = doc["omitted_class"]
    rows = doc["models"]
    hinton = all("accuracy_after_hinton_bias" in r for r in rows.values())
    head = (f"| model | test accuracy | class {c} | all ten biases fitted on validation: accuracy | class {c} |")
    print(head + (f" class {c}'s bias only (Hinton's correction): accuracy | class {c} |" if hinton else ""))
    print("|---" * (5 + (2 if hinton else 0)) + "|")
    order = [k for k in OMITTED_NAMES if k in rows] + [k for k in rows if k not in OMITTED_NAMES]
    for name in order:
        r = rows[name]
        line = (f"| {OMITTED_NAMES.get(name, name)} | {100 * r['accuracy']:.2f}% | {100 * r['omitted_class_accuracy']:.1f}% |"
                f" {100 * r['accuracy_after_bias']:.2f}% | {100 * r['omitted_class_accuracy_after_bias']:.1f}% |")
        if hinton:
            line += (f" {100 * r['accuracy_after_hinton_bias']:.2f}% |"
                     f" {100 * r['omitted_class_accuracy_after_hinton_bias']:.1f}% |")
        print(line)
    kd, hard = rows.get("kd_soft_only"), rows.get("hard_labels")
    if kd and hard:
        after = ("class {c}'s bias alone raised (Hinton's correction): {k:.1f}% and {h:.1f}%".format(
            c=c, k=100 * kd["omitted_class_accuracy_after_hinton_bias"],
            h=100 * hard["omitted_class_accuracy_after_hinton_bias"]) if hinton else
                 "all ten biases fitted on validation: {k:.1f}% and {h:.1f}%".format(
            k=100 * kd["omitted_class_accuracy_after_bias"], h=100 * hard["omitted_class_accuracy_after_bias"]))
        print(f"\nOn the test images of class {c}, which neither student saw: KD student"
              f" {100 * kd['omitted_class_accuracy']:.1f}%, hard-label student {100 * hard['omitted_class_accuracy']:.1f}%;"
              f" after {after}.")


def stages(run):
    """Stage seconds of one demo run against the 10-minute aim, with what each training stage ran."""
    report = load(os.path.join(run, "report.json"))
    secs = report.get("stage_seconds", {})
    if not secs:
        print(f"{run}/report.json has no stage_seconds", file=sys.stderr)
        sys.exit(2)
    total = sum(secs.values())
    where = {"teacher": "models/teacher", "baseline": "students/baseline", "pseudo_label": "students/pseudo_label",
             "student": "students/kd"}
    print("| stage | seconds | share | what ran |")
    print("|---|---|---|---|")
    for k in [k for k in STAGES if k in secs] + sorted(k for k in secs if k not in STAGES):
        f = facts(run, where[k]) if k in where else {}
        path = os.path.join(run, where.get(k, ""), "_manifest.json")
        config = load(path).get("config", {}) if k in where and os.path.exists(path) else {}
        what = "-"
        if f:
            trials = len(config.get("temperatures") or [1]) * len(config.get("alphas") or [0])
            what = (f"`{f.get('architecture')}`, {f.get('rows', 0):,} rows, best epoch {f.get('bestEpoch')}"
                    + (f" of {trials} trials (T x alpha)" if trials > 1 else ""))
        print(f"| {k} | {secs[k]:,.0f} | {100 * secs[k] / total:.0f}% | {what} |")
    print(f"| all | {total:,.0f} | 100% | {int(total // 60)} min {int(total % 60)} s; aim 10 min:"
          f" {'met' if total <= 600 else 'not met'} |")


def main(argv):
    if len(argv) >= 2 and argv[0] == "demo":
        demo(argv[1])
    elif len(argv) >= 4 and argv[0] == "seeds":
        groups, rest = [], argv[1:]
        while rest:
            cut = rest.index("--") if "--" in rest else len(rest)
            group, rest = rest[:cut], rest[cut + 1:]
            groups.append((group[0], group[1], group[2:]))
        seeds(groups)
    elif len(argv) == 2 and argv[0] == "stages":
        stages(argv[1])
    elif len(argv) >= 2 and argv[0] == "omitted":
        omitted(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
