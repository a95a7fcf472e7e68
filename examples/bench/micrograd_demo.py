"""Workload 4: micrograd's demo, an MLP 2-16-16-1 (ReLU) on 100 points of make_moons, SVM hinge loss + 1e-4 L2,
full-batch SGD with the demo's rate 1 - 0.9 k / 100, built one multiply-add at a time from scalars: 0-d tensors
against micrograd's own Value (`pip install micrograd`). Both sides build the same graph with the same code."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .registry import Trainer, Unavailable, side, speedup, workload

SIZES = (2, 16, 16, 1)


def make_data(cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's make_moons (noise 0.1), labels as -1 / +1 as the hinge loss wants."""
    try:
        from sklearn.datasets import make_moons
    except ImportError as e:
        raise Unavailable("the micrograd demo needs scikit-learn's make_moons (pip install scikit-learn)") from e
    x, y01 = make_moons(n_samples=cfg["points"], noise=0.1, random_state=cfg["seed"])
    return x, 2.0 * y01 - 1.0


CFG = dict(points=100, seed=0, warmup=1, steps=3)
QUICK = dict(points=6, seed=0, warmup=1, steps=1)
workload("micrograd", "micrograd's demo (MLP 2-16-16-1, 100 moons, hinge + L2) from 0-d tensors", "micrograd",
         make_data, CFG, QUICK)


def scalar_model(make: Callable[[float], object], cfg: dict, data) -> tuple[list, Callable[[], object]]:
    """The demo's parameters (made with `make(v)`) and a function building its loss graph, written once for any
    scalar class."""
    x, y = data
    rng = np.random.default_rng(cfg["seed"])
    layers = [[([make(float(w)) for w in rng.uniform(-1, 1, a)], make(0.0)) for _ in range(b)]
              for a, b in zip(SIZES[:-1], SIZES[1:])]
    params = [p for layer in layers for ws, b in layer for p in ws + [b]]
    points = [([float(v) for v in xi], float(yi)) for xi, yi in zip(x, y)]

    def loss():
        losses = []
        for xi, yi in points:
            act: list = xi  # inputs stay Python floats; each side wraps them as it does any constant
            for depth, layer in enumerate(layers):
                nxt = []
                for ws, b in layer:
                    s = b
                    for w, a in zip(ws, act):
                        s = s + w * a
                    nxt.append(s.relu() if depth < len(layers) - 1 else s)
                act = nxt
            losses.append((1 + -yi * act[0]).relu())
        data_loss = losses[0]
        for v in losses[1:]:
            data_loss = data_loss + v
        data_loss = data_loss * (1.0 / len(losses))
        reg = params[0] * params[0]
        for p in params[1:]:
            reg = reg + p * p
        return data_loss + reg * 1e-4

    return params, loss


def rate(k: int) -> float:
    """The demo's learning rate at step k."""
    return 1.0 - 0.9 * k / 100


def scalar_trainer(make: Callable[[float], object], update: Callable[[list, float], None], read: Callable,
                   cfg: dict, data) -> Trainer:
    """The demo for any scalar class: `make(v)` creates a parameter, `update(params, lr)` applies SGD and clears
    the gradients, `read(s)` gives a scalar's value as a float."""
    params, loss = scalar_model(make, cfg, data)
    k, last = 0, 0.0

    def train(n: int) -> None:
        nonlocal k, last
        for _ in range(n):
            total = loss()
            total.backward()
            update(params, rate(k))
            k += 1
            last = read(total)

    return Trainer(train, lambda: {"loss": np.float64(last), "params": np.array([read(p) for p in params])})


@side("micrograd", "micrograd", needs=("micrograd.engine",))
def micrograd_side(cfg: dict, data) -> Trainer:
    """micrograd's Value: p.data -= lr * p.grad, then p.grad = 0 (its zero_grad)."""
    try:
        from micrograd.engine import Value
    except ImportError as e:
        raise Unavailable("micrograd is not installed (pip install micrograd)") from e

    def update(params: list, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad
            p.grad = 0.0

    return scalar_trainer(Value, update, lambda s: float(s.data), cfg, data)


@side("micrograd", "eager", target=speedup(3.0))
def scalar_eager(cfg: dict, data) -> Trainer:
    """0-d tensors that require grad: p.data -= lr * p.grad.data, then p.grad = None."""
    import autograd as ag

    def make(v: float):
        return ag.tensor(v, requires_grad=True)

    def update(params: list, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None

    return scalar_trainer(make, update, lambda s: float(s.data), cfg, data)


@side("micrograd", "compiled", target=speedup(20.0))
def scalar_compiled(cfg: dict, data) -> Trainer:
    """The whole step (zero_grad, loss, backward, optim.SGD step) under ag.compile; the rate is set on the
    optimizer outside the step, and replays read it afresh."""
    import autograd as ag
    from nn import optim

    params, loss = scalar_model(lambda v: ag.tensor(v, requires_grad=True), cfg, data)
    opt = optim.SGD(params, lr=1.0)
    k, last = 0, 0.0

    @ag.compile
    def step():
        opt.zero_grad()
        total = loss()
        total.backward()
        opt.step()
        return total

    def train(n: int) -> None:
        nonlocal k, last
        for _ in range(n):
            opt.lr = rate(k)
            last = float(step().data)
            k += 1

    return Trainer(train, lambda: {"loss": np.float64(last), "params": np.array([float(p.data) for p in params])})
