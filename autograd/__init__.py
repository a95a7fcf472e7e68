"""autograd: a small reverse-mode automatic differentiation engine over numpy.

    import autograd as ag
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward(); x.grad  # tensor([2., 4.])
"""
from typing import Any

import numpy as _np

from .tensor import Tensor
from . import ops
from ._mode import detect_anomaly, enable_grad, graph_scope, is_grad_enabled, no_grad
from .engine import grad
from .function import Context, Function
from .ops import (abs, add, broadcast_to, clip, concatenate, cos, div, dot, exp, expand_dims, flatten, getitem,
                  log, log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, pad, pow,
                  relu, reshape, sigmoid, sin, softmax, softplus, split, sqrt, squeeze, stack, sub, sum,
                  swapaxes, tanh, transpose, var, where)
from .tensor import Tensor
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numeric_jacobian
from . import functional
from . import viz

__version__ = "0.1.0"


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> Tensor:
    """Make a Tensor from an array, list or number (float64 by default for floats; the data is copied)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of zeros (float64)."""
    return Tensor(_np.zeros(_shape(shape), dtype=dtype or _np.float64), requires_grad=requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of ones (float64)."""
    return Tensor(_np.ones(_shape(shape), dtype=dtype or _np.float64), requires_grad=requires_grad)


def _shape(shape: tuple) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape

