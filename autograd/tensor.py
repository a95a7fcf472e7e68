"""`Tensor`: a numpy array that remembers the op that made it, so gradients can flow back."""
from __future__ import annotations

import weakref
from typing import Any, Callable, Iterator

import numpy as np



# What ops accept: Tensors, arrays, nested lists and Python numbers.
ArrayLike = Any
# A reduction's axis: None for all, an int, or a tuple of ints (negatives count from the end).
Axis = "int | tuple[int, ...] | None"


class Tensor:
    """An n-d array (0-d included) with an optional gradient and a link to the op that produced it.

    `data` is the numpy array (a numpy scalar for 0-d tensors, which keeps scalar code fast).
    """

    __array_ufunc__ = None  # `ndarray op Tensor` defers to Tensor's reflected operators
    __hash__ = object.__hash__

    grad: "Tensor | None" = None
    grad_fn: Any = None
    name: str | None = None
    _hooks: list | None = None  # a leaf's hooks (a non-leaf's live on its grad_fn)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        arr = np.array(data, dtype=dtype)  # a copy: the tensor owns its data
        if arr.dtype == object:
            raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} (object array)")
        if dtype is None and arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            arr = arr.astype(np.float32)
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype {arr.dtype}")
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
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="numpy dtype of the data.")

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
        return self.data.item()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.data, dtype=dtype)

    def __float__(self) -> float:
        return float(self._one_element("float"))

    def __int__(self) -> int:
        return int(self._one_element("int"))

    def _one_element(self, to: str) -> Any:
        # Any one-element tensor converts, as in PyTorch (numpy 2 refuses shape (1,)).
        if self.data.size != 1:
            raise TypeError(f"{to}() needs a tensor with one element, got shape {self.data.shape}")
        return self.data.item()

    def __bool__(self) -> bool:
        return bool(self.data)

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

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place on a leaf; returns self."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only leaf tensors can be set to not require grad; use detach()")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad_: only floating-point tensors can require grad, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
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

    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`. `grad` is required unless self is a scalar."""
        engine.backward([self], None if grad is None else [grad], retain_graph, create_graph)

    # ---- operators ---------------------------------------------------------------------------
    def __add__(self, o: Any) -> "Tensor": return _binary(ops.Add, self, o)
    def __radd__(self, o: Any) -> "Tensor": return _binary(ops.Add, o, self)
    def __sub__(self, o: Any) -> "Tensor": return _binary(ops.Sub, self, o)
    def __rsub__(self, o: Any) -> "Tensor": return _binary(ops.Sub, o, self)
    def __mul__(self, o: Any) -> "Tensor": return _binary(ops.Mul, self, o)
    def __rmul__(self, o: Any) -> "Tensor": return _binary(ops.Mul, o, self)
    def __truediv__(self, o: Any) -> "Tensor": return _binary(ops.Div, self, o)
    def __rtruediv__(self, o: Any) -> "Tensor": return _binary(ops.Div, o, self)
    def __pow__(self, o: Any) -> "Tensor": return _binary(ops.Pow, self, o)
    def __rpow__(self, o: Any) -> "Tensor": return _binary(ops.Pow, o, self)
    def __matmul__(self, o: Any) -> "Tensor": return _binary(ops.MatMul, self, o)
    def __rmatmul__(self, o: Any) -> "Tensor": return _binary(ops.MatMul, o, self)
    def __neg__(self) -> "Tensor": return ops.Neg.apply(self)
    def __pos__(self) -> "Tensor": return self
    def __abs__(self) -> "Tensor": return ops.Abs.apply(self)
    def __getitem__(self, index: Any) -> "Tensor": return ops.getitem(self, index)

    # Comparisons give boolean tensors that carry no gradient.
    def __lt__(self, o: Any) -> "Tensor": return Tensor._make(self.data < _raw(o), False, None)
    def __le__(self, o: Any) -> "Tensor": return Tensor._make(self.data <= _raw(o), False, None)
    def __gt__(self, o: Any) -> "Tensor": return Tensor._make(self.data > _raw(o), False, None)
    def __ge__(self, o: Any) -> "Tensor": return Tensor._make(self.data >= _raw(o), False, None)
    def __eq__(self, o: Any) -> "Tensor": return Tensor._make(self.data == _raw(o), False, None)  # type: ignore[override]
    def __ne__(self, o: Any) -> "Tensor": return Tensor._make(self.data != _raw(o), False, None)  # type: ignore[override]
    def __invert__(self) -> "Tensor": return Tensor._make(~self.data, False, None)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


_new = object.__new__

# The ops module needs Tensor, and Tensor's operators need the ops: autograd.ops fills this in on import.
ops: Any = None
engine: Any = None  # likewise autograd.engine, which imports this module
_binary: Any = None  # and autograd.function.binary, the operators' fast path to Function.apply
