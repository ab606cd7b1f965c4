"""Peers for `cargo xtask bench-peers`: the issue-6 training steps in TensorFlow (eager and
tf.function), PyTorch eager, JAX jit and numpy by hand, on the same data as the Rust benches
(`benches/src/lib.rs`: the same LCG draws, the same initial weights).

Prints one JSON object per line: {"peer", "workload", "us"} for a measurement (median of
several timed batches, microseconds per step), {"peer", "missing": reason} for a peer whose
package cannot be imported. Usage: python peers.py [--peers tf,tf.function,torch,jax,numpy]
[--only WORKLOAD]... [--batch-seconds 0.05]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402  (numpy is required; the xtask reports its absence)

WORKLOADS = [
    "two-weights",
    "scratch-regression",
    "tape-regression",
    "custom-training",
    "depth-dense-sgd",
    "depth-dense-minibatch",
    "depth-mlp",
]


# ---------------------------------------------------------------------------------------------
# The data of benches/src/lib.rs


def uniform_data(n, seed):
    """`uniform_data(n, seed)`: a 32-bit LCG, values (s >> 8) / 2^23 - 1 (exact in float32)."""
    m = 1 << 32
    s = (seed * 2654435761 + 12345) % m
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        s = (s * 1664525 + 1013904223) % m
        out[i] = (s >> 8) / float(1 << 23) - 1.0
    return out


def linear_data(n):
    x = uniform_data(n, 1)
    noise = uniform_data(n, 2)
    y = (np.float32(3.0) * x + np.float32(2.0) + np.float32(0.25) * noise).astype(np.float32)
    return x, y


def dense_data(batch, features):
    x = uniform_data(batch * features, 3).reshape(batch, features)
    coef = np.array([j % 5 for j in range(features)], dtype=np.float32)
    y = ((x * coef - np.float32(1.0)).sum(axis=1) + np.float32(5.0)).astype(np.float32)
    return x, y.reshape(batch, 1)


def dense_init(rows, cols, seed):
    scale = np.float32(1.0) / np.float32(np.sqrt(np.float32(rows)))
    return (uniform_data(rows * cols, seed) * scale).reshape(rows, cols).astype(np.float32)


LINEAR = {
    # name: (n, learning rate, loss uses pow)
    "scratch-regression": (100, 0.05, True),
    "tape-regression": (8000, 0.001, False),
    "custom-training": (1000, 0.1, False),
}
DENSE = {
    # name: (batch, features, hidden, learning rate)
    "depth-dense-sgd": (1, 3, 0, 0.1),
    "depth-dense-minibatch": (3, 3, 0, 0.1),
    "depth-mlp": (1, 10, 10, 0.01),
}


def two_weights_data():
    x = np.arange(0, 100, 2, dtype=np.float32)
    return x, (x * np.float32(5.0) + np.float32(3.0)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Timing


def median_us(step, batch_seconds):
    for _ in range(5):
        step()
    reps = 1
    while True:
        t = time.perf_counter()
        for _ in range(reps):
            step()
        if time.perf_counter() - t > batch_seconds or reps > 1 << 20:
            break
        reps *= 2
    times = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(reps):
            step()
        times.append((time.perf_counter() - t) / reps)
    times.sort()
    return times[len(times) // 2] * 1e6


# ---------------------------------------------------------------------------------------------
# numpy by hand: the gradient written out, as a user without an autodiff library writes it


def numpy_steps():
    steps = {}
    x, y = two_weights_data()
    st = {"a": np.float32(0.0), "b": np.float32(0.0)}

    def two_weights():
        r = y - (st["a"] * x + st["b"])
        s = -np.sign(r)
        st["a"] = st["a"] - np.float32(1e-4) * (s * x).sum()
        st["b"] = st["b"] - np.float32(1e-4) * s.sum()

    steps["two-weights"] = two_weights
    for name, (n, lr, _) in LINEAR.items():
        lx, ly = linear_data(n)
        p = {"w": np.float32(0.0), "b": np.float32(0.0)}

        def linear(lx=lx, ly=ly, p=p, lr=np.float32(lr)):
            e = p["w"] * lx + p["b"] - ly
            p["w"] = p["w"] - lr * np.float32(2.0) * (e * lx).mean()
            p["b"] = p["b"] - lr * np.float32(2.0) * e.mean()

        steps[name] = linear
    for name, (batch, features, hidden, lr) in DENSE.items():
        dx, dy = dense_data(batch, features)
        lr = np.float32(lr)
        if hidden:
            w1, b1 = dense_init(features, hidden, 4), np.zeros(hidden, np.float32)
        w2, b2 = dense_init(hidden or features, 1, 5), np.zeros(1, np.float32)
        params = {"w1": w1 if hidden else None, "b1": b1 if hidden else None, "w2": w2, "b2": b2}

        def dense(dx=dx, dy=dy, p=params, hidden=hidden, lr=lr):
            if hidden:
                z = dx @ p["w1"] + p["b1"]
                h = np.maximum(z, 0)
            else:
                h = dx
            out = h @ p["w2"] + p["b2"]
            d = (out - dy) * np.float32(2.0 / len(dx))
            gw2, gb2 = h.T @ d, d.sum(axis=0)
            if hidden:
                dh = (d @ p["w2"].T) * (z > 0)
                p["w1"] -= lr * (dx.T @ dh)
                p["b1"] -= lr * dh.sum(axis=0)
            p["w2"] -= lr * gw2
            p["b2"] -= lr * gb2

        steps[name] = dense
    return steps


# ---------------------------------------------------------------------------------------------
# TensorFlow: eager (as the documents write it) and the same step under tf.function


def tf_steps(compiled):
    import tensorflow as tf

    steps = {}

    def wrap(f):
        return tf.function(f) if compiled else f

    x, y = two_weights_data()
    tx, ty = tf.constant(x), tf.constant(y)
    a, b = tf.Variable(0.0), tf.Variable(0.0)

    @wrap
    def two_weights():
        with tf.GradientTape() as tape:
            loss = tf.abs(ty - (tx * a + b))
        ga, gb = tape.gradient(loss, [a, b])
        a.assign_sub(1e-4 * ga)
        b.assign_sub(1e-4 * gb)

    steps["two-weights"] = two_weights
    for name, (n, lr, with_pow) in LINEAR.items():
        lx, ly = linear_data(n)
        lx, ly = tf.constant(lx), tf.constant(ly)
        w, bb = tf.Variable(0.0), tf.Variable(0.0)

        def linear(lx=lx, ly=ly, w=w, bb=bb, lr=lr, with_pow=with_pow):
            with tf.GradientTape() as tape:
                e = w * lx + bb - ly
                loss = tf.reduce_mean(e**2 if with_pow else tf.square(e))
            gw, gb = tape.gradient(loss, [w, bb])
            w.assign_sub(lr * gw)
            bb.assign_sub(lr * gb)

        steps[name] = wrap(linear)
    for name, (batch, features, hidden, lr) in DENSE.items():
        dx, dy = dense_data(batch, features)
        dx, dy = tf.constant(dx), tf.constant(dy)
        layers = []
        if hidden:
            layers.append(
                tf.keras.layers.Dense(
                    hidden,
                    activation="relu",
                    kernel_initializer=tf.constant_initializer(dense_init(features, hidden, 4)),
                )
            )
        layers.append(
            tf.keras.layers.Dense(
                1, kernel_initializer=tf.constant_initializer(dense_init(hidden or features, 1, 5))
            )
        )
        model = tf.keras.Sequential(layers)
        model.build((None, features))
        opt = tf.keras.optimizers.SGD(lr)
        mse = tf.keras.losses.MeanSquaredError()

        def dense(dx=dx, dy=dy, model=model, opt=opt, mse=mse):
            with tf.GradientTape() as tape:
                loss = mse(dy, model(dx))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))

        steps[name] = wrap(dense)
    return steps


# ---------------------------------------------------------------------------------------------
# PyTorch eager


def torch_steps():
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    steps = {}
    x, y = two_weights_data()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    a = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)

    def two_weights():
        loss = torch.abs(ty - (tx * a + b)).sum()
        ga, gb = torch.autograd.grad(loss, [a, b])
        with torch.no_grad():
            a.sub_(1e-4 * ga)
            b.sub_(1e-4 * gb)

    steps["two-weights"] = two_weights
    for name, (n, lr, with_pow) in LINEAR.items():
        lx, ly = linear_data(n)
        lx, ly = torch.from_numpy(lx), torch.from_numpy(ly)
        w = torch.zeros((), requires_grad=True)
        bb = torch.zeros((), requires_grad=True)

        def linear(lx=lx, ly=ly, w=w, bb=bb, lr=lr, with_pow=with_pow):
            e = w * lx + bb - ly
            loss = (e**2 if with_pow else torch.square(e)).mean()
            gw, gb = torch.autograd.grad(loss, [w, bb])
            with torch.no_grad():
                w.sub_(lr * gw)
                bb.sub_(lr * gb)

        steps[name] = linear
    for name, (batch, features, hidden, lr) in DENSE.items():
        dx, dy = dense_data(batch, features)
        dx, dy = torch.from_numpy(dx), torch.from_numpy(dy)
        mods = []
        if hidden:
            l1 = torch.nn.Linear(features, hidden)
            with torch.no_grad():
                l1.weight.copy_(torch.from_numpy(dense_init(features, hidden, 4).T.copy()))
                l1.bias.zero_()
            mods += [l1, torch.nn.ReLU()]
        l2 = torch.nn.Linear(hidden or features, 1)
        with torch.no_grad():
            l2.weight.copy_(torch.from_numpy(dense_init(hidden or features, 1, 5).T.copy()))
            l2.bias.zero_()
        mods.append(l2)
        model = torch.nn.Sequential(*mods)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        mse = torch.nn.MSELoss()

        def dense(dx=dx, dy=dy, model=model, opt=opt, mse=mse):
            opt.zero_grad()
            loss = mse(model(dx), dy)
            loss.backward()
            opt.step()

        steps[name] = dense
    return steps


# ---------------------------------------------------------------------------------------------
# JAX: the step (loss, grad and update) under jax.jit; parameters threaded through


def jax_steps():
    import jax
    import jax.numpy as jnp

    steps = {}

    def make(step_fn, params, *data):
        jitted = jax.jit(step_fn)
        state = {"p": params}

        def run():
            state["p"] = jitted(state["p"], *data)
            jax.block_until_ready(state["p"])

        return run

    x, y = two_weights_data()

    def two_weights(p, x, y):
        g = jax.grad(lambda p: jnp.sum(jnp.abs(y - (x * p[0] + p[1]))))(p)
        return (p[0] - 1e-4 * g[0], p[1] - 1e-4 * g[1])

    steps["two-weights"] = make(two_weights, (jnp.float32(0), jnp.float32(0)), jnp.asarray(x), jnp.asarray(y))
    for name, (n, lr, with_pow) in LINEAR.items():
        lx, ly = linear_data(n)

        def linear(p, x, y, lr=lr):
            def loss(p):
                return jnp.mean(jnp.square(p[0] * x + p[1] - y))

            g = jax.grad(loss)(p)
            return (p[0] - lr * g[0], p[1] - lr * g[1])

        steps[name] = make(linear, (jnp.float32(0), jnp.float32(0)), jnp.asarray(lx), jnp.asarray(ly))
    for name, (batch, features, hidden, lr) in DENSE.items():
        dx, dy = dense_data(batch, features)
        params = {"w2": jnp.asarray(dense_init(hidden or features, 1, 5)), "b2": jnp.zeros(1, jnp.float32)}
        if hidden:
            params["w1"] = jnp.asarray(dense_init(features, hidden, 4))
            params["b1"] = jnp.zeros(hidden, jnp.float32)

        def dense(p, x, y, lr=lr, hidden=hidden):
            def loss(p):
                h = jax.nn.relu(x @ p["w1"] + p["b1"]) if hidden else x
                return jnp.mean(jnp.square(h @ p["w2"] + p["b2"] - y))

            g = jax.grad(loss)(p)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g)

        steps[name] = make(dense, params, jnp.asarray(dx), jnp.asarray(dy))
    return steps


PEERS = {
    "tf": lambda: tf_steps(False),
    "tf.function": lambda: tf_steps(True),
    "torch": torch_steps,
    "jax": jax_steps,
    "numpy": numpy_steps,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--batch-seconds", type=float, default=0.05)
    args = ap.parse_args()
    for peer in args.peers.split(","):
        try:
            steps = PEERS[peer]()
        except ImportError as e:
            print(json.dumps({"peer": peer, "missing": str(e)}), flush=True)
            continue
        for name in WORKLOADS:
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            try:
                us = median_us(steps[name], args.batch_seconds)
            except Exception as e:  # a peer failing on one workload is reported, not fatal
                print(json.dumps({"peer": peer, "workload": name, "error": repr(e)[:300]}), flush=True)
                continue
            print(json.dumps({"peer": peer, "workload": name, "us": us}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
