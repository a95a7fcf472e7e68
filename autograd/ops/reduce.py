"""Reductions over `axis` (None, int or tuple, negatives allowed) with `keepdims`, and softmax-like ops.

Every reduction also takes PyTorch's `dim=`/`keepdim=`; with `dim=` a call means what it means in PyTorch
(`max(dim=1)` returns values and indices, `var(dim=0)` is unbiased), with `axis=` what it means in numpy.
"""
from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from .._tensor import ArrayLike, Axis, Tensor, data_of
from ..function import Builtin, call
from .shape import broadcast_to


def reduction_args(op: str, axis: Axis, keepdims: bool, kw: dict) -> tuple[Axis, bool, bool]:
    """(axis, keepdims, torch) from numpy's or PyTorch's keywords; `torch` says dim= was used."""
    torch = "dim" in kw
    if torch:
        if axis is not None:
            raise TypeError(f"{op}: give axis= or dim=, not both")
        axis = kw.pop("dim")
        axis = tuple(axis) if isinstance(axis, list) else axis
    if "keepdim" in kw:
        keepdims = bool(kw.pop("keepdim"))
    for k in ("dtype", "out"):  # what np.sum(t) and friends pass along
        if kw.get(k, None) is not None:
            raise TypeError(f"{op}: {k}= is not supported on tensors (got {kw[k]!r})")
        kw.pop(k, None)
    if kw:
        raise TypeError(f"{op}: unexpected keyword argument(s) {', '.join(map(repr, kw))}")
    return axis, keepdims, torch


def _axes(op: str, shape: tuple, axis: Axis) -> tuple:
    """axis as a tuple of non-negative ints, or a clear error naming the op and the shape."""
    if axis is not None and not isinstance(axis, (int, np.integer, tuple, list)):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r} (shape {shape})")
    axes = tuple(range(len(shape))) if axis is None else (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -len(shape) <= a < len(shape):
            raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {shape}")
    axes = tuple(a % len(shape) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} repeats an axis (tensor of shape {shape})")
    return axes


def _kept_shape(shape: tuple, axes: tuple, keepdims: bool) -> tuple | None:
    """The shape the reduced result has with keepdims=True (None when it already has it)."""
    return None if keepdims else tuple(1 if i in axes else s for i, s in enumerate(shape))


def _broadcast(g, shape):
    # Arrays are copied into a new array of the input's shape (cheaper than np.broadcast_to's view,
    # and writable); Tensors (create_graph) record the op.
    if isinstance(g, Tensor):
        return broadcast_to(g, shape)
    out = np.empty(shape, dtype=g.dtype if hasattr(g, "dtype") else np.result_type(g))
    out[...] = g
    return out


def _expand(g, kept):
    """Put the reduced axes back as size 1 so g broadcasts against the input."""
    return g if kept is None else g.reshape(kept)


class Sum(Builtin):
    """sum over axis;  dx = g broadcast back to x's shape."""
    name = "sum"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        shape = np.shape(x)
        if axis is None and not keepdims:  # a full sum: the common loss
            ctx.save_for_backward(shape, None)
            return x.sum() if type(x) is np.ndarray else np.sum(x)
        ctx.save_for_backward(shape, _kept_shape(shape, _axes("sum", shape, axis), keepdims))
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        shape, kept = ctx.saved
        return _broadcast(_expand(g, kept), shape)


class Mean(Builtin):
    """mean over axis;  dx = g / n broadcast back."""
    name = "mean"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        shape = np.shape(x)
        axes = _axes("mean", shape, axis)
        out = np.mean(x, axis=axis, keepdims=keepdims)
        n = builtins.max(int(np.prod([shape[a] for a in axes])), 1)
        ctx.save_for_backward(shape, _kept_shape(shape, axes, keepdims), n)
        return out

    @staticmethod
    def backward(ctx, g):
        shape, kept, n = ctx.saved
        return _broadcast(_expand(g, kept) / n, shape)


class _Extreme(Builtin):
    """Shared rule of max and min: the gradient goes to the extreme elements, split evenly on ties."""

    reduce = None

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        shape = np.shape(x)
        axes = _axes(cls.name, shape, axis)
        if 0 in [shape[a] for a in axes]:
            raise ValueError(f"{cls.name}: cannot reduce an empty axis (shape {shape}, axis {axis})")
        out = cls.reduce(x, axis=axis, keepdims=True)
        hit = x == out
        ctx.save_for_backward(hit / np.sum(hit, axis=axis, keepdims=True), _kept_shape(shape, axes, keepdims))
        return out if keepdims else out.reshape([s for i, s in enumerate(shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        weight, kept = ctx.saved
        return _expand(g, kept) * weight


class Max(_Extreme):
    """max over axis; ties share the gradient evenly."""
    name = "max"
    reduce = staticmethod(np.max)


class Min(_Extreme):
    """min over axis; ties share the gradient evenly."""
    name = "min"
    reduce = staticmethod(np.min)


def _log_softmax_array(op: str, x: Any, axis: Axis) -> tuple:
    """(x - m) - log(sum(exp(x - m))) with m the max (finite maxima only): full precision for large logits,
    since x - m is exact near the max and the log term is small. Returns it and log(sum(...)) + m."""
    _axes(op, np.shape(x), axis)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    shifted = x - m
    lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return shifted - lse, lse + m


class LogSumExp(Builtin):
    """log(sum(exp(x))) over axis, shifted by the max so it never overflows;  dx = g softmax(x)."""
    name = "logsumexp"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        logp, out = _log_softmax_array("logsumexp", x, axis)
        kept = _kept_shape(np.shape(x), _axes("logsumexp", np.shape(x), axis), keepdims)
        if not keepdims:
            out = out.reshape(()) if axis is None else np.squeeze(out, axis)
        # logp: the exact log-softmax for an ordinary backward (x - out loses digits at large x)
        ctx.save_for_backward(x, out, kept, logp)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out, kept, logp = ctx.saved
        if isinstance(g, Tensor):  # create_graph: written with ops so it differentiates again
            return _expand(g, kept) * (x - _expand(out, kept)).exp()
        return _expand(g, kept) * np.exp(logp)


class Softmax(Builtin):
    """exp(x) / sum(exp(x)) along axis;  dx = s (g - sum(g s))."""
    name = "softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        logp, _ = _log_softmax_array("softmax", x, axis)
        out = np.exp(logp)
        ctx.save_for_backward(out, axis)
        return out

    @staticmethod
    def backward(ctx, g):
        s, axis = ctx.saved
        return s * (g - (g * s).sum(axis=axis, keepdims=True))


class LogSoftmax(Builtin):
    """x - logsumexp(x) along axis, computed as (x - m) - log(sum(exp(x - m)));  dx = g - softmax(x) sum(g)."""
    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        out, _ = _log_softmax_array("log_softmax", x, axis)
        ctx.save_for_backward(out, axis)
        return out

    @staticmethod
    def backward(ctx, g):
        out, axis = ctx.saved
        return g - out.exp() * g.sum(axis=axis, keepdims=True) if isinstance(out, Tensor) else \
            g - np.exp(out) * g.sum(axis=axis, keepdims=True)


class MaxResult(NamedTuple):
    """What `max(dim=...)`/`min(dim=...)` return, as in PyTorch."""
    values: Tensor
    indices: Tensor


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Tensor:  # noqa: A001
    """Sum over axis (all axes when None)."""
    axis, keepdims, _ = reduction_args("sum", axis, keepdims, kw)
    if axis is None and not keepdims:  # the full sum (a loss) records no options: the cheaper path
        return call(Sum, x)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Mean over axis."""
    axis, keepdims, _ = reduction_args("mean", axis, keepdims, kw)
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def _extreme(cls: type, arg: Any, x: ArrayLike, axis: Axis, keepdims: bool, kw: dict) -> Any:
    axis, keepdims, torch = reduction_args(cls.name, axis, keepdims, kw)
    values = cls.apply(x, axis=axis, keepdims=keepdims)
    if torch and axis is not None:
        return MaxResult(values, Tensor._make(arg(np.asarray(data_of(x)), axis=axis, keepdims=keepdims), False, None))
    return values


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Any:  # noqa: A001
    """Max over axis; ties share the gradient. With dim= (PyTorch): (values, indices)."""
    return _extreme(Max, np.argmax, x, axis, keepdims, kw)


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Any:  # noqa: A001
    """Min over axis; ties share the gradient. With dim= (PyTorch): (values, indices)."""
    return _extreme(Min, np.argmin, x, axis, keepdims, kw)


def _arg(op: str, fn: Any, x: ArrayLike, axis: int | None, keepdims: bool, kw: dict) -> Tensor:
    axis, keepdims, _ = reduction_args(op, axis, keepdims, kw)
    d = np.asarray(data_of(x))
    if axis is not None:
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or None, got {axis!r} (shape {d.shape})")
        _axes(op, d.shape, axis)
    if d.size == 0:
        raise ValueError(f"{op}: the tensor is empty (shape {d.shape})")
    return Tensor._make(np.asarray(fn(d, axis=axis, keepdims=keepdims)), False, None)


def argmax(x: ArrayLike, axis: int | None = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Index of the largest element (over all elements, flattened, when axis is None); no gradient."""
    return _arg("argmax", np.argmax, x, axis, keepdims, kw)


def argmin(x: ArrayLike, axis: int | None = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Index of the smallest element; no gradient."""
    return _arg("argmin", np.argmin, x, axis, keepdims, kw)


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """log(sum(exp(x))) over axis, finite for any finite input."""
    axis, keepdims, _ = reduction_args("logsumexp", axis, keepdims, kw)
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def softmax(x: ArrayLike, axis: int = -1, **kw: Any) -> Tensor:
    """Softmax along axis, finite for any finite input."""
    axis, _, _ = reduction_args("softmax", None if "dim" in kw else axis, False, kw)
    return Softmax.apply(x, axis=axis)


def log_softmax(x: ArrayLike, axis: int = -1, **kw: Any) -> Tensor:
    """Log of softmax along axis, finite and accurate for any finite input."""
    axis, _, _ = reduction_args("log_softmax", None if "dim" in kw else axis, False, kw)
    return LogSoftmax.apply(x, axis=axis)


def _ddof(op: str, ddof: int | None, torch: bool, kw: dict) -> int:
    unbiased, correction = kw.pop("unbiased", None), kw.pop("correction", None)
    if correction is not None:
        return int(correction)
    if unbiased is not None:
        return int(bool(unbiased))
    return (1 if torch else 0) if ddof is None else ddof


def _variance(op: str, x: ArrayLike, axis: Axis, keepdims: bool, ddof: int | None, kw: dict) -> Tensor:
    # var's body, with the name of the op the user called (var or std) for its errors
    d = _ddof(op, ddof, "dim" in kw, kw)
    axis, keepdims, _ = reduction_args(op, axis, keepdims, kw)
    shape = np.shape(data_of(x))
    n = int(np.prod([shape[a] for a in _axes(op, shape, axis)]))
    if n - d <= 0:
        raise ValueError(f"{op}: {n} element(s) over axis {axis} of shape {shape} with ddof={d}: not enough")
    c = x - mean(x, axis=axis, keepdims=True)
    return sum(c * c, axis=axis, keepdims=keepdims) / (n - d)


def var(x: ArrayLike, axis: Axis = None, keepdims: bool = False, ddof: int | None = None, **kw: Any) -> Tensor:
    """Variance over axis (ddof=0 as in numpy; with dim= unbiased, as in PyTorch), composed from mean and sum
    so every order of derivative comes for free."""
    return _variance("var", x, axis, keepdims, ddof, kw)


def std(x: ArrayLike, axis: Axis = None, keepdims: bool = False, ddof: int | None = None, **kw: Any) -> Tensor:
    """Standard deviation: sqrt of `var` (same keywords)."""
    return _variance("std", x, axis, keepdims, ddof, kw).sqrt()


class Norm(Builtin):
    """sqrt(sum(x^2)) over axis;  dx = g x / norm (0 where the norm is 0, as PyTorch's subgradient)."""
    name = "norm"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        shape = np.shape(x)
        kept = _kept_shape(shape, _axes("norm", shape, axis), keepdims)
        out = np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
        ctx.save_for_backward(x, out, kept)
        return out

    @staticmethod
    def backward(ctx, g):
        x, n, kept = ctx.saved
        n = _expand(n, kept)
        return _expand(g, kept) * x / (n + (data_of(n) == 0))


def norm(x: ArrayLike, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Tensor:
    """Euclidean (2-)norm over axis (all elements when None)."""
    axis, keepdims, _ = reduction_args("norm", axis, keepdims, kw)
    return Norm.apply(x, axis=axis, keepdims=keepdims)
