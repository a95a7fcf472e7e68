"""Workload 5: a chain of 100,000 scalar ops (y = y * 0.999999 + 1e-7, repeated), forward and backward,
timed as a whole (absolute: there is no reference)."""
from __future__ import annotations

import numpy as np

from .registry import Trainer, seconds, side, workload

CFG = dict(ops=100_000, warmup=1, steps=1)
QUICK = dict(ops=200, warmup=1, steps=1)
workload("chain", "a chain of 100,000 scalar ops, forward + backward", None, lambda cfg: None, CFG, QUICK,
         unit="chain")


@side("chain", "eager", target=seconds(1.0))
def chain_eager(cfg: dict, data) -> Trainer:
    """Each train step builds the whole chain from a fresh 0-d leaf and backpropagates through it."""
    import autograd as ag

    last = {"loss": np.nan, "grad": np.nan}  # "loss": the chain's output

    def train(n: int) -> None:
        for _ in range(n):
            a = ag.tensor(0.5, requires_grad=True)
            y = a
            for _ in range(cfg["ops"] // 2):
                y = y * 0.999999
                y = y + 1e-7
            y.backward()
            last["loss"], last["grad"] = float(y.data), float(a.grad.data)

    return Trainer(train, lambda: {k: np.float64(v) for k, v in last.items()})
