#!/usr/bin/env python3
"""README's LM demo table, printed as Markdown from an LM demo run's own outputs (standard library only).

Usage: lm_readme_md.py RUN_DIR [EARLIER_REPORT...]
       the table from RUN_DIR/report.json (`bin/distill demo --task lm`); a rerun that reused stages records 0 s
       for them, so copies of the run's earlier report.json files may be given: each stage's seconds are then
       those of the report that ran it (the first non-zero, the current report first)
       lm_readme_md.py seeds RUN_DIR OUT_DIR SEED...
       the seeds table: each student's test bits/char with the run's own seed (RUN_DIR/report.json) and with each
       SEED (OUT_DIR/SEED/evaluation/report.json, docs/scripts/lm-seeds.sh), mean +/- sd, and each KD student
       minus the baseline paired by seed

One row per model of the report (teacher first): test bits per character and perplexity, top-1 next-token
agreement with the teacher, mean per-token KL(teacher || model), parameters and batched tokens per second; then the
stage seconds and the sentences the numbers support (computed here, not written by hand). The models' manifests
(RUN_DIR/models/teacher, RUN_DIR/students/*) name the architectures and the windows and characters each trained on.
"""
import json
import math
import os
import statistics
import sys

# report name -> (directory under the run, what the row is)
ROWS = {
    "teacher": ("models/teacher", "teacher"),
    "baseline": ("students/baseline", "baseline: the slice, next-token cross-entropy"),
    "kd_slice": ("students/kd_slice", "KD on the slice, token soft targets"),
    "kd_corpus": ("students/kd_corpus", "KD on the whole corpus, token soft targets"),
    "kd_generated": ("students/kd_generated", "KD on teacher-generated text"),
}
STAGES = ("ingest", "teacher", "label", "baseline", "kd_slice", "kd_corpus", "generate", "kd_generated", "evaluate")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def facts(run, stage):
    path = os.path.join(run, stage, "_manifest.json")
    return load(path).get("facts", {}) if os.path.exists(path) else {}


def label(run, name):
    stage, what = ROWS.get(name, (None, name))
    f = facts(run, stage) if stage else {}
    parts = []
    if f.get("architecture"):
        parts.append(f"`{f['architecture']}`")
    if f.get("rows") is not None:
        text = f"{int(f['rows']):,} windows"
        if f.get("trainingTokens") is not None:
            text += f", {int(f['trainingTokens']):,} chars"
        parts.append(text)
    if f.get("objective") == "kd" and f.get("temperature") is not None:
        parts.append("T={:g}, alpha={:g}".format(f["temperature"], f["alpha"]))
    return what + (f" ({'; '.join(parts)})" if parts else "")


def number(value, fmt):
    return "-" if value is None else fmt.format(value)


def stage_seconds(reports):
    """Each stage's seconds from the first report that ran it (reused stages record 0)."""
    out = {}
    for r in reports:
        for k, v in r.get("stage_seconds", {}).items():
            if out.get(k, 0) == 0:
                out[k] = v
    return out


def table(run, earlier):
    report = load(os.path.join(run, "report.json"))
    models = report["models"]
    order = [k for k in ROWS if k in models] + sorted(k for k in models if k not in ROWS)
    print("| model | bits/char | perplexity | top-1 agreement | KL(teacher ‖ model) | parameters | tokens/s |")
    print("|---|---|---|---|---|---|---|")
    for name in order:
        m = models[name]
        print(f"| {label(run, name)} | {m['bits_per_char']:.3f} | {m['perplexity']:.2f} |"
              f" {number(m.get('top1_agreement'), '{:.2%}')} | {number(m.get('kl_teacher_student'), '{:.3f}')} |"
              f" {m['parameters']:,} | {m['tokens_per_second']:,.0f} |")
    stages = stage_seconds([report] + [load(p) for p in earlier])
    if stages:
        total = sum(stages.values())
        print("\nStage seconds (`stage_seconds`" + (", each from the report of the run that ran it" if earlier
                                                    else ", 0 for a stage the run reused") + "): "
              + ", ".join(f"{k} {stages[k]:,.0f}" for k in STAGES if k in stages)
              + f"; {total:,.0f} s in all ({int(total // 60)} min {int(total % 60)} s).")
    if "baseline" in models:
        base = models["baseline"]["bits_per_char"]
        said = []
        for name in ("kd_slice", "kd_corpus", "kd_generated"):
            if name in models:
                d = models[name]["bits_per_char"] - base
                said.append(f"{name} {d:+.3f} bits/char against the baseline"
                            f" ({'better' if d < 0 else 'not better'})")
        if said:
            print("\n" + "; ".join(said) + " (one run, one seed; lower is better).")


def mean_sd(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def seeds(run, out, seed_list):
    own = load(os.path.join(run, "students", "baseline", "_manifest.json"))["config"]["seed"]
    reports = {str(own): load(os.path.join(run, "report.json"))["models"]}
    for s in seed_list:
        reports[s] = load(os.path.join(out, s, "evaluation", "report.json"))["models"]
    names = [k for k in ("baseline", "kd_slice", "kd_corpus", "kd_generated") if all(k in r for r in reports.values())]
    bits = {k: [r[k]["bits_per_char"] for r in reports.values()] for k in names}
    print("| model (test bits/char) | " + " | ".join(f"seed {s}" for s in reports) + " | mean +/- sd |"
          " minus the baseline, mean +/- sd (paired by seed) |")
    print("|---" * (len(reports) + 3) + "|")
    said = []
    for k in names:
        m, sd = mean_sd(bits[k])
        diff = ""
        if k != "baseline" and "baseline" in bits:
            d = [a - b for a, b in zip(bits[k], bits["baseline"])]
            dm, dsd = mean_sd(d)
            se2 = 2 * dsd / math.sqrt(len(d))
            beyond = len(d) > 1 and abs(dm) > se2
            diff = f"{dm:+.3f} +/- {dsd:.3f} ({', '.join(f'{x:+.3f}' for x in d)})"
            said.append(f"{k} {dm:+.3f} bits/char against the baseline over {len(d)} seeds,"
                        f" {'better' if dm < 0 else 'not better'}; {'beyond' if beyond else 'within'} seed noise"
                        f" (two standard errors of the paired difference: {se2:.3f})")
        print(f"| {ROWS[k][1]} | " + " | ".join(f"{v:.3f}" for v in bits[k]) + f" | {m:.3f} +/- {sd:.3f} | {diff} |")
    teacher = {r["teacher"]["bits_per_char"] for r in reports.values() if "teacher" in r}
    print("\nThe teacher, fixed: " + ", ".join(f"{t:.3f}" for t in sorted(teacher)) + " bits/char. "
          + "; ".join(said) + ".")


def main(argv):
    if not argv:
        sys.exit(__doc__)
    if argv[0] == "seeds":
        if len(argv) < 4:
            sys.exit(__doc__)
        seeds(argv[1], argv[2], argv[3:])
        return
    table(argv[0], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
