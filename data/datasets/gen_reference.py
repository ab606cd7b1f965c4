#!/usr/bin/env python3
"""Regenerate the reference vectors that crates/datasets/tests read.

Run with a virtual environment outside the repository, for example
    python3 -m venv /work/venv-np && /work/venv-np/bin/pip install numpy scikit-learn pandas scipy
    /work/venv-np/bin/python data/datasets/gen_reference.py
Floats are written by json (float repr), so they round-trip exactly.
"""
import json
import os

import numpy as np
import pandas as pd
import sklearn
from sklearn.datasets import make_low_rank_matrix, make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))


def dump(name, obj):
    obj = {
        "versions": {
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "pandas": pd.__version__,
        },
        **obj,
    }
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=None, separators=(",", ":"))
        f.write("\n")


def flat(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return [float(v) for v in a.ravel()]
    return [int(v) for v in a.ravel()]


def state_summary(rs):
    name, key, pos, has_gauss, gauss = rs.get_state()
    return {
        "key_head": flat(key[:4]),
        "key_tail": flat(key[-4:]),
        "key_sum": int(key.astype(np.uint64).sum()),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "gauss": float(gauss),
    }


def random_state_cases():
    """Several seeds, one long call sequence each; every call's output recorded."""
    seeds = [0, 1, 42, 123456789, 2**32 - 1, [1, 2, 3], [42], list(range(700))]
    cases = []
    for seed in seeds:
        rs = np.random.RandomState(seed)
        calls = [{"method": "get_state", "out": state_summary(rs)}]

        def rec(method, args, out):
            calls.append({"method": method, "args": args, "out": flat(out)})

        rec("random_sample", {"size": 5}, rs.random_sample(5))
        rec("randn", {"size": 7}, rs.randn(7))  # odd: leaves a cached gauss
        rec("standard_normal", {"size": 1}, [rs.standard_normal()])
        rec("rand", {"size": 3}, rs.rand(3))
        rec("normal", {"loc": 1.5, "scale": 2.0, "size": 5}, rs.normal(1.5, 2.0, 5))
        rec("uniform", {"low": -2.0, "high": 3.0, "size": 4}, rs.uniform(-2.0, 3.0, 4))
        rec("randint", {"low": 0, "high": 10, "size": 6}, rs.randint(0, 10, 6))
        rec("randint", {"low": -5, "high": 2**40, "size": 4}, rs.randint(-5, 2**40, 4))
        rec("randint", {"low": 0, "high": 2**32, "size": 3}, rs.randint(0, 2**32, 3))
        rec("randint", {"low": 7, "high": 8, "size": 2}, rs.randint(7, 8, 2))
        arr = np.arange(10)
        rs.shuffle(arr)
        rec("shuffle", {"n": 10}, arr)
        rec("permutation", {"n": 15}, rs.permutation(15))
        rec("choice", {"a": 10, "size": 5, "replace": True}, rs.choice(10, 5))
        rec("choice", {"a": 10, "size": 5, "replace": False}, rs.choice(10, 5, replace=False))
        p = [0.1, 0.2, 0.3, 0.15, 0.25]
        rec("choice", {"a": 5, "size": 8, "replace": True, "p": p}, rs.choice(5, 8, p=p))
        p6 = [0.05, 0.3, 0.0, 0.25, 0.1, 0.3]
        rec("choice", {"a": 6, "size": 4, "replace": False, "p": p6}, rs.choice(6, 4, replace=False, p=p6))
        rec("uniform", {"low": 0.0, "high": 1.0, "size": 2}, rs.uniform(size=2))
        rec("randn", {"size": 1}, rs.randn(1))
        calls.append({"method": "get_state", "out": state_summary(rs)})
        cases.append({"seed": seed, "calls": calls})
    return cases


def pandas_sample_case():
    """Document 004: np.random.seed(42), three normal(size=100) columns, then sample()."""
    np.random.seed(42)
    x1 = np.random.normal(size=100)
    x2 = np.random.normal(size=100)
    x3 = np.random.normal(size=100)
    df = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3})
    df["y"] = 3 * df["x1"] + 2 * df["x2"] - 7 * df["x3"] + 5
    head = [flat(r) for r in df.head().values]
    firsts = [int(df.sample(1).index[0]) for _ in range(5)]
    batches = [flat(df.sample(3).index) for _ in range(3)]
    # What numpy call does sample(n) make? Check: identical to permutation(len)[:n].
    np.random.seed(42)
    for _ in range(3):
        np.random.normal(size=100)
    via_perm = [int(np.random.permutation(100)[0]) for _ in range(5)]
    assert via_perm == firsts, (via_perm, firsts)
    return {"head": head, "sample1_indices": firsts, "sample3_indices": batches,
            "first_row": flat(df.values[firsts[0]])}


def regression_cases():
    grid = [
        dict(n_samples=10, n_features=10, n_targets=1, bias=1, random_state=42),
        dict(n_samples=20, n_features=5, n_informative=3, noise=0.5, random_state=0, coef=True),
        dict(n_samples=15, n_features=8, n_targets=3, bias=-2.5, shuffle=False, random_state=7, coef=True),
        dict(n_samples=30, n_features=12, effective_rank=3, tail_strength=0.2, noise=1.0, random_state=1, coef=True),
        dict(n_samples=8, n_features=20, effective_rank=5, n_targets=2, random_state=3, coef=True),
        dict(n_samples=25, n_features=6, effective_rank=2, tail_strength=1.0, shuffle=False, random_state=11, coef=True),
        dict(n_samples=12, n_features=4, n_informative=20, noise=3.0, random_state=5, coef=True),
        dict(n_samples=40, n_features=40, effective_rank=10, random_state=2, coef=True),
        dict(n_samples=100, n_features=100, random_state=2, coef=True),
        dict(n_samples=6, n_features=3, n_informative=0, bias=4.0, random_state=8, coef=True),
    ]
    cases = []
    for params in grid:
        out = make_regression(**params)
        case = {"params": params, "X": flat(out[0]), "X_shape": list(out[0].shape),
                "y": flat(out[1]), "y_shape": list(out[1].shape)}
        if params.get("coef"):
            case["coef"] = flat(out[2])
            case["coef_shape"] = list(out[2].shape)
        cases.append(case)
    # random_state=None draws from the global RandomState.
    np.random.seed(9)
    X, y = make_regression(n_samples=5, n_features=3, noise=0.1)
    after = float(np.random.random_sample())
    cases.append({"params": {"n_samples": 5, "n_features": 3, "noise": 0.1, "global_seed": 9},
                  "X": flat(X), "X_shape": list(X.shape), "y": flat(y), "y_shape": list(y.shape),
                  "global_next_random_sample": after})
    lr = []
    for params in [dict(n_samples=12, n_features=7, effective_rank=3, random_state=4),
                   dict(n_samples=5, n_features=9, effective_rank=1, tail_strength=0.9, random_state=6)]:
        m = make_low_rank_matrix(**params)
        lr.append({"params": params, "X": flat(m), "X_shape": list(m.shape)})
    return cases, lr


def preprocessing_cases():
    rs = np.random.RandomState(3)
    X = rs.normal(2.0, 3.0, size=(17, 4))
    X[:, 3] = 5.0  # constant column: sklearn keeps scale 1
    sc = StandardScaler().fit(X)
    split = []
    for n, test_size, train_size, seed in [(10, 0.25, None, 42), (13, 0.3, 0.5, 0), (20, 4, None, 1), (7, 0.5, 2, 123)]:
        idx = np.arange(n)
        tr, te = train_test_split(idx, test_size=test_size, train_size=train_size, random_state=seed)
        split.append({"n": n, "test_size": test_size, "train_size": train_size, "seed": seed,
                      "train": flat(tr), "test": flat(te)})
    seq = []
    for n, test_size in [(10, 0.25), (10000, 0.2)]:
        tr, te = train_test_split(np.arange(n), test_size=test_size, shuffle=False)
        seq.append({"n": n, "test_size": test_size, "train_len": len(tr), "test_first": int(te[0])})
    return {
        "scaler": {"X": flat(X), "shape": list(X.shape), "mean": flat(sc.mean_),
                   "scale": flat(sc.scale_), "transformed": flat(sc.transform(X))},
        "train_test_split": split,
        "sequential_split": seq,
    }


def recipe_cases():
    out = {}
    np.random.seed(42)
    X = 2 * np.random.rand(100, 1)
    Y = 3 * X + 4 + 0.5 * np.random.rand(100, 1)
    out["doc001"] = {"seed": 42, "n": 100, "w0": 3, "w1": 4, "X": flat(X), "Y": flat(Y)}
    np.random.seed(42)
    x = np.random.normal(0.0, 1.0, 10000)
    noise = np.random.normal(0.0, 1.0, 10000)
    y = 9 * x + -2 + noise
    out["doc002"] = {"seed": 42, "x_head": flat(x[:5]), "y_head": flat(y[:5]), "x_test_head": flat(x[8000:8005]),
                     "y_test_tail": flat(y[-3:]), "x_sum": float(x.sum()), "y_sum": float(y.sum())}
    np.random.seed(42)
    xs = np.random.normal(size=1000)
    ys = 3.0 * xs + 2.0
    out["doc003"] = {"seed": 42, "xs_head": flat(xs[:5]), "ys_head": flat(ys[:5]), "ys_sum": float(ys.sum())}
    x = np.array([*range(1, 2000)]).astype("float32")
    mx, mn = max(x), min(x)
    xn = (x - mn) / (mx - mn)
    assert xn.dtype == np.float32
    out["doc004_minmax"] = {"head": flat(xn[:5]), "tail": flat(xn[-3:]), "picks": {str(i): float(xn[i]) for i in [7, 100, 999, 1500]}}
    X_train = np.arange(stop=100, step=2, dtype=np.float32)
    Y_train = X_train * 5. + 3.
    out["doc000"] = {"X": flat(X_train), "Y": flat(Y_train)}
    return out


def numpy_files():
    """Small files written by numpy itself, for the .npy/.npz readers."""
    a = np.arange(6, dtype=np.float64).reshape(2, 3) * 0.5 - 1.0
    np.save(os.path.join(HERE, "sample_f8.npy"), a)
    np.save(os.path.join(HERE, "sample_f4_fortran.npy"), np.asfortranarray(a.astype(np.float32)))
    np.save(os.path.join(HERE, "sample_i8.npy"), np.array([3, -1, 2**40], dtype=np.int64))
    np.savez(os.path.join(HERE, "sample.npz"), x=a, y=np.array([1.5, 2.5]))
    np.savez_compressed(os.path.join(HERE, "sample_compressed.npz"), x=a, y=np.array([1.5, 2.5]))
    pd.DataFrame({"x1": [0.5, -1.25], "y": [3.0, 1e-3]}).to_csv(os.path.join(HERE, "sample.csv"), index=False)


if __name__ == "__main__":
    numpy_files()
    dump("random_state.json", {"cases": random_state_cases()})
    dump("pandas_sample.json", pandas_sample_case())
    reg, lowrank = regression_cases()
    dump("make_regression.json", {"cases": reg, "low_rank": lowrank})
    dump("preprocessing.json", preprocessing_cases())
    dump("recipes.json", recipe_cases())
    print("written")
