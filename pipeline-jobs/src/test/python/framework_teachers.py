#!/usr/bin/env python3
"""Trains small teachers with PyTorch and Keras 3 on random data, saves them the way those frameworks save models
today, and writes the frameworks' own logits for fixed rows, for TeacherFormatsTest to compare ours with.

Usage: framework_teachers.py OUT_DIR

Two kinds of rows, stored in the transfer set's layout (TransferSchema: one example flattened row-major in its
example shape, images channels-first):
  vector  example shape [12]
  image   example shape [3, 8, 8]

Writes into OUT_DIR:
  torch_mlp.onnx          torch.onnx.export with its defaults: weights in an external data file beside the model
                          (torch_mlp.onnx.data), the batch axis fixed to the example's (2)
  torch_cnn_nchw.onnx     a CNN on [N, 3, 8, 8] (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear), exporter defaults
  torch_cnn_nhwc.onnx     the same kind of CNN reading [N, 8, 8, 3], with a symbolic batch axis (dynamic_shapes)
  torch_two_outputs.onnx  an MLP returning (logits, softmax(logits)), outputs named "logits" and "probabilities"
  torch_two_inputs.onnx   a model of two inputs (x, y): which one the features feed is ambiguous
  keras_mlp.keras/.h5     Keras 3 Sequential: Dense(relu), BatchNormalization, Dropout, Dense(softmax); saved as a
                          .keras archive and as legacy HDF5
  keras_cnn.keras/.h5     Keras 3 Sequential on (8, 8, 3), channels-last: Conv2D('same'), BatchNormalization,
                          MaxPooling2D, Conv2D('valid', stride 2), Flatten, Dropout, Dense
  keras_functional_cnn.keras/.h5  the same layers as a functional Model (a single chain)
  keras_lstm.keras        a Keras 3 model with a layer we do not read (LSTM), for the refusal test
  expected.json           {"shapes": {kind: shape}, "rows": {kind: [[...]]}, "models": {file: {"rows": kind,
                          "output": name or null, "logits": [[...]], "log_probabilities": bool}}}: the framework's
                          logits for every row (pre-softmax values; for the softmax ONNX output, its log-probabilities)

Keras runs on its torch backend (KERAS_BACKEND=torch), so TensorFlow is not needed.
Exit status 3 when torch, onnxscript or keras are missing (the Java test then skips, except in CI).
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")
try:
    import numpy as np
    import onnx
    import torch
    from torch import nn
    import onnxscript  # noqa: F401  (torch.onnx.export's exporter needs it)
    import keras
except ImportError as e:  # the caller tells "missing packages" from a real failure by this status
    print(f"framework_teachers: {e} (python3 -m pip install -r pipeline-jobs/src/test/python/requirements.txt)",
          file=sys.stderr)
    sys.exit(3)

SEED = 7
CLASSES = 5
VECTOR = [12]
IMAGE = [3, 8, 8]
ROWS = 16


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(VECTOR[0], 64)  # 3 KB of weights: torch writes it to the external data file
        self.out = nn.Linear(64, CLASSES)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


class Cnn(nn.Module):
    """Reads [N, C, H, W]; with channels_last it reads [N, H, W, C] and permutes, as models trained on NHWC do."""

    def __init__(self, channels_last):
        super().__init__()
        self.channels_last = channels_last
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.fc = nn.Linear(8 * 1 * 1, CLASSES)

    def forward(self, x):
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        x = torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(torch.relu(self.conv2(x)), 1))


class TwoOutputs(Mlp):
    def forward(self, x):
        z = super().forward(x)
        return z, torch.softmax(z, dim=1)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(VECTOR[0], CLASSES)
        self.b = nn.Linear(VECTOR[0], CLASSES)

    def forward(self, x, y):
        return self.a(x) + self.b(y)


def train_torch(model, x, steps=5):
    """A few SGD steps on random labels, so that weights and batch-norm statistics are not their initial values."""
    y = torch.randint(0, CLASSES, (x.shape[0],), generator=torch.Generator().manual_seed(SEED))
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        out = model(x)
        nn.functional.cross_entropy(out[0] if isinstance(out, tuple) else out, y).backward()
        optimiser.step()
    return model.eval()


def keras_mlp():
    return keras.Sequential([
        keras.Input(VECTOR),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])


def keras_cnn_layers():
    return [
        keras.layers.Conv2D(6, 3, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(3, strides=2, padding="same"),
        keras.layers.Conv2D(8, 2, strides=2, padding="valid", activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(CLASSES),
    ]


def keras_functional_cnn():
    x = inputs = keras.Input((IMAGE[1], IMAGE[2], IMAGE[0]))
    for layer in keras_cnn_layers():
        x = layer(x)
    return keras.Model(inputs, x)


def train_keras(model, x, softmax_output):
    y = np.random.default_rng(SEED).integers(0, CLASSES, len(x))
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not softmax_output))
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    return model


def keras_logits(model, x, softmax_output):
    """The model's pre-softmax values: for a final Dense(softmax), its kernel and bias applied to its input."""
    if not softmax_output:
        return np.asarray(model.predict(x, verbose=0), dtype=np.float32)
    last = model.layers[-1]
    before = keras.Model(model.inputs, last.input)
    h = np.asarray(before.predict(x, verbose=0), dtype=np.float32)
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in last.get_weights())
    return h @ kernel + bias


def export(model, example, path, **options):
    torch.onnx.export(model, example, path, **options)


def logits_of(model, x):
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    return (out[0] if isinstance(out, tuple) else out).numpy()


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out = argv[1].rstrip("/")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    rows = {"vector": rng.normal(size=(ROWS, VECTOR[0])).astype(np.float32),
            "image": rng.normal(size=(ROWS, int(np.prod(IMAGE)))).astype(np.float32)}
    nchw = rows["image"].reshape([ROWS] + IMAGE)
    nhwc = np.ascontiguousarray(nchw.transpose(0, 2, 3, 1))
    train_vector = torch.from_numpy(rng.normal(size=(64, VECTOR[0])).astype(np.float32))
    train_image = torch.from_numpy(rng.normal(size=[64] + IMAGE).astype(np.float32))
    models = {}

    mlp = train_torch(Mlp(), train_vector)
    export(mlp, (train_vector[:2],), f"{out}/torch_mlp.onnx")
    models["torch_mlp.onnx"] = {"rows": "vector", "logits": logits_of(mlp, rows["vector"])}

    cnn = train_torch(Cnn(False), train_image)
    export(cnn, (train_image[:2],), f"{out}/torch_cnn_nchw.onnx")
    models["torch_cnn_nchw.onnx"] = {"rows": "image", "logits": logits_of(cnn, nchw)}

    cnn_nhwc = train_torch(Cnn(True), train_image.permute(0, 2, 3, 1).contiguous())
    export(cnn_nhwc, (torch.from_numpy(nhwc[:2]),), f"{out}/torch_cnn_nhwc.onnx",
           dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    models["torch_cnn_nhwc.onnx"] = {"rows": "image", "logits": logits_of(cnn_nhwc, nhwc)}

    two = train_torch(TwoOutputs(), train_vector)
    export(two, (train_vector[:2],), f"{out}/torch_two_outputs.onnx", output_names=["logits", "probabilities"])
    z = logits_of(two, rows["vector"])
    models["torch_two_outputs.onnx"] = {"rows": "vector", "output": "logits", "logits": z}
    models["torch_two_outputs.onnx#probabilities"] = {
        "rows": "vector", "output": "probabilities", "log_probabilities": True,
        "logits": torch.log_softmax(torch.from_numpy(z).double(), dim=1).float().numpy()}

    export(TwoInputs().eval(), (train_vector[:2], train_vector[:2]), f"{out}/torch_two_inputs.onnx")

    keras_x = {"vector": rows["vector"], "image": nhwc}
    keras_train = {"vector": train_vector.numpy(), "image": train_image.permute(0, 2, 3, 1).numpy()}
    builders = {"keras_mlp": ("vector", keras_mlp, True),
                "keras_cnn": ("image", lambda: keras.Sequential(
                    [keras.Input((IMAGE[1], IMAGE[2], IMAGE[0]))] + keras_cnn_layers()), False),
                "keras_functional_cnn": ("image", keras_functional_cnn, False)}
    for name, (kind, build, softmax) in builders.items():
        model = train_keras(build(), keras_train[kind], softmax)
        z = keras_logits(model, keras_x[kind], softmax)
        for suffix in (".keras", ".h5"):
            model.save(f"{out}/{name}{suffix}")
            models[name + suffix] = {"rows": kind, "logits": z}

    lstm = keras.Sequential([keras.Input((4, 3)), keras.layers.LSTM(5), keras.layers.Dense(CLASSES)])
    lstm.save(f"{out}/keras_lstm.keras")

    for m in models.values():
        m.setdefault("output", None)
        m.setdefault("log_probabilities", False)
        m["logits"] = np.asarray(m["logits"], dtype=np.float32).tolist()
    for file in os.listdir(out):
        if file.endswith(".onnx"):
            onnx.checker.check_model(f"{out}/{file}", full_check=True)
    with open(f"{out}/expected.json", "w", encoding="utf-8") as f:
        json.dump({"shapes": {"vector": VECTOR, "image": IMAGE},
                   "rows": {k: v.tolist() for k, v in rows.items()}, "models": models}, f)
    print(f"framework_teachers: torch {torch.__version__}, keras {keras.__version__} -> {out}: "
          + ", ".join(sorted(os.listdir(out))))


if __name__ == "__main__":
    main(sys.argv)
