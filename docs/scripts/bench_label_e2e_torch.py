"""The label job as a user would otherwise write it in Python, the end-to-end anchor of docs/scripts/bench-label.sh:
pyarrow reads a published transfer set's Parquet files (part-*.parquet, in batches of row-group rows), validates the
rows as the label job does (features not null, widths == the manifest's featureCount, finite values; labels null or in
[0, classes); finite logits), computes the label job's input_hash (XXH64 of the features' float32 bytes, then the
label, as InputHash does: python-xxhash per row, the label step vectorised with numpy uint64), runs the same teacher in
PyTorch (read from its ONNX export: Gemm/MatMul/Add/Relu, as `LabelBench formats` writes it; 2 threads, batches of
1024, inference_mode) and writes the label job's output columns (id, label, logits, soft = softmax(logits / T),
input_hash) to Parquet with Spark's codec, snappy, one file per input file. Prints one JSON line: rows, wall and CPU
seconds (os.times: user + system of every thread), rows/s. Timed from reading the teacher to the last file closed;
interpreter start and imports are not timed (nor is the JVM's start or Spark session for the label job).

--check LABEL_OUT compares the output with the label job's output of the same transfer set and teacher (LabelBench
label): the same ids and labels, the same input_hash for every row (exact), logits and soft targets within --tolerance
(absolute, default 1e-4: two different fp32 matrix products). Exits 1 on any mismatch, naming the first row that
differs.

Usage: python3 bench_label_e2e_torch.py TRANSFER TEACHER_ONNX OUT [--threads 2] [--batch 1024] [--temperature 2]
                                        [--check LABEL_OUT] [--tolerance 1e-4]
Bad input: one line naming the problem on stderr, exit 2, nothing written. Exit 3: a package is missing."""
import argparse
import glob
import json
import os
import shutil
import sys
import time

try:
    import numpy as np
    import onnx
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    import xxhash
    from onnx import numpy_helper
except ImportError as missing:
    print(f"bench_label_e2e_torch.py needs numpy, onnx, pyarrow, torch and xxhash: {missing}", file=sys.stderr)
    sys.exit(3)

SEED = 42  # the input hash's XXH64 seed
P1 = np.uint64(0x9E3779B185EBCA87)
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
P3 = np.uint64(0x165667B19E3779F9)
P5_PLUS_4 = np.uint64((0x27D4EB2F165667C5 + 4) & 0xFFFFFFFFFFFFFFFF)
S23, S41, S33, S29, S32 = (np.uint64(s) for s in (23, 41, 33, 29, 32))
READ_ROWS = 8192  # rows per pyarrow batch: validated and hashed together, then fed to the teacher 1024 at a time
WRITE_ROWS = 65536  # rows buffered per Parquet row group written


class BadInput(Exception):
    pass


def hash_ints(values, h, t):
    """Spark's XXH64.hashInt(value, seed) for every row, in place: h holds the seeds and receives the hashes; values
    are the ints as uint64 (their 32 bits, zero-extended); t is scratch space of the same length."""
    h += P5_PLUS_4
    np.multiply(values, P1, out=t)
    h ^= t
    np.left_shift(h, S23, out=t)  # rotate left by 23
    h >>= S41
    h |= t
    h *= P2
    h += P3
    np.right_shift(h, S33, out=t)  # fmix
    h ^= t
    h *= P2
    np.right_shift(h, S29, out=t)
    h ^= t
    h *= P3
    np.right_shift(h, S32, out=t)
    h ^= t


def input_hash(x, labels):
    """The label job's input_hash (InputHash, version xxhash64-float32-le-bytes/2) for the rows of x [n, F] float32:
    XXH64 with seed 42 of each row's features as little-endian float32 bytes, then, unless the label is null, Spark's
    XXH64.hashInt(label, that hash) (labels: a masked int32 array). Returns int64 as Spark stores it."""
    rows = np.ascontiguousarray(x, dtype="<f4")
    h = np.fromiter((xxhash.xxh64_intdigest(r, SEED) for r in rows), dtype=np.uint64, count=len(rows))
    present = ~np.ma.getmaskarray(labels)
    if present.any():
        lab = np.ma.getdata(labels).astype(np.int64).astype(np.uint32).astype(np.uint64)
        hl = h.copy()
        hash_ints(lab, hl, np.empty(len(rows), dtype=np.uint64))
        h = np.where(present, hl, h)
    return h.view(np.int64)


def load_teacher(path):
    """The dense teacher of an ONNX file as torch Linear/ReLU layers: Gemm (bias optional), or MatMul then Add, each
    optionally followed by Relu; anything else is refused."""
    try:
        model = onnx.load(path)
    except Exception as e:
        raise BadInput(f"cannot read the teacher {path}: {e}")
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    layers = []  # [weight [out, in], bias or None, relu]
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Gemm":
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise BadInput(f"teacher {path}: Gemm {node.name} with transA/alpha/beta is not supported")
            w = weights[node.input[1]]
            w = w if attrs.get("transB", 0) else w.T
            b = weights[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            layers.append([w, b, False])
        elif node.op_type == "MatMul" and node.input[1] in weights:
            layers.append([weights[node.input[1]].T, None, False])
        elif node.op_type == "Add" and layers and layers[-1][1] is None and (
                node.input[0] in weights or node.input[1] in weights):
            layers[-1][1] = weights[node.input[1] if node.input[1] in weights else node.input[0]]
        elif node.op_type == "Relu" and layers:
            layers[-1][2] = True
        else:
            raise BadInput(f"teacher {path}: op {node.op_type} is not supported (dense ReLU MLPs only)")
    if not layers or any(not relu for _, _, relu in layers[:-1]) or layers[-1][2]:
        raise BadInput(f"teacher {path}: not a dense ReLU MLP with an identity output")
    modules = []
    for w, b, relu in layers:
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float32, order="C")))
            linear.bias.copy_(torch.zeros(w.shape[0]) if b is None else torch.from_numpy(b.astype(np.float32)))
        modules.append(linear)
        if relu:
            modules.append(torch.nn.ReLU(inplace=True))
    return torch.nn.Sequential(*modules).eval(), layers[0][0].shape[1], layers[-1][0].shape[0]


def transfer_files(transfer):
    manifest_path = os.path.join(transfer, "_manifest.json")
    if not os.path.exists(os.path.join(transfer, "_SUCCESS")) or not os.path.exists(manifest_path):
        raise BadInput(f"{transfer} is not a published transfer set (no _SUCCESS or _manifest.json)")
    facts = json.load(open(manifest_path)).get("facts", {})
    if "featureCount" not in facts:
        raise BadInput(f"{manifest_path} has no featureCount fact")
    files = sorted(glob.glob(os.path.join(transfer, "part-*.parquet")))
    if not files:
        raise BadInput(f"{transfer} has no part-*.parquet files")
    return files, int(facts["featureCount"])


def features_of(batch, width):
    ids = batch.column("id").to_numpy()
    feats = batch.column("features")
    if feats.null_count:
        bad = ids[np.asarray(feats.is_null())][0]
        raise BadInput(f"features are null for id {bad}")
    lengths = feats.value_lengths().to_numpy()
    if (lengths != width).any():
        i = int(np.argmax(lengths != width))
        raise BadInput(f"id {ids[i]} has {lengths[i]} features, the transfer set's featureCount is {width}")
    flat = feats.flatten()
    if flat.null_count:
        raise BadInput("a feature value is null in the batch starting at id " + str(ids[0]))
    x = flat.to_numpy().astype(np.float32, copy=False).reshape(len(ids), width)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        i = int(np.argmin(finite))
        raise BadInput(f"non-finite feature value for id {ids[i]}")
    return ids, x


def run(args):
    torch.set_num_threads(args.threads)
    files, width = transfer_files(args.transfer)
    if os.path.exists(args.out + ".tmp"):
        shutil.rmtree(args.out + ".tmp")
    cpu0, wall0 = os.times(), time.perf_counter()
    model, inputs, classes = load_teacher(args.teacher)
    if inputs != width:
        raise BadInput(f"teacher {args.teacher} takes {inputs} features, the transfer set has {width}")
    values = pa.list_(pa.field("element", pa.float32(), nullable=False))
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("label", pa.int32()),
                        pa.field("logits", values, nullable=False), pa.field("soft", values, nullable=False),
                        pa.field("input_hash", pa.int64(), nullable=False)])
    os.makedirs(args.out + ".tmp")
    rows = 0
    for k, path in enumerate(files):
        with pq.ParquetWriter(os.path.join(args.out + ".tmp", f"part-{k:05d}.snappy.parquet"), schema,
                              compression="snappy") as writer:
            pending = []
            for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_ROWS, columns=["id", "features", "label"]):
                ids, x = features_of(batch, width)
                labels = batch.column("label").to_numpy(zero_copy_only=False)
                mask = np.asarray(batch.column("label").is_null())
                labels = np.ma.masked_array(np.where(mask, 0, labels).astype(np.int32), mask=mask)
                bad = ~mask & ((labels.data < 0) | (labels.data >= classes))
                if bad.any():
                    i = int(np.argmax(bad))
                    raise BadInput(f"label {labels.data[i]} out of range [0, {classes}) of the teacher's classes for"
                                   f" id {ids[i]}")
                hashes = input_hash(x, labels)
                xt = torch.from_numpy(np.require(x, requirements='W'))
                logits = np.empty((len(ids), classes), dtype=np.float32)
                with torch.inference_mode():
                    for s in range(0, len(ids), args.batch):
                        logits[s:s + args.batch] = model(xt[s:s + args.batch]).numpy()
                if not np.isfinite(logits).all():
                    i = int(np.argmin(np.isfinite(logits).all(axis=1)))
                    raise RuntimeError(f"teacher produced a non-finite logit for id {ids[i]}")
                z = logits / np.float32(args.temperature)
                z -= z.max(axis=1, keepdims=True)
                np.exp(z, out=z)
                z /= z.sum(axis=1, keepdims=True)
                pending.append(pa.record_batch([
                    pa.array(ids, pa.int64()), pa.array(labels.data, pa.int32(), mask=mask),
                    pa.ListArray.from_arrays(pa.array(np.arange(0, logits.size + 1, classes, dtype=np.int32)),
                                             pa.array(logits.ravel())).cast(values),
                    pa.ListArray.from_arrays(pa.array(np.arange(0, z.size + 1, classes, dtype=np.int32)),
                                             pa.array(z.ravel())).cast(values),
                    pa.array(hashes, pa.int64())], schema=schema))
                rows += len(ids)
                if sum(b.num_rows for b in pending) >= WRITE_ROWS:
                    writer.write_table(pa.Table.from_batches(pending), row_group_size=WRITE_ROWS * 2)
                    pending = []
            if pending:
                writer.write_table(pa.Table.from_batches(pending), row_group_size=WRITE_ROWS * 2)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.rename(args.out + ".tmp", args.out)
    wall = time.perf_counter() - wall0
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    print(json.dumps({"engine": f"python e2e: pyarrow {pa.__version__} + pytorch {torch.__version__}"
                                f" ({args.threads} threads, batch {args.batch}), Parquet in and out (snappy)",
                      "rows": rows, "seconds": round(wall, 2), "cpuSeconds": round(cpu, 2),
                      "rowsPerSecond": round(rows / wall), "usPerRow": round(wall / rows * 1e6, 2),
                      "cpuUsPerRow": round(cpu / rows * 1e6, 2)}), flush=True)


def read_output(path):
    files = sorted(glob.glob(os.path.join(path, "part-*.parquet")))
    if not files:
        raise BadInput(f"{path} has no part-*.parquet files")
    codecs = {pq.ParquetFile(f).metadata.row_group(0).column(0).compression for f in files
              if pq.ParquetFile(f).metadata.num_row_groups}
    table = pa.concat_tables([pq.read_table(f) for f in files]).sort_by("id")
    return table, codecs


def check(args):
    """The output against the label job's: same ids, labels, hashes; logits and soft within the tolerance."""
    ours, our_codecs = read_output(args.out)
    theirs, their_codecs = read_output(args.check)
    problems = []
    if our_codecs != their_codecs:
        problems.append(f"codecs differ: ours {sorted(our_codecs)}, the label job's {sorted(their_codecs)}")
    missing = [c for c in theirs.column_names if c not in ours.column_names]
    if missing:
        problems.append(f"columns of the label job's output missing here: {missing}")
    if ours.num_rows != theirs.num_rows:
        problems.append(f"{ours.num_rows} rows here, {theirs.num_rows} in the label job's output")
        raise SystemExit("check FAILED: " + "; ".join(problems))
    ids, their_ids = ours.column("id").to_numpy(), theirs.column("id").to_numpy()
    if not np.array_equal(ids, their_ids):
        i = int(np.argmax(ids != their_ids))
        raise SystemExit(f"check FAILED: ids differ from row {i}: {ids[i]} here, {their_ids[i]} in the label job's")
    if not ours.column("label").equals(theirs.column("label")):
        problems.append("labels differ")
    h, their_h = ours.column("input_hash").to_numpy(), theirs.column("input_hash").to_numpy()
    hash_mismatch = int((h != their_h).sum())
    if hash_mismatch:
        i = int(np.argmax(h != their_h))
        problems.append(f"input_hash differs on {hash_mismatch} rows, first id {ids[i]}: {h[i]} here,"
                        f" {their_h[i]} in the label job's")
    diffs = {}
    for col in ("logits", "soft"):
        if col in theirs.column_names:
            a = np.stack(ours.column(col).to_numpy(zero_copy_only=False))
            b = np.stack(theirs.column(col).to_numpy(zero_copy_only=False))
            d = np.abs(a - b).max(axis=1)
            diffs[col] = float(d.max())
            if diffs[col] > args.tolerance:
                i = int(np.argmax(d))
                problems.append(f"{col} differ by {diffs[col]:.3g} > {args.tolerance:g} (first worst id {ids[i]})")
    result = {"check": "FAILED" if problems else "ok", "rows": ours.num_rows, "inputHashMismatches": hash_mismatch,
              "maxAbsLogitDiff": diffs.get("logits"), "maxAbsSoftDiff": diffs.get("soft"),
              "tolerance": args.tolerance, "codecs": sorted(their_codecs), "columns": theirs.column_names}
    print(json.dumps(result), flush=True)
    if problems:
        raise SystemExit("check FAILED: " + "; ".join(problems))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("transfer", help="a published transfer set (directory with _SUCCESS, _manifest.json, part files)")
    p.add_argument("teacher", help="the teacher as ONNX (LabelBench formats ZIP DIR writes DIR/teacher.onnx)")
    p.add_argument("out", help="output directory (replaced)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--batch", type=int, default=1024, help="rows per teacher call (default 1024)")
    p.add_argument("--temperature", type=float, default=2.0, help="T of soft = softmax(logits / T) (default 2)")
    p.add_argument("--check", metavar="LABEL_OUT", help="compare with the label job's output of the same rows")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max abs logit/soft difference (default 1e-4)")
    args = p.parse_args()
    for name in ("transfer", "teacher", "out", "check"):  # Spark's file: URIs name local paths too
        value = getattr(args, name)
        if value and value.startswith("file:"):
            setattr(args, name, "/" + value[len("file:"):].lstrip("/"))
    if args.threads < 1 or args.batch < 1 or not args.temperature > 0:
        print(f"--threads and --batch must be >= 1 and --temperature > 0, got {args.threads}, {args.batch},"
              f" {args.temperature}", file=sys.stderr)
        sys.exit(2)
    try:
        run(args)
        if args.check:
            check(args)
    except BadInput as e:
        if os.path.exists(args.out + ".tmp"):
            shutil.rmtree(args.out + ".tmp")
        print(e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
