#!/usr/bin/env python3
"""Run the code of the five tutorial documents in TensorFlow and record what it prints.

Usage (from the repository root; the documents are read from ../shared/seeds/):

    TF_USE_LEGACY_KERAS=1 /work/venv-tf/bin/python data/tf_runs/run_documents.py          # all
    TF_USE_LEGACY_KERAS=1 /work/venv-tf/bin/python data/tf_runs/run_documents.py 000 004  # some

Documents 000, 001, 003 and 004 are executed from their own text: the code cells are cut out of
the document at run time (```python fences, or the "In [N]:" cells of 004) and run in order in one
namespace, like a notebook kernel. Document 002 is a scraped web page whose code lost its line
breaks; its code is transcribed below (DOC002_CELLS) token for token.

Nothing in the cells is changed except: matplotlib uses the Agg backend and plt.savefig is a no-op
(no images are written); document 003's Colab magic line '%tensorflow_version 2.x' (inside a
try/except that swallows its failure) becomes 'pass'. Instrumentation only observes: print() is
captured (text and exact values), a cell's last bare expression is recorded like a notebook
displays it (repr), and tf.random.uniform, pandas.DataFrame.sample, GradientTape.gradient and
Optimizer.apply_gradients are wrapped to record what they returned without changing any call.

Floats: float64 repr; float32 widened to float64 exactly. Non-finite floats are the strings "NaN",
"Infinity", "-Infinity".
"""
import ast
import builtins
import io
import json
import math
import os
import platform
import re
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402

FRESH_SKLEARN = "--fresh-sklearn-import" in sys.argv
if not FRESH_SKLEARN:
    # sklearn 1.9 imports `rich` (sklearn.callback._progressbar) and importing rich.style draws from
    # Python's global `random`. Document 004 first imports sklearn.datasets in cell 26, after
    # random.seed(42) in cell 25, and unseeded GlorotUniform() takes its seed from
    # random.randint(1, 10**9): a first import there would change the MLP's initial weights.
    # The document's own numbers show no such draw happened in its kernel, so import it here first.
    import sklearn.datasets  # noqa: E402,F401
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "seeds"))
if not os.path.isdir(SEEDS):
    SEEDS = "/work/shared/seeds"

assert tf.keras.__name__.startswith("tf_keras"), "set TF_USE_LEGACY_KERAS=1"

plt.savefig = lambda *a, **k: None  # do not write images
plt.show = lambda *a, **k: None

VERSIONS = (
    f"TensorFlow {tf.__version__}, tf-keras {tf_keras.__version__} (TF_USE_LEGACY_KERAS=1), "
    f"numpy {np.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}, "
    f"matplotlib {matplotlib.__version__} (Agg), Python {platform.python_version()}, CPU only"
)


# ---------------------------------------------------------------------------------------------
# exact values
# ---------------------------------------------------------------------------------------------


def fnum(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def nested(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        if a.ndim == 0:
            return fnum(a)
        return [nested(x) for x in a]
    if a.dtype.kind in "iub":
        return a.tolist()
    return repr(a.tolist())


def exact(obj, depth=0):
    """JSON-safe exact form of a printed/displayed object."""
    if depth > 6:
        return repr(obj)
    if isinstance(obj, (tf.Tensor, tf.Variable)):
        try:
            v = obj.numpy()
        except Exception:  # noqa: BLE001
            return repr(obj)
        return {"tensor": True, "dtype": obj.dtype.name, "shape": list(v.shape), "value": nested(v)}
    if isinstance(obj, np.ndarray):
        return {"ndarray": True, "dtype": obj.dtype.name, "shape": list(obj.shape), "value": nested(obj)}
    if isinstance(obj, np.generic):
        return {"numpy_scalar": True, "dtype": obj.dtype.name, "value": nested(obj)}
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return fnum(obj)
    if isinstance(obj, (list, tuple)):
        return [exact(x, depth + 1) for x in obj]
    if isinstance(obj, pd.DataFrame):
        return {"dataframe": True, "columns": [str(c) for c in obj.columns],
                "index": [int(i) for i in obj.index], "value": nested(obj.values)}
    return repr(obj)


# ---------------------------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.reset()

    def reset(self):
        self.uniform = []
        self.samples = []
        self.gradients = []
        self.applies = []
        self.keep_gradients = False
        self.apply_every = 0
        self.n_apply = 0


REC = Recorder()

_orig_uniform = tf.random.uniform


def _uniform(*a, **k):
    out = _orig_uniform(*a, **k)
    REC.uniform.append(nested(out.numpy()))
    return out


tf.random.uniform = _uniform

_orig_sample = pd.DataFrame.sample


def _sample(self, *a, **k):
    out = _orig_sample(self, *a, **k)
    REC.samples.append([int(i) for i in out.index])
    return out


pd.DataFrame.sample = _sample

_orig_gradient = tf.GradientTape.gradient


def _gradient(self, *a, **k):
    out = _orig_gradient(self, *a, **k)
    if REC.keep_gradients:
        REC.gradients.append(exact(out))
    return out


tf.GradientTape.gradient = _gradient

_opt_base = type(tf.keras.optimizers.SGD()).__mro__[1]  # tf_keras Optimizer (distributed) class
_orig_apply = _opt_base.apply_gradients


def _apply(self, grads_and_vars, *a, **k):
    grads_and_vars = list(grads_and_vars)
    out = _orig_apply(self, grads_and_vars, *a, **k)
    REC.n_apply += 1
    if REC.apply_every and (REC.n_apply % REC.apply_every == 0 or REC.n_apply == 1):
        REC.applies.append({"apply_call": REC.n_apply,
                            "grads": [exact(g) for g, _ in grads_and_vars],
                            "values_after": [exact(v) for _, v in grads_and_vars]})
    return out


_opt_base.apply_gradients = _apply


# ---------------------------------------------------------------------------------------------
# cell extraction
# ---------------------------------------------------------------------------------------------


def read_doc(prefix):
    for name in sorted(os.listdir(SEEDS)):
        if name.startswith(prefix):
            with open(os.path.join(SEEDS, name)) as f:
                return name, f.read()
    raise FileNotFoundError(prefix)


def fenced_cells(text):
    """```python fenced cells, with the 4-space-indented output block that follows each."""
    lines = text.split("\n")
    cells, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```python"):
            start = i + 1
            j = start
            while not lines[j].startswith("```"):
                j += 1
            code = "\n".join(lines[start:j])
            k = j + 1
            out = []
            while k < len(lines) and (lines[k].strip() == "" or lines[k].startswith("    ")):
                out.append(lines[k][4:])
                k += 1
            cells.append({"label": f"cell {len(cells) + 1}", "line": start + 1, "code": code,
                          "doc_output": "\n".join(out).strip("\n")})
            i = j + 1
        else:
            i += 1
    return cells


HEAD = r"#+ (Introduction|Manual|Implementation|Implemetation|Implementing|Working|Configure|A Dense|Repeating|Introducing)"
OUT_START = re.compile(
    r"^(\(\[|Results$|Unnamed: 0|CurrentLoss: tf|<tf\.Tensor|6\.0$|Sample Results|Here how|Now by|"
    r"Let's|From now|In this section|Problem|This time|We can use|" + HEAD + r"|In the final)"
)
PROSE = re.compile(r"^(Here how|Now by|Let's|From now|In this section|Problem|This time|We can use|"
                   + HEAD + r"|In the final)")


def notebook_cells(text):
    """'In [N]:' cells of document 004, each with the output text that follows it."""
    lines = text.split("\n")
    marks = [i for i, l in enumerate(lines) if re.match(r"^In \[\d+\]:$", l)]
    cells = []
    for k, m in enumerate(marks):
        end = marks[k + 1] if k + 1 < len(marks) else len(lines)
        body, out, in_out = [], [], False
        for l in lines[m + 1:end]:
            if not in_out and OUT_START.match(l):
                in_out = True
            if in_out:
                if PROSE.match(l):
                    break
                out.append(l)
            else:
                body.append(l)
        code = "\n".join(body).strip("\n")
        ast.parse(code)
        cells.append({"label": lines[m].rstrip(":"), "line": m + 2, "code": code,
                      "doc_output": "\n".join(out).strip("\n")})
    return cells


# ---------------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------------


def run_cell(cell, ns, keep_vars=(), keep_gradients=False, apply_every=0):
    REC.reset()
    REC.keep_gradients = keep_gradients
    REC.apply_every = apply_every
    buf = io.StringIO()
    prints = []

    def _print(*args, sep=" ", end="\n", file=None, flush=False):
        if file is not None and file is not sys.stdout:
            return builtins.print(*args, sep=sep, end=end, file=file)
        s = io.StringIO()
        builtins.print(*args, sep=sep, end=end, file=s)
        buf.write(s.getvalue())
        prints.append({"text": s.getvalue().rstrip("\n"), "args": [exact(a) for a in args]})

    ns["print"] = _print
    tree = ast.parse(cell["code"])
    display = None
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = tree.body[:-1] if last is not None else tree.body
    error = None
    try:
        exec(compile(ast.Module(body=body, type_ignores=[]), cell["label"], "exec"), ns)
        if last is not None:
            val = eval(compile(ast.Expression(last.value), cell["label"], "eval"), ns)
            if val is not None:
                r = re.sub(r" at 0x[0-9a-f]+", " at 0x...", repr(val))  # no memory addresses
                v = exact(val)
                display = {"repr": r, "value": re.sub(r" at 0x[0-9a-f]+", " at 0x...", v)
                           if isinstance(v, str) else v}
    except Exception as e:  # noqa: BLE001
        error = f"{type(e).__name__}: {e}"
    rec = {"label": cell["label"], "doc_line": cell["line"], "code": cell["code"],
           "doc_output": cell.get("doc_output", ""), "stdout": buf.getvalue(), "prints": prints}
    if display is not None:
        rec["display"] = display
    if error:
        rec["error"] = error
    if REC.uniform:
        rec["tf_random_uniform_outputs"] = REC.uniform
    if REC.samples:
        rec["dataframe_sample_indices"] = REC.samples
    if REC.gradients:
        rec["tape_gradients"] = REC.gradients
    if REC.applies:
        rec["apply_gradients_snapshots"] = REC.applies
    kept = {}
    for name in keep_vars:
        if name in ns:
            kept[name] = exact(ns[name])
    if kept:
        rec["variables_after_cell"] = kept
    return rec


def fresh_namespace():
    return {"__name__": "__main__", "__builtins__": builtins}


def write(name, data):
    path = os.path.join(HERE, name)
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def f32s(x):
    """Shortest string that round-trips the float32 value (numpy's float32 str)."""
    return str(np.float32(x))


def about(doc, extra):
    return (f"What TensorFlow prints when the code of ../shared/seeds/{doc} is run, generated by "
            f"data/tf_runs/run_documents.py with {VERSIONS}. {extra} Per cell: 'code' (as run), "
            "'doc_output' (the output the document shows), 'stdout' (what the run printed), 'prints' "
            "(each print call: its text and the exact values of its arguments; tensors/arrays as "
            "{dtype, shape, value}), 'display' (a notebook's display of the cell's last bare expression: "
            "repr and exact value), and where they occurred 'tf_random_uniform_outputs', "
            "'dataframe_sample_indices' (row labels pandas' DataFrame.sample drew), 'tape_gradients', "
            "'apply_gradients_snapshots' and 'variables_after_cell'. Floats: float64 reprs, float32 "
            'widened exactly; non-finite floats are "NaN"/"Infinity"/"-Infinity" strings.')


def run_all(cells, ns, specs=None):
    specs = specs or {}
    out = []
    for c in cells:
        out.append(run_cell(c, ns, **specs.get(c["label"], {})))
    return out


# ---------------------------------------------------------------------------------------------
# document 000: deterministic (no random numbers are drawn; 'import random' is unused)
# ---------------------------------------------------------------------------------------------


def doc000():
    name, text = read_doc("000_")
    cells = fenced_cells(text)
    ns = fresh_namespace()
    recs = run_all(cells, ns, {"cell 7": {"keep_vars": ["loss_history"], "apply_every": 1000}})
    a, b = ns["a"].numpy(), ns["b"].numpy()
    data = {
        "about": about(name, "The document sets no seed and draws no random numbers, so the run is "
                       "deterministic. 'apply_gradients_snapshots' in cell 7 hold the gradients fed to "
                       "and the values of [a, b] after apply_gradients calls 1, 1000, 2000, ..., 15000."),
        "document": name,
        "seeded": "no seed set; nothing random is used",
        "cells": recs,
        "result": {
            "a": fnum(a), "b": fnum(b), "a_float32_shortest": f32s(a), "b_float32_shortest": f32s(b),
            "a_float32_8_digits": "%.8g" % a, "b_float32_8_digits": "%.8g" % b,
            "a_float32_bits": "0x%08x" % np.float32(a).view(np.uint32),
            "b_float32_bits": "0x%08x" % np.float32(b).view(np.uint32),
            "printed": recs[6]["stdout"].strip(),
            "document_printed": "Final result: y = a: 4.9825, b: 2.9952",
            "expected_fact": "a = 4.9825082, b = 2.9951642",
            "matches_expected_fact": bool(np.float32(a) == np.float32("4.9825082")
                                          and np.float32(b) == np.float32("2.9951642")),
            "loss_history_len": len(ns["loss_history"]),
            "plot_title_cell8": f"Loss: y = {a:.02f}x + {b:.02f}",
        },
    }
    write("doc000.json", data)


# ---------------------------------------------------------------------------------------------
# document 004: seeded (tf.random.set_seed(42), np.random.seed(42), random.seed(42) in cells
# 16, 19, 22, 25); cells 1-15 draw nothing random
# ---------------------------------------------------------------------------------------------


def doc004():
    name, text = read_doc("004_")
    cells = notebook_cells(text)
    ns = fresh_namespace()
    sgd_vars = ["simple_loss_list", "simple_weight_list", "initial_weights"]
    dense_vars = ["initial_weights", "initial_bias", "weight_list", "bias_list", "loss_list", "error_margin"]
    specs = {
        "In [17]": {"keep_vars": sgd_vars, "keep_gradients": True},
        "In [18]": {"keep_vars": sgd_vars, "keep_gradients": True},
        "In [20]": {"keep_vars": ["x1", "x2", "x3"]},
        "In [21]": {"keep_vars": dense_vars, "keep_gradients": True},
        "In [23]": {"keep_vars": ["x1", "x2", "x3"]},
        "In [24]": {"keep_vars": dense_vars, "keep_gradients": True},
        "In [26]": {"keep_vars": ["x", "y"]},
        "In [27]": {"keep_vars": ["loss_list", "iterations"]},
    }
    recs = run_all(cells, ns, specs)
    if FRESH_SKLEARN:  # variant: cell 26's import is sklearn.datasets' first import in the process
        by = {r["label"]: r for r in recs}
        print(json.dumps({"In [27]": {"iterations": by["In [27]"]["variables_after_cell"]["iterations"],
                                     "losses_first_5": by["In [27]"]["variables_after_cell"]["loss_list"][:5]},
                          "In [28]": {"stdout": by["In [28]"]["stdout"]}}))
        return
    mlp = {}
    for k in ["custom_dense1", "custom_dense2"]:
        layer = ns.get(k)
        if layer is not None:
            mlp[k] = {"final_weights": exact(layer.trainable_variables[0]),
                      "final_biases": exact(layer.trainable_variables[1])}
    for k in ["weight_list1", "bias_list1", "weight_list2", "bias_list2"]:
        if k in ns and len(ns[k]):
            mlp[k + "_after_first_step"] = exact(ns[k][0])
            mlp[k + "_len"] = len(ns[k])
    data = {
        "about": about(name, "Run in one namespace in document order, like the notebook. Cells 16-18 "
                       "use tf.random.uniform (global seed 42 set in cell 16; op seeds follow from TF's "
                       "per-op counter, so the draws depend on the order of random ops since the "
                       "set_seed). Cells 19/22/25 call tf.random.set_seed(42), np.random.seed(42), "
                       "random.seed(42): GlorotUniform() (unseeded) draws from the TF global seed; the "
                       "data (np.random.normal, sklearn make_regression(random_state=42)) and "
                       "DataFrame.sample (numpy's global RandomState) from numpy. 'mlp' holds the final "
                       "weights of the two layers of cell 27 and their values after its first step."),
        "document": name,
        "seeded": "cells 16, 19, 22, 25 set tf/np/random seeds to 42",
        "random_sources": {
            "In [17]": "tf.random.uniform (row index)",
            "In [18]": "tf.random.uniform (row index)",
            "In [21]": "tf: GlorotUniform initial weights (seed set in In [19]); numpy: DataFrame.sample(1)",
            "In [20]": "np.random.normal",
            "In [23]": "np.random.normal",
            "In [24]": "tf: GlorotUniform initial weights (seed set in In [22]); numpy: DataFrame.sample(3)",
            "In [26]": "sklearn make_regression(random_state=42) (its own RandomState)",
            "In [27]": "tf: GlorotUniform for both layers (seed set in In [25]); numpy: DataFrame.sample(1)",
            "In [28]": "numpy: DataFrame.sample(1)",
        },
        "cells": recs,
        "mlp": mlp,
        "python_random_note": (
            "tf-keras 2.21's unseeded GlorotUniform() is a stateless initializer whose seed is "
            "random.randint(1, 10**9) from Python's global `random` module, drawn on first use; "
            "tf.random.set_seed does not affect it. So the initial weights of cells 21, 24, 27 follow "
            "from random.seed(42) (and whatever else drew from `random` since). With scikit-learn 1.9 "
            "the first import of sklearn.datasets draws from `random` (sklearn imports rich, and "
            "importing rich.style consumes random numbers); this script imports sklearn.datasets before "
            "running the cells, as the document's kernel evidently had. 'fresh_sklearn_import_variant' "
            "is cells 27-28 when the import in cell 26 is the first one (different MLP init)."),
        "fresh_sklearn_import_variant": fresh_variant(),
    }
    write("doc004.json", data)


def fresh_variant():
    import subprocess
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "004", "--fresh-sklearn-import"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# unseeded documents 001, 002, 003: 20 runs, run r seeded with np.random.seed(r), tf.random.set_seed(r)
# ---------------------------------------------------------------------------------------------

RUNS = 20


def spread(runs):
    """min / max / mean over runs of each number in the runs' 'final' records."""
    keys = runs[0].get("final", {}).keys()
    out = {}
    for k in keys:
        vals = [r["final"][k] for r in runs if isinstance(r["final"][k], float)]
        if vals:
            out[k] = {"min": min(vals), "max": max(vals), "mean": float(np.mean(vals))}
    return out


def seeded_runs(cells, keep=None, specs=None):
    runs = []
    for r in range(RUNS):
        plt.close("all")
        np.random.seed(r)
        tf.random.set_seed(r)
        ns = fresh_namespace()
        recs = run_all(cells, ns, specs)
        runs.append({"run": r, "np_seed": r, "tf_seed": r, "cells": recs, **(keep(ns) if keep else {})})
    return runs


def slim(runs):
    """Keep code and doc_output once (in 'cells_code'); runs keep only stdout, display, errors."""
    keep = ("label", "stdout", "display", "error")
    return [{**r, "cells": [{k: v for k, v in c.items() if k in keep}
                            for c in r["cells"] if c["stdout"] or c.get("display") or c.get("error")]}
            for r in runs]


def cells_code(cells):
    return [{"label": c["label"], "doc_line": c["line"], "code": c["code"], "doc_output": c["doc_output"]}
            for c in cells]


def doc001():
    name, text = read_doc("001_")
    cells = fenced_cells(text)

    def keep(ns):
        return {"final": {"w0": fnum(ns["w0"].numpy()), "w1": fnum(ns["w1"].numpy())}}

    runs = seeded_runs(cells, keep)
    data = {"about": about(name, f"The document is unseeded (np.random.rand). Run {RUNS} times; run r "
                           "calls np.random.seed(r) and tf.random.set_seed(r) before the first cell."),
            "document": name, "seeded": "no: np.random.rand draws the data",
            "cells_code": cells_code(cells), "spread_of_final": spread(runs), "runs": slim(runs)}
    write("doc001.json", data)


DOC002_CELLS = [
    ("import", "import tensorflow as tf\nimport numpy as np\nimport matplotlib.pyplot as plt"),
    ("parameters", """# number of training samples to create
n_samples = 10000
# `m` and `c` are coefficient and bias to get the initial `y`
m = 9
c = -2
mean = 0.0 # mean of the training data distribution to create
std = 1.0 # standard deviation of the of the training data distribution to create
# number of training epochs
num_epochs = 3000
# learning rate
learning_rate = 0.001"""),
    ("create_dataset", """def create_dataset(n_samples, m, c):
    # create the sample dataset
    x = np.random.normal(mean, std, n_samples)
    random_noise = np.random.normal(mean, std, n_samples)
    y = m*x + c + random_noise
    x_train, y_train = x[:8000], y[:8000]
    x_test, y_test = x[8000:], y[8000:]
    return x_train, y_train, x_test, y_test"""),
    ("call_create_dataset", """x_train, y_train, x_test, y_test = create_dataset(n_samples, m, c)
print(f"Training samples: {len(x_train)}")
print(f"Test samples: {len(x_test)}")
plt.figure(figsize=(12, 9))
plt.scatter(x_train, y_train)
plt.xlabel('x_train')
plt.ylabel('y_train')
plt.title('Training data distribution')
plt.savefig('training_data.jpg')"""),
    ("init_weights", """# random initial values for weights
W = tf.Variable(np.random.randn())
B = tf.Variable(np.random.randn())
print(W)
print(B)"""),
    ("pred", '''def pred(x, W, B):
    """
    calculate y_hat = m*x + c with learned weights and biases.
    y_hat is the prediction
    """
    y_hat = W*x + B
    return y_hat'''),
    ("loss", '''def loss(x, y, W, B):
    """
    Mean squared error loss function
    """
    prediction = pred(x, W, B)
    squared_error = tf.square(prediction - y)
    # finally calculate the MSE (Mean Sqaured Error)
    mse = tf.reduce_mean(squared_error)
    return mse'''),
    ("calculate_gradient", '''def calculate_gradient(x, y, W, B):
    """
    Calculate the derivative of the loss
    """
    with tf.GradientTape() as tape:
        loss_value = loss(x, y, W, B)
    w_grad, b_grad = tape.gradient(loss_value, [W, B])
    return w_grad, b_grad'''),
    ("train", """for epoch in range(num_epochs):
    w_grad, b_grad = calculate_gradient(x_train, y_train, W, B)
    dW, dB = w_grad * learning_rate, b_grad * learning_rate
    W.assign_sub(dW)
    B.assign_sub(dB)
    if epoch % 10 == 0:
        print(f"Epoch: {epoch}, loss {loss(x_train, y_train, W, B):.3f}")"""),
    ("final_values", """# check whether we get the desired `m` and `c` or not
print(f"Learned W: {W.numpy()}, learned B: {B.numpy()}")"""),
    ("plot_test", """# plot the test set
plt.figure(figsize=(12, 9))
plt.scatter(x_test, y_test)
plt.xlabel('x_test')
plt.ylabel('y_test')
plt.title('Test data distribution')
plt.savefig('test_data.jpg')"""),
    ("test_loss", """test_loss = loss(x_test, y_test, W, B)
print(f"Test loss: {test_loss:.3f}")"""),
    ("predict_test", """# predicted y on on the test set
y_test_predicted = W.numpy()*x_test + B.numpy()
# plot the predicted y values on the test data distribution
plt.figure(figsize=(12, 9))
plt.plot(x_test, y_test_predicted, c='red')
plt.scatter(x_test, y_test)
plt.xlabel('x_test')
plt.ylabel('y_test')
plt.title('Test data distribution and predicted y plot')
plt.savefig('test_data_with_predicted_y_values.jpg')"""),
]

DOC002_PRINTED = {
    "call_create_dataset": "Training samples: 8000 Test samples: 2000",
    "init_weights": "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=1.4115247> "
                    "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.7143893>",
    "train": "Epoch: 0, loss 51.641 Epoch: 10, loss 49.641 Epoch: 20, loss 47.720 ... "
             "Epoch: 2990, loss 1.004",
    "final_values": "Learned W: 8.967373847961426, learned B: -2.011993169784546",
    "test_loss": "Test loss: 0.928",
}


def doc002():
    name, _ = read_doc("002_")
    cells = [{"label": k, "line": None, "code": v, "doc_output": DOC002_PRINTED.get(k, "")}
             for k, v in DOC002_CELLS]

    def keep(ns):
        return {"final": {"W": fnum(ns["W"].numpy()), "B": fnum(ns["B"].numpy()),
                          "test_loss": fnum(ns["test_loss"].numpy())}}

    runs = seeded_runs(cells, keep)
    for r in runs:  # displays of plt calls carry no numbers
        for c in r["cells"]:
            c.pop("display", None)
    data = {"about": about(name, "The document is unseeded (np.random.normal, np.random.randn). Its "
                           "code lost its line breaks in the scraped page; it is transcribed in "
                           f"DOC002_CELLS of the script. Run {RUNS} times; run r calls np.random.seed(r) "
                           "and tf.random.set_seed(r) before the first cell."),
            "document": name, "seeded": "no: numpy's global RandomState draws data and initial W, B",
            "cells_code": cells_code(cells), "spread_of_final": spread(runs), "runs": slim(runs)}
    write("doc002.json", data)


def doc003():
    name, text = read_doc("003_")
    cells = fenced_cells(text)
    for c in cells:
        c["code"] = c["code"].replace("%tensorflow_version 2.x", "pass")

    def keep(ns):
        return {"final": {"w": fnum(ns["model"].w.numpy()), "b": fnum(ns["model"].b.numpy())}}

    runs = seeded_runs(cells, keep)
    for r in runs:
        for c in r["cells"]:
            c.pop("display", None)
    data = {"about": about(name, f"The document is unseeded (tf.random.normal with no global seed). Run "
                           f"{RUNS} times; run r calls np.random.seed(r) and tf.random.set_seed(r) before "
                           "the first cell. The Colab magic '%tensorflow_version 2.x' is replaced by "
                           "'pass' (outside IPython it is a syntax error; the document wraps it in "
                           "try/except)."),
            "document": name, "seeded": "no: tf.random.normal draws the data",
            "cells_code": cells_code(cells), "spread_of_final": spread(runs), "runs": slim(runs)}
    write("doc003.json", data)


DOCS = {"000": doc000, "001": doc001, "002": doc002, "003": doc003, "004": doc004}


def main(argv):
    for d in [a for a in argv[1:] if not a.startswith("--")] or list(DOCS):
        DOCS[d]()


if __name__ == "__main__":
    main(sys.argv)
