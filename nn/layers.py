"""Layers: `Linear`, activations, `Dropout`, `Flatten`, `Identity`. Each is a Module around nn.functional."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import autograd as ag

from . import functional as F
from . import init as _init
from .module import Module, Parameter

Tensor = ag.Tensor


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features) and bias of shape
    (out_features,): PyTorch's layout, so its state dicts load here unchanged.

    init: "glorot" (uniform, the default) or "he" (normal), or a function (shape, rng) -> array, called with
    the weight's shape (out_features, in_features); the bias starts at zero. rng: a numpy Generator; by
    default the global one that nn.init.seed(n) sets.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str | Callable = "glorot", rng: np.random.Generator | None = None) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        shape = (self.out_features, self.in_features)
        w = np.asarray(_init.get(init)(shape, rng or _init.default_rng()))
        if w.shape != shape:
            raise ValueError(f"Linear: init returned an array of shape {w.shape}, the weight needs {shape} "
                             "(out_features, in_features)")
        self.weight = Parameter(w)
        self.bias = Parameter(np.zeros(self.out_features)) if bias else None

    def forward(self, x: Any) -> Tensor:
        """x @ weight.T + bias, for x of shape (..., in_features)."""
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"{self!r} expects inputs with {self.in_features} features on the last axis, "
                             f"got an input of shape {tuple(shape)}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sigmoid(Module):
    """Logistic activation 1 / (1 + exp(-x))."""

    def forward(self, x: Any) -> Tensor:
        """sigmoid(x)."""
        return ag.sigmoid(x)


class ReLU(Module):
    """Rectified linear activation max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        """relu(x)."""
        return ag.relu(x)


class Tanh(Module):
    """Hyperbolic tangent activation."""

    def forward(self, x: Any) -> Tensor:
        """tanh(x)."""
        return ag.tanh(x)


class Softmax(Module):
    """Softmax along `axis` (the last by default)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Any) -> Tensor:
        """softmax(x, axis)."""
        return ag.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """Log-softmax along `axis` (the last by default)."""

    def forward(self, x: Any) -> Tensor:
        """log_softmax(x, axis)."""
        return ag.log_softmax(x, axis=self.axis)


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def forward(self, x: Any) -> Any:
        """x."""
        return x


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the rest by 1/(1-p);
    in eval mode, the identity. rng: a numpy Generator (default: nn.init's global one)."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = rng

    def forward(self, x: Any) -> Any:
        """x with elements dropped (training) or x (eval)."""
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """Flatten every axis from start_axis on into one: (N, a, b) -> (N, a*b) by default."""

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        self.start_axis = start_axis

    def forward(self, x: Any) -> Tensor:
        """x reshaped to x.shape[:start_axis] + (-1,)."""
        shape = np.shape(getattr(x, "data", x))
        return ag.reshape(x, shape[:self.start_axis] + (-1,))

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"
