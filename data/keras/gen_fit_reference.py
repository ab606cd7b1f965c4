#!/usr/bin/env python3
"""Record tf-keras 2.21's `fit` on small Sequential Dense models, for crates/train's tests.

Usage (from the repository root, with the venv described in README.md):

    TF_USE_LEGACY_KERAS=1 CUDA_VISIBLE_DEVICES="" /work/venv-tf/bin/python data/keras/gen_fit_reference.py

Writes data/keras/fit.json: for each case the data (x, y, validation data when given), the model
(Dense units and activations; the i-th Dense has kernel GlorotUniform(seed=seed + i) and zero
bias), the optimizer, loss, metrics, fit arguments (always shuffle=False; Nadam's case with run_eagerly=True, see run()), the
initial weights,
the history fit returned, and the final weights, in get_weights() order; then, on the trained
model, evaluate (batch_size as fit's), predict on 7 rows in batches of 3, train_on_batch on rows
0..5, test_on_batch on rows 5..11, and the weights after that step.

Floats are Python's repr of a float64; float32 values were widened to float64 exactly, so a
reader that parses to f64 and narrows to f32 gets TensorFlow's bits back.
"""
import json
import os
import platform

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
assert tf.keras.__name__.startswith("tf_keras"), "set TF_USE_LEGACY_KERAS=1"

OPTIMIZERS = {
    "sgd": tf.keras.optimizers.SGD,
    "adam": tf.keras.optimizers.Adam,
    "rmsprop": tf.keras.optimizers.RMSprop,
    "adagrad": tf.keras.optimizers.Adagrad,
    "adadelta": tf.keras.optimizers.Adadelta,
    "nadam": tf.keras.optimizers.Nadam,
    "adamax": tf.keras.optimizers.Adamax,
    "adamw": tf.keras.optimizers.AdamW,
}


def f32list(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def data(seed, n, features, kind, outputs=1):
    rs = np.random.RandomState(seed)
    x = rs.normal(size=(n, features)).astype(np.float32)
    w = rs.normal(size=(features, outputs))
    z = x.astype(np.float64) @ w + 0.1 * rs.normal(size=(n, outputs))
    if kind == "regression":
        y = z.astype(np.float32)
    elif kind == "binary":
        y = (z[:, :1] > 0).astype(np.float32)
    elif kind == "sparse":
        y = np.argmax(z, axis=1).astype(np.float32)
    else:  # one-hot
        y = np.eye(outputs, dtype=np.float32)[np.argmax(z, axis=1)]
    return x, y


CASES = [
    dict(name="sgd_mse_b16", seed=11, n=40, features=3, kind="regression",
         layers=[[8, "relu"], [1, "linear"]], optimizer={"name": "sgd", "learning_rate": 0.01},
         loss="mse", metrics=["mae"], epochs=3, batch_size=16),
    dict(name="adam_mse_split", seed=12, n=40, features=3, kind="regression",
         layers=[[8, "relu"], [1, "linear"]], optimizer={"name": "adam", "learning_rate": 0.01},
         loss="mse", metrics=["mae", "mse"], epochs=4, batch_size=10, validation_split=0.25),
    dict(name="rmsprop_mae_valdata", seed=13, n=35, features=4, kind="regression", outputs=2,
         layers=[[5, "tanh"], [2, "linear"]], optimizer={"name": "rmsprop", "learning_rate": 0.005},
         loss="mae", metrics=["mse"], epochs=3, batch_size=7, validation_rows=12),
    dict(name="adagrad_sparse_cce", seed=14, n=48, features=4, kind="sparse", outputs=3,
         layers=[[6, "relu"], [3, "softmax"]], optimizer={"name": "adagrad", "learning_rate": 0.1},
         loss="sparse_categorical_crossentropy", metrics=["accuracy"], epochs=3, batch_size=8,
         validation_split=0.2),
    # run_eagerly: tf-keras's Nadam gives other numbers inside fit's tf.function than eagerly
    # (its cached running product of u_t is read and advanced differently in the graph: epoch 1
    # loss 0.82549 against 0.82377 eager); tapegrad's Nadam is checked against the eager one
    # (optimizers.json), so this case records that.
    dict(name="nadam_binary", seed=15, n=36, features=3, kind="binary",
         layers=[[4, "relu"], [1, "sigmoid"]], optimizer={"name": "nadam", "learning_rate": 0.01},
         loss="binary_crossentropy", metrics=["accuracy"], epochs=3, batch_size=12,
         run_eagerly=True),
    dict(name="adamw_huber_initial_epoch", seed=16, n=30, features=2, kind="regression",
         layers=[[6, "relu"], [3, "relu"], [1, "linear"]],
         optimizer={"name": "adamw", "learning_rate": 0.02}, loss="huber", metrics=["mae"],
         epochs=4, initial_epoch=1, batch_size=9, validation_split=0.3),
    dict(name="sgd_momentum_cce", seed=17, n=30, features=3, kind="onehot", outputs=3,
         layers=[[5, "relu"], [3, "softmax"]],
         optimizer={"name": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
         loss="categorical_crossentropy", metrics=["accuracy"], epochs=3, batch_size=32),
    dict(name="adamax_full_batch", seed=18, n=20, features=3, kind="regression",
         layers=[[1, "linear"]], optimizer={"name": "adamax", "learning_rate": 0.05},
         loss="mse", metrics=[], epochs=5, batch_size=20),
    dict(name="adadelta_mse", seed=19, n=25, features=2, kind="regression",
         layers=[[3, "sigmoid"], [1, "linear"]], optimizer={"name": "adadelta", "learning_rate": 1.0},
         loss="mse", metrics=["mae"], epochs=2, batch_size=6),
    # optimizers by Keras's names, with their defaults (learning rates 0.001, ...)
    dict(name="string_adam", seed=20, n=24, features=3, kind="regression",
         layers=[[4, "relu"], [1, "linear"]], optimizer="adam", loss="mse", metrics=["mae"],
         epochs=3, batch_size=8),
    dict(name="string_rmsprop_mae", seed=21, n=24, features=2, kind="regression", outputs=2,
         layers=[[2, "linear"]], optimizer="rmsprop", loss="mae", metrics=["mse"],
         epochs=3, batch_size=10, validation_split=0.25),
    dict(name="string_adagrad_cce", seed=22, n=21, features=2, kind="onehot", outputs=3,
         layers=[[3, "softmax"]], optimizer="adagrad", loss="categorical_crossentropy",
         metrics=["accuracy"], epochs=3, batch_size=5),
    dict(name="string_adamax", seed=23, n=16, features=2, kind="regression",
         layers=[[3, "elu"], [1, "linear"]], optimizer="adamax", loss="huber", metrics=["mae"],
         epochs=3, batch_size=4),
    dict(name="string_sgd", seed=24, n=16, features=2, kind="binary",
         layers=[[1, "sigmoid"]], optimizer="sgd", loss="binary_crossentropy",
         metrics=["accuracy"], epochs=3, batch_size=16),
]


def run(case):
    outputs = case.get("outputs", 1)
    x, y = data(case["seed"], case["n"], case["features"], case["kind"], outputs)
    val = None
    if "validation_rows" in case:
        vx, vy = data(case["seed"] + 100, case["validation_rows"], case["features"],
                      case["kind"], outputs)
        val = (vx, vy)
    model = tf.keras.Sequential([tf.keras.Input(shape=(case["features"],))])
    for i, (units, act) in enumerate(case["layers"]):
        model.add(tf.keras.layers.Dense(
            units, activation=act,
            kernel_initializer=tf.keras.initializers.GlorotUniform(seed=case["seed"] + i),
            bias_initializer="zeros"))
    if isinstance(case["optimizer"], str):
        opt = case["optimizer"]  # Keras's name: the optimizer with its defaults
    else:
        opt_cfg = dict(case["optimizer"])
        opt = OPTIMIZERS[opt_cfg.pop("name")](**opt_cfg)
    model.compile(optimizer=opt, loss=case["loss"], metrics=case["metrics"],
                  run_eagerly=case.get("run_eagerly", False))
    initial = [f32list(w) for w in model.get_weights()]
    kwargs = dict(epochs=case["epochs"], batch_size=case["batch_size"], shuffle=False, verbose=0)
    if "validation_split" in case:
        kwargs["validation_split"] = case["validation_split"]
    if val is not None:
        kwargs["validation_data"] = val
    if "initial_epoch" in case:
        kwargs["initial_epoch"] = case["initial_epoch"]
    hist = model.fit(x, y, **kwargs)
    out = {k: v for k, v in case.items()}
    out["x"] = f32list(x)
    out["y"] = f32list(y)
    if val is not None:
        out["validation_x"] = f32list(val[0])
        out["validation_y"] = f32list(val[1])
    out["initial_weights"] = initial
    out["history"] = {k: [float(np.float32(v)) for v in vs] for k, vs in hist.history.items()}
    out["epochs_run"] = hist.epoch
    out["final_weights"] = [f32list(w) for w in model.get_weights()]
    # after fit: evaluate and predict in batches, then one train_on_batch and one test_on_batch
    # (each resets the metrics first), and the weights after that step
    logs32 = lambda d: {k: float(np.float32(v)) for k, v in d.items()}  # noqa: E731
    bs = case["batch_size"]
    out["evaluate"] = logs32(model.evaluate(x, y, batch_size=bs, verbose=0, return_dict=True))
    out["predict"] = f32list(model.predict(x[:7], batch_size=3, verbose=0))
    out["train_on_batch"] = logs32(model.train_on_batch(x[:5], y[:5], return_dict=True))
    out["test_on_batch"] = logs32(model.test_on_batch(x[5:11], y[5:11], return_dict=True))
    out["weights_after_train_on_batch"] = [f32list(w) for w in model.get_weights()]
    return out


def main():
    tf.config.set_visible_devices([], "GPU")
    cases = [run(c) for c in CASES]
    doc = {
        "about": (
            "tf-keras fit histories and weights. Generated by data/keras/gen_fit_reference.py with "
            f"TensorFlow {tf.__version__}, tf-keras {tf_keras.__version__}, numpy {np.__version__}, "
            f"Python {platform.python_version()}, CPU only. shuffle=False throughout; the i-th "
            "Dense layer's kernel is GlorotUniform(seed=seed+i), its bias zeros."
        ),
        "cases": cases,
    }
    path = os.path.join(HERE, "fit.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
