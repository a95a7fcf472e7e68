"""Loss modules: callable objects around nn.functional's losses, with reduction 'mean' | 'sum' | 'none'."""
from __future__ import annotations

from typing import Any

import autograd as ag

from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in F._REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {F._REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error between input and a target of the same shape."""

    def forward(self, input: Any, target: Any) -> ag.Tensor:
        """The loss."""
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy from logits (classes on the last axis) against integer classes or probabilities."""

    def forward(self, input: Any, target: Any) -> ag.Tensor:
        """The loss."""
        return F.cross_entropy(input, target, self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of integer classes given log-probabilities (e.g. from LogSoftmax)."""

    def forward(self, input: Any, target: Any) -> ag.Tensor:
        """The loss."""
        return F.nll_loss(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (each log clamped at -100)."""

    def forward(self, input: Any, target: Any) -> ag.Tensor:
        """The loss."""
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(input), computed stably from the raw scores."""

    def forward(self, input: Any, target: Any) -> ag.Tensor:
        """The loss."""
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)
