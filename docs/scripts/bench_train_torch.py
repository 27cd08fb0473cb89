"""PyTorch reference for docs/scripts/bench-train.sh: the same KD student (784-64-10 by default; HIDDEN 512,512 for
784-512-512-10; HIDDEN cnn:20,50:500 for the demo's CNN teacher: 5x5 convolutions + 2x2 max pooling, ReLU dense
layers, dropout 0.5 before the output layer, as distillery's Architecture builds it) on the same kind of synthetic minibatches (precomputed teacher logits, T=2, alpha=0.5, Adam lr 1e-3,
batch 64), on the CPU with the given threads. Prints one JSON line.
Usage: python3 bench_train_torch.py ROWS EPOCHS THREADS [HIDDEN=64] [REP=1]"""
import json
import sys
import time

import torch
import torch.nn.functional as F

if len(sys.argv) < 4:
    sys.exit(__doc__)
rows, epochs, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
spec = sys.argv[4] if len(sys.argv) > 4 else "64"
rep = int(sys.argv[5]) if len(sys.argv) > 5 else 1
torch.set_num_threads(threads)
g = torch.Generator().manual_seed(7)
x = torch.rand(rows, 784, generator=g)
logits_t = x @ (torch.randn(784, 10, generator=g) * 0.2)
y = logits_t.argmax(1)
T, alpha = 2.0, 0.5
layers, width, dropout = [], 784, 0.0
if spec.startswith("cnn:"):
    _, conv, dense = spec.split(":")
    channels, side = 1, 28
    layers.append(torch.nn.Unflatten(1, (1, 28, 28)))
    for c in (int(v) for v in conv.split(",")):
        layers += [torch.nn.Conv2d(channels, c, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels, side = c, (side - 4) // 2
    layers.append(torch.nn.Flatten())
    width, hidden, dropout = channels * side * side, [int(w) for w in dense.split(",")], 0.5
    name = spec
else:
    hidden = [int(w) for w in spec.split(",")]
    name = "-".join(map(str, [784, *hidden, 10]))
for i, h in enumerate(hidden):
    if i > 0 and dropout:
        layers.append(torch.nn.Dropout(dropout))
    layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
    width = h
if dropout:
    layers.append(torch.nn.Dropout(dropout))
model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def epoch():
    for s in range(0, rows, 64):
        xb, tb, yb = x[s:s + 64], logits_t[s:s + 64], y[s:s + 64]
        z = model(xb)
        soft = F.kl_div(F.log_softmax(z / T, 1), F.softmax(tb / T, 1), reduction="batchmean") * T * T
        loss = alpha * soft + (1 - alpha) * F.cross_entropy(z, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


epoch()  # warm-up
t0 = time.perf_counter()
for _ in range(epochs):
    last = epoch()
s = time.perf_counter() - t0
print(json.dumps({"engine": f"pytorch cpu ({threads} threads)", "student": name,
                  "rep": rep, "rows": rows, "epochs": epochs, "seconds": round(s, 2),
                  "examplesPerSecond": round(rows * epochs / s), "loss": round(last, 4)}))
