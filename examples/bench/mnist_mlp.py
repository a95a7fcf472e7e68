"""Workload 3: an MNIST-size MLP 784-256-128-10 with ReLU, batch 128, softmax cross-entropy, plain SGD,
float64, on synthetic data (pixels uniform in [0, 1), random labels): the engine with nn.Sequential +
F.cross_entropy + optim.SGD against careful hand-written numpy backprop."""
from __future__ import annotations

import numpy as np

from .layout import load_linears
from .registry import Trainer, at_most, nn_trainer, side, workload

SIZES = (784, 256, 128, 10)


def make_data(cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """`batches` batches of synthetic 28x28 images (flattened) and integer labels 0..9."""
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["batch"] * cfg["batches"]
    return rng.random((n, SIZES[0])), rng.integers(0, SIZES[-1], n)


def init_params(cfg: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Glorot-uniform (in, out) weights and small random biases (so bias gradients are checked too)."""
    rng = np.random.default_rng(cfg["seed"] + 1)
    out = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        limit = np.sqrt(6.0 / (a + b))
        out.append((rng.uniform(-limit, limit, (a, b)), rng.uniform(-0.1, 0.1, b)))
    return out


CFG = dict(batch=128, batches=8, lr=0.1, seed=0, warmup=10, steps=100)
QUICK = dict(batch=16, batches=2, lr=0.1, seed=0, warmup=1, steps=2)
workload("mnist", "MNIST-size MLP 784-256-128-10 ReLU, batch 128, F.cross_entropy, SGD", "numpy", make_data, CFG,
         QUICK, memory=True)


def _state(loss: float, params: list[np.ndarray]) -> dict:
    names = [f"{kind}{k}" for k in range(len(SIZES) - 1) for kind in ("W", "b")]
    return {"loss": np.float64(loss), **dict(zip(names, params))}


@side("mnist", "numpy", needs=())
def mnist_numpy(cfg: dict, data) -> Trainer:
    """Forward with the pre-activations kept, a stable softmax-cross-entropy whose gradient is
    (softmax - onehot) / batch, the ReLU masks applied in place, then W -= lr * dW."""
    x, labels = data
    (w1, b1), (w2, b2), (w3, b3) = init_params(cfg)
    lr, bs, nb = cfg["lr"], cfg["batch"], cfg["batches"]
    rows = np.arange(bs)
    pos, last = 0, 0.0

    def train(n: int) -> None:
        nonlocal pos, last, w1, b1, w2, b2, w3, b3  # the updates below are in place; nonlocal for -= only
        for _ in range(n):
            i = (pos % nb) * bs
            pos += 1
            xb, yb = x[i:i + bs], labels[i:i + bs]
            z1 = xb @ w1 + b1
            h1 = np.maximum(z1, 0)
            z2 = h1 @ w2 + b2
            h2 = np.maximum(z2, 0)
            logits = h2 @ w3 + b3
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total = e.sum(axis=1, keepdims=True)
            last = float(np.mean(np.log(total[:, 0]) - shifted[rows, yb]))
            d3 = e / total
            d3[rows, yb] -= 1.0
            d3 /= bs
            d2 = d3 @ w3.T
            d2 *= z2 > 0
            d1 = d2 @ w2.T
            d1 *= z1 > 0
            w3 -= lr * (h2.T @ d3)
            b3 -= lr * d3.sum(axis=0)
            w2 -= lr * (h1.T @ d2)
            b2 -= lr * d2.sum(axis=0)
            w1 -= lr * (xb.T @ d1)
            b1 -= lr * d1.sum(axis=0)

    return Trainer(train, lambda: _state(last, [w1, b1, w2, b2, w3, b3]))


def _trainer(cfg: dict, data, compiled: bool) -> Trainer:
    """nn.Sequential(Linear, ReLU, Linear, ReLU, Linear), F.cross_entropy with integer labels, optim.SGD; the
    step run eagerly or under ag.compile."""
    import nn
    import nn.functional as F
    from nn import optim

    x, labels = data
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    current = load_linears(model, init_params(cfg))
    opt = optim.SGD(model.parameters(), lr=cfg["lr"])
    return nn_trainer(model, opt, F.cross_entropy, x, labels, cfg["batch"], cfg["batches"], compiled,
                      lambda last: _state(last, current()))


@side("mnist", "eager", target=at_most(1.15))
def mnist_eager(cfg: dict, data) -> Trainer:
    """The step run eagerly."""
    return _trainer(cfg, data, compiled=False)


@side("mnist", "compiled", target=at_most(1.0))
def mnist_compiled(cfg: dict, data) -> Trainer:
    """The same step under ag.compile: recorded on the first call, replayed as generated numpy afterwards."""
    return _trainer(cfg, data, compiled=True)
