#!/usr/bin/env python3
"""The table of docs/PERFORMANCE.md ("Mutual training and augmentation") from one results-*.jsonl of
docs/scripts/bench-mutual.sh; ends with one JSON line (mutual_per_student_vs_alone, augment_vs_label)."""
import json
import statistics
import sys

lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
machine = next(l for l in lines if l["case"] == "machine")
end = next((l for l in lines if l["case"] == "machine_end"), {"load": "?"})
by = {c: [l for l in lines if l["case"] == c] for c in ("alone", "mutual", "augment", "label")}
med = lambda xs: statistics.median(xs)
alone = med([l["examples_per_s"] for l in by["alone"]])
mutual = med([l["examples_per_s"] for l in by["mutual"]])
ratios = [m["examples_per_s"] / a["examples_per_s"] for a, m in zip(by["alone"], by["mutual"])]
aug = med([l["rows_per_s"] for l in by["augment"]])
lab = med([l["rows_per_s"] for l in by["label"]])
aratios = [a["rows_per_s"] / b["rows_per_s"] for a, b in zip(by["augment"], by["label"])]
print(f"{machine['cpu']}, nproc {machine['nproc']}; load average {machine['load']} at the start, {end['load']} at the "
      f"end; {machine['runs']} alternated runs, {machine['epochs']} epochs (medians; per-run ratios in brackets).")
print()
print("| case | rows | median | ratio (median of per-run ratios) |")
print("|---|---|---|---|")
print(f"| one `mlp:64` student alone (hard) | {by['alone'][0]['rows']:,} | {alone:,.0f} examples/s | |")
print(f"| `--objective mutual --peers 2`, per student | {by['mutual'][0]['rows']:,} | {mutual:,.0f} examples/s | "
      f"{med(ratios):.2f}x alone ({', '.join(f'{r:.2f}' for r in ratios)}) |")
print(f"| `augment --transform shift=2,flip --copies 1` | {by['augment'][0]['rows']:,} written | {aug:,.0f} rows/s | "
      f"{med(aratios):.2f}x label ({', '.join(f'{r:.2f}' for r in aratios)}) |")
print(f"| `label` (the demo's CNN teacher) of augment's output | {by['label'][0]['rows']:,} | {lab:,.0f} rows/s | |")
print(json.dumps({"mutual_per_student_vs_alone": round(med(ratios), 3), "augment_vs_label": round(med(aratios), 3)}))
