#!/usr/bin/env python3
"""Builds a tiny GPT-2 causal LM with Hugging Face transformers (from a GPT2Config: nothing is downloaded), trains it a
few steps on random ids, exports it to ONNX with torch.onnx.export, and writes the framework's own logits for fixed
windows of ids, for OnnxLanguageModelTest to compare ours with.

Usage: gpt2_lm_teacher.py OUT_DIR

Writes into OUT_DIR:
  gpt2_dynamic.onnx      inputs input_ids and attention_mask (int64 [batch, sequence], both axes symbolic),
                         output logits [batch, sequence, V]
  gpt2_fixed.onnx        input input_ids only, int64 [2, CONTEXT] (the exporter's default: every axis fixed to the
                         example's), output logits
  int32_ids.onnx         a one-node LM (embedding lookup) whose ids input is int32, for the refusal test
  extra_input.onnx       an LM with a second required input, position_ids, for the refusal test
  two_outputs.onnx       an LM with outputs "scores" and "hidden" and none named "logits"
  expected.json          {"vocabulary": V, "context": CONTEXT, "positions": n_positions, "models": {file: {"cases":
                         [{"ids": [[...]], "logits": [[[...]]]}]}}}: logits as the framework returns them, [N, T, V]

Both GPT-2 exports use torch.onnx.export's default exporter (dynamo) with the eager attention implementation.
HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE are set, so transformers never reaches for the hub.
Exit status 3 when torch, onnxscript or transformers are missing (the Java test then skips, except in CI).
"""
import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    import torch
    import onnxscript  # noqa: F401  (torch.onnx.export's exporter needs it)
    from transformers import GPT2Config, GPT2LMHeadModel
except ImportError as e:  # the caller tells "missing packages" from a real failure by this status
    print(f"gpt2_lm_teacher: {e} (python3 -m pip install -r pipeline-jobs/src/test/python/requirements.txt)",
          file=sys.stderr)
    sys.exit(3)

SEED = 11
VOCABULARY = 53
POSITIONS = 32
CONTEXT = 16


class Logits(torch.nn.Module):
    """The LM with its logits as the only output (no cache), as an exported teacher presents it."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask=None):
        return self.lm(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits


def tiny_gpt2():
    torch.manual_seed(SEED)
    config = GPT2Config(vocab_size=VOCABULARY, n_positions=POSITIONS, n_embd=32, n_layer=2, n_head=2,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, use_cache=False,
                        attn_implementation="eager")
    lm = GPT2LMHeadModel(config)
    optimizer = torch.optim.Adam(lm.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(5):  # a few steps, so the weights are not the initializer's
        ids = torch.randint(0, VOCABULARY, (4, POSITIONS), generator=generator)
        loss = lm(input_ids=ids, labels=ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    lm.eval()
    return Logits(lm).eval()


def windows(rows, length, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCABULARY, (rows, length), generator=generator)


def case(model, ids):
    with torch.no_grad():
        z = model(ids, torch.ones_like(ids))
    return {"ids": ids.tolist(), "logits": z.numpy().astype(np.float64).round(7).tolist()}


def export_dynamic(model, path):
    example = windows(2, CONTEXT, 1)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=POSITIONS)
    torch.onnx.export(model, (example, torch.ones_like(example)), path, input_names=["input_ids", "attention_mask"],
                      output_names=["logits"],
                      dynamic_shapes={"input_ids": {0: batch, 1: sequence}, "attention_mask": {0: batch, 1: sequence}})


def export_fixed(model, path):
    example = windows(2, CONTEXT, 1)
    torch.onnx.export(model, (example,), path, input_names=["input_ids"], output_names=["logits"])


def lookup_lm(path, ids_type, extra_input=False, outputs=("logits",)):
    """A one-node LM: logits[n, t] = E[ids[n, t]] (plus E[position_ids[n, t]] with extra_input)."""
    rng = np.random.default_rng(SEED)
    table = helper.make_tensor("E", TensorProto.FLOAT, [VOCABULARY, VOCABULARY],
                               rng.standard_normal(VOCABULARY * VOCABULARY).astype(np.float32).tolist())
    inputs = [helper.make_tensor_value_info("input_ids", ids_type, ["batch", "sequence"])]
    nodes = []
    ids = "input_ids"
    if ids_type != TensorProto.INT64:
        nodes.append(helper.make_node("Cast", ["input_ids"], ["ids64"], to=TensorProto.INT64))
        ids = "ids64"
    first = outputs[0]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "sequence"]))
        nodes += [helper.make_node("Gather", ["E", ids], ["a"]), helper.make_node("Gather", ["E", "position_ids"], ["b"]),
                  helper.make_node("Add", ["a", "b"], [first])]
    else:
        nodes.append(helper.make_node("Gather", ["E", ids], [first]))
    for name in outputs[1:]:
        nodes.append(helper.make_node("Identity", [first], [name]))
    graph = helper.make_graph(nodes, "lookup_lm", inputs,
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["batch", "sequence", VOCABULARY])
                               for o in outputs], [table])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    model = tiny_gpt2()
    export_dynamic(model, f"{out}/gpt2_dynamic.onnx")
    export_fixed(model, f"{out}/gpt2_fixed.onnx")
    lookup_lm(f"{out}/int32_ids.onnx", TensorProto.INT32)
    lookup_lm(f"{out}/extra_input.onnx", TensorProto.INT64, extra_input=True)
    lookup_lm(f"{out}/two_outputs.onnx", TensorProto.INT64, outputs=("scores", "hidden"))
    models = {
        # several batch sizes and lengths, the longest one the model's whole position table
        "gpt2_dynamic.onnx": [case(model, windows(3, CONTEXT, 2)), case(model, windows(1, 7, 3)),
                              case(model, windows(2, POSITIONS, 4))],
        # the fixed [2, CONTEXT] input: a full batch, and windows shorter than the context in a batch of three
        "gpt2_fixed.onnx": [case(model, windows(2, CONTEXT, 5)), case(model, windows(3, 9, 6))],
    }
    expected = {"vocabulary": VOCABULARY, "context": CONTEXT, "positions": POSITIONS,
                "models": {name: {"cases": cases} for name, cases in models.items()}}
    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
