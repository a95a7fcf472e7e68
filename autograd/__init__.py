"""autograd: a small reverse-mode automatic differentiation engine over numpy.

    import autograd as ag
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward(); x.grad  # tensor([2., 4.])
"""
from typing import Any

import numpy as _np

from ._tensor import Tensor
from . import ops
from ._mode import detect_anomaly, enable_grad, graph_scope, is_grad_enabled, no_grad
from .engine import grad
from .function import Context, Function
from .ops import (abs, add, argmax, argmin, astype, broadcast_to, cat, clip, clone, concatenate, cos, div, dot, exp,
                  expand_dims, flatten, getitem, log, log_softmax, logsumexp, matmul, max, maximum, mean, min,
                  minimum, mul, neg, norm, pad, permute, pow, relu, reshape, sigmoid, sin, softmax, softplus, split,
                  sqrt, squeeze, stack, std, sub, sum, swapaxes, tanh, transpose, unsqueeze, var, where)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numeric_jacobian
from . import functional
from . import viz
from .compile import compile

__version__ = "0.1.0"


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> Tensor:
    """Make a Tensor from an array, list or number (float64 by default for floats; the data is copied)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def _shape(shape: tuple) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _factory(arr: Any, requires_grad: bool) -> Tensor:
    return Tensor(arr, requires_grad=requires_grad, dtype=arr.dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of zeros (float64)."""
    return _factory(_np.zeros(_shape(shape), dtype=dtype or _np.float64), requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of ones (float64)."""
    return _factory(_np.ones(_shape(shape), dtype=dtype or _np.float64), requires_grad)


def full(shape: Any, fill_value: float, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of `shape` filled with `fill_value` (float64 unless dtype is given)."""
    return _factory(_np.full(_shape((shape,)), fill_value, dtype=dtype or _np.float64), requires_grad)


def zeros_like(t: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Zeros with t's shape and dtype."""
    return _factory(_np.zeros_like(_np.asarray(t), dtype=dtype), requires_grad)


def ones_like(t: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Ones with t's shape and dtype."""
    return _factory(_np.ones_like(_np.asarray(t), dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """The n×m identity matrix (float64)."""
    return _factory(_np.eye(n, m, dtype=dtype or _np.float64), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, requires_grad: bool = False,
           dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop), as np.arange (integers stay integers unless dtype is given)."""
    arr = _np.arange(start, stop, step) if stop is not None else _np.arange(start)
    return _factory(arr.astype(dtype) if dtype is not None else arr, requires_grad)


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = None, rng: Any = None) -> Tensor:
    """Standard normal samples (float64) from `rng` (a numpy Generator) or numpy's global generator."""
    arr = (rng.standard_normal(_shape(shape)) if rng is not None else _np.random.randn(*_shape(shape)))
    return _factory(_np.asarray(arr, dtype=dtype or _np.float64), requires_grad)


def rand(*shape: Any, requires_grad: bool = False, dtype: Any = None, rng: Any = None) -> Tensor:
    """Uniform samples in [0, 1) (float64) from `rng` or numpy's global generator."""
    arr = rng.random(_shape(shape)) if rng is not None else _np.random.rand(*_shape(shape))
    return _factory(_np.asarray(arr, dtype=dtype or _np.float64), requires_grad)
