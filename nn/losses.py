"""Loss modules: callable objects around nn.functional's losses, with reduction 'mean' | 'sum' | 'none'."""
from __future__ import annotations

from typing import Any, Callable

import autograd as ag

from . import functional as F
from .module import Module


class _Loss(Module):
    """Base of the loss modules: holds the validated reduction and applies the subclass's functional loss."""

    function: Callable[[Any, Any, str], ag.Tensor]  # the nn.functional loss; each subclass names one

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in F._REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {F._REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, input: Any, target: Any) -> ag.Tensor:
        """The loss of input against target, reduced as `reduction` says."""
        return type(self).function(input, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error between input and a target of the same shape."""

    function = staticmethod(F.mse_loss)


class CrossEntropyLoss(_Loss):
    """Cross-entropy from logits (classes on the last axis) against integer classes or probabilities."""

    function = staticmethod(F.cross_entropy)


class NLLLoss(_Loss):
    """Negative log-likelihood of integer classes given log-probabilities (e.g. from LogSoftmax)."""

    function = staticmethod(F.nll_loss)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (each log clamped at -100)."""

    function = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(input), computed stably from the raw scores."""

    function = staticmethod(F.binary_cross_entropy_with_logits)
