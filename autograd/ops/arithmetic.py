"""Binary arithmetic. Broadcasting is undone by the engine, not here."""
from __future__ import annotations

import numpy as np

from .._tensor import ArrayLike, Tensor, data_of
from ..function import Builtin, call
from .elementwise import math_of


class Add(Builtin):
    """a + b;  da = g, db = g."""
    name = "add"
    forward = staticmethod(lambda ctx, a, b: a + b)
    backward = staticmethod(lambda ctx, g: (g, g))


class Sub(Builtin):
    """a - b;  da = g, db = -g."""
    name = "sub"
    forward = staticmethod(lambda ctx, a, b: a - b)

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Builtin):
    """a * b;  da = g b, db = g a."""
    name = "mul"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Builtin):
    """a / b;  da = g / b, db = -g a / b^2."""
    name = "div"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        return (g / b if na else None), (-g * a / (b * b) if nb else None)


class Pow(Builtin):
    """a ** b;  da = g b a^(b-1) (0 where b = 0), db = g a^b log(a) (0 where a = 0 and b >= 0), as in PyTorch."""
    name = "pow"

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved
        na, nb = ctx.needs_input_grad
        m = math_of(g)
        da = db = None
        if na:
            if type(b) is int and b == 2:  # the common square: d(a^2) = 2a, one buffer for plain arrays
                if type(g) is np.ndarray and type(a) is np.ndarray and g.shape == a.shape:
                    da = a * 2.0
                    da *= g
                else:
                    da = g * (2.0 * a)
            else:
                # b = 0 at a = 0 would give 0 * inf = nan: the derivative of a^0 is 0 (PyTorch agrees)
                with np.errstate(divide="ignore", invalid="ignore"):
                    zero = (data_of(b) == 0) & (data_of(a) == 0)
                    da = g * m.where(zero, 0.0, b * m.where(zero, 1.0, a) ** (b - 1))
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                # a = 0 would give 0 * log 0 = nan: the limit (and PyTorch) says 0 for b >= 0
                zero = (data_of(a) == 0) & (data_of(b) >= 0)
                db = g * m.where(zero, 0.0, out * m.log(m.where(zero, 1.0, a)))
        return da, db


def add(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a + b with broadcasting."""
    return call(Add, a, b)


def sub(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a - b with broadcasting."""
    return call(Sub, a, b)


def mul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a * b with broadcasting."""
    return call(Mul, a, b)


def div(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a / b with broadcasting."""
    return call(Div, a, b)


def pow(a: ArrayLike, b: ArrayLike) -> Tensor:  # noqa: A001
    """a ** b; b may be a Tensor."""
    return call(Pow, a, b)
