"""How ag.compile's recorder follows values: by identity. Every array the recorded call computes, reads or is
given gets a Val the first time it is seen, and an op input that is that very object refers to that Val. An
object seen for the first time is a tensor's data (a leaf: read afresh at every replay), a tensor's gradient, a
re-wrapping of a value already known, or a constant baked into the recording.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._compile_ir import Op, ReadArg, ReadGrad, ReadLeaf, Step, TensorRef, Val
from ._tensor import Tensor
from .function import Context


class Unsupported(Exception):
    """Something the recording cannot replay: the call still ran eagerly; this signature stays eager."""


class Misuse(Exception):
    """Something the compiled function must not do (it would make replays silently wrong)."""


def _fingerprint(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return (id(x), x.shape, x.dtype.str, hash(np.ascontiguousarray(x).tobytes()))
    return (id(x), repr(x))




_serials = itertools.count(1)


class Values:
    """The value-tracking half of the Recorder (autograd/_compile_record.py)."""

    def __init__(self, flat: list) -> None:
        self.serial = next(_serials)  # tells recordings apart (an optimizer notes which one it cleared in)
        self.steps: list[Step] = []
        self.n = 0
        self.vals: dict[int, Val] = {}  # id(object) -> its Val
        self.keep: list = []  # every object whose id is a key above (ids stay unique while we hold them)
        self.refs: dict[int, TensorRef] = {}  # id(tensor) -> TensorRef
        self.by_data: dict[int, Any] = {}  # id(tensor.data) -> tensor, for tensors met outside recorded ops
        self.nodes: dict[int, Op] = {}  # id(Context) -> the Op that made it
        self.muted = 0  # > 0 inside an effect: its own ops and writes are not part of the recording
        self.pending: list = []  # (tensor, Val) whose new array is known only after the engine ran
        self.cleared: set[int] = set()  # tensors whose .grad a recorded effect set to None
        self.stored: dict[int, tuple] = {}  # id(tensor) -> (tensor, the .grad Tensor the recording stored)
        self.first: dict[int, tuple] = {}  # id(tensor) -> (tensor, data object, fingerprint, grad was set)
        self.written: set[int] = set()  # tensors changed by a recorded write or by an effect
        self.guards: list = []  # (getter, value) checked before a replay starts
        self.leafy: list[Val] = []  # Vals read from tensors (data, .grad): an effect may change those
        self.snapshots: dict[int, tuple] = {}  # id(Val) -> (Val, tensor, value before the first write)
        self.resets: dict[Val, Any] = {}  # Vals of temporaries (made inside the call): re-made at every replay
        self.owned: set[int] = set()  # ids of constant arrays the recorder itself made (root gradients)
        self.reason: str | None = None
        self.problems: list[str] = []  # what the function did that replays would get wrong
        self.side_effects = False
        self.flat = flat
        for i, x in enumerate(flat):
            if isinstance(x, Tensor):
                ref = self._ref(x, arg=i)
                v = self._new(x.data)
                self.steps.append(ReadArg(v, i, True))
                self._bind(x.data, v)
                self.by_data[id(x.data)] = x
                self.first[id(x)] = (x, x.data, None, x.grad is not None)
                self.refs[id(x)] = ref
            elif isinstance(x, (np.ndarray, np.generic)):
                v = self._new(x)
                self.steps.append(ReadArg(v, i, False))
                self._bind(x, v)

    # ---- values ----------------------------------------------------------------------------------
    def _new(self, example: Any, const: bool = False) -> Val:
        self.n += 1
        return Val(self.n, example, const)

    def _bind(self, obj: Any, v: Val) -> None:
        self.vals[id(obj)] = v
        self.keep.append(obj)

    def _ref(self, t: Tensor, arg: int | None = None) -> TensorRef:
        ref = self.refs.get(id(t))
        if ref is None:
            if arg is None:
                arg = next((i for i, x in enumerate(self.flat) if x is t), None)
            self.n += 1
            ref = self.refs[id(t)] = TensorRef(t, arg, self.n)
            self.keep.append(t)
        return ref

    def _leaf(self, t: Tensor) -> Val:
        """A Val for t's data as it is now (a new read of it)."""
        if id(t) not in self.first:
            fp = _fingerprint(t.data) if t.requires_grad else None
            self.first[id(t)] = (t, t.data, fp, t.grad is not None)
        v = self._new(t.data)
        self.steps.append(ReadLeaf(v, self._ref(t)))
        self._bind(t.data, v)
        self.by_data[id(t.data)] = t
        self.leafy.append(v)
        return v

    def val(self, x: Any, edge: Any = None) -> Val:
        """The Val of an op input or written value x (edge: its node in the graph, when recorded)."""
        if isinstance(x, Tensor):
            edge, x = x, x.data
        v = self.vals.get(id(x))
        if v is not None:
            return v
        if isinstance(edge, Tensor) and edge.data is x:
            return self._leaf(edge)
        if type(edge) is Context:
            raise Unsupported(f"an op uses a tensor made by {edge.name} before the compiled function was called; "
                              "compute it inside the function or pass it as an argument")
        t = self.by_data.get(id(x))
        if t is not None and t.data is x:
            return self._leaf(t)
        if isinstance(x, np.ndarray):
            for t, _ in self.stored.values():
                if t.grad is not None and t.grad.data is x:  # a gradient stored before an effect ran
                    v = self._new(x)
                    self.steps.append(ReadGrad(v, self._ref(t)))
                    self._bind(x, v)
                    self.leafy.append(v)
                    return v
        if isinstance(x, np.ndarray) and x.base is not None:
            v = self._view_of(x)
            if v is not None:
                return v
        v = self._new(x, const=True)
        self._bind(x, v)
        return v

    def _view_of(self, x: np.ndarray) -> Val | None:
        """The Val x is a re-wrapping of (np.asarray(a.data) makes a new array over a's memory), or an error
        if x views part of a value of the recording (a replay would keep reading the recorded call's)."""
        b = x.base
        while b is not None:
            v = self.vals.get(id(b))
            if v is not None and not v.const:
                if isinstance(b, np.ndarray) and b.shape == x.shape and b.strides == x.strides and \
                        b.dtype == x.dtype and _address(b) == _address(x):
                    self._bind(x, v)
                    return v
                raise Unsupported(f"an op uses an array of shape {x.shape} that views a value of the recording "
                                  "(numpy slicing or indexing of a tensor's .data); use tensor ops instead")
            b = b.obj if isinstance(b, memoryview) else getattr(b, "base", None)
        return None

    def _index(self, index: Any) -> Any:
        """An index (or an op option) with the arrays that are values of the recording replaced by Vals."""
        if isinstance(index, tuple):
            return tuple(self._index(i) for i in index)
        if isinstance(index, (np.ndarray, Tensor)):
            x = index.data if isinstance(index, Tensor) else index
            v = self.vals.get(id(x))
            if v is None and isinstance(x, np.ndarray) and x.base is not None:
                v = self._view_of(x)
            if v is not None and not v.const:
                return v
        return index

    def _settle(self) -> None:
        """Map the arrays the engine stored into .grad (and 0-d tensors' new scalars) to their Vals."""
        if not self.pending:
            return
        for t, v, what in self.pending:
            if what == "grad" and t.grad is None:
                self._misuse(f"the gradient of {self._ref(t).describe(t)} was cleared by code the recording "
                             "cannot see (`p.grad = None`); a replay would keep it. Use the optimizer's "
                             "zero_grad() (recorded) or clear it outside the compiled function")
                continue
            x = t.data if what == "data" else t.grad.data
            v.example = x
            v.kind, v.shape, v.dtype = Val(0, x).kind, np.shape(x), getattr(x, "dtype", None)
            self._bind(x, v)
            self.leafy.append(v)
            if what == "grad":
                self.stored[id(t)] = (t, t.grad)
            else:
                self.by_data[id(x)] = t
        self.pending = []


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _copy(x: Any) -> Any:
    return x.copy() if isinstance(x, np.ndarray) else x
