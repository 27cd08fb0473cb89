#!/usr/bin/env python3
"""README's LM demo table, printed as Markdown from an LM demo run's own outputs (standard library only).

Usage: lm_readme_md.py RUN_DIR [EARLIER_REPORT...]
       the table from RUN_DIR/report.json (`bin/distill demo --task lm`); a rerun that reused stages records 0 s
       for them, so copies of the run's earlier report.json files may be given: each stage's seconds are then
       those of the report that ran it (the first non-zero, the current report first)

One row per model of the report (teacher first): test bits per character and perplexity, top-1 next-token
agreement with the teacher, mean per-token KL(teacher || model), parameters and batched tokens per second; then the
stage seconds and the sentences the numbers support (computed here, not written by hand). The models' manifests
(RUN_DIR/models/teacher, RUN_DIR/students/*) name the architectures and the windows and characters each trained on.
"""
import json
import os
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


def main(argv):
    if not argv:
        sys.exit(__doc__)
    table(argv[0], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
