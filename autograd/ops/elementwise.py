"""Elementwise functions. Each rule is the local derivative times the incoming gradient g."""
from __future__ import annotations

import numpy as np

from ..function import Function, binary, unary
from ..tensor import ArrayLike, Tensor


class Exp(Function):
    """exp(x);  dx = g exp(x)."""
    name = "exp"

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g * out


class Log(Function):
    """log(x);  dx = g / x."""
    name = "log"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g / x


class Sqrt(Function):
    """sqrt(x);  dx = g / (2 sqrt(x))."""
    name = "sqrt"

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g / (2.0 * out)


class Sin(Function):
    """sin(x);  dx = g cos(x)."""
    name = "sin"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * cos(x)


class Cos(Function):
    """cos(x);  dx = -g sin(x)."""
    name = "cos"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return -g * sin(x)


class Tanh(Function):
    """tanh(x);  dx = g (1 - tanh(x)^2)."""
    name = "tanh"

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g * (1.0 - out * out)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2: nothing can overflow, sigmoid(+-1000) is exactly
    1 and 0, and the error is below 1e-16 everywhere;  dx = g s (1 - s).
    (Use softplus, log_softmax or BCE-with-logits for log-probabilities of far-off tails.)"""
    name = "sigmoid"

    @staticmethod
    def forward(ctx, x):
        if type(x) is np.ndarray and x.ndim:  # in place: this op is on the hot path of every sigmoid network
            out = x * 0.5
            np.tanh(out, out=out)
            out *= 0.5
            out += 0.5
        else:
            out = 0.5 * np.tanh(0.5 * x) + 0.5
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        if type(g) is np.ndarray and type(out) is np.ndarray:  # plain arrays: reuse one buffer
            d = 1.0 - out
            d *= out
            d *= g
            return d
        return g * out * (1.0 - out)


class Softplus(Function):
    """log(1 + exp(x)), stable for any x;  dx = g sigmoid(x)."""
    name = "softplus"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * sigmoid(x)


class Relu(Function):
    """max(x, 0);  dx = g [x > 0]."""
    name = "relu"

    @staticmethod
    def forward(ctx, x):
        ctx.mask = x > 0
        return np.maximum(x, 0.0)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask


class Clip(Function):
    """clip(x, lo, hi);  dx = g inside [lo, hi], 0 outside."""
    name = "clip"

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        mask = np.ones(np.shape(x), dtype=bool)  # a local: ctx ignores writes when nothing is recorded
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        ctx.mask = mask
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask


class Maximum(Function):
    """max(a, b) elementwise; a tie sends half the gradient to each side."""
    name = "maximum"

    @staticmethod
    def forward(ctx, a, b):
        ctx.wa = (a > b) + 0.5 * (a == b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.wa, g * (1.0 - ctx.wa)


class Minimum(Function):
    """min(a, b) elementwise; a tie sends half the gradient to each side."""
    name = "minimum"

    @staticmethod
    def forward(ctx, a, b):
        ctx.wa = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.wa, g * (1.0 - ctx.wa)


class Where(Function):
    """cond ? a : b. The unselected side gets an exact zero gradient, even where its value is inf/NaN."""
    name = "where"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond = np.asarray(cond, dtype=bool)  # read back from the local: ctx may ignore writes
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        return None, g * ctx.cond, g * ~ctx.cond


def exp(x: ArrayLike) -> Tensor:
    """e**x."""
    return unary(Exp, x)


def log(x: ArrayLike) -> Tensor:
    """Natural logarithm."""
    return unary(Log, x)


def sqrt(x: ArrayLike) -> Tensor:
    """Square root."""
    return unary(Sqrt, x)


def sin(x: ArrayLike) -> Tensor:
    """Sine."""
    return unary(Sin, x)


def cos(x: ArrayLike) -> Tensor:
    """Cosine."""
    return unary(Cos, x)


def tanh(x: ArrayLike) -> Tensor:
    """Hyperbolic tangent."""
    return unary(Tanh, x)


def sigmoid(x: ArrayLike) -> Tensor:
    """Logistic function, finite for any input."""
    return unary(Sigmoid, x)


def softplus(x: ArrayLike) -> Tensor:
    """log(1 + e**x), finite for any input."""
    return unary(Softplus, x)


def relu(x: ArrayLike) -> Tensor:
    """max(x, 0)."""
    return unary(Relu, x)


def clip(x: ArrayLike, lo: float | None = None, hi: float | None = None) -> Tensor:
    """Limit values to [lo, hi]; no gradient outside."""
    return Clip.apply(x, lo=lo, hi=hi)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise max; ties split the gradient evenly."""
    return binary(Maximum, a, b)


def minimum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise min; ties split the gradient evenly."""
    return binary(Minimum, a, b)


def where(cond: ArrayLike, a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise cond ? a : b; cond carries no gradient."""
    return Where.apply(cond, a, b)
