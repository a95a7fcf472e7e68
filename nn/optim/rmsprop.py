"""RMSprop: steps scaled by a running average of g^2, optionally with momentum."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

import autograd as ag

from . import _checks
from .optimizer import Optimizer, with_weight_decay


class RMSprop(Optimizer):
    """RMSprop (Hinton): v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps), optionally with momentum."""

    hyperparameters = {"lr": _checks.nonnegative, "alpha": _checks.fraction, "eps": _checks.nonnegative,
                       "momentum": _checks.nonnegative, "weight_decay": _checks.nonnegative}
    buffers = {"square_avg": "nonnegative", "momentum_buffer": "array"}

    def __init__(self, params: Iterable[ag.Tensor], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay)

    def _required_buffers(self, hyper: dict) -> set[str]:
        return {"square_avg", "momentum_buffer"} if hyper["momentum"] else {"square_avg"}

    def _init_state(self, x: np.ndarray) -> dict:
        return {"square_avg": np.zeros(x.shape)}

    def _delta(self, g: np.ndarray, x: np.ndarray, st: dict) -> Any:
        g = with_weight_decay(g, x, self.weight_decay)
        v = st["square_avg"] = self.alpha * st["square_avg"] + (1 - self.alpha) * g * g
        step = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            buf = st.get("momentum_buffer")
            step = st["momentum_buffer"] = step if buf is None else self.momentum * buf + step
        return self.lr * step
