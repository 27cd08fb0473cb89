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
       lm_readme_md.py reference RUN_DIR REF_DIR SEEDS_DIR SEED...
       the reference table: the slice students (baseline, kd_slice) of distillery (the run's own seed from
       RUN_DIR/report.json, any other SEED from SEEDS_DIR/SEED/evaluation/report.json; SEEDS_DIR - for none) beside
       the PyTorch reference's of the same recipe and seed (REF_DIR/SEED/NAME.json, docs/scripts/lm-reference.sh):
       test bits/char, accuracy and ECE per seed and their means, kd_slice minus the baseline paired by seed, and
       whether that difference is beyond seed noise in each

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


def two_se(diffs):
    """Two standard errors of the mean of paired differences: what counts as seed noise here."""
    return 2 * mean_sd(diffs)[1] / math.sqrt(len(diffs))


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
            se2 = two_se(d)
            beyond = len(d) > 1 and abs(dm) > se2
            diff = f"{dm:+.3f} +/- {dsd:.3f} ({', '.join(f'{x:+.3f}' for x in d)})"
            said.append(f"{k} {dm:+.3f} bits/char against the baseline over {len(d)} seeds,"
                        f" {'better' if dm < 0 else 'not better'}; {'beyond' if beyond else 'within'} seed noise"
                        f" (two standard errors of the paired difference: {se2:.3f})")
        print(f"| {ROWS[k][1]} | " + " | ".join(f"{v:.3f}" for v in bits[k]) + f" | {m:.3f} +/- {sd:.3f} | {diff} |")
    teacher = {r["teacher"]["bits_per_char"] for r in reports.values() if "teacher" in r}
    print("\nThe teacher, fixed: " + ", ".join(f"{t:.3f}" for t in sorted(teacher)) + " bits/char. "
          + "; ".join(said) + ".")


REFERENCE_MODELS = ("baseline", "kd_slice")


def reference(run, ref, java_seeds, seed_list):
    own = str(load(os.path.join(run, "students", "baseline", "_manifest.json"))["config"]["seed"])
    engines = {"distillery": {}, "PyTorch reference": {}}
    for s in seed_list:
        engines["distillery"][s] = (load(os.path.join(run, "report.json"))["models"] if s == own
                                    else load(os.path.join(java_seeds, s, "evaluation", "report.json"))["models"]
                                    if java_seeds != "-" else None)
        engines["PyTorch reference"][s] = {k: load(os.path.join(ref, s, k + ".json"))["models"]["student"]
                                           for k in REFERENCE_MODELS}
    workers = {load(os.path.join(ref, s, k + ".json"))["recipe"].get("workers", 1) for s in seed_list
               for k in REFERENCE_MODELS}
    print("Each cell: test bits/char / accuracy / ECE. The reference "
          + ("as one process (every minibatch an optimiser step)" if workers == {1} else
             "with train's parameter averaging run serially (workers: " + ", ".join(map(str, sorted(workers))) + ")")
          + ".\n")
    print("| model | engine | " + " | ".join(f"seed {s}" for s in seed_list) + " | mean +/- sd |")
    print("|---|---" + "|---" * (len(seed_list) + 1) + "|")
    said = []
    for k in REFERENCE_MODELS:
        for engine, runs in engines.items():
            cells = [runs[s][k] if runs[s] else None for s in seed_list]
            got = [c for c in cells if c]
            if not got:
                continue
            m, sd = mean_sd([c["bits_per_char"] for c in got])
            mean = (f"{m:.3f} +/- {sd:.3f} / {statistics.mean(c['accuracy'] for c in got):.1%} /"
                    f" {statistics.mean(c['ece'] for c in got):.3f}" + (f" ({len(got)} of the seeds)" if len(got) < len(cells)
                                                                         else ""))
            print(f"| {k} | {engine} | " + " | ".join(
                "-" if c is None else f"{c['bits_per_char']:.3f} / {c['accuracy']:.1%} / {c['ece']:.3f}"
                for c in cells) + f" | {mean} |")
    for engine, runs in engines.items():
        d = [runs[s]["kd_slice"]["bits_per_char"] - runs[s]["baseline"]["bits_per_char"] for s in seed_list
             if runs[s]]
        if not d:
            continue
        dm, dsd = mean_sd(d)
        se2 = two_se(d)
        print(f"| kd_slice minus baseline (bits/char) | {engine} | " + " | ".join(
            "-" if runs[s] is None else f"{runs[s]['kd_slice']['bits_per_char'] - runs[s]['baseline']['bits_per_char']:+.3f}"
            for s in seed_list) + f" | {dm:+.3f} +/- {dsd:.3f} |")
        if len(d) < 2:
            said.append(f"{engine}: {dm:+.3f} with one seed, {'better' if dm < 0 else 'not better'}; seed noise"
                        f" needs two or more")
            continue
        said.append(f"{engine}: {dm:+.3f} over {len(d)} seeds, {'better' if dm < 0 else 'not better'},"
                    f" {'beyond' if abs(dm) > se2 else 'within'} seed noise (two standard errors of the paired"
                    f" difference: {se2:.3f})")
    print("\nkd_slice against the baseline, test bits/char: " + "; ".join(said) + ".")


def main(argv):
    if not argv:
        sys.exit(__doc__)
    if argv[0] == "seeds":
        if len(argv) < 4:
            sys.exit(__doc__)
        seeds(argv[1], argv[2], argv[3:])
        return
    if argv[0] == "reference":
        if len(argv) < 5:
            sys.exit(__doc__)
        reference(argv[1], argv[2], argv[3], argv[4:])
        return
    table(argv[0], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
