"""Built-in ops, each a `Function` whose forward and backward sit side by side (or a row of the elementwise
table). Tensor's methods (`t.exp()`, `t.sum(axis=1)`) are one-line calls of these functions."""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .._tensor import Tensor, data_of
from .arithmetic import Add, Div, Mul, Pow, Sub, add, div, mul, pow, sub
from .elementwise import (
    Abs,
    Clip,
    Cos,
    Elementwise,
    Exp,
    Log,
    Maximum,
    Minimum,
    Neg,
    Relu,
    Sigmoid,
    Sin,
    Softplus,
    Sqrt,
    Tanh,
    Where,
    abs,
    clip,
    cos,
    exp,
    log,
    maximum,
    minimum,
    neg,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tanh,
    where,
)
from .linalg import MatMul, dot, matmul
from .reduce import (
    LogSoftmax,
    LogSumExp,
    Max,
    Mean,
    Min,
    Norm,
    Softmax,
    Sum,
    argmax,
    argmin,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    norm,
    softmax,
    std,
    sum,
    var,
)
from .shape import (
    AsType,
    BroadcastTo,
    Clone,
    Concatenate,
    GetItem,
    IndexAdd,
    Pad,
    Reshape,
    Stack,
    Transpose,
    astype,
    broadcast_to,
    cat,
    clone,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)

__all__ = [
    "Abs", "Add", "AsType", "BroadcastTo", "Clip", "Clone", "Concatenate", "Cos", "Div", "Elementwise", "Exp",
    "GetItem", "IndexAdd", "Log", "LogSoftmax", "LogSumExp", "MatMul", "Max", "Maximum", "Mean", "Min", "Minimum",
    "Mul", "Neg", "Norm", "Pad", "Pow", "Relu", "Reshape", "Sigmoid", "Sin", "Softmax", "Softplus", "Sqrt",
    "Stack", "Sub", "Sum", "Tanh", "Transpose", "Where",
    "abs", "add", "argmax", "argmin", "astype", "broadcast_to", "cat", "clip", "clone", "concatenate", "cos",
    "div", "dot", "exp", "expand_dims", "flatten", "getitem", "log", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "norm", "pad", "permute", "pow", "relu", "reshape",
    "sigmoid", "sin", "softmax", "softplus", "split", "sqrt", "squeeze", "stack", "std", "sub", "sum",
    "swapaxes", "tanh", "transpose", "unsqueeze", "var", "where", "numpy_ufunc",
]

# numpy ufuncs that run as differentiable ops when a Tensor is an operand (`np.exp(t)`, `array * t`).
_UFUNCS = {np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: pow,
           np.matmul: matmul, np.negative: neg, np.exp: exp, np.log: log, np.sqrt: sqrt, np.sin: sin, np.cos: cos,
           np.tanh: tanh, np.absolute: abs, np.maximum: maximum, np.minimum: minimum,
           np.positive: lambda x: x}
_COMPARE = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal, np.isfinite, np.isnan,
            np.isinf, np.sign, np.logical_not, np.invert}


# numpy functions that dispatch through __array_function__ (np.dot(W, x), np.concatenate([a, b])): the ones
# with an op here run as that op; any other refuses a Tensor that requires grad, since numpy would hand back a
# plain array and silently cut the tensor out of the graph.
_FUNCTIONS = {np.dot: dot, np.concatenate: concatenate, np.stack: stack, np.where: where, np.reshape: reshape,
              np.transpose: transpose, np.swapaxes: swapaxes, np.expand_dims: expand_dims, np.squeeze: squeeze,
              np.broadcast_to: broadcast_to, np.clip: clip, np.sum: sum, np.mean: mean, np.max: max, np.amax: max,
              np.min: min, np.amin: min, np.var: var, np.std: std, np.argmax: argmax, np.argmin: argmin}


def _needs_grad(args: Any) -> bool:
    if isinstance(args, Tensor):
        return args.requires_grad
    if isinstance(args, (list, tuple)):
        return builtins.any(_needs_grad(a) for a in args)
    if isinstance(args, dict):
        return _needs_grad(list(args.values()))
    return False


def _arrays(args: Any) -> Any:
    if isinstance(args, Tensor):
        return np.asarray(args.data)
    if isinstance(args, (list, tuple)):
        return type(args)(_arrays(a) for a in args)
    if isinstance(args, dict):
        return {k: _arrays(v) for k, v in args.items()}
    return args


def numpy_function(func: Any, args: tuple, kwargs: dict) -> Any:
    """Tensor.__array_function__: np.dot, np.concatenate, np.where... run as ops; any other numpy function runs
    on the arrays, and a floating-point result from a tensor that requires grad is refused (np.shape, np.allclose,
    np.argsort still answer)."""
    op = _FUNCTIONS.get(func)
    if op is not None:
        return op(*args, **kwargs)
    out = func(*_arrays(args), **_arrays(kwargs))
    if _needs_grad((args, kwargs)) and builtins.any(
            isinstance(o, (np.ndarray, np.generic)) and o.dtype.kind in "fc"
            for o in (out if isinstance(out, (list, tuple)) else (out,))):
        raise TypeError(f"np.{func.__name__} has no gradient rule here: use the autograd op of the same name, or "
                        "apply it to tensor.numpy() (which leaves the graph)")
    return out


def numpy_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """Tensor.__array_ufunc__: differentiable ufuncs become ops; comparisons give bool tensors; writing into
    an array (`array -= t`, out=) and anything else is refused with a message saying what to do."""
    name = f"np.{ufunc.__name__}"
    if kwargs.get("out") is not None:
        raise TypeError(f"{name}: cannot write the result into a numpy array in place (e.g. `array -= tensor`): "
                        "a Tensor is not an array; use `array -= tensor.numpy()` or `result = array - tensor`")
    if method != "__call__" or kwargs:
        raise TypeError(f"{name}.{method} with {sorted(kwargs) or 'no'} keywords is not supported on Tensors; "
                        "use the autograd function of the same name, or tensor.numpy()")
    if ufunc in _UFUNCS:
        return _UFUNCS[ufunc](*inputs)
    if ufunc in _COMPARE:
        return Tensor._make(ufunc(*(data_of(x) for x in inputs)), False, None)
    raise TypeError(f"{name} is not differentiable here: use an autograd op, or apply it to tensor.numpy() "
                    "(which leaves the graph)")
