#!/usr/bin/env python3
"""PyTorch reference for distillery's language-model chain: reads our Parquet (text transfer splits and the token soft
targets of `label`), trains a student LSTM LM with the recipe of `train --task lm`, and scores it on the test split with
the metrics of `evaluate`'s report.json for LMs. Nothing here is distillery code: the same numbers, computed apart.

    python3 docs/scripts/lm_reference_torch.py --soft-targets RUN/soft --validation RUN/text/validation \\
        --test RUN/text/test [--test-soft-targets RUN/soft-test] [--objective kd|hard] [--windows N] [--seed 42] \\
        [--out ref.json]

Inputs (published outputs: Parquet part files beside _manifest.json):
  --transfer            a text transfer split (ingest --format text): id, tokens (T + 1 ids), scored_from, scored_to;
                        the training windows of objective hard
  --soft-targets        token soft targets of the training split (label; token soft-target schema v1): the windows and
                        the teacher's logits at each scored position, top-K (topk_index, topk_logit, tail_lse) or every
                        logit (logits), fp32 arrays or fp16 little-endian bytes; the training data of objective kd
  --validation          the text validation split: picks the best epoch by bits/char (early stopping by patience)
  --test                the text test split: the student's bits/char, perplexity, accuracy and ECE
  --test-soft-targets   token soft targets of the test split (optional): the teacher's stored logits, against which the
                        student's top-1/top-5 agreement and KL(teacher || student) are measured, and the teacher's own
                        metrics from those stored logits (a top-K position decoded as our trainer decodes it: the
                        tail's mass spread evenly over the V - K tokens left out)

The recipe is train's (TrainConfig defaults, LmTraining, TokenDistillationLoss): lstm:32:256,256 (--embedding,
--hidden, --layers), Adam at 1e-3, batch 64, up to 30 epochs with patience 8, the best validation epoch kept; loss per
scored token alpha * T^2 * D(p_T || q_T) + (1 - alpha) * CE, averaged over the minibatch's scored tokens (burn-in and
padding masked), p_T = softmax(teacher logits / T); D forward KL, reverse KL (KL(q_T || p_T)) or the Jensen-Shannon
divergence at 1/2; T from the soft targets' manifest unless given, alpha 1 for kd and 0 for hard unless given. Weights
are initialised as DL4J's LSTM LM is (Xavier uniform, zero biases, forget-gate bias 1). --windows N trains on the
windows train --windows N --seed S trains on: the first N in the seeded order of their ids (LmWindows.seededOrder:
ascending by Spark's xxhash64(id, lit(S)) as a signed long, reproduced here; --print-slice lists them). By default one
process takes every minibatch in turn (a seeded permutation per epoch); --workers W --averaging-frequency F runs
train's parameter averaging serially instead (W workers, each fitting its block of F minibatches of the seeded order
from the last averages, parameters and Adam's state averaged after each round, rounds reshuffled per epoch), which
takes about 1/W of the optimiser steps per epoch that one process takes. What differs still: the rounds' order and
the minibatches' order within a block, PyTorch's kernels and its initial draws; so the student is another sample of
the same recipe on the same windows, to compare across seeds.

Metrics (report.json's keys, per model): bits_per_char (mean -log2 p(next token)), perplexity (2^bits), accuracy
(argmax, first on ties), ece (15 equal-width bins of the max probability), and with test soft targets top1_agreement,
top5_agreement (fewer than five student logits strictly above the student's logit of the teacher's argmax) and
kl_teacher_student (mean per-token KL at T = 1, in nats, each token's clamped at 0). The teacher's entry also has
bits_per_char_exact: from the teacher_nll column, the teacher's full-precision likelihood (label's teacherBitsPerChar).
Exit 2 with one line on bad input.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

try:
    import numpy as np
    import pyarrow.parquet as pq
    import torch
    from torch import nn
except ImportError as missing:  # exit 3: what the tests that run this script skip on outside CI
    print(f"lm_reference_torch.py: needs numpy, pyarrow and torch: {missing}", file=sys.stderr)
    sys.exit(3)

LN2 = math.log(2)
BINS = 15


class BadInput(Exception):
    pass


def manifest(path):
    f = os.path.join(path, "_manifest.json")
    if not os.path.isfile(f):
        raise BadInput(f"{path} is not a published output (no _manifest.json)")
    with open(f) as fh:
        return json.load(fh)


def flat(column):
    """A list<...> column as (values, offsets) numpy arrays."""
    a = column.combine_chunks()
    return a.values.to_numpy(zero_copy_only=False), a.offsets.to_numpy()


def binary_halves(column):
    """A binary column of little-endian IEEE halves as (float32 values, offsets in values)."""
    rows = column.to_pylist()
    values = np.frombuffer(b"".join(rows), dtype="<f2").astype(np.float32)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(b) // 2 for b in rows], out=offsets[1:])
    return values, offsets


class Windows:
    """The windows of a split (a text transfer split or token soft targets, which carry the windows too), id order;
    with soft targets, the teacher's stored logits per scored position, decodable to dense [P, V]."""

    def __init__(self, path, soft):
        m = manifest(path)
        facts = m["facts"]
        self.path = path
        self.vocabulary = int(facts["vocabularySize"])
        self.window = int(facts["windowLength"])
        self.sha = facts.get("vocabularySha256")
        table = pq.read_table(path)
        if table.num_rows == 0:
            raise BadInput(f"{path} has no windows")
        table = table.sort_by("id")
        self.ids = table.column("id").to_numpy()
        tokens, offsets = flat(table.column("tokens"))
        if not np.all(np.diff(offsets) == self.window + 1):
            raise BadInput(f"{path}: a window does not hold {self.window + 1} tokens")
        self.tokens = tokens.reshape(-1, self.window + 1).astype(np.int64)
        if self.tokens.min() < 0 or self.tokens.max() >= self.vocabulary:
            raise BadInput(f"{path}: a token id outside [0, {self.vocabulary})")
        self.scored_from = table.column("scored_from").to_numpy()
        self.scored_to = table.column("scored_to").to_numpy()
        self.n = len(self.tokens)
        positions = np.arange(self.window)
        self.mask = ((positions >= self.scored_from[:, None]) & (positions < self.scored_to[:, None])).astype(np.float32)
        self.soft = soft
        if not soft:
            return
        if facts.get("tokenSoftTargetSchemaVersion") != 1:
            raise BadInput(f"{path} is not token soft targets of schema version 1 (tokenSoftTargetSchemaVersion: "
                           f"{facts.get('tokenSoftTargetSchemaVersion')})")
        self.temperature = float(facts["temperature"])
        self.k = int(facts["topK"])
        fp16 = facts["precision"] == "fp16"
        self.top_k = self.k < self.vocabulary
        self.positions = (self.scored_to - self.scored_from).astype(np.int64)
        self.teacher_nll = table.column("teacher_nll").to_numpy()
        read = (lambda c: binary_halves(table.column(c))) if fp16 else (lambda c: flat(table.column(c)))
        if self.top_k:
            self.index, self.index_off = flat(table.column("topk_index"))
            self.logit, self.logit_off = read("topk_logit")
            self.tail, self.tail_off = flat(table.column("tail_lse"))
            want = self.positions * self.k
            if not (np.array_equal(np.diff(self.index_off), want) and np.array_equal(np.diff(self.logit_off), want)
                    and np.array_equal(np.diff(self.tail_off), self.positions)):
                raise BadInput(f"{path}: stored top-{self.k} values do not match the windows' scored positions")
        else:
            self.logits, self.logits_off = read("logits")
            if not np.array_equal(np.diff(self.logits_off), self.positions * self.vocabulary):
                raise BadInput(f"{path}: stored logits do not match the windows' scored positions x {self.vocabulary}")

    def inputs(self, rows):
        return torch.from_numpy(self.tokens[rows, :-1])

    def targets(self, rows):
        return torch.from_numpy(self.tokens[rows, 1:])

    def masks(self, rows):
        return torch.from_numpy(self.mask[rows])

    def teacher(self, rows):
        """The teacher's stored logits [len(rows), T, V] (decoded; zeros at unscored positions, which are masked)."""
        v, k = self.vocabulary, self.k
        z = np.zeros((len(rows), self.window, v), dtype=np.float32)
        for j, r in enumerate(rows):
            f, p = self.scored_from[r], self.positions[r]
            if p == 0:
                continue
            if self.top_k:
                idx = self.index[self.index_off[r]:self.index_off[r + 1]].reshape(p, k)
                val = self.logit[self.logit_off[r]:self.logit_off[r + 1]].reshape(p, k)
                tail = self.tail[self.tail_off[r]:self.tail_off[r + 1]]
                if np.any(idx < 0) or np.any(idx >= v):
                    raise BadInput(f"{self.path}: a top-k index outside [0, {v})")
                block = np.repeat((tail - np.log(v - k)).astype(np.float32)[:, None], v, axis=1)
                np.put_along_axis(block, idx, val, axis=1)
            else:
                block = self.logits[self.logits_off[r]:self.logits_off[r + 1]].reshape(p, v)
            z[j, f:f + p] = block
        return torch.from_numpy(z)


class Lstm(nn.Module):
    """lstm:E:H,...: an embedding, LSTM layers, a linear layer to V (raw logits), initialised as DL4J's."""

    def __init__(self, vocabulary, embedding, hidden, layers):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocabulary)
        for name, p in self.named_parameters():
            if name.startswith("lstm.bias"):
                nn.init.zeros_(p)
                if name.startswith("lstm.bias_ih"):
                    p.data[hidden:2 * hidden] = 1.0  # forget gate (PyTorch's gate order: i, f, g, o)
            elif name == "out.bias":
                nn.init.zeros_(p)
            else:
                nn.init.xavier_uniform_(p)

    def forward(self, ids):
        h, _ = self.lstm(self.embed(ids))
        return self.out(h)


def divergence(kind, p, log_q):
    """Per-token D(p, q) over the last axis, p and q softened at T."""
    log_p = torch.log(p.clamp_min(1e-30))
    if kind == "forward":
        return (p * (log_p - log_q)).sum(-1)
    q = log_q.exp()
    if kind == "reverse":
        return (q * (log_q - log_p)).sum(-1)
    m = 0.5 * (p + q)
    log_m = torch.log(m.clamp_min(1e-30))
    return 0.5 * (p * (log_p - log_m)).sum(-1) + 0.5 * (q * (log_q - log_m)).sum(-1)


def loss_of(z, y, mask, teacher, t, alpha, kind):
    ce = nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1), reduction="none").view_as(mask)
    per = (1 - alpha) * ce
    if alpha > 0:
        p = torch.softmax(teacher / t, dim=-1)
        per = per + alpha * t * t * divergence(kind, p, torch.log_softmax(z / t, dim=-1))
    scored = mask.sum()
    return (per * mask).sum() / scored if scored > 0 else (per * 0).sum()


class Metrics:
    """evaluate's per-model metrics over scored tokens (NextTokenMetrics, TokenAgreement)."""

    def __init__(self):
        self.tokens = 0
        self.nats = 0.0
        self.correct = 0
        self.bin_count = np.zeros(BINS)
        self.bin_conf = np.zeros(BINS)
        self.bin_correct = np.zeros(BINS)
        self.agree_tokens = 0
        self.top1 = 0
        self.top5 = 0
        self.kl = 0.0

    def add(self, z, y, mask, teacher=None):
        """z [N, T, V] logits, y [N, T] targets, mask [N, T]; teacher [N, T, V] reference logits or None."""
        keep = mask > 0
        z = z[keep].double()
        y = y[keep]
        log_p = torch.log_softmax(z, dim=-1)
        top = z.argmax(-1)
        conf = log_p.gather(1, top[:, None]).squeeze(1).exp()
        right = top == y
        self.tokens += len(y)
        self.nats -= float(log_p.gather(1, y[:, None]).sum())
        self.correct += int(right.sum())
        b = np.minimum(BINS - 1, (conf.numpy() * BINS).astype(int))
        np.add.at(self.bin_count, b, 1)
        np.add.at(self.bin_conf, b, conf.numpy())
        np.add.at(self.bin_correct, b, right.numpy().astype(float))
        if teacher is not None:
            t = teacher[keep].double()
            ta = t.argmax(-1)
            above = (z > z.gather(1, ta[:, None])).sum(-1)
            log_t = torch.log_softmax(t, dim=-1)
            kl = (log_t.exp() * (log_t - log_p)).sum(-1).clamp_min(0)
            self.agree_tokens += len(y)
            self.top1 += int((top == ta).sum())
            self.top5 += int((above < 5).sum())
            self.kl += float(kl.sum())

    def report(self):
        nats = self.nats / self.tokens
        agree = self.agree_tokens > 0
        return {
            "bits_per_char": nats / LN2,
            "perplexity": math.exp(nats),
            "accuracy": self.correct / self.tokens,
            "top1_agreement": self.top1 / self.agree_tokens if agree else None,
            "top5_agreement": self.top5 / self.agree_tokens if agree else None,
            "kl_teacher_student": self.kl / self.agree_tokens if agree else None,
            "ece": float(np.abs(self.bin_conf - self.bin_correct).sum() / self.tokens),
            "tokens": self.tokens,
        }


P1, P2, P3 = np.uint64(0x9E3779B185EBCA87), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
P4, P5 = np.uint64(0x85EBCA77C2B2AE63), np.uint64(0x27D4EB2F165667C5)


def rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def xxhash64_long(values, seeds):
    """Spark's XXH64.hashLong (xxHash64 of the 8 little-endian bytes of a long) over uint64 arrays, wrapping."""
    h = seeds + P5 + np.uint64(8)
    h ^= rotl(values * P2, 31) * P1
    h = rotl(h, 27) * P1 + P4
    h ^= h >> np.uint64(33)
    h *= P2
    h ^= h >> np.uint64(29)
    h *= P3
    h ^= h >> np.uint64(32)
    return h


def seeded_order(ids, seed):
    """The row indices of int64 ids in train's seeded order (LmWindows.seededOrder): ascending by Spark's
    xxhash64(id, lit(seed)), which hashes the id with Spark's default seed 42, then the seed (a long) with that hash
    as the seed; compared as signed longs."""
    with np.errstate(over="ignore"):
        u = ids.astype(np.int64).view(np.uint64)
        h = xxhash64_long(u, np.full(len(u), 42, dtype=np.uint64))
        h = xxhash64_long(np.full(len(u), np.int64(seed), dtype=np.int64).view(np.uint64), h)
    return np.argsort(h.view(np.int64), kind="stable")


def averaged_rounds(model, opt, blocks, rng, workers, batch_size, fit):
    """One epoch of train's parameter averaging, run serially: the rounds (blocks r * workers + w, worker w's share of
    round r) in an order reshuffled each epoch; each worker with data starts from the last averages (parameters and
    Adam's state), fits its block's minibatches in order, and the parameters and Adam's state of the workers with data
    are averaged (ParameterAveragingTrainer, RoundSum)."""
    for r in rng.permutation(len(blocks) // workers):
        start = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))
        results = []
        for w in range(workers):
            block = blocks[r * workers + w]
            if len(block) == 0:
                continue
            model.load_state_dict(start[0])
            opt.load_state_dict(copy.deepcopy(start[1]))
            for i in range(0, len(block), batch_size):
                fit(np.sort(block[i:i + batch_size]))
            results.append((copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())))
        if not results:
            continue
        params = {k: sum(m[k] for m, _ in results) / len(results) for k in results[0][0]}
        state = results[0][1]
        for i, s in state["state"].items():
            for k in s:
                s[k] = sum(o["state"][i][k] for _, o in results) / len(results)
        model.load_state_dict(params)
        opt.load_state_dict(state)


def batches(n, size):
    for i in range(0, n, size):
        yield np.arange(i, min(n, i + size))


def score(model, data, reference=None, size=64):
    m = Metrics()
    model.eval()
    with torch.inference_mode():
        for rows in batches(data.n, size):
            m.add(model(data.inputs(rows)), data.targets(rows), data.masks(rows),
                  None if reference is None else reference.teacher(rows))
    return m


def parse():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--transfer", help="the training split, text (objective hard)")
    a.add_argument("--soft-targets", help="token soft targets of the training split (objective kd, or hard)")
    a.add_argument("--validation", required=True, help="the text validation split")
    a.add_argument("--test", required=True, help="the text test split")
    a.add_argument("--test-soft-targets", help="token soft targets of the test split: the teacher's stored logits")
    a.add_argument("--objective", choices=["kd", "hard"], default="kd")
    a.add_argument("--divergence", choices=["forward", "reverse", "js"], default="forward")
    a.add_argument("--temperature", "-T", type=float, help="default: the soft targets' (1 for hard)")
    a.add_argument("--alpha", type=float, help="default: 1 for kd, 0 for hard")
    a.add_argument("--embedding", type=int, default=32)
    a.add_argument("--hidden", type=int, default=256)
    a.add_argument("--layers", type=int, default=2)
    a.add_argument("--epochs", type=int, default=30)
    a.add_argument("--patience", type=int, default=8)
    a.add_argument("--learning-rate", type=float, default=1e-3)
    a.add_argument("--batch-size", type=int, default=64)
    a.add_argument("--windows", type=int, help="train on only the first N training windows of the seeded order of"
                   " their ids, as train --windows N does with the same --seed (default: all)")
    a.add_argument("--print-slice", action="store_true",
                   help="print the ids of the training windows (the slice, in the seeded order), one a line, and stop")
    a.add_argument("--workers", type=int, default=1,
                   help="train's parameter averaging, run serially: W workers each fit a block of batch x averaging"
                   " frequency windows of the seeded order per round from the last averages, then their parameters"
                   " and Adam state are averaged (default 1: one process, a seeded permutation per epoch)")
    a.add_argument("--averaging-frequency", type=int, default=10, help="minibatches per worker per round")
    a.add_argument("--seed", type=int, default=42)
    a.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    a.add_argument("--out", help="write the report here as JSON (it is printed either way)")
    return a.parse_args()


def run(args):
    if (args.transfer is None) == (args.soft_targets is None):
        raise BadInput("give exactly one of --transfer (text, objective hard) and --soft-targets")
    if args.objective == "kd" and args.soft_targets is None and not args.print_slice:
        raise BadInput("objective kd needs --soft-targets (the teacher's logits)")
    for name in ("embedding", "hidden", "layers", "epochs", "batch_size", "workers", "averaging_frequency"):
        if getattr(args, name) < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.windows is not None and args.windows < 1:
        raise BadInput(f"--windows must be >= 1, got {args.windows}")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if not -2 ** 63 <= args.seed < 2 ** 63:
        raise BadInput(f"--seed must be a 64-bit signed integer (train's), got {args.seed}")
    torch.manual_seed(args.seed % 2 ** 64)
    rng = np.random.default_rng(args.seed % 2 ** 64)
    train = Windows(args.soft_targets or args.transfer, soft=args.soft_targets is not None)
    pool = seeded_order(train.ids, args.seed)[:args.windows]
    if args.print_slice:
        return {"slice": [int(i) for i in train.ids[pool]]}
    pool_ordered = pool
    pool = np.sort(pool)
    validation = Windows(args.validation, soft=False)
    test = Windows(args.test, soft=False)
    reference = Windows(args.test_soft_targets, soft=True) if args.test_soft_targets else None
    for other in [validation, test] + ([reference] if reference else []):
        if other.sha != train.sha or other.window != train.window:
            raise BadInput(f"{other.path} has vocabulary {other.sha} and windows of {other.window}, but the training"
                           f" data {train.path} has {train.sha} and {train.window}")
    if reference is not None and (reference.n != test.n or not np.array_equal(reference.tokens, test.tokens)):
        raise BadInput(f"--test-soft-targets {reference.path} does not hold the windows of --test {test.path}")
    kd = args.objective == "kd"
    t = args.temperature if args.temperature is not None else (train.temperature if kd else 1.0)
    alpha = args.alpha if args.alpha is not None else (1.0 if kd else 0.0)
    if not 0 <= alpha <= 1 or t <= 0:
        raise BadInput(f"alpha must be in [0, 1] and T > 0, got alpha {alpha}, T {t}")
    if alpha > 0 and not train.soft:
        raise BadInput("alpha > 0 needs --soft-targets")
    v = train.vocabulary
    model = Lstm(v, args.embedding, args.hidden, args.layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    untrained = score(model, validation).report()["bits_per_char"]
    best, best_epoch, best_state, epochs = math.inf, 0, None, []
    if args.workers > 1:  # train's partitions: blocks of batch x averaging frequency windows of the seeded order
        per = args.batch_size * args.averaging_frequency
        ordered = pool_ordered
        rounds = -(-max(1, -(-len(ordered) // per)) // args.workers)
        blocks = [ordered[i * per:(i + 1) * per] for i in range(rounds * args.workers)]
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0

        def fit(rows):
            nonlocal total, count
            z = model(train.inputs(rows))
            loss = loss_of(z, train.targets(rows), train.masks(rows), train.teacher(rows) if alpha > 0 else None,
                           t, alpha, args.divergence)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, count = total + loss.item(), count + 1

        if args.workers == 1:
            order = pool[rng.permutation(len(pool))]
            for i in range(0, len(pool), args.batch_size):
                fit(np.sort(order[i:i + args.batch_size]))
        else:
            averaged_rounds(model, opt, blocks, rng, args.workers, args.batch_size, fit)
        val = score(model, validation).report()
        epochs.append({"epoch": epoch, "trainScore": total / count, "validationBitsPerChar": val["bits_per_char"],
                       "validationAccuracy": val["accuracy"], "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch}/{args.epochs}: train loss {total / count:.4f}, validation {val['bits_per_char']:.4f}"
              f" bits/char", file=sys.stderr, flush=True)
        if val["bits_per_char"] < best:
            best, best_epoch = val["bits_per_char"], epoch
            best_state = {k: p.detach().clone() for k, p in model.state_dict().items()}
        elif epoch - best_epoch >= args.patience:
            print(f"no validation gain for {args.patience} epochs: stopping at epoch {epoch}", file=sys.stderr)
            break
    model.load_state_dict(best_state)
    models = {}
    if reference is not None:
        teacher = Metrics()
        for rows in batches(test.n, 64):
            z = reference.teacher(rows)
            teacher.add(z, test.targets(rows), test.masks(rows), z)
        models["teacher"] = teacher.report()
        models["teacher"]["bits_per_char_exact"] = float(reference.teacher_nll.sum()) / teacher.tokens / LN2
        models["teacher"]["source"] = f"stored logits of {reference.path}"
    student = score(model, test, reference).report()
    student.update({"objective": args.objective, "temperature": t, "alpha": alpha, "divergence": args.divergence,
                    "architecture": f"lstm:{args.embedding}:{','.join([str(args.hidden)] * args.layers)}",
                    "parameters": sum(p.numel() for p in model.parameters()), "best_epoch": best_epoch,
                    "validation_bits_per_char": best, "initial_validation_bits_per_char": untrained,
                    "rows": len(pool), "windows": args.windows})
    models["student"] = student
    return {"task": "lm", "engine": f"PyTorch {torch.__version__.split('+')[0]} (docs/scripts/lm_reference_torch.py)",
            "test": test.path, "test_windows": test.n, "scored_tokens": student["tokens"],
            "vocabulary_sha256": train.sha, "training": train.path, "seed": args.seed,
            "recipe": {"learning_rate": args.learning_rate, "batch_size": args.batch_size, "epochs": args.epochs,
                       "patience": args.patience, "optimizer": "Adam", "workers": args.workers,
                       "averaging_frequency": args.averaging_frequency if args.workers > 1 else None},
            "epochs": epochs, "models": models}


def main():
    args = parse()
    try:
        report = run(args)
    except BadInput as e:
        print(f"lm_reference_torch.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except (OSError, KeyError) as e:
        print(f"lm_reference_torch.py: error: cannot read the inputs: {e}", file=sys.stderr)
        sys.exit(2)
    if "slice" in report:
        print("\n".join(map(str, report["slice"])))
        return
    text = json.dumps(report, indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
