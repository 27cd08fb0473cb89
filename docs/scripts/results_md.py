#!/usr/bin/env python3
"""Writes docs/RESULTS.md (stdout) from the evaluations of docs/scripts/results.sh; every sentence under the tables is
computed from the numbers in them.

Usage: results_md.py RUN OUT OMITTED SEED...    (OMITTED may be "": no omitted-class section)
       results_md.py --words RESULTS.md         the conclusions alone, recomputed from the tables of a written file
                                                (when the evaluations it came from are gone)
"""
import json
import math
import re
import statistics
import sys

ROWS = [
    ("teacher", "teacher (trained on all 55,000 labels)"),
    ("baseline", "baseline: hard labels of the 1,000 labelled rows only"),
    ("kd_T1_a1", "KD, forward KL, T=1, alpha=1"),
    ("kd_T4_a1", "KD, forward KL, T=4, alpha=1"),
    ("kd_T1_a05", "KD, forward KL, T=1, alpha=0.5"),
    ("kd_T4_a05", "KD, forward KL, T=4, alpha=0.5"),
    ("reverse_kl", "KD, reverse KL, T=1, alpha=1"),
    ("jsd", "KD, Jensen-Shannon, T=1, alpha=1"),
    ("hints_two_stage", "FitNets hints, two-stage (5 hint epochs, then KD T=1, alpha=1)"),
    ("hints_joint", "FitNets hints, joint (KD T=1, alpha=1 + 1 x hint MSE)"),
    ("rkd", "KD T=1, alpha=1 + 25 x RKD (distance + 2 x angle)"),
    ("sp", "KD T=1, alpha=1 + 3000 x similarity-preserving"),
    ("self_distilled", "self-distillation: the teacher's architecture as student, T=1, alpha=1, 4 epochs"),
]
REF = "kd_T1_a1"
LABEL = dict(ROWS)
SHORT = {"teacher": "the teacher", "baseline": "the baseline", "kd_T1_a1": "KD (forward KL, T=1, alpha=1)",
         "kd_T4_a1": "T=4", "kd_T1_a05": "alpha=0.5", "kd_T4_a05": "T=4 with alpha=0.5", "reverse_kl": "reverse KL",
         "jsd": "Jensen-Shannon", "hints_two_stage": "two-stage hints", "hints_joint": "joint hints",
         "rkd": "RKD", "sp": "similarity-preserving", "self_distilled": "self-distillation"}
TABLE_HEAD = ("| model | test accuracy % | agreement with teacher % | ECE | ECE after T-scaling |"
              " diff vs KD T=1 alpha=1 (paired) |")


def ms(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(reports):
    """One dict per row of the table: means and sample stds over seeds, and the paired difference to REF."""
    out = []
    for key, label in ROWS:
        acc = [r[key]["accuracy"] * 100 for r in reports]
        row = {"key": key, "label": label, "acc": ms(acc),
               "agr": ms([r[key]["agreement_with_teacher"] * 100 for r in reports]),
               "ece": ms([r[key]["ece"] for r in reports])[0],
               "ece_t": ms([r[key]["calibration"]["ece_after_temperature"] for r in reports])[0], "diff": None}
        if key not in (REF, "teacher"):
            d = [(r[key]["accuracy"] - r[REF]["accuracy"]) * 100 for r in reports]
            m, s = ms(d)
            # larger than seed noise: the paired mean is more than two standard errors from zero
            row["diff"] = (m, s, len(d) > 1 and s > 0 and abs(m) > 2 * s / math.sqrt(len(d)))
        out.append(row)
    return out


def table(rows):
    print(TABLE_HEAD)
    print("|---|---|---|---|---|---|")
    for r in rows:
        diff = "-" if r["diff"] is None else "{:+.2f} +/- {:.2f} ({} noise)".format(
            r["diff"][0], r["diff"][1], "beyond" if r["diff"][2] else "within")
        print(f"| {r['label']} | {r['acc'][0]:.2f} +/- {r['acc'][1]:.2f} | {r['agr'][0]:.2f} +/- {r['agr'][1]:.2f} |"
              f" {r['ece']:.4f} | {r['ece_t']:.4f} | {diff} |")


def words(rows, seeds):
    """The sentences the table supports, computed from its rows only (so they can be recomputed from a written file)."""
    by = {r["key"]: r for r in rows}
    ref, base, teacher = by[REF], by["baseline"], by["teacher"]
    name = SHORT
    out = []
    d, s, beyond = base["diff"]
    gain = -d
    out.append(
        f"- {name[REF]} reaches {ref['acc'][0]:.2f}% against {base['acc'][0]:.2f}% for the baseline: "
        f"{gain:+.2f} points (paired over {seeds} seeds, std {s:.2f}), "
        + (f"more than the seed spread of either (std {ref['acc'][1]:.2f} and {base['acc'][1]:.2f})."
           if beyond and abs(gain) > max(ref["acc"][1], base["acc"][1]) else
           f"{'beyond' if beyond else 'within'} noise by the two-standard-error screen below (seed spread: std"
           f" {ref['acc'][1]:.2f} and {base['acc'][1]:.2f})."))
    others = [r for r in rows if r["diff"] is not None and r["key"] != "baseline"]
    above = [r for r in others if r["diff"][2] and r["diff"][0] > 0]
    below = [r for r in others if r["diff"][2] and r["diff"][0] < 0]
    tied = [r for r in others if not r["diff"][2]]

    def names(rs):
        return ", ".join(f"{name[r['key']]} ({r['diff'][0]:+.2f})" for r in sorted(rs, key=lambda r: -r["diff"][0]))

    if above:
        out.append(f"- Above it beyond seed noise: {names(above)}.")
    if below:
        out.append(f"- Below it beyond seed noise: {names(below)}.")
    if tied:
        out.append(f"- Within seed noise of it: {names(tied)}.")
    students = [r for r in rows if r["key"] != "teacher"]
    best = max(students, key=lambda r: r["acc"][0])
    out.append(f"- The most accurate student, {name[best['key']]} ({best['acc'][0]:.2f}%), is"
               f" {abs(best['acc'][0] - teacher['acc'][0]):.2f} points"
               f" {'below' if best['acc'][0] < teacher['acc'][0] else 'above'} the teacher ({teacher['acc'][0]:.2f}%).")
    worst_ece = max(students, key=lambda r: r["ece"])
    best_ece = min(students, key=lambda r: r["ece"])
    out.append(f"- Calibration on the test split: the highest ECE is {name[worst_ece['key']]}'s ({worst_ece['ece']:.4f};"
               f" {worst_ece['ece_t']:.4f} after temperature scaling), the lowest {name[best_ece['key']]}'s"
               f" ({best_ece['ece']:.4f}); {name[REF]}: {ref['ece']:.4f}.")
    return out


def omitted_section(doc):
    c = doc["omitted_class"]
    rows = doc["models"]
    hinton = all("accuracy_after_hinton_bias" in r for r in rows.values())
    print(f"## Hinton's omitted-class experiment (class {c} removed from the transfer set)\n")
    print(f"`distill omitted-class --class {c} -T {doc['temperature']:g}` on the same teacher: every training image of class")
    print(f"{c} is removed from the transfer set (and from the validation slice used to pick epochs); the KD student")
    print("learns from soft targets only (no hard label, alpha=1); the hard-label student from the remaining labels.")
    print("Bias correction: per-class additive biases fitted on the full validation slice (which has the class)"
          + ("; Hinton's correction raises only the omitted class's bias, by the amount that maximises validation"
             " accuracy." if hinton else "."))
    print("One seed.\n")
    head = f"| model | test accuracy % | class {c} accuracy % | after bias correction: accuracy % | class {c} % | class {c} bias |"
    if hinton:
        head += f" Hinton's correction: accuracy % | class {c} % | class {c} bias |"
    print(head)
    print("|---" * (6 + (3 if hinton else 0)) + "|")
    for name, r in rows.items():
        line = (f"| {name} | {r['accuracy'] * 100:.2f} | {r['omitted_class_accuracy'] * 100:.2f} | "
                f"{r['accuracy_after_bias'] * 100:.2f} | {r['omitted_class_accuracy_after_bias'] * 100:.2f} | "
                f"{r['omitted_class_bias']:+.2f} |")
        if hinton:
            line += (f" {r['accuracy_after_hinton_bias'] * 100:.2f} |"
                     f" {r['omitted_class_accuracy_after_hinton_bias'] * 100:.2f} | {r['hinton_bias']:+.2f} |")
        print(line)
    kd, hard = rows.get("kd_soft_only"), rows.get("hard_labels")
    if kd and hard:
        more = kd["omitted_class_accuracy"] > hard["omitted_class_accuracy"]
        print(f"\nOn class {c}'s test images, which neither student saw, the soft-target student is right on"
              f" {kd['omitted_class_accuracy'] * 100:.1f}% and the hard-label student on"
              f" {hard['omitted_class_accuracy'] * 100:.1f}%: the soft targets "
              + ("carry the missing class." if more else "do not carry the missing class here.")
              + f" With the fitted biases: {kd['omitted_class_accuracy_after_bias'] * 100:.1f}% and"
              f" {hard['omitted_class_accuracy_after_bias'] * 100:.1f}%"
              + (f"; with Hinton's correction: {kd['omitted_class_accuracy_after_hinton_bias'] * 100:.1f}% and"
                 f" {hard['omitted_class_accuracy_after_hinton_bias'] * 100:.1f}%." if hinton else "."))


def write(run, out, omitted, seeds):
    reports = [json.load(open(f"{out}/{s}/evaluation/report.json"))["models"] for s in seeds]
    rows = summarise(reports)
    print("# Results\n")
    print(f"Produced by `docs/scripts/results.sh {run} {out}{' ' + omitted if omitted else ''}` (its last step:")
    print(f"`docs/scripts/results_md.py`, which computes the tables and the sentences under them). Fashion-MNIST: 55,000")
    print("training images as the transfer set, hard labels kept for 1,000 of them (stratified, seeded); the teacher and its")
    print(f"soft targets (at T=1, re-tempered by the trainer with `--retemper`) come from the demo run `{run}`. Every student")
    print("is 784-64-10 unless said otherwise, trained by Spark `local[2]` parameter averaging, epoch picked on the")
    print(f"5,000-image validation slice; test accuracy on the 10,000 test images, mean +/- sample std over seeds {', '.join(seeds)}")
    print("(a seed changes initialisation, data order and which 1,000 rows keep their label). Calibration (temperature")
    print("scaling, per-class bias) is fitted on the validation slice and applied to the test split.\n")
    table(rows)
    print()
    print("\"Beyond noise\" means the mean paired difference is more than two standard errors (std / sqrt(seeds)) from")
    print(f"zero; with {len(seeds)} seeds that is a rough screen, not a significance test.\n")
    print("What the table says:\n")
    print("\n".join(words(rows, len(seeds))))
    print()
    print("Hints and relations use a second set of soft targets from the same teacher, labelled at T=1 with its last hidden")
    print("layer stored (`label --hint-layer`, 500 values per row). Hint rows: a linear regressor from the student's hidden")
    print("layer (64) to the teacher's, mean squared error (weight 1); two-stage fits the student's first layer and the")
    print("regressor to the hint for 5 epochs before KD (Romero et al.), joint adds the term to the KD loss. Relation rows: the")
    print("term compares the minibatch's relations (64 rows) of the student's logits with the teacher layer's, with the")
    print("papers' weights (Park et al. 2019: lambda_D = 25, lambda_A = 50; Tung and Mori 2019: gamma = 3000), not tuned here.")
    print("Reruns skip published models, so a rerun with another build needs a new OUT_DIR.\n")
    if omitted:
        omitted_section(json.load(open(f"{omitted}/omitted-class.json")))


def rows_from_table(path):
    """The table of a written RESULTS.md back into the rows `words` reads."""
    by_label = {}
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in LABEL.values():
            pm = [tuple(float(x) for x in re.findall(r"[-+]?\d+\.\d+", c)) for c in cells[1:3]]
            diff = None
            if cells[5] != "-":
                m, s = (float(x) for x in re.findall(r"[-+]?\d+\.\d+", cells[5])[:2])
                diff = (m, s, "beyond" in cells[5])
            by_label[cells[0]] = {"label": cells[0], "acc": pm[0], "agr": pm[1], "ece": float(cells[3]),
                                  "ece_t": float(cells[4]), "diff": diff}
    rows = []
    for key, label in ROWS:
        rows.append(dict(by_label[label], key=key))
    seeds = re.search(r"over seeds ([\d, ]+)", open(path, encoding="utf-8").read().replace("\n", " "))
    return rows, len(seeds.group(1).split(",")) if seeds else 3


def main(argv):
    if len(argv) == 2 and argv[0] == "--words":
        rows, n = rows_from_table(argv[1])
        print("\n".join(words(rows, n)))
    elif len(argv) >= 4:
        write(argv[0], argv[1], argv[2], argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
