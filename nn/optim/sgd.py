"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""
from __future__ import annotations

from functools import partial
from operator import attrgetter
from typing import Any, Iterable

import numpy as np

import autograd as ag
from autograd.compile import guard, live

from . import _checks
from .optimizer import Optimizer, with_weight_decay

# What decides which ops _traced_step records (one C-level call per replay to check them all).
_settings = attrgetter("momentum", "nesterov", "weight_decay")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay (PyTorch's rule):
    b = momentum b + g;  p -= lr (g + momentum b if nesterov else b)."""

    hyperparameters = {"lr": _checks.nonnegative, "momentum": _checks.nonnegative, "nesterov": _checks.flag,
                       "weight_decay": _checks.nonnegative}
    buffers = {"momentum_buffer": "array"}

    def __init__(self, params: Iterable[ag.Tensor], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)

    def _check_together(self, hyper: dict) -> None:
        if hyper["nesterov"] and hyper["momentum"] == 0:
            raise ValueError("nesterov=True needs momentum > 0")

    def _required_buffers(self, hyper: dict) -> set[str]:
        return {"momentum_buffer"} if hyper["momentum"] else set()

    def _traceable(self) -> bool:
        # Momentum keeps a buffer whose first step differs from the others: that update stays an effect.
        return not self.momentum

    def _traced_step(self) -> None:
        guard(partial(_settings, self))  # a change records again (or, with momentum, makes step an effect)
        lr = live(partial(getattr, self, "lr"))  # read by each replay (a schedule may change it)
        wd = live(partial(getattr, self, "weight_decay")) if self.weight_decay else None
        with ag.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                self.state.setdefault(i, {})
                g = p.grad if wd is None else p.grad + wd * p
                p -= lr * g

    def _delta(self, g: np.ndarray, x: np.ndarray, st: dict) -> Any:
        g = with_weight_decay(g, x, self.weight_decay)
        if self.momentum:
            buf = st.get("momentum_buffer")
            # The first step starts the buffer at g itself, as PyTorch does.
            st["momentum_buffer"] = buf = g.copy() if buf is None else self.momentum * buf + g
            g = g + self.momentum * buf if self.nesterov else buf
        return self.lr * g
