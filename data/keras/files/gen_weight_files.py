"""Weight files written by Keras 3 / h5py / numpy / safetensors, for crates/saving's tests,
and the check of the files our code wrote (`--verify`).

    /work/venv-tf/bin/python data/keras/files/gen_weight_files.py           # writes keras/*
    /work/venv-tf/bin/python data/keras/files/gen_weight_files.py --verify  # checks ours/*

The model: Input(3) -> Dense(4, relu, name="dense") -> Dense(2, name="dense_1"), kernels
GlorotUniform(seed=11 / 12), trained 3 Adam steps (lr 0.01) on fixed data so that the biases and
the optimizer's slots are not zeros. `expected.json` holds every value written, as float32 bit
patterns (hex), so that the Rust tests compare bit for bit.

`keras/named.weights.h5`: the trained weights in layers named `hidden` and `out` (Keras 3 keys
the groups by class: layers/dense, layers/dense_1; the names are attributes).

`keras/never_stepped.weights.h5`: the trained weights in a model compiled with Adam but never
trained (its optimizer/vars: iterations 0 and the learning rate, no slots).

`keras/layers.keras` (expected.json's `layers`): a Sequential of every layer tapegrad reads —
Input(2, 3) -> Normalization (adapted) -> Flatten -> Dense(8, relu) -> BatchNormalization ->
Dropout(0.25, seed 3) -> LayerNormalization -> Normalization (given mean and variance) ->
Dense(2) — trained 2 epochs with Adam(0.01) so that every weight moved, with
its inference outputs on `x`. `--verify` loads `ours/layers.keras` (written by
`cargo run -p tapegrad-saving --example write_fixtures` from that archive, trained on here)
and `ours/named_layers.keras` (every layer under names of ours, with non-default settings),
and records what it found in `ours/verified.json`.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KERAS_DIR = os.path.join(HERE, "keras")
OURS_DIR = os.path.join(HERE, "ours")


def bits(a):
    a = np.asarray(a)
    if a.dtype == np.float32:
        return {"dtype": "float32", "shape": list(a.shape),
                "bits": [f"{int(x):08x}" for x in a.reshape(-1).view(np.uint32)]}
    if a.dtype == np.int64:
        return {"dtype": "int64", "shape": list(a.shape), "values": [int(x) for x in a.reshape(-1)]}
    raise TypeError(a.dtype)


def unbits(e):
    if e["dtype"] == "float32":
        flat = np.array([int(b, 16) for b in e["bits"]], dtype=np.uint32).view(np.float32)
    else:
        flat = np.array(e["values"], dtype=np.int64)
    return flat.reshape(e["shape"])


def model():
    return keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(4, activation="relu", name="dense",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=11)),
        keras.layers.Dense(2, name="dense_1",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=12)),
    ])


def data():
    x = np.arange(24, dtype=np.float32).reshape(8, 3) / 10.0
    y = np.stack([x.sum(1), x[:, 0] - x[:, 2]], 1).astype(np.float32)
    return x, y


def layers_data():
    x = ((np.arange(96, dtype=np.float32).reshape(16, 2, 3) * 7) % 11) / 4.0 - 1.0
    flat = x.reshape(16, 6)
    y = np.stack([flat.sum(1), flat[:, 0] * flat[:, 5]], 1).astype(np.float32)
    return x, y


def layers_model(x):
    norm = keras.layers.Normalization(axis=-1, name="normalization")
    norm.adapt(x)
    return keras.Sequential([
        keras.Input((2, 3)),
        norm,
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(8, activation="relu", name="dense",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=21)),
        keras.layers.BatchNormalization(momentum=0.9, name="batch_normalization"),
        keras.layers.Dropout(0.25, seed=3, name="dropout"),
        keras.layers.LayerNormalization(epsilon=1e-5, name="layer_normalization"),
        keras.layers.Normalization(mean=[0.5, -0.5, 0.0, 1.0, 0.25, -1.0, 2.0, 0.0],
                                   variance=[1.0, 4.0, 0.25, 0.5, 2.0, 1.0, 0.5, 9.0],
                                   name="normalization_1"),
        keras.layers.Dense(2, name="dense_1",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=22)),
    ], name="every_layer")


def generate_layers():
    x, y = layers_data()
    m = layers_model(x)
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    m.save(os.path.join(KERAS_DIR, "layers.keras"))
    return {
        "names": [f"{layer.name}/{w.name}" for layer in m.layers for w in layer.weights],
        "weights": [bits(np.asarray(w)) for w in m.weights],
        "x": bits(x),
        "y": bits(y),
        "predict": bits(np.asarray(m(x, training=False))),
        "layer_configs": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                          for layer in m.layers],
    }


def generate():
    os.makedirs(KERAS_DIR, exist_ok=True)
    m = model()
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x, y = data()
    m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 2 steps
    m.train_on_batch(x[:4], y[:4])  # a third
    names = [f"{layer.name}/{w.name}" for layer in m.layers for w in layer.weights]
    weights = [np.asarray(w) for w in m.get_weights()]
    m.save_weights(os.path.join(KERAS_DIR, "trained.weights.h5"))  # with optimizer/vars
    m.save(os.path.join(KERAS_DIR, "trained.keras"))
    plain = model()
    plain.set_weights(weights)
    plain.save_weights(os.path.join(KERAS_DIR, "plain.weights.h5"))  # no optimizer
    bad_files(os.path.join(KERAS_DIR, "plain.weights.h5"))
    np.savez(os.path.join(KERAS_DIR, "weights.npz"), **dict(zip(names, weights)))
    from safetensors.numpy import save_file
    save_file(dict(zip(names, weights)), os.path.join(KERAS_DIR, "weights.safetensors"))
    # Nadam keeps its running product u_product after the slots
    n = model()
    n.compile(optimizer=keras.optimizers.Nadam(0.01), loss="mse")
    n.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    n.save_weights(os.path.join(KERAS_DIR, "nadam.weights.h5"))
    # layers named otherwise: Keras keys the groups by class (layers/dense, layers/dense_1)
    named = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(4, activation="relu", name="hidden"),
        keras.layers.Dense(2, name="out"),
    ], name="named")
    named.set_weights(weights)
    named.save_weights(os.path.join(KERAS_DIR, "named.weights.h5"))
    # compiled, never trained: optimizer/vars holds iterations (0) and the learning rate only
    never = model()
    never.set_weights(weights)
    never.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    never.save_weights(os.path.join(KERAS_DIR, "never_stepped.weights.h5"))
    expected = {
        "layers": generate_layers(),
        "nadam": {"weights": [bits(np.asarray(w)) for w in n.get_weights()],
                  "optimizer": [bits(np.asarray(v)) for v in n.optimizer.variables]},
        "keras_version": keras.__version__,
        "names": names,
        "weights": [bits(w) for w in weights],
        "optimizer": [bits(np.asarray(v)) for v in m.optimizer.variables],
        "predict": bits(m.predict(x, verbose=0)),
        "x": bits(x),
    }
    with open(os.path.join(KERAS_DIR, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", sorted(os.listdir(KERAS_DIR)))


def bad_files(plain):
    """Copies of plain.weights.h5 that h5py changed: a float16 kernel, a layer renamed."""
    import shutil
    import h5py
    half = os.path.join(KERAS_DIR, "float16.weights.h5")
    shutil.copy(plain, half)
    with h5py.File(half, "r+") as f:
        k = f["layers/dense/vars/0"][()]
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = k.astype(np.float16)
    renamed = os.path.join(KERAS_DIR, "renamed.weights.h5")
    shutil.copy(plain, renamed)
    with h5py.File(renamed, "r+") as f:
        f.move("layers/dense_1", "layers/output")


def same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def verify():
    """Loads the files our tests wrote (ours/, with ours/expected.json) into Keras 3."""
    with open(os.path.join(OURS_DIR, "expected.json")) as f:
        exp = json.load(f)
    want = [unbits(e) for e in exp["weights"]]
    want_opt = [unbits(e) for e in exp["optimizer"]]
    ok = True
    results = []

    def report(name, good):
        nonlocal ok
        ok &= good
        results.append(("ok  " if good else "FAIL") + " " + name)
        print(results[-1])

    m = model()
    m.load_weights(os.path.join(OURS_DIR, "plain.weights.h5"))
    report("plain.weights.h5", all(same(np.asarray(a), b) for a, b in zip(m.get_weights(), want)))

    m = model()
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    m.optimizer.build(m.trainable_variables)
    m.load_weights(os.path.join(OURS_DIR, "trained.weights.h5"))
    got_opt = [np.asarray(v) for v in m.optimizer.variables]
    report("trained.weights.h5 (weights)",
           all(same(np.asarray(a), b) for a, b in zip(m.get_weights(), want)))
    report("trained.weights.h5 (optimizer)",
           len(got_opt) == len(want_opt) and all(same(a, b) for a, b in zip(got_opt, want_opt)))

    arrays = np.load(os.path.join(OURS_DIR, "weights.npz"))
    report("weights.npz", all(same(arrays[n], w) for n, w in zip(exp["names"], want)))

    from safetensors.numpy import load_file
    st = load_file(os.path.join(OURS_DIR, "weights.safetensors"))
    report("weights.safetensors", all(same(st[n], w) for n, w in zip(exp["names"], want)))

    path = os.path.join(OURS_DIR, "model.keras")
    if os.path.exists(path):
        k = keras.saving.load_model(path)
        report("model.keras (weights)",
               all(same(np.asarray(a), b) for a, b in zip(k.get_weights(), want)))
        x = unbits(exp["x"])
        # the weights are bit for bit; predictions within float32 rounding (TF's matmul
        # sums in its own order)
        got, want = k.predict(x, verbose=0), unbits(exp["predict"])
        rel = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)))
        report(f"model.keras (predict, max relative difference {rel:.1e})", rel <= 1e-6)
        model_config = json.loads(k.to_json())["config"]["layers"]
        report("model.keras (activations)",
               [c["config"].get("activation") for c in model_config
                if c["class_name"] == "Dense"] == ["relu", "linear"])
    path = os.path.join(OURS_DIR, "layers.keras")
    if os.path.exists(path):
        lay = exp["layers"]
        k = keras.saving.load_model(path)
        want = [unbits(e) for e in lay["weights"]]
        got_w = [np.asarray(w) for w in k.weights]
        report("layers.keras (weights, bit for bit)",
               len(got_w) == len(want) and all(same(a, b) for a, b in zip(got_w, want)))
        x = unbits(lay["x"])
        got, want_y = np.asarray(k(x, training=False)), unbits(lay["predict"])
        rel = float(np.max(np.abs(got - want_y) / np.maximum(np.abs(want_y), 1.0)))
        report(f"layers.keras (predict, max relative difference {rel:.1e})", rel <= 1e-6)
        classes = [type(layer).__name__ for layer in k.layers]
        report(f"layers.keras (layers {classes})", classes == [c["class_name"] for c in json.load(open(os.path.join(KERAS_DIR, "expected.json")))["layers"]["layer_configs"]])
        # and it trains in Keras
        y = unbits(exp["layers"]["y"])
        k.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        before = float(k.evaluate(x, y, verbose=0))
        k.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
        after = float(k.evaluate(x, y, verbose=0))
        report(f"layers.keras (trains in Keras: loss {before:.4f} -> {after:.4f})", after < before)
        with open(os.path.join(OURS_DIR, "verified.json"), "w") as f:
            json.dump({"keras_version": keras.__version__, "file": "layers.keras",
                       "classes": classes, "weights_bit_for_bit": all(
                           same(a, b) for a, b in zip(got_w, want)),
                       "predict_max_relative_difference": rel,
                       "loss_before_fit": before, "loss_after_fit": after,
                       "results": results}, f, indent=1)
            f.write("\n")
    path = os.path.join(OURS_DIR, "named_layers.keras")
    if os.path.exists(path):
        nl = exp["named_layers"]
        k = keras.saving.load_model(path)
        want = [unbits(e) for e in nl["weights"]]
        got_w = [np.asarray(w) for w in k.weights]
        report("named_layers.keras (weights, bit for bit)",
               len(got_w) == len(want) and all(same(a, b) for a, b in zip(got_w, want)))
        x = unbits(nl["x"])
        got, want_y = np.asarray(k(x, training=False)), unbits(nl["predict"])
        rel = float(np.max(np.abs(got - want_y) / np.maximum(np.abs(want_y), 1.0)))
        report(f"named_layers.keras (predict, max relative difference {rel:.1e})", rel <= 1e-6)
        report("named_layers.keras (names)", [layer.name for layer in k.layers] == nl["names"])
    verified = os.path.join(OURS_DIR, "verified.json")
    if os.path.exists(verified):
        with open(verified) as f:
            record = json.load(f)
        record["results"] = results
        with open(verified, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
    print("all ok" if ok else "SOME FAILED")
    return ok


if __name__ == "__main__":
    if "--verify" in sys.argv:
        sys.exit(0 if verify() else 1)
    generate()
