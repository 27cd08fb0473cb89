"""Writes docs/RESULTS.md (stdout) from the evaluations of docs/scripts/results.sh. Usage: results_md.py RUN OUT OMITTED SEED..."""
import json
import math
import statistics
import sys

run, out, omitted, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
reports = [json.load(open(f"{out}/{s}/evaluation/report.json"))["models"] for s in seeds]
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


def ms(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def pct(m, s):
    return f"{m:.2f} +/- {s:.2f}"


teacher_acc = reports[0]["teacher"]["accuracy"] * 100
print("# Results\n")
print(f"Produced by `docs/scripts/results.sh {run} {out}{' ' + omitted if omitted else ''}` on this machine (2 cores, a")
print("whole run takes about two hours). Fashion-MNIST: 55,000 training")
print("images as the transfer set, hard labels kept for 1,000 of them (stratified, seeded); the teacher and its soft")
print(f"targets (at T=1, re-tempered by the trainer with `--retemper`) come from the demo run `{run}`. Every student is")
print("784-64-10 unless said otherwise, trained by Spark `local[2]` parameter averaging, epoch picked on the 5,000-image")
print(f"validation slice; test accuracy on the 10,000 test images, mean +/- sample std over seeds {', '.join(seeds)}")
print("(a seed changes initialisation, data order and which 1,000 rows keep their label). Calibration (temperature")
print("scaling, per-class bias) is fitted on the validation slice and applied to the test split.\n")
print("| model | test accuracy % | agreement with teacher % | ECE | ECE after T-scaling | diff vs KD T=1 alpha=1 (paired) |")
print("|---|---|---|---|---|---|")
for key, label in ROWS:
    acc = [r[key]["accuracy"] * 100 for r in reports]
    agr = [r[key]["agreement_with_teacher"] * 100 for r in reports]
    ece = [r[key]["ece"] for r in reports]
    ece_t = [r[key]["calibration"]["ece_after_temperature"] for r in reports]
    if key in (REF, "teacher"):
        diff = "-"
    else:
        d = [(r[key]["accuracy"] - r[REF]["accuracy"]) * 100 for r in reports]
        m, s = ms(d)
        # larger than seed noise: the paired mean is more than two standard errors from zero
        big = len(d) > 1 and s > 0 and abs(m) > 2 * s / math.sqrt(len(d))
        diff = f"{m:+.2f} +/- {s:.2f}" + (" (beyond noise)" if big else " (within noise)")
    print(f"| {label} | {pct(*ms(acc))} | {pct(*ms(agr))} | {ms(ece)[0]:.4f} | {ms(ece_t)[0]:.4f} | {diff} |")
print()
print("\"Beyond noise\" means the mean paired difference is more than two standard errors (std / sqrt(seeds)) from")
print("zero; with 3 seeds that is a rough screen, not a significance test.\n")
print("Hints and relations use a second set of soft targets from the same teacher, labelled at T=1 with its last hidden")
print("layer stored (`label --hint-layer`, 500 values per row). Hint rows: a linear regressor from the student's hidden")
print("layer (64) to the teacher's, mean squared error (weight 1); two-stage fits the student's first layer and the")
print("regressor to the hint for 5 epochs before KD (Romero et al.), joint adds the term to the KD loss. Relation rows: the")
print("term compares the minibatch's relations (64 rows) of the student's logits with the teacher layer's, with the")
print("papers' weights (Park et al. 2019: lambda_D = 25, lambda_A = 50; Tung and Mori 2019: gamma = 3000), not tuned here.")
print("Those four rows were trained by a later build than the others, with FastAdam (DL4J's Adam rule, same steps within")
print("1e-5, `FastAdamTest`) instead of DL4J's native Adam; reruns skip published models, so a full rerun needs a new OUT_DIR.")
print("What they say here: two-stage hints gain a little over plain KD, joint hints do not, and both relation terms at")
print("the papers' weights cost accuracy (they pull 10 logits towards the geometry of a 500-wide hidden layer).\n")

if omitted:
    doc = json.load(open(f"{omitted}/omitted-class.json"))
    c = doc["omitted_class"]
    print(f"## Hinton's omitted-class experiment (class {c} removed from the transfer set)\n")
    print(f"`distill omitted-class --class {c} -T {doc['temperature']:g}` on the same teacher: every training image of class")
    print(f"{c} is removed from the transfer set (and from the validation slice used to pick epochs); the KD student")
    print("learns from soft targets only (no hard label, alpha=1); the hard-label student from the remaining labels.")
    print("Bias correction: per-class additive biases fitted on the full validation slice (which has the class).")
    print("One seed.\n")
    print(f"| model | test accuracy % | class {c} accuracy % | after bias correction: accuracy % | class {c} % | class {c} bias |")
    print("|---|---|---|---|---|---|")
    for name, r in doc["models"].items():
        print(f"| {name} | {r['accuracy'] * 100:.2f} | {r['omitted_class_accuracy'] * 100:.2f} | "
              f"{r['accuracy_after_bias'] * 100:.2f} | {r['omitted_class_accuracy_after_bias'] * 100:.2f} | "
              f"{r['omitted_class_bias']:+.2f} |")
