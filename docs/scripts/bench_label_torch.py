"""PyTorch reference for docs/scripts/bench-label.sh: inference of the same 784-1200-1200-10 MLP shape (ReLU, random
init) on batches of 1024 synthetic pixel rows held in memory (half zeros, the rest k/255), on the CPU with the given
threads. Same method as LabelBench's raw mode: a pool of at most 32 batches cycled, one warm-up pass, PASSES timed
passes, the median printed. Prints one JSON line.
Usage: python3 bench_label_torch.py ROWS_PER_PASS PASSES THREADS [PEAK_GFLOPS=233]"""
import json
import sys
import time

import torch

rows_per_pass, passes, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
peak = float(sys.argv[4]) if len(sys.argv) > 4 else 233.0
torch.set_num_threads(threads)
BATCH, FEATURES, SIZES = 1024, 784, [784, 1200, 1200, 10]
g = torch.Generator().manual_seed(42)
layers = []
for i in range(len(SIZES) - 1):
    layers.append(torch.nn.Linear(SIZES[i], SIZES[i + 1]))
    if i < len(SIZES) - 2:
        layers.append(torch.nn.ReLU(inplace=True))
model = torch.nn.Sequential(*layers).eval()
pool = []
for _ in range(min(32, max(1, rows_per_pass // BATCH))):
    k = torch.randint(0, 510, (BATCH, FEATURES), generator=g)
    pool.append(torch.where(k < 255, torch.zeros(()), (k - 254).float() / 255).contiguous())
batches = max(1, rows_per_pass // BATCH)
rows = batches * BATCH
flops_per_row = sum(2 * SIZES[i] * SIZES[i + 1] for i in range(len(SIZES) - 1))


def one_pass():
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(batches):
            model(pool[b % len(pool)])
    return time.perf_counter() - t0


one_pass()  # warm-up
seconds = sorted(one_pass() for _ in range(passes))
median = seconds[passes // 2]  # as LabelBench: the median for odd PASSES
gflops = rows * flops_per_row / median / 1e9
print(json.dumps({"engine": f"pytorch {torch.__version__} ({threads} threads)", "rows": rows, "passes": passes,
                  "secondsMedian": round(median, 3), "rowsPerSecond": round(rows / median),
                  "gflops": round(gflops, 1), "peakFraction": round(gflops / peak, 3),
                  "rowsPerSecondMin": round(rows / seconds[-1]), "rowsPerSecondMax": round(rows / seconds[0])}))
