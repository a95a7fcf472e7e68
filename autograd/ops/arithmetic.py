"""Binary arithmetic and unary sign ops. Broadcasting is undone by the engine, not here."""
from __future__ import annotations

import numpy as np

from ..function import Function, binary, unary
from ..tensor import ArrayLike, Tensor
from .elementwise import log


class Add(Function):
    """a + b;  da = g, db = g."""
    name = "add"
    forward = staticmethod(lambda ctx, a, b: a + b)
    backward = staticmethod(lambda ctx, g: (g, g))


class Sub(Function):
    """a - b;  da = g, db = -g."""
    name = "sub"
    forward = staticmethod(lambda ctx, a, b: a - b)

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
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


class Div(Function):
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


class Pow(Function):
    """a ** b;  da = g b a^(b-1), db = g a^b log(a)."""
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
        if na:  # the common square gets a cheaper rule: d(a^2) = 2a
            if type(b) is not int or b != 2:
                da = g * (b * a ** (b - 1))
            elif type(g) is np.ndarray and type(a) is np.ndarray and g.shape == a.shape:
                da = a * 2.0  # plain arrays: one new buffer
                da *= g
            else:
                da = g * (2.0 * a)
        return (da if na else None), (g * out * log(a) if nb else None)


class Neg(Function):
    """-a;  da = -g."""
    name = "neg"
    forward = staticmethod(lambda ctx, a: -a)
    backward = staticmethod(lambda ctx, g: -g)


class Abs(Function):
    """|a|;  da = g sign(a)."""
    name = "abs"

    @staticmethod
    def forward(ctx, a):
        ctx.sign = np.sign(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


def add(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a + b with broadcasting."""
    return binary(Add, a, b)


def sub(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a - b with broadcasting."""
    return binary(Sub, a, b)


def mul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a * b with broadcasting."""
    return binary(Mul, a, b)


def div(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a / b with broadcasting."""
    return binary(Div, a, b)


def pow(a: ArrayLike, b: ArrayLike) -> Tensor:  # noqa: A001
    """a ** b; b may be a Tensor."""
    return binary(Pow, a, b)


def neg(a: ArrayLike) -> Tensor:
    """-a."""
    return unary(Neg, a)


def abs(a: ArrayLike) -> Tensor:  # noqa: A001
    """|a| (gradient sign(a), 0 at 0)."""
    return unary(Abs, a)
