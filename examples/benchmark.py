"""Engine cost against references measured in the same run (ratios, not absolute times).

1. The seed workload: 12-bit binary addition, MLP 24-128-64-12 with sigmoid, batch 10, SGD 0.1,
   100 batches per epoch, float64 -- hand-written numpy backprop vs the engine. Target ratio <= 1.5.
2. The micrograd demo (MLP 2-16-16-1 on 100 points, hinge loss + L2, built from 0-d tensors one
   multiply-add at a time, trained by full-batch SGD) vs micrograd itself on the same graph, when
   micrograd is installed. Target: >= 3x faster per training step.
3. A chain of 100,000 scalar ops, forward and backward (target: about a second or less).
4. Memory over 10,000 training steps (must not grow: the graph is freed by backward).
"""
from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np

import autograd as ag


def binary_addition_data(bits: int = 12, n: int = 1000, seed: int = 1) -> tuple:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2 ** (bits - 1), n)
    b = rng.integers(0, 2 ** (bits - 1), n)
    to_bits = lambda v: ((v[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.float64)  # noqa: E731
    return np.concatenate([to_bits(a), to_bits(b)], axis=1), to_bits(a + b)


def init_weights(seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * 0.2 - 0.1 for s in [(24, 128), (128, 64), (64, 12)]]


def train_numpy(x, y, weights, epochs: int, batch: int = 10, lr: float = 0.1) -> float:
    """The seed's hand-written backprop (sigmoid MLP, squared error), returning the last epoch's loss."""
    w01, w12, w23 = weights
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for _ in range(epochs):
        loss = 0.0
        for i in range(0, len(x), batch):
            l0, t = x[i:i + batch], y[i:i + batch]
            l1 = sig(l0 @ w01)
            l2 = sig(l1 @ w12)
            l3 = sig(l2 @ w23)
            d3 = (l3 - t) * l3 * (1 - l3)
            d2 = (d3 @ w23.T) * l2 * (1 - l2)
            d1 = (d2 @ w12.T) * l1 * (1 - l1)
            w23 -= lr * (l2.T @ d3)
            w12 -= lr * (l1.T @ d2)
            w01 -= lr * (l0.T @ d1)
            loss += 0.5 * np.sum((l3 - t) ** 2)
    return loss


def train_engine(x, y, weights, epochs: int, batch: int = 10, lr: float = 0.1) -> float:
    """The same training written with the engine: forward only, backward() does the rest."""
    params = [ag.tensor(w, requires_grad=True) for w in weights]
    w01, w12, w23 = params
    for _ in range(epochs):
        loss_sum = 0.0
        for i in range(0, len(x), batch):
            l0, t = x[i:i + batch], y[i:i + batch]
            out = ((l0 @ w01).sigmoid() @ w12).sigmoid()
            out = (out @ w23).sigmoid()
            loss = ((out - t) ** 2).sum() * 0.5
            loss.backward()
            for p in params:
                p.data -= lr * p.grad.data
                p.grad = None
            loss_sum += loss.item()
    for w, p in zip(weights, params):
        w[...] = p.data
    return loss_sum


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_mlp(epochs: int, repeats: int) -> float:
    x, y = binary_addition_data()
    t_np = best_time(lambda: train_numpy(x, y, init_weights(), epochs), repeats)
    t_ag = best_time(lambda: train_engine(x, y, init_weights(), epochs), repeats)
    w_np, w_ag = init_weights(), init_weights()
    l_np, l_ag = train_numpy(x, y, w_np, 1), train_engine(x, y, w_ag, 1)
    same = all(np.allclose(a, b) for a, b in zip(w_np, w_ag))
    print(f"binary-addition MLP, {epochs} epochs x 100 steps: numpy {t_np:.3f}s  engine {t_ag:.3f}s  "
          f"ratio engine/numpy = {t_ag / t_np:.2f}  (target <= 1.5; same weights after an epoch: {same}, "
          f"losses {l_np:.4f} / {l_ag:.4f})")
    return t_ag / t_np


def moons(n: int = 100, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = np.arange(n) % 2 == 0
    x = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return x + rng.normal(0, 0.1, x.shape), np.where(upper, 1.0, -1.0)


def scalar_mlp_training(Value, steps: int, x, y, update) -> float:
    """micrograd's demo, written once for any scalar class `Value`: MLP 2-16-16-1 built one multiply-add
    at a time, hinge loss + L2, `steps` steps of full-batch SGD. Returns the last loss."""
    rng = np.random.default_rng(0)
    sizes = [2, 16, 16, 1]
    layers = [[([Value(float(w)) for w in rng.uniform(-1, 1, nin)], Value(0.0)) for _ in range(nout)]
              for nin, nout in zip(sizes[:-1], sizes[1:])]
    params = [p for layer in layers for ws, b in layer for p in ws + [b]]
    for step in range(steps):
        losses = []
        for xi, yi in zip(x, y):
            act = [Value(float(v)) for v in xi]
            for k, layer in enumerate(layers):
                nxt = []
                for ws, b in layer:
                    s = b
                    for w, a in zip(ws, act):
                        s = s + w * a
                    nxt.append(s.relu() if k < len(layers) - 1 else s)
                act = nxt
            losses.append((1 + -float(yi) * act[0]).relu())
        data_loss = losses[0]
        for v in losses[1:]:
            data_loss = data_loss + v
        data_loss = data_loss * (1.0 / len(losses))
        reg = params[0] * params[0]
        for p in params[1:]:
            reg = reg + p * p
        total = data_loss + reg * 1e-4
        total.backward()
        update(params, 1.0 - 0.9 * step / steps)
    return float(total.data)


def _engine_update(params, lr):
    for p in params:
        p.data -= lr * p.grad.data
        p.grad = None


def _micrograd_update(params, lr):
    for p in params:
        p.data -= lr * p.grad
        p.grad = 0.0


def bench_scalar(steps: int) -> float | None:
    x, y = moons()
    Scalar = lambda v: ag.tensor(v, requires_grad=True)  # noqa: E731
    gc.collect()
    t0 = time.perf_counter()
    loss_ag = scalar_mlp_training(Scalar, steps, x, y, _engine_update)
    t_ag = (time.perf_counter() - t0) / steps
    try:
        from micrograd.engine import Value
    except ImportError:
        print(f"micrograd demo: engine {t_ag:.3f}s per training step (micrograd not installed: pip install micrograd)")
        return None
    gc.collect()
    t0 = time.perf_counter()
    loss_mg = scalar_mlp_training(Value, steps, x, y, _micrograd_update)
    t_mg = (time.perf_counter() - t0) / steps
    print(f"micrograd demo ({steps} training steps of the same scalar graph): micrograd {t_mg:.3f}s/step  "
          f"engine {t_ag:.3f}s/step  speed-up = {t_mg / t_ag:.2f}x  (target >= 3; same final loss: "
          f"{abs(loss_ag - loss_mg) < 1e-6})")
    return t_mg / t_ag


def bench_chain(n: int = 100_000) -> float:
    def run():
        a = ag.tensor(0.5, requires_grad=True)
        y = a
        for _ in range(n // 2):
            y = y * 0.999999
            y = y + 1e-7
        y.backward()
        return a
    t = best_time(run, 3)
    print(f"chain of {n:,} scalar ops, forward + backward: {t:.2f}s  (target: about 1 s or less)")
    return t


def bench_memory(steps: int = 10_000) -> float:
    x, y = binary_addition_data()
    w = [ag.tensor(v, requires_grad=True) for v in init_weights()]

    def step(i):
        l0, t = x[(i % 100) * 10:(i % 100) * 10 + 10], y[(i % 100) * 10:(i % 100) * 10 + 10]
        out = ((((l0 @ w[0]).sigmoid() @ w[1]).sigmoid() @ w[2]).sigmoid())
        loss = ((out - t) ** 2).sum()
        loss.backward()
        for p in w:
            p.data -= 0.1 * p.grad.data
            p.grad = None

    tracemalloc.start()
    for i in range(1000):
        step(i)
    early = tracemalloc.get_traced_memory()[0]
    for i in range(1000, steps):
        step(i)
    late = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"memory after 1,000 steps {early / 1e6:.2f} MB, after {steps:,} steps {late / 1e6:.2f} MB "
          f"(growth {(late - early) / 1e3:.1f} kB)")
    return late - early


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10, help="epochs of the MLP workload per timing")
    p.add_argument("--repeats", type=int, default=7, help="timings per measurement (the best is kept)")
    p.add_argument("--scalar-steps", type=int, default=10, help="training steps of the micrograd demo")
    p.add_argument("--skip-memory", action="store_true")
    args = p.parse_args(argv)
    result = {"mlp_ratio": bench_mlp(args.epochs, args.repeats), "scalar_speedup": bench_scalar(args.scalar_steps),
              "chain_seconds": bench_chain()}
    if not args.skip_memory:
        result["memory_growth_bytes"] = bench_memory()
    return result


if __name__ == "__main__":
    main()
