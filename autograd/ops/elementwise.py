"""Elementwise functions: a table of simple ones (forward and derivative on one line each), and classes for
the ones with options, two inputs, or a worked example of the custom-op protocol (sigmoid).

A derivative is written once for both kinds of backward: `m` is numpy (plain arrays, an ordinary
backward) or this package (Tensors, under create_graph), so the same line is differentiable again.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from .._tensor import ArrayLike, Tensor
from ..function import Builtin, call


def _sigmoid_array(x: Any) -> Any:
    """1 / (1 + e^-x): a few ulps of relative error for any x (each of exp, + and / adds at most about one).
    Where e^-x would overflow (x below -709 in float64) sigmoid(x) is e^x to the last bit, so it is used there:
    sigmoid(-1000) is 0 and sigmoid(+1000) is exactly 1, with no overflow."""
    if type(x) is not np.ndarray or not x.ndim:
        e = np.exp(-np.abs(x))
        return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
    s = np.negative(x)  # one buffer, updated in place: this op is on the hot path of every sigmoid network
    cap = _EXP_MAX.get(s.dtype, 709.0)
    deep = s.size and s.max() > cap  # one reduction, no buffer: the far negative tail is rare
    if deep:
        np.minimum(s, cap, out=s)
    np.exp(s, out=s)
    s += 1.0
    np.reciprocal(s, out=s)
    if deep:
        np.exp(x, out=s, where=x < -cap)
    return s


_EXP_MAX = {np.dtype(t): float(np.log(np.finfo(t).max)) for t in (np.float16, np.float32, np.float64)}


# The two namespaces a derivative can be written in (see the module docstring).
_NP = SimpleNamespace(cos=np.cos, sin=np.sin, sign=np.sign, sigmoid=_sigmoid_array, where=np.where, log=np.log,
                      exp=np.exp)
_AG = SimpleNamespace(cos=lambda x: cos(x), sin=lambda x: sin(x), sign=lambda x: np.sign(x.data),
                      sigmoid=lambda x: sigmoid(x), where=lambda c, a, b: where(c, a, b), log=lambda x: log(x),
                      exp=lambda x: exp(x))


def math_of(g: Any) -> SimpleNamespace:
    """numpy for plain arrays, autograd's ops for Tensors (create_graph)."""
    return _AG if isinstance(g, Tensor) else _NP


class Elementwise(Builtin):
    """y = f(x);  dx = g f'(x), with f and f' taken from the table below."""

    f: Callable = staticmethod(lambda x: x)
    df: Callable = staticmethod(lambda m, x, y: 1.0)

    @classmethod
    def forward(cls, ctx, x):
        y = cls.f(x)
        ctx.save_for_backward(x, y)
        return y

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved
        return g * cls.df(math_of(g), x, y)


# name       forward                            derivative f'(x), from x and y = f(x)      the math
_TABLE = [
    ("exp",      np.exp,                            lambda m, x, y: y,                   "e^x;  d/dx = e^x"),
    ("log",      np.log,                            lambda m, x, y: 1.0 / x,             "ln x;  d/dx = 1/x"),
    ("sqrt",     np.sqrt,                           lambda m, x, y: 0.5 / y,             "√x;  d/dx = 1/(2√x)"),
    ("sin",      np.sin,                            lambda m, x, y: m.cos(x),            "sin x;  d/dx = cos x"),
    ("cos",      np.cos,                            lambda m, x, y: -m.sin(x),           "cos x;  d/dx = -sin x"),
    ("tanh",     np.tanh,                           lambda m, x, y: 1.0 - y * y,         "tanh x;  d/dx = 1 - tanh²x"),
    ("softplus", lambda x: np.logaddexp(0.0, x),    lambda m, x, y: m.sigmoid(x),        "ln(1 + e^x), stable;  d/dx = σ(x)"),
    ("relu",     lambda x: np.maximum(x, 0.0),      lambda m, x, y: x > 0,               "max(x, 0);  d/dx = [x > 0]"),
    ("abs",      np.abs,                            lambda m, x, y: m.sign(x),           "|x|;  d/dx = sign x (0 at 0)"),
    ("neg",      np.negative,                       lambda m, x, y: -1.0,                "-x;  d/dx = -1"),
]
_OPS = {name: type(name.capitalize(), (Elementwise,), {"name": name, "f": staticmethod(f), "df": staticmethod(df),
                                                       "__doc__": doc})
        for name, f, df, doc in _TABLE}
Exp, Log, Sqrt, Sin, Cos, Tanh, Softplus, Relu, Abs, Neg = _OPS.values()


class Sigmoid(Builtin):
    """σ(x) = 1 / (1 + e^-x), accurate to a few ulps and finite for any x;  dx = g σ(1 - σ).
    (For log-probabilities of far tails use softplus, log_softmax or BCE-with-logits.)"""
    name = "sigmoid"

    @staticmethod
    def forward(ctx, x):
        out = _sigmoid_array(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        if type(g) is np.ndarray and type(s) is np.ndarray:  # plain arrays: one buffer instead of three
            d = 1.0 - s
            d *= s
            d *= g
            return d
        return g * s * (1.0 - s)


class Clip(Builtin):
    """clip(x, lo, hi);  dx = g inside [lo, hi], 0 outside."""
    name = "clip"

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        inside = np.ones(np.shape(x), dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.save_for_backward(inside)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved
        return g * inside


class _Pairwise(Builtin):
    """max or min of a and b elementwise; a tie sends half the gradient to each side."""

    pick: Callable = staticmethod(np.maximum)
    wins: Callable = staticmethod(np.greater)  # where a is the one picked

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(cls.wins(a, b) + 0.5 * (a == b))
        return cls.pick(a, b)

    @staticmethod
    def backward(ctx, g):
        (wa,) = ctx.saved
        return g * wa, g * (1.0 - wa)


class Maximum(_Pairwise):
    """max(a, b) elementwise; a tie sends half the gradient to each side."""
    name = "maximum"


class Minimum(_Pairwise):
    """min(a, b) elementwise; a tie sends half the gradient to each side."""
    name = "minimum"
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Builtin):
    """cond ? a : b. The unselected side gets an exact zero gradient, even where g or its value is inf/NaN."""
    name = "where"

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved
        m = math_of(g)
        return None, m.where(cond, g, 0.0), m.where(cond, 0.0, g)


def _function(cls: type) -> Callable[[ArrayLike], Tensor]:
    """The public function of a table row: `exp(x)` is `call(Exp, x)`, documented by the row's math."""
    def fn(x: ArrayLike) -> Tensor:
        return call(cls, x)
    fn.__name__ = fn.__qualname__ = cls.name
    fn.__doc__ = cls.__doc__
    fn.__module__ = __name__
    return fn


exp, log, sqrt, sin, cos, tanh, softplus, relu, abs, neg = map(_function, _OPS.values())  # noqa: A001


def sigmoid(x: ArrayLike) -> Tensor:
    """Logistic function, accurate and finite for any input."""
    return call(Sigmoid, x)


def clip(x: ArrayLike, lo: float | None = None, hi: float | None = None) -> Tensor:
    """Limit values to [lo, hi]; no gradient outside."""
    return Clip.apply(x, lo=lo, hi=hi)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise max; ties split the gradient evenly."""
    return call(Maximum, a, b)


def minimum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise min; ties split the gradient evenly."""
    return call(Minimum, a, b)


def where(cond: ArrayLike, a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise cond ? a : b; cond carries no gradient."""
    return Where.apply(cond, a, b)
