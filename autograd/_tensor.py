"""`Tensor`: a numpy array that remembers the op that made it, so gradients can flow back.

Its methods are one line each and delegate to the op functions in `autograd.ops` (imported at the end of
this module, once the class exists, since the ops need the class).
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

# What ops accept: Tensors, arrays, nested lists and Python numbers.
ArrayLike = Any
# A reduction's axis: None for all, an int, or a tuple of ints (negatives count from the end).
Axis = Union[int, tuple, None]


def data_of(x: Any) -> Any:
    """The array behind x: a Tensor's data, anything else unchanged."""
    return x.data if isinstance(x, Tensor) else x


class Size(int):
    """`t.size`: the number of elements (numpy's meaning), and callable as PyTorch's `t.size(dim=None)`."""

    shape: tuple = ()

    def __call__(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]


class Tensor:
    """An n-d array (0-d included) with an optional gradient and a link to the op that produced it.

    `data` is the numpy array (a numpy scalar for 0-d tensors, which keeps scalar code fast).
    """

    __hash__ = object.__hash__

    grad: "Tensor | None" = None
    grad_fn: Any = None
    name: str | None = None
    _hooks: list | None = None  # a leaf's hooks (a non-leaf's live on its grad_fn)
    _version = 0  # in-place writes to this tensor so far

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        arr = np.array(data, dtype=dtype)  # a copy: the tensor owns its data
        if dtype is None and arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            arr = arr.astype(np.float32)
        _check_dtype("Tensor", arr.dtype, requires_grad, type(data).__name__)
        self.data = arr[()] if arr.ndim == 0 else arr
        self.requires_grad = bool(requires_grad)
        if name is not None:
            self.name = name

    @staticmethod
    def _make(data: Any, requires_grad: bool, grad_fn: Any) -> "Tensor":
        # The op path: no conversion or validation, just three stores.
        t = _new(Tensor)
        t.data = data
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        return t

    # ---- attributes users expect -------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Shape tuple of the data.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    dtype = property(lambda self: self.data.dtype, doc="numpy dtype of the data.")

    @property
    def size(self) -> Size:
        """Number of elements; `t.size()` gives the shape and `t.size(d)` one length, as in PyTorch."""
        s = Size(self.data.size)
        s.shape = self.data.shape
        return s

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records."""
        return self.grad_fn is None

    @property
    def T(self) -> "Tensor":
        """Transpose (all axes reversed)."""
        return ops.transpose(self)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (not a copy)."""
        return np.asarray(self.data)

    def item(self) -> Any:
        """The single element as a Python number."""
        d = self.data
        if type(d) is np.float64 and type(self) is Tensor:  # loss.item(), once a step: no checks to make
            return float(d)
        return self._one_element("item").item()

    def tolist(self) -> Any:
        """The data as (nested lists of) Python numbers."""
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.data, dtype=dtype)

    def __float__(self) -> float:
        return float(self._one_element("float"))

    def __int__(self) -> int:
        return int(self._one_element("int"))

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got dtype {self.data.dtype}")
        return int(self._one_element("index"))

    def _one_element(self, to: str) -> Any:
        # Any one-element tensor converts, as in PyTorch (numpy 2 refuses shape (1,)).
        if self.data.size != 1:
            raise TypeError(f"{to}() needs a tensor with one element, got shape {self.data.shape}")
        return np.asarray(self.data).reshape(())

    def __bool__(self) -> bool:
        return bool(self._one_element("bool"))

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator["Tensor"]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self.data), separator=", ", prefix="tensor(", threshold=20)
        extra = ""
        if self.data.dtype != np.float64:
            extra += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}{extra})"

    # ---- graph controls ----------------------------------------------------------------------
    def detach(self) -> "Tensor":
        """A tensor sharing this data, cut from the graph (no gradient flows through it)."""
        return Tensor._make(self.data, False, None)

    def clone(self) -> "Tensor":
        """A copy of the data that stays in the graph (the gradient passes through unchanged)."""
        return ops.clone(self)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place on a leaf; returns self."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only leaf tensors can be set to not require grad; use detach()")
        _check_dtype("requires_grad_", self.data.dtype, requires_grad)
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward."""
        if self.grad_fn is not None:  # the node holds it weakly: the graph must not keep tensors alive
            self.grad_fn._retain = weakref.ref(self)

    def register_hook(self, fn: Callable[["Tensor"], Any]) -> Callable[[], None]:
        """Call fn(grad) when the gradient arrives here; a non-None return replaces the gradient.
        Returns a function that removes the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        # A non-leaf's gradient is the one arriving at the node that made it: the hook lives there.
        owner = self if self.grad_fn is None else self.grad_fn
        if owner._hooks is None:
            owner._hooks = []
        hooks = owner._hooks
        hooks.append(fn)
        return lambda: hooks.remove(fn) if fn in hooks else None

    def backward(self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`. `grad` is required unless self is a scalar."""
        engine.backward([self], None if grad is None else [grad], retain_graph, create_graph)

    # ---- in-place changes (tracked: see autograd/_inplace.py) -----------------------------------
    def __iadd__(self, o: Any) -> "Tensor": return _inplace.write(self, "+=", np.add, o)
    def __isub__(self, o: Any) -> "Tensor": return _inplace.write(self, "-=", np.subtract, o)
    def __imul__(self, o: Any) -> "Tensor": return _inplace.write(self, "*=", np.multiply, o)
    def __itruediv__(self, o: Any) -> "Tensor": return _inplace.write(self, "/=", np.true_divide, o)
    def __setitem__(self, index: Any, o: Any) -> None: _inplace.write(self, "__setitem__", None, o, index)
    def zero_(self) -> "Tensor": return _inplace.write(self, "zero_", None, 0)
    def fill_(self, value: Any) -> "Tensor": return _inplace.write(self, "fill_", None, value)
    def copy_(self, src: Any) -> "Tensor": return _inplace.write(self, "copy_", None, src)
    def add_(self, o: Any) -> "Tensor": return _inplace.write(self, "add_", np.add, o)
    def sub_(self, o: Any) -> "Tensor": return _inplace.write(self, "sub_", np.subtract, o)
    def mul_(self, o: Any) -> "Tensor": return _inplace.write(self, "mul_", np.multiply, o)
    def div_(self, o: Any) -> "Tensor": return _inplace.write(self, "div_", np.true_divide, o)

    # ---- operators ---------------------------------------------------------------------------
    def __add__(self, o: Any) -> "Tensor": return call(Add, self, o)
    def __radd__(self, o: Any) -> "Tensor": return call(Add, o, self)
    def __sub__(self, o: Any) -> "Tensor": return call(Sub, self, o)
    def __rsub__(self, o: Any) -> "Tensor": return call(Sub, o, self)
    def __mul__(self, o: Any) -> "Tensor": return call(Mul, self, o)
    def __rmul__(self, o: Any) -> "Tensor": return call(Mul, o, self)
    def __truediv__(self, o: Any) -> "Tensor": return call(Div, self, o)
    def __rtruediv__(self, o: Any) -> "Tensor": return call(Div, o, self)
    def __pow__(self, o: Any) -> "Tensor": return call(Pow, self, o)
    def __rpow__(self, o: Any) -> "Tensor": return call(Pow, o, self)
    def __matmul__(self, o: Any) -> "Tensor": return call(MatMul, self, o)
    def __rmatmul__(self, o: Any) -> "Tensor": return call(MatMul, o, self)
    def __neg__(self) -> "Tensor": return ops.neg(self)
    def __pos__(self) -> "Tensor": return self
    def __abs__(self) -> "Tensor": return ops.abs(self)
    def __getitem__(self, index: Any) -> "Tensor": return ops.getitem(self, index)

    # Comparisons give boolean tensors that carry no gradient.
    def __lt__(self, o: Any) -> "Tensor": return Tensor._make(self.data < data_of(o), False, None)
    def __le__(self, o: Any) -> "Tensor": return Tensor._make(self.data <= data_of(o), False, None)
    def __gt__(self, o: Any) -> "Tensor": return Tensor._make(self.data > data_of(o), False, None)
    def __ge__(self, o: Any) -> "Tensor": return Tensor._make(self.data >= data_of(o), False, None)
    def __eq__(self, o: Any) -> "Tensor": return Tensor._make(self.data == data_of(o), False, None)  # type: ignore[override]
    def __ne__(self, o: Any) -> "Tensor": return Tensor._make(self.data != data_of(o), False, None)  # type: ignore[override]
    def __invert__(self) -> "Tensor": return Tensor._make(~self.data, False, None)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy functions on Tensors: the differentiable ones run as ops (`np.exp(t)`, `array + t`);
        writing into an array (`array -= t`) and the rest are refused with a clear message."""
        return ops.numpy_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        """numpy functions on Tensors (`np.dot(W, x)`): differentiable ones run as ops; the others never
        silently return a plain array for a tensor that requires grad (see ops.numpy_function)."""
        return ops.numpy_function(func, args, kwargs)

    # ---- ops as methods: each is the function of the same name in autograd.ops ----------------------
    def abs(self) -> "Tensor": return ops.abs(self)
    def exp(self) -> "Tensor": return ops.exp(self)
    def log(self) -> "Tensor": return ops.log(self)
    def sqrt(self) -> "Tensor": return ops.sqrt(self)
    def sin(self) -> "Tensor": return ops.sin(self)
    def cos(self) -> "Tensor": return ops.cos(self)
    def tanh(self) -> "Tensor": return ops.tanh(self)
    def sigmoid(self) -> "Tensor": return ops.sigmoid(self)
    def softplus(self) -> "Tensor": return ops.softplus(self)
    def relu(self) -> "Tensor": return ops.relu(self)
    def pow(self, b: ArrayLike) -> "Tensor": return ops.pow(self, b)
    def clip(self, lo: float | None = None, hi: float | None = None) -> "Tensor": return ops.clip(self, lo, hi)
    def matmul(self, b: ArrayLike) -> "Tensor": return ops.matmul(self, b)
    def dot(self, b: ArrayLike) -> "Tensor": return ops.dot(self, b)
    def sum(self, axis: Axis = None, keepdims: bool = False, **kw: Any) -> "Tensor": return ops.sum(self, axis, keepdims, **kw)
    def mean(self, axis: Axis = None, keepdims: bool = False, **kw: Any) -> "Tensor": return ops.mean(self, axis, keepdims, **kw)
    def max(self, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Any: return ops.max(self, axis, keepdims, **kw)
    def min(self, axis: Axis = None, keepdims: bool = False, **kw: Any) -> Any: return ops.min(self, axis, keepdims, **kw)
    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int | None = None, **kw: Any) -> "Tensor": return ops.var(self, axis, keepdims, ddof, **kw)
    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int | None = None, **kw: Any) -> "Tensor": return ops.std(self, axis, keepdims, ddof, **kw)
    def norm(self, axis: Axis = None, keepdims: bool = False, **kw: Any) -> "Tensor": return ops.norm(self, axis, keepdims, **kw)
    def argmax(self, axis: int | None = None, keepdims: bool = False, **kw: Any) -> "Tensor": return ops.argmax(self, axis, keepdims, **kw)
    def argmin(self, axis: int | None = None, keepdims: bool = False, **kw: Any) -> "Tensor": return ops.argmin(self, axis, keepdims, **kw)
    def logsumexp(self, axis: Axis = None, keepdims: bool = False, **kw: Any) -> "Tensor": return ops.logsumexp(self, axis, keepdims, **kw)
    def softmax(self, axis: int = -1, **kw: Any) -> "Tensor": return ops.softmax(self, axis, **kw)
    def log_softmax(self, axis: int = -1, **kw: Any) -> "Tensor": return ops.log_softmax(self, axis, **kw)
    def reshape(self, *shape: Any) -> "Tensor": return ops.reshape(self, *shape)
    def view(self, *shape: Any) -> "Tensor": return ops.reshape(self, *shape)
    def flatten(self) -> "Tensor": return ops.flatten(self)
    def transpose(self, *axes: Any) -> "Tensor": return ops.transpose(self, *axes)
    def permute(self, *dims: Any) -> "Tensor": return ops.permute(self, *dims)
    def swapaxes(self, a: int, b: int) -> "Tensor": return ops.swapaxes(self, a, b)
    def expand_dims(self, axis: int) -> "Tensor": return ops.expand_dims(self, axis)
    def unsqueeze(self, dim: int) -> "Tensor": return ops.expand_dims(self, dim)
    def squeeze(self, axis: Axis = None, **kw: Any) -> "Tensor": return ops.squeeze(self, axis, **kw)
    def broadcast_to(self, shape: Sequence[int]) -> "Tensor": return ops.broadcast_to(self, shape)
    def split(self, sections: Any, axis: int = 0, **kw: Any) -> list: return ops.split(self, sections, axis, **kw)
    def pad(self, pad_width: Any, value: float = 0.0) -> "Tensor": return ops.pad(self, pad_width, value)
    def astype(self, dtype: Any) -> "Tensor": return ops.astype(self, dtype)
    def float(self) -> "Tensor": return ops.astype(self, np.float32)
    def double(self) -> "Tensor": return ops.astype(self, np.float64)


def _check_dtype(where: str, dtype: np.dtype, requires_grad: bool, source: str = "") -> None:
    """Only real numbers flow: no object arrays, and only real floating-point tensors require grad."""
    if dtype.kind not in "biufc":
        raise TypeError(f"{where}: cannot make a tensor from {source or 'an array'} (dtype {dtype}): "
                        "only numeric data can be a tensor")
    if requires_grad and dtype.kind != "f":
        why = " (complex gradients are not supported)" if dtype.kind == "c" else ""
        raise TypeError(f"{where}: only real floating-point tensors can require grad, got dtype {dtype}{why}")


_new = object.__new__

# Imported last: these modules need the Tensor class defined above.
from . import _inplace, engine, ops  # noqa: E402
from .function import call  # noqa: E402
from .ops.arithmetic import Add, Div, Mul, Pow, Sub  # noqa: E402
from .ops.linalg import MatMul  # noqa: E402
