"""docs/PERFORMANCE.md's "Label job" current table from a docs/scripts/bench-label.sh results file: the measurements
(rows/s, wall and CPU microseconds per row, GFLOP/s, fraction of fma_peak) and the targets of issue 21 with what was
measured. With --json it ends with one JSON line of the figures (what bench-label.sh prints last).

Per-row overhead = (job seconds - rows / raw rate of the same teacher in the same run) / rows, the raw rate taken in the
label job's layout (2 Java threads x 1 OpenMP thread) by passes in the job's own JVM right before and right after the
job (the harmonic mean of the two, each rows over the passes' summed seconds): each job run against its own raw rate,
the median over runs; the label job vs raw ratios likewise. The figures against the raw JVMs at the start of the run
(2 x 1 and 1 x 2) are printed beside them, and stand in when a results file has no passes around its jobs. With
BENCH_E2E_RUNS > 1 the label job at ROWS and the Python job count by their median seconds.

Usage: python3 label_bench_md.py [--json] RESULTS.jsonl"""
import json
import statistics
import sys

MLP, HEAVY = "784-1200-1200-10", "784-4096-4096-10"
CNN = "784-conv5x5x20-pool-conv5x5x50-pool-500-10"
ADJACENT = "the label job in its JVM"  # raw passes right before and after a job, in its JVM
OVERHEAD = "label job overhead"


def load(path):
    try:
        lines = [json.loads(l) for l in open(path) if l.startswith("{")]
    except (OSError, ValueError) as e:
        print(f"cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    config = next((l for l in lines if l.get("bench") == "label"), None)
    if config is None:
        print(f"{path} is not a bench-label.sh results file (no {{\"bench\":\"label\"}} line)", file=sys.stderr)
        sys.exit(2)
    return config, lines


class Results:
    def __init__(self, config, lines):
        self.config, self.lines = config, lines

    def engines(self, prefix, **fields):
        return [l for l in self.lines if l.get("engine", "").startswith(prefix)
                and all(l.get(k) == v for k, v in fields.items())]

    def raw(self, teacher, kind, threads):
        """kind: 'fast dense path' or 'output()'; the raw JVMs' passes, not those around a label job."""
        found = [l for l in self.engines("raw ND4J", teacher=teacher, threads=threads) if kind in l["engine"]
                 and ADJACENT not in l["engine"]]
        return found[-1] if found else None

    def adjacent(self, teacher, rows):
        """Each label job run's overhead line against the raw passes in its JVM around it."""
        return self.engines(OVERHEAD, teacher=teacher, rows=rows)

    def pytorch(self, teacher):
        found = self.engines("pytorch", teacher=teacher)
        return found[-1] if found else None

    def fma(self, threads):
        found = sorted(f["gflops"] for f in self.engines("fma_peak", threads=threads))
        return found[len(found) // 2] if found else None  # the median of the runs

    def jobs(self, teacher, rows):
        found = self.engines("label job", teacher=teacher, rows=rows)
        return [l for l in found if not l["engine"].startswith(OVERHEAD)]

    def python(self, rows):
        return self.engines("python e2e", rows=rows)


def median_run(runs):
    """Median seconds and CPU seconds of the runs (None when there are none) and the run of median seconds."""
    if not runs:
        return None
    ordered = sorted(runs, key=lambda l: l["seconds"])
    return {"seconds": statistics.median(l["seconds"] for l in runs),
            "cpuSeconds": statistics.median(l["cpuSeconds"] for l in runs), "rows": runs[0]["rows"],
            "runs": len(runs), "line": ordered[(len(ordered) - 1) // 2]}


def overhead_us(job, raw):
    if not job or not raw:
        return None
    return (job["seconds"] - job["rows"] / raw["rowsPerSecond"]) / job["rows"] * 1e6


def adjacent_overhead_us(lines):
    """The median over job runs of each run's overhead against the raw rate measured around it in its JVM."""
    return statistics.median(l["overheadUs"] for l in lines) if lines else None


def adjacent_vs_raw(lines):
    """The median over job runs of each run's rows/s over the raw rate measured around it in its JVM."""
    return statistics.median(l["rows"] / l["seconds"] / l["rawRowsPerSecond"] for l in lines) if lines else None


def first(*values):
    return next((v for v in values if v is not None), None)


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=2):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def summarise(r):
    rows = r.config["rows"]
    scale = r.config.get("scale", [])
    fma1, fma2 = r.fma(1), r.fma(2)
    mlp2, mlp1 = r.raw(MLP, "fast dense path", 2), r.raw(MLP, "fast dense path", 1)
    heavy2, heavy1 = r.raw(HEAVY, "fast dense path", 2), r.raw(HEAVY, "fast dense path", 1)
    # the path the job takes: the fast path (convolution front) when the run measured one, else output()
    cnn2 = r.raw(CNN, "fast dense path", 2) or r.raw(CNN, "output()", 2)
    cnn1 = r.raw(CNN, "fast dense path", 1) or r.raw(CNN, "output()", 1)
    job_rows = median_run(r.jobs(MLP, rows))
    py_rows = median_run(r.python(rows))
    at = {n: (job_rows if n == rows else median_run(r.jobs(MLP, n))) for n in dict.fromkeys([rows] + scale)}
    heavy_job = median_run(r.jobs(HEAVY, r.config.get("heavyRows")))
    cnn_job = median_run(r.jobs(CNN, r.config.get("cnnRows")))

    def rate(job):
        return job["rows"] / job["seconds"] if job else None

    def rps(line):
        return line["rowsPerSecond"] if line else None

    heavy_rows, cnn_rows = r.config.get("heavyRows"), r.config.get("cnnRows")
    s = {
        "rows": rows,
        "heavy_rows": heavy_rows,
        "cnn_rows": cnn_rows,
        "overhead_us_rows": first(adjacent_overhead_us(r.adjacent(MLP, rows)), overhead_us(job_rows, mlp2)),
        "overhead_us_1m": first(adjacent_overhead_us(r.adjacent(MLP, 1_000_000)),
                                overhead_us(at.get(1_000_000), mlp2)),
        "overhead_us_10m": first(adjacent_overhead_us(r.adjacent(MLP, 10_000_000)),
                                 overhead_us(at.get(10_000_000), mlp2)),
        "overhead_us_cnn": first(adjacent_overhead_us(r.adjacent(CNN, cnn_rows)), overhead_us(cnn_job, cnn2)),
        "overhead_us_rows_vs_raw_jvm": overhead_us(job_rows, mlp2),
        "overhead_us_10m_vs_raw_jvm": overhead_us(at.get(10_000_000), mlp2),
        "overhead_us_rows_vs_1x2": overhead_us(job_rows, mlp1),
        "overhead_us_cnn_vs_raw_jvm": overhead_us(cnn_job, cnn2),
        "vs_python_e2e": ratio(py_rows and py_rows["seconds"], job_rows and job_rows["seconds"]),
        "heavy_vs_raw": first(adjacent_vs_raw(r.adjacent(HEAVY, heavy_rows)), ratio(rate(heavy_job), rps(heavy2))),
        "heavy_vs_raw_jvm": ratio(rate(heavy_job), rps(heavy2)),
        "heavy_vs_raw_1x2": ratio(rate(heavy_job), rps(heavy1)),
        "cnn_vs_raw": first(adjacent_vs_raw(r.adjacent(CNN, cnn_rows)), ratio(rate(cnn_job), rps(cnn2))),
        "cnn_vs_raw_jvm": ratio(rate(cnn_job), rps(cnn2)),
        "cnn_vs_raw_1x2": ratio(rate(cnn_job), rps(cnn1)),
        "raw_vs_pytorch": ratio(rps(mlp2), rps(r.pytorch(MLP))),
        "raw_vs_pytorch_1x2": ratio(rps(mlp1), rps(r.pytorch(MLP))),
        "heavy_raw_vs_pytorch": ratio(rps(heavy2), rps(r.pytorch(HEAVY))),
        "cnn_raw_vs_pytorch": ratio(rps(cnn2), rps(r.pytorch(CNN))),
        "raw_of_fma_peak": ratio(mlp2 and mlp2["gflops"], fma2),
        "raw_of_fma_peak_1x2": ratio(mlp1 and mlp1["gflops"], fma2),
        "fma_peak_1t": fma1, "fma_peak_2t": fma2,
        "job_us_per_row": job_rows and job_rows["seconds"] / rows * 1e6,
        "job_cpu_us_per_row": job_rows and job_rows["cpuSeconds"] / rows * 1e6,
        "python_us_per_row": py_rows and py_rows["seconds"] / rows * 1e6,
        "python_cpu_us_per_row": py_rows and py_rows["cpuSeconds"] / rows * 1e6,
        "job_gc_seconds": job_rows and job_rows["line"].get("gcSeconds"),
        "job_gc_count": job_rows and job_rows["line"].get("gcCount"),
        "job_jit_seconds": job_rows and job_rows["line"].get("jitSeconds"),  # -1: the JVM did not count it
        "e2e_runs": job_rows and job_rows["runs"],
    }
    small, big = at.get(1_000_000), at.get(10_000_000)
    if small and big:
        s["time_ratio_10m_1m"] = big["seconds"] / small["seconds"]
        s["heap_growth_mb_1m"] = small["line"]["driverHeapUsedAfterMB"] - small["line"]["driverHeapUsedBeforeMB"]
        s["heap_growth_mb_10m"] = big["line"]["driverHeapUsedAfterMB"] - big["line"]["driverHeapUsedBeforeMB"]
    return s, at, heavy_job, cnn_job, py_rows


def measurement_table(r, at, heavy_job, cnn_job, py_rows):
    fma2 = r.fma(2)
    out = ["| measurement | teacher | layout | rows | rows/s | us per row | CPU us per row | GFLOP/s | of fma_peak |",
           "|---|---|---|---|---|---|---|---|---|"]
    names = {MLP: "mlp " + MLP, HEAVY: "heavy " + HEAVY, CNN: "cnn (demo) cnn:20,50:500"}

    def frac(gflops):
        return f"{100 * gflops / fma2:.0f}%" if fma2 and gflops is not None else "n/a"

    for t in (1, 2):
        if r.fma(t) is not None:
            out.append(f"| (e) fma_peak.c | - | {t} thread{'s' if t > 1 else ''} | - | - | - | - | {r.fma(t):,.0f} |"
                       f" {frac(r.fma(t))} |")
    for teacher in (MLP, HEAVY, CNN):
        for kind, label in (("output()", "DL4J `output()`"), ("fast dense path", "fast dense path")):
            for threads, layout in ((1, "1 Java thread x 2 OpenMP"), (2, "2 Java threads x 1 OpenMP")):
                l = r.raw(teacher, kind, threads)
                if l:
                    out.append(f"| (a) raw ND4J, {label} | {names[teacher]} | {layout} | {l['rows']:,} x"
                               f" {l['passes']} passes | {l['rowsPerSecond']:,.0f} | {1e6 / l['rowsPerSecond']:.2f} |"
                               f" - | {l['gflops']:,.0f} | {frac(l['gflops'])} |")
        l = r.pytorch(teacher)
        if l:
            out.append(f"| (c) {l['engine']} | {names[teacher]} | 2 threads | {l['rows']:,} x {l['passes']} passes |"
                       f" {l['rowsPerSecond']:,.0f} | {1e6 / l['rowsPerSecond']:.2f} | - | {l['gflops']:,.0f} |"
                       f" {frac(l['gflops'])} |")

    for teacher in (MLP, HEAVY, CNN):
        groups = {}
        for l in r.engines(OVERHEAD, teacher=teacher):
            groups.setdefault(l["rows"], []).append(l["rawRowsPerSecond"])
        for n, rates in groups.items():
            rate = statistics.median(rates)
            runs = f", median of {len(rates)}" if len(rates) > 1 else ""
            out.append(f"| (j) raw ND4J, the job's path, in each label job's JVM before and after it"
                       f" (the {n:,}-row job{runs})"
                       f" | {names[teacher]} | 2 Java threads x 1 OpenMP | - | {rate:,.0f} | {1e6 / rate:.2f} | - |"
                       f" - | - |")

    def job_row(tag, teacher, job):
        line = job["line"]
        runs = f" (median of {job['runs']})" if job["runs"] > 1 else ""
        gflops = job["rows"] / job["seconds"] * line["gflops"] / line["rowsPerSecond"]
        out.append(f"| {tag} label job, `local[2]`, Parquet in and out{runs} | {names[teacher]} | 2 tasks x 1 OpenMP |"
                   f" {job['rows']:,} | {job['rows'] / job['seconds']:,.0f} | {job['seconds'] / job['rows'] * 1e6:.2f}"
                   f" | {job['cpuSeconds'] / job['rows'] * 1e6:.2f} | {gflops:,.0f} | {frac(gflops)} |")

    for n, job in at.items():
        if job:
            job_row("(b)" if n == r.config["rows"] else "(s)", MLP, job)
        if n == r.config["rows"] and py_rows:
            runs = f" (median of {py_rows['runs']})" if py_rows["runs"] > 1 else ""
            out.append(f"| (p) Python job: pyarrow + PyTorch, Parquet in and out{runs} | {names[MLP]} | 2 threads |"
                       f" {n:,} | {n / py_rows['seconds']:,.0f} | {py_rows['seconds'] / n * 1e6:.2f} |"
                       f" {py_rows['cpuSeconds'] / n * 1e6:.2f} | - | - |")
    if heavy_job:
        job_row("(h)", HEAVY, heavy_job)
    if cnn_job:
        job_row("(n)", CNN, cnn_job)
    return out


def target_table(s, at):
    out = ["| target | measured | met |", "|---|---|---|"]

    def row(name, value, ok, detail=""):
        if value is None:
            out.append(f"| {name} | not measured | n/a |")
        else:
            out.append(f"| {name} | {fmt(value)}{detail} | {'yes' if ok(value) else 'no'} |")

    rows = s["rows"]
    beside = (f" us (against the raw JVMs' rates: 2 x 1 {fmt(s['overhead_us_rows_vs_raw_jvm'])}, 1 x 2"
              f" {fmt(s['overhead_us_rows_vs_1x2'])})")
    if rows not in (1_000_000, 10_000_000):
        row(f"per-row overhead at {rows:,} rows (mlp) <= 5 us", s["overhead_us_rows"], lambda v: v <= 5, beside)
    row("per-row overhead at 1M rows (mlp) <= 5 us", s["overhead_us_1m"], lambda v: v <= 5,
        beside if rows == 1_000_000 else " us")
    row("per-row overhead at 10M rows (mlp) <= 5 us", s["overhead_us_10m"], lambda v: v <= 5,
        f" us (against the raw JVM's rate: {fmt(s['overhead_us_10m_vs_raw_jvm'])})")
    heavy_rows, cnn_rows = s["heavy_rows"] or 0, s["cnn_rows"] or 0
    row(f"per-row overhead, cnn teacher, {cnn_rows:,} rows <= 5 us", s["overhead_us_cnn"], lambda v: v <= 5,
        f" us (against the raw JVM's rate: {fmt(s['overhead_us_cnn_vs_raw_jvm'])})")
    row(f"label job vs the Python job, {rows:,} rows >= 1.0", s["vs_python_e2e"], lambda v: v >= 1.0,
        f" (job {fmt(s['job_us_per_row'])} us/row wall, {fmt(s['job_cpu_us_per_row'])} CPU; Python"
        f" {fmt(s['python_us_per_row'])} wall, {fmt(s['python_cpu_us_per_row'])} CPU)")
    row(f"label job vs raw, heavy teacher, {heavy_rows:,} rows >= 0.9", s["heavy_vs_raw"], lambda v: v >= 0.9,
        f" (against the raw JVMs: 2 x 1 {fmt(s['heavy_vs_raw_jvm'])}, 1 x 2 {fmt(s['heavy_vs_raw_1x2'])})")
    row(f"label job vs raw inference, cnn teacher, {cnn_rows:,} rows >= 0.9", s["cnn_vs_raw"], lambda v: v >= 0.9,
        f" (against the raw JVMs: 2 x 1 {fmt(s['cnn_vs_raw_jvm'])}, 1 x 2 {fmt(s['cnn_vs_raw_1x2'])}; cnn raw vs"
        f" PyTorch {fmt(s['cnn_raw_vs_pytorch'])})")
    row("raw fast path vs PyTorch (mlp) >= 0.95", s["raw_vs_pytorch"], lambda v: v >= 0.95,
        f" (1 x 2: {fmt(s['raw_vs_pytorch_1x2'])}; heavy {fmt(s['heavy_raw_vs_pytorch'])})")
    row("raw fast path of fma_peak (2 threads) >= 75%", s["raw_of_fma_peak"] and 100 * s["raw_of_fma_peak"],
        lambda v: v >= 75, f"% (1 x 2: {fmt(s['raw_of_fma_peak_1x2'] and 100 * s['raw_of_fma_peak_1x2'])}%;"
                           f" fma_peak {fmt(s['fma_peak_1t'], 0)} / {fmt(s['fma_peak_2t'], 0)} GFLOP/s at 1 / 2 threads)")
    if "time_ratio_10m_1m" in s:
        row("time 10M / time 1M <= 10.5", s["time_ratio_10m_1m"], lambda v: v <= 10.5)
        small, big = at[1_000_000]["line"], at[10_000_000]["line"]
        flat = max(abs(s["heap_growth_mb_1m"]), abs(s["heap_growth_mb_10m"])) < 64
        out.append(f"| flat driver heap (after GC, before -> after) | 1M: {small['driverHeapUsedBeforeMB']} ->"
                   f" {small['driverHeapUsedAfterMB']} MB; 10M: {big['driverHeapUsedBeforeMB']} ->"
                   f" {big['driverHeapUsedAfterMB']} MB (old-gen peaks {small['oldGenPeakMB']:,.0f} and"
                   f" {big['oldGenPeakMB']:,.0f} MB) | {'yes' if flat else 'no'} |")
    if s["job_gc_seconds"] is not None:
        jit = s["job_jit_seconds"] if (s["job_jit_seconds"] or 0) >= 0 else None
        out.append(f"| (GC{' and JIT' if jit is not None else ''} during the label job, {rows:,} rows, median run)"
                   f" | {s['job_gc_count']} collections, {s['job_gc_seconds']:.2f} s"
                   f"{'' if jit is None else f'; compiling {jit:.2f} s (summed over the compiler threads)'} | - |")
    return out


def main(argv):
    as_json = "--json" in argv
    paths = [a for a in argv if a != "--json"]
    if len(paths) != 1 or paths[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if paths and paths[0] in ("-h", "--help") else 2)
    config, lines = load(paths[0])
    r = Results(config, lines)
    s, at, heavy_job, cnn_job, py_rows = summarise(r)
    check = [l for l in lines if "check" in l]
    print("\n".join(measurement_table(r, at, heavy_job, cnn_job, py_rows)))
    print()
    print("\n".join(target_table(s, at)))
    kernels = sorted({l["blasKernel"] for l in lines if l.get("blasKernel")})
    if kernels:
        print(f"\nOpenBLAS kernel of the ND4J measurements (spark.distillery.blas.kernel):"
              f" {', '.join(kernels)}{'' if len(kernels) == 1 else ' (differs between JVMs of the run)'}")
    if check:
        c = check[-1]
        print(f"\nPython job vs label job on {c['rows']:,} rows: {c['check']}, input_hash mismatches"
              f" {c['inputHashMismatches']}, max |logit diff| {c['maxAbsLogitDiff']:.2g}, max |soft diff|"
              f" {c['maxAbsSoftDiff']:.2g} (tolerance {c['tolerance']:g}), codecs {', '.join(c['codecs'])}")
    if as_json:
        s["blas_kernel"] = ",".join(kernels) or None
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
