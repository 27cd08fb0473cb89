"""PyTorch reference for docs/scripts/bench-label.sh: inference of a teacher of the same shape as LabelBench's (random
init) on batches of 1024 synthetic pixel rows held in memory (half zeros, the rest k/255), on the CPU with the given
threads. ARCH as model-lib's Architecture.parse: mlp:1200,1200 (default; 784-1200-1200-10, ReLU) or cnn:20,50:500 (the
demo's teacher: per listed channel count a 5x5 convolution, valid, stride 1, ReLU, then a 2x2 max-pool; then the dense
ReLU layers; input a 28x28 single-channel image; identity output of 10 logits). Same method as LabelBench's raw mode: a
pool of at most 32 batches cycled, one warm-up pass, PASSES timed passes, the median printed. Prints one JSON line.
Usage: python3 bench_label_torch.py ROWS_PER_PASS PASSES THREADS [PEAK_GFLOPS=233] [ARCH=mlp:1200,1200]"""
import json
import sys
import time

import torch

if len(sys.argv) < 4 or sys.argv[1] in ("-h", "--help"):
    print(__doc__)
    sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
rows_per_pass, passes, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
peak = float(sys.argv[4]) if len(sys.argv) > 4 else 233.0
arch = sys.argv[5] if len(sys.argv) > 5 else "mlp:1200,1200"
torch.set_num_threads(threads)
BATCH, FEATURES, SIDE, CLASSES = 1024, 784, 28, 10
g = torch.Generator().manual_seed(42)


def build(spec):
    """The network, its FLOP per row (dense and convolution multiply-adds x 2) and its shape as LabelBench names it."""
    parts = spec.split(":")
    if parts[0] == "mlp" and len(parts) == 2:
        conv, dense = [], [int(w) for w in parts[1].split(",")]
    elif parts[0] == "cnn" and len(parts) == 3:
        conv, dense = [int(c) for c in parts[1].split(",")], [int(w) for w in parts[2].split(",")]
    else:
        print(f"ARCH must look like 'mlp:1200,1200' or 'cnn:20,50:500', got '{spec}'", file=sys.stderr)
        sys.exit(2)
    layers, flops, shape = [], 0, [str(FEATURES)]
    channels, side, width = 1, SIDE, FEATURES
    if conv:
        layers.append(torch.nn.Unflatten(1, (1, SIDE, SIDE)))
        for c in conv:
            layers += [torch.nn.Conv2d(channels, c, 5), torch.nn.ReLU(inplace=True), torch.nn.MaxPool2d(2, 2)]
            side -= 4
            flops += 2 * c * side * side * channels * 25
            channels, side = c, side // 2
            shape += [f"conv5x5x{c}", "pool"]
        layers.append(torch.nn.Flatten())
        width = channels * side * side
    sizes = dense + [CLASSES]
    for i, w in enumerate(sizes):
        layers.append(torch.nn.Linear(width, w))
        flops += 2 * width * w
        width = w
        shape.append(str(w))
        if i < len(sizes) - 1:
            layers.append(torch.nn.ReLU(inplace=True))
    return torch.nn.Sequential(*layers).eval(), flops, "-".join(shape)


model, flops_per_row, teacher = build(arch)
pool = []
for _ in range(min(32, max(1, rows_per_pass // BATCH))):
    k = torch.randint(0, 510, (BATCH, FEATURES), generator=g)
    pool.append(torch.where(k < 255, torch.zeros(()), (k - 254).float() / 255).contiguous())
batches = max(1, rows_per_pass // BATCH)
rows = batches * BATCH


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
print(json.dumps({"engine": f"pytorch {torch.__version__} ({threads} threads)", "teacher": teacher,
                  "flopsPerRow": flops_per_row, "threads": threads, "rows": rows, "passes": passes,
                  "secondsMedian": round(median, 3), "rowsPerSecond": round(rows / median),
                  "gflops": round(gflops, 1), "peakFraction": round(gflops / peak, 3),
                  "rowsPerSecondMin": round(rows / seconds[-1]), "rowsPerSecondMax": round(rows / seconds[0])}))
