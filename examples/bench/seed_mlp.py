"""Workloads 1 and 2: the seed's binary-addition MLP (24-128-64-12, sigmoid, no biases, batch 10, SGD 0.1,
squared error, float64), written with raw tensors as in the README's tour, and with nn.Sequential +
optim.SGD; the reference is the seed's hand-written numpy backprop, shared by both."""
from __future__ import annotations

import numpy as np

from .. import data as example_data
from .layout import load_linears
from .registry import Trainer, at_most, nn_trainer, side, workload

SIZES = (24, 128, 64, 12)


def make_data(cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """The seed's data set: 1,000 pairs of 12-bit operands (inputs: both operands' bits; targets: the sum's)."""
    return example_data.binary_addition(12, cfg["examples"], np.random.RandomState(1))


def init_weights(cfg: dict) -> list[np.ndarray]:
    """The seed's initialisation, (in, out) matrices: normal * 0.2 - 0.1."""
    rng = np.random.default_rng(cfg["seed"])
    return [rng.standard_normal((a, b)) * 0.2 - 0.1 for a, b in zip(SIZES[:-1], SIZES[1:])]


def _batches(cfg: dict, data) -> tuple[int, int]:
    x, _ = data
    b = cfg["batch"]
    if len(x) < b:
        raise ValueError(f"seed MLP: {len(x)} examples, fewer than one batch of {b}")
    return b, len(x) // b


CFG = dict(examples=1000, batch=10, lr=0.1, seed=1, warmup=100, steps=2000)
QUICK = dict(examples=40, batch=10, lr=0.1, seed=1, warmup=2, steps=5)
TITLE = "seed MLP 24-128-64-12 sigmoid, batch 10, SGD 0.1"
workload("seed-raw", TITLE + ", raw tensors (README tour)", "numpy", make_data, CFG, QUICK, memory=True)
workload("seed-nn", TITLE + ", nn.Sequential + optim.SGD", "numpy", make_data, CFG, QUICK, memory=True)


@side("seed-raw", "numpy", needs=())
@side("seed-nn", "numpy", needs=())
def seed_numpy(cfg: dict, data) -> Trainer:
    """The seed's own backprop: sigmoid layers, delta = error * s * (1 - s), W -= lr * a.T @ delta."""
    x, y = data
    w01, w12, w23 = init_weights(cfg)
    lr = cfg["lr"]
    b, nb = _batches(cfg, data)
    pos, last = 0, 0.0

    def sig(z):
        return 1 / (1 + np.exp(-z))

    def train(n: int) -> None:
        nonlocal pos, last, w01, w12, w23  # the updates below are in place; nonlocal for -= only
        for _ in range(n):
            i = (pos % nb) * b
            pos += 1
            l0, t = x[i:i + b], y[i:i + b]
            l1 = sig(l0 @ w01)
            l2 = sig(l1 @ w12)
            l3 = sig(l2 @ w23)
            d3 = (l3 - t) * l3 * (1 - l3)
            d2 = (d3 @ w23.T) * l2 * (1 - l2)
            d1 = (d2 @ w12.T) * l1 * (1 - l1)
            w23 -= lr * (l2.T @ d3)
            w12 -= lr * (l1.T @ d2)
            w01 -= lr * (l0.T @ d1)
            last = float(0.5 * np.sum((l3 - t) ** 2))

    return Trainer(train, lambda: {"loss": np.float64(last), "w01": w01, "w12": w12, "w23": w23})


@side("seed-raw", "eager", target=at_most(1.5))
def seed_raw_eager(cfg: dict, data) -> Trainer:
    """The same training with raw tensors: forward and loss, backward(), then p.data -= lr * p.grad.data."""
    import autograd as ag

    x, y = data
    params = [ag.tensor(w, requires_grad=True) for w in init_weights(cfg)]
    w01, w12, w23 = params
    lr = cfg["lr"]
    b, nb = _batches(cfg, data)
    pos, last = 0, 0.0

    def train(n: int) -> None:
        nonlocal pos, last
        for _ in range(n):
            i = (pos % nb) * b
            pos += 1
            l0, t = x[i:i + b], y[i:i + b]
            out = ((l0 @ w01).sigmoid() @ w12).sigmoid()
            out = (out @ w23).sigmoid()
            loss = ((out - t) ** 2).sum() * 0.5
            loss.backward()
            for p in params:
                p.data -= lr * p.grad.data
                p.grad = None
            last = loss.item()

    return Trainer(train, lambda: {"loss": np.float64(last), "w01": w01.data, "w12": w12.data, "w23": w23.data})


def _nn_trainer(cfg: dict, data, compiled: bool) -> Trainer:
    """The training as the README teaches: nn.Sequential of Linear(bias=False) and Sigmoid, a loss from
    nn.functional, optim.SGD with zero_grad / backward / step; the step run eagerly or under ag.compile."""
    import nn
    import nn.functional as F
    from nn import optim

    x, y = data
    layers: list = []
    for a, c in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(a, c, bias=False), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    current = load_linears(model, [(w, None) for w in init_weights(cfg)])
    opt = optim.SGD(model.parameters(), lr=cfg["lr"])
    b, nb = _batches(cfg, data)

    def state(last: float) -> dict:
        w01, w12, w23 = current()
        return {"loss": np.float64(last), "w01": w01, "w12": w12, "w23": w23}

    return nn_trainer(model, opt, lambda out, t: 0.5 * F.mse_loss(out, t, reduction="sum"), x, y, b, nb, compiled,
                      state)


@side("seed-nn", "eager", target=at_most(1.6))
def seed_nn_eager(cfg: dict, data) -> Trainer:
    """The step as the README teaches it, run eagerly."""
    return _nn_trainer(cfg, data, compiled=False)


@side("seed-nn", "compiled", target=at_most(1.0))
def seed_nn_compiled(cfg: dict, data) -> Trainer:
    """The same step under ag.compile: recorded on the first call, replayed as generated numpy afterwards."""
    return _nn_trainer(cfg, data, compiled=True)
