"""The recorder of ag.compile: receives every op, in-place write and backward call of one eager call of the
compiled function (autograd/_mode.py's `tracing` hook) and turns them into the steps of autograd/_compile_ir.py.

Values are followed by identity: every array the call computes, reads or is given gets a Val the first time it
is seen, and an op input that is that very object refers to that Val. An object seen for the first time is a
tensor's data (a leaf: read afresh at every replay), a tensor's gradient, or a constant baked in.
"""
from __future__ import annotations

import gc
import itertools
import sys
import types
from typing import Any, Callable

import numpy as np

from . import engine
from ._compile_ir import (Check, Copy, Effect, Live, Op, ReadArg, ReadGrad, ReadLeaf, Step, Store, TensorRef, Val,
                          Write)
from ._compile_sweep import sweep
from ._tensor import Tensor
from .function import Context

_RUN_BACKWARD = engine.run_backward.__code__


class Unsupported(Exception):
    """Something the recording cannot replay: the call still ran eagerly; this signature stays eager."""


class Misuse(Exception):
    """Something the compiled function must not do (it would make replays silently wrong)."""


def _in_engine_sweep() -> bool:
    """True when called (indirectly) from the engine's backward sweep: ops that backward rules run there
    (e.g. index_add inside getitem's rule) are part of the rule, not of the recorded call."""
    f = sys._getframe(2)
    while f is not None:
        if f.f_code is _RUN_BACKWARD:
            return True
        f = f.f_back
    return False


def _fingerprint(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return (id(x), x.shape, x.dtype.str, hash(np.ascontiguousarray(x).tobytes()))
    return (id(x), repr(x))


_serials = itertools.count(1)


class Recorder:
    """Builds the steps of one recording. `reason` is set (and recording stops) when something cannot be
    replayed; `misuse` when the function did something a replay would get wrong."""

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
        self.snapshots: dict[int, tuple] = {}  # id(Val) -> (Val, tensor, value before the first write)
        self.resets: dict[Val, Any] = {}  # Vals of temporaries (made inside the call): re-made at every replay
        self.owned: set[int] = set()  # ids of constant arrays the recorder itself made (root gradients)
        self.reason: str | None = None
        self.misuse: str | None = None
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
            for t, g in self.stored.values():
                if t.grad is not None and t.grad.data is x:  # a gradient stored before an effect ran
                    v = self._new(x)
                    self.steps.append(ReadGrad(v, self._ref(t)))
                    self._bind(x, v)
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

    # ---- hooks (autograd/_mode.py `tracing`) -------------------------------------------------------
    def forward(self, cls: type, ctx: Any, raw: tuple, options: dict, out: Tensor, record: bool) -> None:
        """Called after every op's forward."""
        if self.muted or self.reason or (not _grad_enabled() and _in_engine_sweep()):
            return
        try:
            self._settle()
            edges = ctx.edges if record else (None,) * len(raw)
            ins = [self.val(x, e) for x, e in zip(raw, edges)]
            opts = {k: self._index(v) for k, v in options.items()}
            v = self._new(out.data)
            by_id = {id(x): w for x, w in zip(raw, ins)}
            by_id[id(out.data)] = v
            saved = tuple(by_id.get(id(s), s) for s in ctx.saved)
            extra = {k: w for k, w in ctx.__dict__.items() if k not in ("trace", "checksums")}
            op = Op(cls, ins, opts, v, tuple(ctx.needs_input_grad), ctx if record else None, saved, extra)
            self.steps.append(op)
            self._bind(out.data, v)
            if record:
                self.nodes[id(ctx)] = op
                self.keep.append(ctx)
        except Unsupported as e:
            self.reason = str(e)

    def write(self, t: Tensor, op: str, ufunc: Any, value: Any, index: Any) -> None:
        """Called before every in-place write."""
        if self.muted:
            self.written.add(id(t))
            return
        if self.reason:
            return
        try:
            self._settle()
            target = self.vals.get(id(t.data))
            if target is None:
                known = t.requires_grad or id(t) in self.refs  # a parameter, an argument: never a temporary
                if known or not isinstance(t.data, np.ndarray):
                    target = self._leaf(t)  # read afresh, unless it turns out to be a temporary
                else:
                    target = self._new(t.data, const=True)
                    self._bind(t.data, target)
                if not known:
                    self.snapshots.setdefault(id(target), (target, t, _copy(t.data)))
            elif target.const:
                if not isinstance(t.data, np.ndarray):
                    raise Unsupported(f"{op} writes into a 0-d tensor whose value the recording took as a constant")
                self.snapshots.setdefault(id(target), (target, t, _copy(t.data)))
            ref = self._ref(t)
            self.written.add(id(t))
            val = self.val(value)
            out = None
            if not isinstance(t.data, np.ndarray):  # 0-d: the tensor gets a new scalar object
                out = self._new(t.data)
                self.pending.append((t, out, "data"))
            self.steps.append(Write(ref, target, op, ufunc, val, self._index(index), out))
            self.side_effects = True
        except Unsupported as e:
            self.reason = str(e)

    def backward(self, roots: Any, grads: Any, retain_graph: Any, create_graph: bool) -> None:
        """Called by Tensor.backward before the engine sweeps."""
        if self.muted or self.reason:
            return
        try:
            if create_graph:
                raise Unsupported("backward(create_graph=True) inside a compiled function")
            self._settle()
            stores = sweep(self, list(roots), grads)
            for t, g in stores:
                saw_none = t.grad is None
                cleared = id(t) in self.cleared
                if saw_none and not cleared and self.first.get(id(t), (0, 0, 0, False))[3]:
                    raise Misuse(f"the gradient of {self._ref(t).describe(t)} was cleared by code the recording "
                                 "cannot see (`p.grad = None`, Module.zero_grad); a replay would not clear it. "
                                 "Call the optimizer's zero_grad() inside the compiled function instead")
                out = self._new(None)
                out.kind, out.shape, out.dtype = g.kind, g.shape, g.dtype
                self.steps.append(Store(self._ref(t), g, out, saw_none, cleared))
                self.pending.append((t, out, "grad"))
            self.side_effects = True
        except Unsupported as e:
            self.reason = str(e)
        except Misuse as e:
            self.misuse = str(e)
            self.reason = "misuse"

    def grad(self, *args: Any) -> None:
        """Called by ag.grad: its sweep hands gradients to Python, which the recording cannot follow."""
        if not self.muted and not self.reason:
            self.reason = "ag.grad inside a compiled function"

    def read(self, t: Tensor, how: str) -> None:
        """Called when a traced tensor is converted to a Python value (`.item()`, `float()`, `bool()`, ...)."""
        if self.muted or self.reason:
            return
        self._settle()
        v = self.vals.get(id(t.data))
        if v is None or v.const:
            return
        if self.side_effects:
            self.reason = (f"{how}() of a traced tensor after the function changed state (a backward or an "
                           "update): its value would be baked in; return the tensor and convert it outside")
            return
        self.steps.append(Check(v, how, _convert(t.data, how), _where()))

    # ---- what libraries call (autograd/compile.py's effect, live, guard) --------------------------
    def effect(self, fn: Callable[[], Any], clears: Any = ()) -> None:
        """Run fn now, unrecorded, and record that replays call it here. `clears`: tensors whose .grad it
        sets to None."""
        self._settle()
        self._check_stored()
        self.muted += 1
        try:
            fn()
        finally:
            self.muted -= 1
        self.steps.append(Effect(fn))
        self.side_effects = True
        for t in clears:
            self.cleared.add(id(t))
            self.stored.pop(id(t), None)
        # The effect may have rebound or changed any tensor's data or gradient: read them afresh from now on.
        for step in self.steps:
            if isinstance(step, (ReadLeaf, ReadGrad, Store)):
                self.vals.pop(id(step.out.example), None)
        for k, (t, g) in list(self.stored.items()):
            if t.grad is None:
                del self.stored[k]
            else:
                self.stored[k] = (t, t.grad)

    def live(self, value: Any, getter: Callable[[], Any]) -> Any:
        """A value replays read from getter() (a fresh object, so ops that use it can be told apart)."""
        v = self._new(value)
        self.steps.append(Live(v, getter))
        self._bind(value, v)
        return value

    def guard(self, getter: Callable[[], Any], value: Any) -> None:
        self.guards.append((getter, value))

    def created(self, t: Tensor, source: Any) -> None:
        """Called when a Tensor is made from an array inside the call (ag.tensor(x)): a copy of x."""
        if self.muted or self.reason:
            return
        src = source.data if isinstance(source, Tensor) else source
        v = self.vals.get(id(src))
        if v is None or v.const or not isinstance(t.data, (np.ndarray, np.generic)):
            return
        out = self._new(t.data)
        self.steps.append(Copy(out, v, t.data.dtype))
        self._bind(t.data, out)

    # ---- bookkeeping -----------------------------------------------------------------------------
    def _settle(self) -> None:
        """Map the arrays the engine stored into .grad (and 0-d tensors' new scalars) to their Vals."""
        if not self.pending:
            return
        for t, v, what in self.pending:
            x = t.data if what == "data" else t.grad.data
            v.example = x
            v.kind, v.shape, v.dtype = Val(0, x).kind, np.shape(x), getattr(x, "dtype", None)
            self._bind(x, v)
            if what == "grad":
                self.stored[id(t)] = (t, t.grad)
            else:
                self.by_data[id(x)] = t
        self.pending = []

    def _check_stored(self) -> None:
        for t, g in self.stored.values():
            if t.grad is not g:
                raise Misuse(f"the gradient of {self._ref(t).describe(t)} was replaced by code the recording "
                             "cannot see (for example nn.utils.clip_grad_norm_, or `p.grad = ...`); a replay "
                             "would skip that. Do it outside the compiled function, or wrap it in "
                             "autograd.compile.effect")

    def classify_temporaries(self) -> None:
        """Tensors written in place that only the recording still references were made inside the call
        (`z = ag.zeros(3); z += x`): eager code makes them anew on every call, so replays start them from
        their value before the first write instead of reusing (and accumulating into) the recorded one."""
        ours = {id(self.keep), id(self.flat), id(self.snapshots)} | {id(r) for r in self.refs.values()}
        ours |= {id(x) for x in self.first.values()} | {id(x) for x in self.stored.values()}
        ours |= {id(x) for x in self.snapshots.values()}
        for v, t, snap in self.snapshots.values():
            if id(t) in self.refs and self.refs[id(t)].arg is not None:
                continue
            others = [r for r in gc.get_referrers(t) if id(r) not in ours and not isinstance(r, types.FrameType)]
            if not others:
                self.resets[v] = snap

    def finish(self) -> None:
        """Checks made once the call has returned."""
        self._settle()
        if self.reason:
            return
        try:
            self._check_stored()
        except Misuse as e:
            self.misuse, self.reason = str(e), "misuse"
            return
        for t, data, fp, _ in self.first.values():
            if fp is None or id(t) in self.written:
                continue
            if t.data is not data or _fingerprint(t.data) != fp:
                self.misuse = (f"{self._ref(t).describe(t)} was changed without the tracked in-place API "
                               "(through `.data`?); a replay would not change it. Update parameters with "
                               "`with ag.no_grad(): p -= lr * p.grad` or an optimizer")
                self.reason = "misuse"
                return


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _copy(x: Any) -> Any:
    return x.copy() if isinstance(x, np.ndarray) else x


def _grad_enabled() -> bool:
    from ._mode import is_grad_enabled
    return is_grad_enabled()


def _convert(x: Any, how: str) -> Any:
    a = np.asarray(x).reshape(())
    return {"bool": bool, "int": int, "index": int, "float": float}.get(how, lambda y: y.item())(a)


def _where() -> str:
    import traceback
    import os
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frames = [f for f in traceback.extract_stack() if not os.path.abspath(f.filename).startswith(here)]
    return "".join(traceback.format_list(frames[-1:])).strip()
