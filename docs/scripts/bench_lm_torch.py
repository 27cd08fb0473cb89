#!/usr/bin/env python3
"""PyTorch on the CPU running the language models of LmBench (docs/scripts/bench-lm.sh), for speed only: the same
layer shapes (an embedding of E, L LSTM layers of width H, a linear layer to V), random weights and random token
ids, the same windows (128 tokens, burn-in 32) and batches. One JSON line per timed run, wall and CPU seconds.

    bench_lm_torch.py label V WINDOWS RUNS THREADS [PER_CALL=8]
                                                     the teacher (E=32, H=256, L=2), inference_mode, calls of
                                                     PER_CALL windows (8: the label job's 1024 positions per call)
    bench_lm_torch.py train V WINDOWS EPOCHS RUNS THREADS
                                                     the student (E=32, H=128, L=1), kd: forward KL at T=2 on the
                                                     teacher's softened logits (given, random) plus cross-entropy,
                                                     alpha=0.5, burn-in masked, Adam 1e-3, batch 64
"""
import json
import sys
import time

import torch
from torch import nn

WINDOW, BURN_IN, T, ALPHA = 128, 32, 2.0, 0.5


class Lstm(nn.Module):
    def __init__(self, vocabulary, embedding, hidden, layers):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocabulary)

    def forward(self, ids):
        h, _ = self.lstm(self.embed(ids))
        return self.out(h)


def line(**kv):
    print(json.dumps(kv), flush=True)


def label(v, windows, runs, threads, per=1024 // WINDOW):
    torch.manual_seed(42)
    lm = Lstm(v, 32, 256, 2).eval()
    ids = torch.randint(0, v, (windows, WINDOW))
    engine = f"PyTorch {torch.__version__.split('+')[0]}, {threads} thread{'s' if threads > 1 else ''}"

    def one_pass(x):
        with torch.inference_mode():
            sink = 0.0
            for i in range(0, x.shape[0], per):
                sink += float(lm(x[i:i + per])[0, 0, 0])
        return sink

    one_pass(ids[: min(windows, 64)])  # warm-up
    for run in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        one_pass(ids)
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        line(bench="label", engine=engine, run=run, windows=windows, tokens=windows * WINDOW,
             scoredTokens=windows * (WINDOW - BURN_IN), seconds=s, cpuSeconds=cpu, tokensPerSecond=windows * WINDOW / s,
             windowsPerCall=per)


def train(v, windows, epochs, runs, threads):
    torch.manual_seed(42)
    ids = torch.randint(0, v, (windows, WINDOW + 1))
    teacher = torch.randn(windows, WINDOW, v) * 2
    mask = torch.zeros(windows, WINDOW)
    mask[:, BURN_IN:] = 1
    batch = 64
    engine = f"PyTorch {torch.__version__.split('+')[0]}, {threads} thread{'s' if threads > 1 else ''}"

    def epoch(lm, opt):
        for i in range(0, windows, batch):
            x, y = ids[i:i + batch, :-1], ids[i:i + batch, 1:]
            m = mask[i:i + batch]
            z = lm(x)
            p = torch.softmax(teacher[i:i + batch] / T, dim=-1)
            log_q = torch.log_softmax(z / T, dim=-1)
            kl = (p * (torch.log(p.clamp_min(1e-30)) - log_q)).sum(-1)
            ce = nn.functional.cross_entropy(z.reshape(-1, v), y.reshape(-1), reduction="none").view_as(m)
            loss = ((ALPHA * T * T * kl + (1 - ALPHA) * ce) * m).sum() / m.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return loss.item()

    for run in range(-1, runs):
        torch.manual_seed(42)
        lm = Lstm(v, 32, 128, 1)
        opt = torch.optim.Adam(lm.parameters(), lr=1e-3)
        n = 1 if run < 0 else epochs
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            score = epoch(lm, opt)
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        if run >= 0:
            line(bench="train", engine=engine, run=run, windows=windows, tokens=windows * WINDOW * epochs,
                 scoredTokens=windows * (WINDOW - BURN_IN) * epochs, seconds=s, cpuSeconds=cpu,
                 tokensPerSecond=windows * WINDOW * epochs / s, epochs=epochs, score=score)


def main():
    mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    threads = args[3] if mode == "label" else args[-1]
    torch.set_num_threads(threads)
    if mode == "label":
        label(*args)
    elif mode == "train":
        train(*args)
    else:
        sys.exit(f"mode must be label or train, got {mode}")


if __name__ == "__main__":
    main()
