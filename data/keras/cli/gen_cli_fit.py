"""tf-keras 2.21's fit of the model `tapegrad fit` builds, on regression.csv, for the CLI's test.

regression.csv is `tapegrad data make-regression --n-samples 64 --n-features 3 --random-state 1
--noise 0.1` (scikit-learn's make_regression value for value). Each case is the command's
flags and tf-keras's history and weights for them: Dense layers with
GlorotUniform(seed=S+i) kernels and zero biases, shuffle=False.

    TF_USE_LEGACY_KERAS=1 python data/keras/cli/gen_cli_fit.py
"""
import json, os
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow as tf
import tf_keras as keras

here = os.path.dirname(os.path.abspath(__file__))
data = np.genfromtxt(os.path.join(here, "regression.csv"), delimiter=",", names=True)
cols = data.dtype.names
x = np.stack([data[c] for c in cols if c != "y"], axis=1).astype(np.float32)
y = data["y"].astype(np.float32).reshape(-1, 1)

cases = [
    dict(layers=[(8, "relu"), (1, None)], seed=11, optimizer="adam", lr=0.01, momentum=None,
         loss="mse", metrics=["mae"], epochs=3, batch=16, split=0.25),
    dict(layers=[(4, "tanh"), (1, None)], seed=3, optimizer="sgd", lr=0.001, momentum=0.9,
         loss="huber", metrics=[], epochs=4, batch=10, split=0.0),
]
out = []
for c in cases:
    model = keras.Sequential([keras.Input((x.shape[1],))] + [
        keras.layers.Dense(u, activation=a,
                           kernel_initializer=keras.initializers.GlorotUniform(seed=c["seed"] + i))
        for i, (u, a) in enumerate(c["layers"])])
    if c["optimizer"] == "sgd":
        opt = keras.optimizers.SGD(learning_rate=c["lr"], momentum=c["momentum"] or 0.0)
    else:
        opt = keras.optimizers.Adam(learning_rate=c["lr"])
    model.compile(optimizer=opt, loss=c["loss"], metrics=c["metrics"])
    initial = [w.tolist() for w in model.get_weights()]
    h = model.fit(x, y, epochs=c["epochs"], batch_size=c["batch"], shuffle=False,
                  validation_split=c["split"], verbose=0)
    args = ["--target", "y", "--layers", ",".join(f"{u}:{a}" if a else str(u) for u, a in c["layers"]),
            "--seed", str(c["seed"]), "--optimizer", c["optimizer"], "--learning-rate", str(c["lr"]),
            "--loss", c["loss"], "--epochs", str(c["epochs"]), "--batch-size", str(c["batch"]),
            "--no-shuffle", "--validation-split", str(c["split"])]
    if c["momentum"]:
        args += ["--momentum", str(c["momentum"])]
    if c["metrics"]:
        args += ["--metrics", ",".join(c["metrics"])]
    out.append(dict(args=args, history={k: [float(v) for v in vs] for k, vs in h.history.items()},
                    initial_weights=initial, weights=[w.tolist() for w in model.get_weights()]))
with open(os.path.join(here, "cli_fit.json"), "w") as f:
    json.dump(dict(tensorflow=tf.__version__, cases=out), f)
print("wrote", len(out), "cases")
