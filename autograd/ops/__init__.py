"""Built-in ops, each a `Function` whose forward and backward sit side by side.

This module also gives `Tensor` its methods (`t.exp()`, `t.sum(axis=1)`, ...), so each op is
defined once and reachable both as `ag.exp(t)` and as `t.exp()`.
"""
from ..tensor import Tensor
from .arithmetic import Abs, Add, Div, Mul, Neg, Pow, Sub, abs, add, div, mul, neg, pow, sub
from .elementwise import (Clip, Cos, Exp, Log, Maximum, Minimum, Relu, Sigmoid, Sin, Softplus, Sqrt, Tanh,
                          Where, clip, cos, exp, log, maximum, minimum, relu, sigmoid, sin, softplus, sqrt,
                          tanh, where)
from .linalg import MatMul, dot, matmul
from .reduce import (LogSoftmax, LogSumExp, Max, Mean, Min, Softmax, Sum, log_softmax, logsumexp, max, mean,
                     min, softmax, sum, var)
from .shape import (BroadcastTo, Concatenate, GetItem, IndexAdd, Pad, Reshape, Stack, Transpose, broadcast_to,
                    concatenate, expand_dims, flatten, getitem, pad, reshape, split, squeeze, stack, swapaxes,
                    transpose)

_METHODS = [abs, exp, log, sqrt, sin, cos, tanh, sigmoid, softplus, relu, clip, sum, mean, max, min, var,
            logsumexp, softmax, log_softmax, reshape, transpose, swapaxes, expand_dims, squeeze, flatten,
            broadcast_to, split, pad, matmul, dot]
import sys as _sys  # noqa: E402

_tensor_module = _sys.modules[Tensor.__module__]
_tensor_module.ops = _sys.modules[__name__]
from .. import engine as _engine  # noqa: E402

_tensor_module.engine = _engine
from ..function import binary as _fast_binary  # noqa: E402

_tensor_module._binary = _fast_binary
for _f in _METHODS:
    setattr(Tensor, _f.__name__, _f)
Tensor.pow = pow
