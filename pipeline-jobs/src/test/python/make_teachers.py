#!/usr/bin/env python3
"""Writes one dense teacher, given its weights, as a Keras 2 HDF5 file and as an ONNX model exported by PyTorch.

Usage: make_teachers.py WEIGHTS.json OUT_DIR

WEIGHTS.json: {"layers": [{"W": [[...]], "b": [...], "activation": "relu"}, ...]} with W of shape [inputs, outputs]
per layer (DL4J's and Keras's layout) and Keras activation names: relu, tanh, sigmoid, linear (hidden or output),
softmax (output only).

Writes, into OUT_DIR:
  sequential.h5  a Keras 2 Sequential model as Keras 2.x's model.save() lays it out (root attributes keras_version,
                 backend and model_config as fixed-length strings; weights under model_weights/<layer>/<layer>/
                 kernel:0 and bias:0), written with h5py: Keras 2 itself is not installable beside Keras 3, and
                 teachers saved by Keras 3 come from framework_teachers.py
  functional.h5  the same network as a Keras 2 functional Model (an InputLayer, then the Dense layers in a chain)
  teacher.onnx   the same network as a torch.nn.Sequential (Linear, ReLU/Tanh/Sigmoid, a final Softmax when the output
                 activation is softmax) exported by torch.onnx.export with a symbolic batch axis: input "features"
                 [N, inputs], output "logits" [N, classes]; its weights in teacher.onnx.data beside it when the
                 exporter puts them there (its default)

Exit status 3 when h5py, numpy, torch or onnxscript are missing (the Java test then skips, except in CI).
"""
import json
import sys

try:
    import h5py
    import numpy as np
    import onnxscript  # noqa: F401  (torch.onnx.export's exporter needs it)
    import torch
except ImportError as e:  # the caller tells "missing packages" from a real failure by this status
    print(f"make_teachers: {e} (python3 -m pip install -r pipeline-jobs/src/test/python/requirements.txt)",
          file=sys.stderr)
    sys.exit(3)

KERAS_VERSION = "2.2.4"  # DL4J reads the first five characters; the major version selects its Keras 2 rules
HIDDEN = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "linear": None}


def read_layers(path):
    with open(path, encoding="utf-8") as f:
        layers = json.load(f)["layers"]
    out = []
    for i, layer in enumerate(layers):
        w = np.asarray(layer["W"], dtype=np.float64).astype(np.float32)  # doubles in the file: exact float32s
        b = np.asarray(layer["b"], dtype=np.float64).astype(np.float32)
        act = layer["activation"]
        if w.ndim != 2 or b.shape != (w.shape[1],):
            sys.exit(f"make_teachers: layer {i}: W {w.shape} and b {b.shape} do not fit")
        if i > 0 and w.shape[0] != out[-1][0].shape[1]:
            sys.exit(f"make_teachers: layer {i} takes {w.shape[0]} inputs, layer {i - 1} gives {out[-1][0].shape[1]}")
        if act not in HIDDEN and not (act == "softmax" and i == len(layers) - 1):
            sys.exit(f"make_teachers: layer {i}: unsupported activation {act!r}")
        out.append((w, b, act))
    return out


def dense_config(name, units, activation, input_shape=None):
    config = {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": {"class_name": "VarianceScaling",
                               "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None,
    }
    if input_shape is not None:
        config["batch_input_shape"] = [None, input_shape]
    return {"class_name": "Dense", "config": config}


def sequential_config(layers):
    dense = [dense_config(f"dense_{i + 1}", w.shape[1], act, w.shape[0] if i == 0 else None)
             for i, (w, _, act) in enumerate(layers)]
    return {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": dense}}


def functional_config(layers):
    entries = [{"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
                "config": {"batch_input_shape": [None, layers[0][0].shape[0]], "dtype": "float32",
                           "sparse": False, "name": "input_1"}}]
    previous = "input_1"
    for i, (w, _, act) in enumerate(layers):
        name = f"dense_{i + 1}"
        entry = dense_config(name, w.shape[1], act)
        entry["name"] = name
        entry["inbound_nodes"] = [[[previous, 0, 0, {}]]]
        entries.append(entry)
        previous = name
    return {"class_name": "Model", "config": {"name": "model_1", "layers": entries,
                                              "input_layers": [["input_1", 0, 0]],
                                              "output_layers": [[previous, 0, 0]]}}


def write_keras(path, config, layers, names):
    """Keras 2.x's HDF5 layout (keras/engine/saving.py): strings as fixed-length bytes, as Keras wrote them."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode("utf-8")
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [n.encode("utf-8") for n in names]
        weights.attrs["backend"] = b"tensorflow"
        weights.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
        dense = iter(layers)
        for name in names:
            g = weights.create_group(name)
            if not name.startswith("dense_"):
                g.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            w, b, _ = next(dense)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode("utf-8"), f"{name}/bias:0".encode("utf-8")]
            g.create_dataset(f"{name}/kernel:0", data=w)
            g.create_dataset(f"{name}/bias:0", data=b)


def write_onnx(path, layers):
    modules = []
    for w, b, act in layers:
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if act == "softmax":
            modules.append(torch.nn.Softmax(dim=1))
        elif HIDDEN[act] is not None:
            modules.append(HIDDEN[act]())
    model = torch.nn.Sequential(*modules).eval()
    example = torch.zeros(2, layers[0][0].shape[0])
    torch.onnx.export(model, (example,), path, input_names=["features"], output_names=["logits"],
                      dynamic_shapes=({0: torch.export.Dim("N")},))


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    layers = read_layers(argv[1])
    out = argv[2].rstrip("/")
    dense_names = [f"dense_{i + 1}" for i in range(len(layers))]
    write_keras(f"{out}/sequential.h5", sequential_config(layers), layers, dense_names)
    write_keras(f"{out}/functional.h5", functional_config(layers), layers, ["input_1"] + dense_names)
    write_onnx(f"{out}/teacher.onnx", layers)
    print(f"make_teachers: {len(layers)} layers -> {out}/sequential.h5, {out}/functional.h5, {out}/teacher.onnx")


if __name__ == "__main__":
    main(sys.argv)
