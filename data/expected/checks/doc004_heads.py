"""Checks the printed data heads and make_regression targets of document 004 against numpy / sklearn.
Run with a python that has numpy, pandas and scikit-learn."""
import json, os
import numpy as np
from sklearn.datasets import make_regression
d = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "expected.json")))
np.random.seed(42)
cols = {"x1": np.random.normal(size=100), "x2": np.random.normal(size=100), "x3": np.random.normal(size=100)}
cols["y"] = 3 * cols["x1"] + 2 * cols["x2"] - 7 * cols["x3"] + 5
X, y = make_regression(n_samples=10, n_features=10, n_targets=1, bias=1, random_state=42)
bad = n = 0
for e in d["entries"]:
    q = e["quantity"]
    if e["experiment"] == "data-004-normal-head":
        col, r = q.split(".head.")[1].split("[")
        want = cols[col][int(r.rstrip("]"))]
    elif e["experiment"] == "data-004-make-regression-head":
        col, r = q.split("head.")[1].split("[")
        r = int(r.rstrip("]"))
        want = y[r] if col == "target" else X[r, int(col.split("_")[1])]
    elif e["experiment"] == "depth-mlp" and q.startswith("real_value"):
        want = y[e["row"]]
        n += 1
        if f"[{want:.8f}]" != e["printed"]:
            bad += 1; print("MISMATCH", q, e["printed"], want)
        continue
    else:
        continue
    n += 1
    if round(want, 6) != e["value"]:
        bad += 1; print("MISMATCH", e["experiment"], q, e["printed"], want)
print(n, "checked,", bad, "mismatches")
