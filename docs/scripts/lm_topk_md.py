#!/usr/bin/env python3
"""Prints docs/PERFORMANCE.md's top-K table from a docs/scripts/lm-topk.sh run: per target set (dense fp32, top-K)
and student temperature, the soft targets' bytes per scored token (the Parquet part files / the label job's scored
tokens), the teacher's mean probability mass outside the top K at T = 1 (the label's _quality.json), and the student's
test bits/char, top-1 agreement with the teacher, next-token ECE and mean KL(teacher || student) from the run's
evaluate report, each with its difference to the dense student of the same T and seed. Then the seed-noise lines:
the same targets with the other seeds against the first.

Usage: python3 docs/scripts/lm_topk_md.py WORK_DIR
"""
import glob
import json
import os
import re
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def soft_facts(work, targets):
    d = os.path.join(work, "soft", targets)
    parts = sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "part-*.parquet")))
    quality = load(os.path.join(d, "_quality.json"))
    tokens = quality["scoredTokens"]
    return {"bytes": parts, "tokens": tokens, "bytes_per_token": parts / tokens,
            "tail": quality.get("meanTailMassAtT1", 0.0), "teacher_bpc": quality.get("teacherBitsPerChar")}


def main(work):
    report = load(os.path.join(work, "evaluation", "report.json"))
    models = report["models"]
    runs = {}  # (targets, T, seed) -> metrics
    for name, m in models.items():
        match = re.fullmatch(r"(dense|k\d+)_t([0-9.]+)_s(\d+)", name)
        if match:
            runs[(match.group(1), match.group(2), match.group(3))] = m
    if not runs:
        sys.exit("lm_topk_md.py: no student of lm-topk.sh in " + os.path.join(work, "evaluation", "report.json"))
    targets = sorted({k[0] for k in runs}, key=lambda t: (t != "dense", int(t[1:]) if t != "dense" else 0))
    temps = sorted({k[1] for k in runs}, key=float)
    seeds = sorted({k[2] for k in runs}, key=int)
    first = seeds[0]
    facts = {t: soft_facts(work, t) for t in targets}
    dense_bpt = facts["dense"]["bytes_per_token"]
    teacher = models.get("teacher", {})
    print(f"Test split: {report['scored_tokens']:,} scored tokens ({report['test_windows']:,} windows); "
          f"training windows labelled: {facts['dense']['tokens']:,} scored tokens. Teacher: "
          f"{teacher.get('bits_per_char', float('nan')):.3f} bits/char on the test split.")
    print()
    print("| soft targets | T | bytes/token | vs dense | teacher mass outside top K (T = 1) | bits/char | Δ vs dense "
          "| top-1 agreement | Δ (points) | ECE | Δ | KL(teacher ‖ student) | Δ |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for temp in temps:
        base = runs.get(("dense", temp, first))
        for t in targets:
            m = runs.get((t, temp, first))
            if m is None:
                continue
            f = facts[t]
            label = "dense fp32 (every logit)" if t == "dense" else f"top-{t[1:]} fp32"

            def delta(key, scale=1.0, fmt="{:+.3f}"):
                if base is None or t == "dense" or m.get(key) is None or base.get(key) is None:
                    return ""
                return fmt.format((m[key] - base[key]) * scale)

            print(f"| {label} | {temp} | {f['bytes_per_token']:.1f} | {f['bytes_per_token'] / dense_bpt:.3f} "
                  f"| {f['tail']:.4f} | {m['bits_per_char']:.3f} | {delta('bits_per_char')} "
                  f"| {100 * m['top1_agreement']:.2f}% | {delta('top1_agreement', 100, '{:+.2f}')} "
                  f"| {m['ece']:.4f} | {delta('ece', 1, '{:+.4f}')} | {m['kl_teacher_student']:.4f} | {delta('kl_teacher_student', 1, '{:+.4f}')} |")
    print()
    print(f"Δ: against the dense student of the same T (seed {first}); lower bits/char, ECE and KL are better.")
    for s in seeds[1:]:
        for temp in temps:
            pairs = [t for t in targets if (t, temp, s) in runs and (t, temp, first) in runs]
            if not pairs:
                continue
            parts = []
            for t in pairs:
                d = runs[(t, temp, s)]["bits_per_char"] - runs[(t, temp, first)]["bits_per_char"]
                parts.append(f"{'dense' if t == 'dense' else 'top-' + t[1:]} {d:+.3f}")
            line = f"Seed {s} against seed {first} at T = {temp}, bits/char: " + ", ".join(parts)
            if ("dense", temp, s) in runs:
                for t in pairs:
                    if t != "dense":
                        d = runs[(t, temp, s)]["bits_per_char"] - runs[("dense", temp, s)]["bits_per_char"]
                        line += f"; top-{t[1:]} vs dense under seed {s}: {d:+.3f}"
            print(line + ".")
    seconds = os.path.join(work, "seconds.tsv")
    if os.path.exists(seconds):
        with open(seconds) as f:
            rows = [line.split("\t") for line in f.read().splitlines() if line]
        total = sum(int(r[1]) for r in rows)
        stages = {}
        for name, sec in rows:
            kind = re.sub(r"-.*", "", name)
            stages[kind] = stages.get(kind, 0) + int(sec)
        print()
        print("Stage seconds: " + ", ".join(f"{k} {v:,}" for k, v in stages.items())
              + f"; {total:,} s in all ({total // 60} min {total % 60} s).")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: lm_topk_md.py WORK_DIR")
    main(sys.argv[1])
