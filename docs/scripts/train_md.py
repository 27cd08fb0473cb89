#!/usr/bin/env python3
"""The trainer benchmark's tables for docs/PERFORMANCE.md, from docs/scripts/bench-train.sh's JSON lines: per student,
the median examples/s of each engine over the alternated runs, each against the single-JVM dense step and PyTorch's
best thread count; which variant wins on this machine for each choice made for speed (ratios are medians of the
per-run ratios, both sides from the same run); the targets of issue 21; the cost model per round (a + b x F) when the
run has F = 10 and 20 (BENCH_EXTRA). Ends with one JSON line: single_vs_pytorch and local2_vs_single for the demo's
784-64-10 student, the same with _wide for the other MLP student and _cnn for the CNN teacher, and the winners.

Usage: train_md.py RESULTS.jsonl
"""
import json
import re
import statistics
import sys

SPARK = re.compile(r"^(?P<master>.*) parameter averaging, averaging frequency (?P<f>\d+), worker step (?P<step>\w+),"
                   r" rounds as (?P<rounds>\w+)$")
DEMO = "784-64-10"
DENSE = "single-jvm dense step"
DENSE_DL4J_UPDATER = "single-jvm dense step, DL4J updater"
DENSE_ND4J = "single-jvm dense step, ND4J only"
FIT = "single-jvm fit (1 thread)"
FIT_NATIVE = "single-jvm fit, DL4J's native Adam"
LOCAL2 = "spark local[2] parameter averaging, averaging frequency 10, worker step dense, rounds as exchange"
TORCH = ("pytorch cpu (1 threads)", "pytorch cpu (2 threads)")


def main(path):
    lines = [json.loads(l) for l in open(path, encoding="utf-8") if l.startswith("{")]
    header = next((l[2:].strip() for l in open(path, encoding="utf-8") if l.startswith("# rows=")), "")
    students = list(dict.fromkeys(l.get("student", DEMO) for l in lines))
    print(f"\n{header}\n")
    summary = {}
    for student in students:
        rows = [l for l in lines if l.get("student", DEMO) == student]
        runs = {}  # engine -> rep -> examples/s
        for l in rows:
            runs.setdefault(l["engine"], {})[l.get("rep", 1)] = l["examplesPerSecond"]
        med = {e: statistics.median(v.values()) for e, v in runs.items()}

        def best_torch_per_rep():
            reps = set(runs.get(TORCH[0], {})) | set(runs.get(TORCH[1], {}))
            return {r: max(runs.get(t, {}).get(r, 0) for t in TORCH) for r in reps}

        def ratio(a, b):
            """Median over runs of a / b within the same run, or None."""
            ra = runs.get(a) if isinstance(a, str) else a
            rb = runs.get(b) if isinstance(b, str) else b
            if not ra or not rb:
                return None
            per = [ra[r] / rb[r] for r in ra if r in rb and rb[r] > 0]
            return statistics.median(per) if per else None

        torch_best = best_torch_per_rep()
        print(f"Student {student} (median of {max(len(v) for v in runs.values())} runs):\n")
        print("| engine | examples/s (median) | min - max | runs | vs dense step | vs PyTorch's best |")
        print("|---|---|---|---|---|---|")
        for engine, v in runs.items():
            r1 = ratio(engine, DENSE)
            r2 = ratio(engine, torch_best)
            print(f"| {engine} | {med[engine]:,.0f} | {min(v.values()):,.0f} - {max(v.values()):,.0f} | {len(v)} |"
                  f" {'-' if r1 is None else f'{r1:.2f}'} | {'-' if r2 is None else f'{r2:.2f}'} |")
        print()
        s = {}
        choices = [
            ("fit: FastAdam vs DL4J's native Adam", FIT, FIT_NATIVE, "fastadam_vs_native_adam"),
            ("dense step vs the faster `fit`", DENSE, None, "dense_vs_fit"),
            ("dense step: fused Adam pass vs DL4J's updater", DENSE, DENSE_DL4J_UPDATER, "fused_adam_vs_dl4j_updater"),
            ("dense step: Java kernels + fused Adam vs ND4J only", DENSE, DENSE_ND4J, "kernels_vs_nd4j"),
        ]
        print("Which variant wins on this machine (median of per-run ratios):\n")
        for label, a, b, key in choices:
            if b is None:  # against the better of the two fits in each run
                fits = {r: max(runs.get(FIT, {}).get(r, 0), runs.get(FIT_NATIVE, {}).get(r, 0))
                        for r in set(runs.get(FIT, {})) | set(runs.get(FIT_NATIVE, {}))}
                r = ratio(a, fits)
            else:
                r = ratio(a, b)
            if r is None:
                continue
            s[key] = round(r, 3)
            winner = a if r >= 1 else (b or "the faster fit")
            print(f"- {label}: {r:.2f} -> {winner} wins")
        single = ratio(DENSE, torch_best)
        local2 = ratio(LOCAL2, DENSE)
        print()
        if single is not None:
            best = max(TORCH, key=lambda t: med.get(t, 0))
            print(f"- single-JVM dense step vs PyTorch's best thread count ({best}): {single:.2f}"
                  f" (target >= 0.7: {'met' if single >= 0.7 else 'not met'})")
        if local2 is not None:
            print(f"- `local[2]` (F = 10, dense step, exchange) vs single-JVM dense step: {local2:.2f}"
                  f" (target >= 0.9: {'met' if local2 >= 0.9 else 'not met'})")
        print()
        s["single_vs_pytorch"] = None if single is None else round(single, 3)
        s["local2_vs_single"] = None if local2 is None else round(local2, 3)
        summary[student] = s

    # cost model per (master, step, rounds): time per round = a + b x F, from F = 10 and F = 20 (demo student)
    groups = {}
    for l in lines:
        m = SPARK.match(l["engine"])
        if m and l.get("student", DEMO) == DEMO:
            groups.setdefault((m["master"], m["step"], m["rounds"]), {}).setdefault(int(m["f"]), []).append(
                l["secondsPerRound"])
    fitted = [(k, {f: statistics.median(x) for f, x in v.items()}) for k, v in groups.items() if 10 in v and 20 in v]
    if fitted:
        print("Cost per round, a + b x F, fitted on F = 10 and 20 (a: fixed per round; b: one minibatch step of"
              " every worker):\n")
        print("| master | worker step | rounds as | a (ms) | b (ms) |")
        print("|---|---|---|---|---|")
        for (master, step, rounds), v in fitted:
            b = (v[20] - v[10]) / 10
            a = v[10] - 10 * b
            print(f"| {master} | {step} | {rounds} | {1000 * a:.1f} | {1000 * b:.2f} |")
        print()

    out = {}
    demo = summary.get(DEMO, {})
    out.update({k: v for k, v in demo.items()})
    wide = next((s for s in students if s != DEMO and not s.startswith("cnn:")), None)
    if wide:
        out["wide_student"] = wide
        out.update({f"{k}_wide": v for k, v in summary[wide].items()})
    cnn = next((s for s in students if s.startswith("cnn:")), None)
    if cnn:
        out["cnn_teacher"] = cnn
        out.update({f"{k}_cnn": v for k, v in summary[cnn].items()})
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
