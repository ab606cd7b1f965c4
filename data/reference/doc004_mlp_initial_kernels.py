#!/usr/bin/env python3
"""Write doc004_mlp_initial_kernels.json: the initial kernels of document 004's MLP (cell In [27]).

The document never prints them. tf-keras 2.21's unseeded GlorotUniform() seeds a stateless op
with random.randint(1, 10**9) from Python's `random` module, drawn on first use, so after the
cell's random.seed(42) the two kernels are GlorotUniform()((10, 10)) then GlorotUniform()((10, 1))
(sklearn.datasets imported beforehand, as data/tf_runs/README.md explains). Biases are zeros.

Check: one training step from these kernels on the first sampled row (8) reproduces the weights
after the first step that data/tf_runs/doc004.json recorded from the TF run (`mlp`), to 1e-6.

    TF_USE_LEGACY_KERAS=1 /work/venv-tf/bin/python data/reference/doc004_mlp_initial_kernels.py
"""
import json
import os
import random

import numpy as np
import sklearn.datasets  # noqa: F401  (imported before random.seed, as in the TF run)
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

random.seed(42)
W1 = tf.keras.initializers.GlorotUniform()(shape=(10, 10), dtype=tf.float32).numpy()
W2 = tf.keras.initializers.GlorotUniform()(shape=(10, 1), dtype=tf.float32).numpy()

# one step of cell 27 on row 8 (the first row DataFrame.sample drew), in numpy float32
run = json.load(open(os.path.join(ROOT, "data", "tf_runs", "doc004.json")))
cells = {c["label"]: c for c in run["cells"]}
v = cells["In [26]"]["variables_after_cell"]
first_row = cells["In [27]"]["dataframe_sample_indices"][0][0]
x = np.array(v["x"]["value"])[first_row].astype(np.float32)
y = np.float32(np.array(v["y"]["value"])[first_row])
f, lr = np.float32, np.float32(1e-4)
pre = (x @ W1).astype(f)
h = np.maximum(pre, f(0))
p = f(h @ W2[:, 0])
g = f(2) * f(p - y)
gpre = np.where(pre > 0, (g * W2[:, 0]).astype(f), f(0))
after1 = (W1 - lr * np.outer(x, gpre).astype(f)).astype(f)
after2 = (W2[:, 0] - lr * (h * g).astype(f)).astype(f)
rec = run["mlp"]
assert np.allclose(after1, rec["weight_list1_after_first_step"]["value"], rtol=1e-6, atol=1e-7)
assert np.allclose(after2, np.array(rec["weight_list2_after_first_step"]["value"])[:, 0], rtol=1e-6, atol=1e-7)


def record(a):
    return {
        "shape": list(a.shape),
        "value": [[float(q) for q in row] for row in a],
        "bits": [["0x%08x" % int(q) for q in row] for row in a.view(np.uint32)],
    }


out = {
    "about": "Initial kernels of document 004's MLP (In [27]): tf-keras 2.21 GlorotUniform() after "
    "random.seed(42) (stateless seed random.randint(1, 10**9)), layer 1 (10, 10) then layer 2 (10, 1); "
    "float32 values widened to float64, and their bit patterns. Written by doc004_mlp_initial_kernels.py, "
    "which checks them against the weights after the first step recorded in data/tf_runs/doc004.json.",
    "tensorflow": tf.__version__,
    "custom_dense1_kernel": record(W1),
    "custom_dense2_kernel": record(W2),
}
with open(os.path.join(HERE, "doc004_mlp_initial_kernels.json"), "w") as fh:
    json.dump(out, fh, indent=1)
    fh.write("\n")
print("wrote doc004_mlp_initial_kernels.json")
