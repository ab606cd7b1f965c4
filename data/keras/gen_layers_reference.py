#!/usr/bin/env python3
"""Record tf-keras 2.21's Dropout (its distribution), LayerNormalization, BatchNormalization and Normalization on
fixed inputs into layers.json (read by crates/nn/tests/layers_reference.rs).

    TF_USE_LEGACY_KERAS=1 CUDA_VISIBLE_DEVICES="" /work/venv-tf/bin/python data/keras/gen_layers_reference.py

Each case: the layer's config, the weights set before the call (Keras's get_weights order), the
input, the `training` flag, the output, and the gradients (tf.GradientTape) of
`sum(output * r)` with respect to the input and to each trainable weight, `r` a fixed random
tensor recorded with the case (a plain sum would give a normalized output zero gradients).
BatchNormalization cases also record the weights after a sequence of training calls (the
moving statistics). Normalization cases record the mean and variance `adapt` found. Floats are
float64 reprs of the float32 values, widened exactly, as in gen_reference.py.
"""
import json
import os
import platform

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

assert tf.keras.__name__.startswith("tf_keras"), "set TF_USE_LEGACY_KERAS=1"
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(15)


def arr(t):
    return np.asarray(t, dtype=np.float64).tolist()


def data(*shape, scale=1.0, shift=0.0):
    return (rng.normal(size=shape) * scale + shift).astype(np.float32)


def run(layer, x, training, weights=None):
    """Builds `layer` on x's shape (unless built), sets `weights`, calls it once."""
    if not layer.built:
        layer.build(x.shape)
    if weights is not None:
        layer.set_weights(weights)
    before = [arr(w) for w in layer.get_weights()]
    xt = tf.constant(x)
    r = data(*x.shape)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        loss = tf.reduce_sum(y * r)
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)
    return {
        "weights": before,
        "x": arr(x),
        "training": training,
        "r": arr(r),
        "y": arr(y),
        "grad_x": arr(grads[0]),
        "grad_weights": [arr(g) for g in grads[1:]],
        "weights_after": [arr(w) for w in layer.get_weights()],
    }


def dropout_cases():
    """TensorFlow's masks come from a stateful generator: the distribution is recorded, not
    the mask (the fraction of 400 x 500 ones dropped, the values kept, the gradient's values)."""
    cases = []
    x = tf.ones((400, 500))
    for rate in [0.1, 0.5, 0.8]:
        layer = tf.keras.layers.Dropout(rate, seed=11)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
        g = tape.gradient(y, x).numpy()
        y = y.numpy()
        cases.append(
            {
                "rate": rate,
                "fraction_dropped": float(np.mean(y == 0.0)),
                "kept_values": arr(np.unique(y[y != 0.0])),
                "gradient_values": arr(np.unique(g)),
                "inference_is_identity": bool(np.all(layer(x, training=False).numpy() == 1.0)),
            }
        )
    return cases


def layer_norm_cases():
    cases = []
    x2, x3 = data(5, 4, scale=2.0, shift=1.0), data(2, 3, 4)
    for config, x in [
        ({"axis": -1}, x2),
        ({"axis": -1}, x3),
        ({"axis": [1, 2]}, x3),
        ({"axis": 1}, x3),
        ({"axis": -1, "center": False}, x2),
        ({"axis": -1, "scale": False, "epsilon": 1e-5}, x2),
    ]:
        layer = tf.keras.layers.LayerNormalization(**config)
        layer.build(x.shape)
        weights = [data(*w.shape, scale=0.5, shift=1.0) for w in layer.get_weights()]
        case = run(layer, x, True, weights)
        case["config"] = config
        cases.append(case)
    return cases


def batch_norm_cases():
    cases = []
    x2, x3, x4 = data(6, 3, scale=2.0, shift=0.5), data(2, 3, 4), data(2, 3, 3, 2)
    for config, x in [
        ({"axis": -1}, x2),
        ({"axis": -1, "momentum": 0.9, "epsilon": 1e-2}, x2),
        ({"axis": -1, "center": False, "scale": False}, x2),
        ({"axis": -1}, x3),
        ({"axis": 1}, x3),
        ({"axis": -1}, x4),
    ]:
        for training in [True, False]:
            layer = tf.keras.layers.BatchNormalization(**config)
            layer.build(x.shape)
            weights = [data(*w.shape, scale=0.3, shift=1.0) for w in layer.get_weights()]
            # the moving variance positive
            weights[-1] = np.abs(weights[-1])
            case = run(layer, x, training, weights)
            case["config"] = config
            # three more training calls: the moving statistics after each
            batches = [x * 2.0 + 1.0, x - 3.0, x * 0.5]
            case["batches"] = [arr(b) for b in batches]
            after = []
            for b in batches:
                layer(tf.constant(b), training=True)
                after.append([arr(w) for w in layer.get_weights()])
            case["weights_after_batches"] = after
            case["y_inference_after"] = arr(layer(tf.constant(x), training=False))
            cases.append(case)
    return cases


def normalization_cases():
    cases = []
    adapt2 = data(50, 3, scale=[1.0, 4.0, 0.1], shift=[0.0, 10.0, -2.0])
    adapt3 = data(10, 3, 4, scale=2.0, shift=1.0)
    for config, adapt, x in [
        ({"axis": -1}, adapt2, data(4, 3, scale=3.0)),
        ({"axis": -1, "invert": True}, adapt2, data(4, 3)),
        ({"axis": None}, adapt2, data(4, 3)),
        ({"axis": 1}, adapt3, data(2, 3, 4)),
        ({"axis": [1, 2]}, adapt3, data(2, 3, 4)),
    ]:
        layer = tf.keras.layers.Normalization(**config)
        layer.adapt(adapt)
        case = run(layer, x, False)
        case["config"] = config
        case["adapt"] = arr(adapt)
        case["mean"] = arr(layer.adapt_mean)
        case["variance"] = arr(layer.adapt_variance)
        cases.append(case)
    layer = tf.keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.25, 0.0])
    x = data(4, 3)
    case = run(layer, x, False)
    case["config"] = {"axis": -1, "mean": [1.0, 2.0, 3.0], "variance": [4.0, 0.25, 0.0]}
    cases.append(case)
    return cases


def main():
    out = {
        "about": (
            "Generated by data/keras/gen_layers_reference.py with TensorFlow "
            f"{tf.__version__}, tf-keras {tf_keras.__version__}, numpy {np.__version__}, "
            f"Python {platform.python_version()}, CPU. Gradients are of sum(y * r)."
        ),
        "dropout": dropout_cases(),
        "layer_normalization": layer_norm_cases(),
        "batch_normalization": batch_norm_cases(),
        "normalization": normalization_cases(),
    }
    with open(os.path.join(HERE, "layers.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)


if __name__ == "__main__":
    main()
