#!/usr/bin/env python3
"""Replay document 004's cells 21, 24 and 27-28 in numpy float32 with two arithmetics.

Reads doc004.json (initial weights, data, the rows DataFrame.sample drew) and redoes the training
loops by hand: 'seq' = every product rounded to float32, sums left to right (no FMA); 'fma' = a
fused multiply-add chain. Prints the final numbers next to the document's and TF 2.21's. Finding:
'seq' reproduces the document's printed numbers exactly; TF 2.21 on our CPU matches 'fma' (cell 21
at every step, cell 28's predictions). Usage:

    /work/venv-tf/bin/python data/tf_runs/replay_float32.py
"""
import json
import os
import random

import numpy as np

f = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
D = json.load(open(os.path.join(HERE, "doc004.json")))
C = {c["label"]: c for c in D["cells"]}


def val(x):
    return np.array(x["value"])


def dot(a, b, mode):
    s = f(f(a[0]) * f(b[0]))
    for i in range(1, len(a)):
        if mode == "seq":
            s = f(s + f(f(a[i]) * f(b[i])))
        else:  # product exact in float64, one rounding to float32
            s = f(np.float64(a[i]) * np.float64(b[i]) + np.float64(s))
    return s


def dense_cell(label, data_label, batch, mode):
    v = C[data_label]["variables_after_cell"]
    x1, x2, x3 = (val(v[k]) for k in ("x1", "x2", "x3"))
    y = 3 * x1 + 2 * x2 - 7 * x3 + 5
    X = np.stack([x1, x2, x3], 1)
    cv = C[label]["variables_after_cell"]
    w = val(cv["initial_weights"]).astype(f)[:, 0].copy()
    b, lr, margin = f(0), f(0.1), cv["error_margin"]
    losses = []
    for rows in C[label]["dataframe_sample_indices"]:
        xs, ys = X[rows].astype(f), y[rows].astype(f)
        preds = np.array([f(dot(r, w, mode) + b) for r in xs], f)
        if not batch:  # mse([y], [pred (1,1)]) -> (1,1); d/dpred = 2 * (pred - y)
            diff = f(preds[0] - ys[0])
            loss, gp = f(diff * diff), np.array([f(f(2) * diff)], f)
        else:  # reduce_mean(mse(y (3,), pred (3,1))): broadcast (3,3), two means of 3
            Dm = (preds[:, None] - ys[None, :]).astype(f)
            sq = np.square(Dm).astype(f)
            inner = [f(f(f(sq[i, 0] + sq[i, 1]) + sq[i, 2]) / f(3)) for i in range(3)]
            loss = f(f(f(inner[0] + inner[1]) + inner[2]) / f(3))
            g2 = (f(2) * f(f(f(1) / f(3)) / f(3))) * Dm
            gp = np.array([f(f(g2[i, 0] + g2[i, 1]) + g2[i, 2]) for i in range(3)], f)
        gw = np.array([dot(xs[:, k], gp, mode) for k in range(3)], f)
        gb = gp[0]
        for q in gp[1:]:
            gb = f(gb + q)
        w, b = (w - lr * gw).astype(f), f(b - lr * gb)
        losses.append(loss)
        stop = abs(losses[-1] - losses[-2]) if batch and len(losses) > 1 else abs(losses[-1])
        if len(losses) > 1 and stop <= margin:
            break
    return [str(q) for q in w], str(b), str(losses[-1]), len(losses)


def mlp(mode):
    import pandas as pd
    import tensorflow as tf

    random.seed(42)  # unseeded GlorotUniform takes random.randint(1, 1e9) as its stateless seed
    W1 = tf.keras.initializers.GlorotUniform()(shape=(10, 10), dtype=tf.float32).numpy()
    W2 = tf.keras.initializers.GlorotUniform()(shape=(10, 1), dtype=tf.float32).numpy()
    v = C["In [26]"]["variables_after_cell"]
    X = np.concatenate([val(v["x"]), val(v["y"])[:, None]], 1)
    np.random.seed(42)
    ds = pd.DataFrame(X)
    idx = [int(ds.sample(1).index[0]) for _ in range(1011)]
    w1, b1, w2, b2, lr = W1.copy(), np.zeros(10, f), W2[:, 0].copy(), f(0), f(0.0001)
    losses, k, it = [], 0, 0

    def fwd(xr):
        pre = np.array([f(dot(xr, w1[:, j], mode) + b1[j]) for j in range(10)], f)
        h = np.maximum(pre, f(0))
        return pre, h, f(dot(h, w2, mode) + b2)

    while True:
        row = X[idx[k]]
        k += 1
        xr, yr = row[:-1].astype(f), f(row[-1])
        pre, h, p = fwd(xr)
        diff = f(p - yr)
        g = f(f(2) * diff)
        gpre = np.where(pre > 0, (g * w2).astype(f), f(0)).astype(f)
        w2, b2 = (w2 - lr * (h * g).astype(f)).astype(f), f(b2 - lr * g)
        w1 = (w1 - lr * np.outer(xr, gpre).astype(f)).astype(f)
        b1 = (b1 - lr * gpre).astype(f)
        losses.append(f(diff * diff))
        if len(losses) > 1 and abs(losses[-1] - losses[-2]) <= 0.1:
            break
        if it == 1000:
            break
        it += 1
    preds = [str(fwd(X[idx[k + i]][:-1].astype(f))[2]) for i in range(10)]
    return len(losses), preds


def main():
    for label, data, batch in [("In [21]", "In [20]", False), ("In [24]", "In [23]", True)]:
        print(label, "TF 2.21 printed:", C[label]["stdout"].split("Final Weights:")[1].split("Initial Loss")[0]
              .replace("\n", " "), "| final loss", C[label]["stdout"].split("Final Loss:")[1].strip())
        print(label, "document printed:", C[label]["doc_output"].split("Final Weights:")[1].replace("\n", " "))
        for mode in ("seq", "fma"):
            print(f"  {mode}: w {dense_cell(label, data, batch, mode)}")
    print("In [28] document:", [l.split()[1] for l in C["In [28]"]["doc_output"].splitlines()
                                if l.startswith("Prediction")])
    print("In [28] TF 2.21: ", [l.split()[1] for l in C["In [28]"]["stdout"].splitlines()
                                if l.startswith("Prediction")])
    for mode in ("seq", "fma"):
        n, p = mlp(mode)
        print(f"  {mode}: {n} steps, predictions {p}")


if __name__ == "__main__":
    main()
