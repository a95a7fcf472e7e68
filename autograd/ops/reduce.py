"""Reductions over `axis` (None, int or tuple, negatives allowed) with `keepdims`, and softmax-like ops."""
from __future__ import annotations

import builtins

import numpy as np

from ..function import Function, unary
from ..tensor import ArrayLike, Axis, Tensor
from .elementwise import exp
from .shape import broadcast_to


def _kept_shape(shape: tuple, axis, keepdims: bool) -> tuple | None:
    """The shape the reduced result has with keepdims=True (None when it already has it)."""
    if keepdims:
        return None
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _broadcast(g, shape):
    # Arrays are copied into a new array of the input's shape (cheaper than np.broadcast_to's view,
    # and writable); Tensors (create_graph) record the op.
    if isinstance(g, Tensor):
        return broadcast_to(g, shape)
    out = np.empty(shape, dtype=g.dtype if hasattr(g, "dtype") else np.result_type(g))
    out[...] = g
    return out


def _expand(g, ctx):
    """Put the reduced axes back as size 1 so g broadcasts against the input."""
    return g if ctx.kept is None else g.reshape(ctx.kept)


class Sum(Function):
    """sum over axis;  dx = g broadcast back to x's shape."""
    name = "sum"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if type(x) is np.ndarray and axis is None and not keepdims:  # a full sum: the common loss
            ctx.shape, ctx.kept = x.shape, None
            return x.sum()
        ctx.shape, ctx.kept = np.shape(x), _kept_shape(np.shape(x), axis, keepdims)
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _broadcast(_expand(g, ctx), ctx.shape)


class Mean(Function):
    """mean over axis;  dx = g / n broadcast back."""
    name = "mean"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.mean(x, axis=axis, keepdims=keepdims)
        ctx.shape, ctx.kept = np.shape(x), _kept_shape(np.shape(x), axis, keepdims)
        ctx.n = builtins.max(np.size(x), 1) / builtins.max(np.size(out), 1)
        return out

    @staticmethod
    def backward(ctx, g):
        return _broadcast(_expand(g, ctx) / ctx.n, ctx.shape)


class _Extreme(Function):
    """Shared rule of max and min: the gradient goes to the extreme elements, split evenly on ties."""

    reduce = None

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        out = cls.reduce(x, axis=axis, keepdims=True)
        hit = x == out
        ctx.weight = hit / np.sum(hit, axis=axis, keepdims=True)
        ctx.shape, ctx.kept = np.shape(x), _kept_shape(np.shape(x), axis, keepdims)
        return out if keepdims else (np.squeeze(out, axis) if axis is not None else out.reshape(()))

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx) * ctx.weight


class Max(_Extreme):
    """max over axis; ties share the gradient evenly."""
    name = "max"
    reduce = staticmethod(np.max)


class Min(_Extreme):
    """min over axis; ties share the gradient evenly."""
    name = "min"
    reduce = staticmethod(np.min)


class LogSumExp(Function):
    """log(sum(exp(x))) over axis, shifted by the max so it never overflows;  dx = g exp(x - out)."""
    name = "logsumexp"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        ctx.kept = _kept_shape(np.shape(x), axis, keepdims)
        if not keepdims:
            out = out.reshape(()) if axis is None else np.squeeze(out, axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        return _expand(g, ctx) * exp(x - _expand(out, ctx))


class Softmax(Function):
    """exp(x) / sum(exp(x)) along axis;  dx = s (g - sum(g s))."""
    name = "softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        axis = ctx.options.get("axis", -1)
        return s * (g - (g * s).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    """x - logsumexp(x) along axis;  dx = g - softmax(x) sum(g)."""
    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        m = np.max(x, axis=axis, keepdims=True)
        out = x - (np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        axis = ctx.options.get("axis", -1)
        return g - exp(out) * g.sum(axis=axis, keepdims=True)


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over axis (all axes when None)."""
    if axis is None and not keepdims:  # the full sum (a loss) records no options: the cheaper path
        return unary(Sum, x)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over axis."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Max over axis; ties share the gradient."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Min over axis; ties share the gradient."""
    return Min.apply(x, axis=axis, keepdims=keepdims)


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over axis, finite for any finite input."""
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """Softmax along axis, finite for any finite input."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """Log of softmax along axis, finite for any finite input."""
    return LogSoftmax.apply(x, axis=axis)


def var(x: ArrayLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over axis, composed from mean and sum so every order of derivative comes for free."""
    shape = np.shape(getattr(x, "data", x))
    n = int(np.prod(shape)) // int(np.prod(_kept_shape(shape, axis, False)))
    d = x - mean(x, axis=axis, keepdims=True)
    return sum(d * d, axis=axis, keepdims=keepdims) / (n - ddof)
