"""Adam: per-coordinate steps scaled by bias-corrected running averages of g and g^2."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

import autograd as ag

from . import _checks
from .optimizer import Optimizer, with_weight_decay


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected running means of g and g^2;
    p -= lr m_hat / (sqrt(v_hat) + eps). weight_decay adds an L2 term to g."""

    hyperparameters = {"lr": _checks.nonnegative, "betas": _checks.fraction_pair, "eps": _checks.nonnegative,
                       "weight_decay": _checks.nonnegative}
    buffers = {"step": "count", "exp_avg": "array", "exp_avg_sq": "nonnegative"}

    def __init__(self, params: Iterable[ag.Tensor], lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _init_state(self, x: np.ndarray) -> dict:
        return {"step": 0, "exp_avg": np.zeros(x.shape), "exp_avg_sq": np.zeros(x.shape)}

    def _delta(self, g: np.ndarray, x: np.ndarray, st: dict) -> Any:
        g = with_weight_decay(g, x, self.weight_decay)
        b1, b2 = self.betas
        st["step"] = t = st["step"] + 1
        m = st["exp_avg"] = b1 * st["exp_avg"] + (1 - b1) * g
        v = st["exp_avg_sq"] = b2 * st["exp_avg_sq"] + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
