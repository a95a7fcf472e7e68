"""The recorder of ag.compile: receives every op, in-place write and backward call of one eager call of the
compiled function (autograd/_mode.py's `tracing` hook) and turns them into the steps of autograd/_compile_ir.py
(values are followed by identity: autograd/_compile_values.py). It also takes what library code reports
(effects, live values, guards, cleared gradients) and checks, once the call returns, for what replays would
get wrong.
"""
from __future__ import annotations

import gc
import sys
import types
from typing import Any, Callable

import numpy as np

from . import engine
from ._compile_ir import Check, ClearGrads, Copy, Effect, Live, Op, Store, Write
from ._compile_sweep import sweep
from ._compile_values import Misuse, Unsupported, Values, _copy, _fingerprint
from ._mode import is_grad_enabled, mode
from ._tensor import Tensor
from .function import Context

_RUN_BACKWARD = engine.run_backward.__code__


class Watched(Tensor):
    """The class of tensors made by ops while a call is recorded: converting one to a Python value
    (`.item()`, `float()`, `int()`, `bool()`, indexing with it) is reported to the recording, which checks
    the value before each replay. Outside a recording it behaves as a Tensor."""

    def _one_element(self, to: str) -> Any:
        rec = mode().tracer
        if isinstance(rec, Recorder):
            rec.read(self, to)
        return Tensor._one_element(self, to)


def _in_engine_sweep() -> bool:
    """True when called (indirectly) from the engine's backward sweep: ops that backward rules run there
    (e.g. index_add inside getitem's rule) are part of the rule, not of the recorded call."""
    f = sys._getframe(2)
    while f is not None:
        if f.f_code is _RUN_BACKWARD:
            return True
        f = f.f_back
    return False


class Recorder(Values):
    """Builds the steps of one recording. `reason` is set (and recording stops) when something cannot be
    replayed; `misuse` when the function did something a replay would get wrong."""

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
            if type(out) is Tensor:
                out.__class__ = Watched
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
            self._misuse(str(e))

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
        for v in self.leafy:
            self.vals.pop(id(v.example), None)
        self.leafy = []
        for k, (t, _) in list(self.stored.items()):
            if t.grad is None:
                del self.stored[k]
            else:
                self.stored[k] = (t, t.grad)

    def clear_grads(self, tensors: Any) -> None:
        """Set each tensor's .grad to None now, and at this point of every replay."""
        self._settle()
        self._check_stored()
        refs = []
        for t in tensors:
            t.grad = None
            refs.append(self._ref(t))
            self.cleared.add(id(t))
            self.stored.pop(id(t), None)
        self.steps.append(ClearGrads(refs))
        self.side_effects = True

    def live(self, value: Any, getter: Callable[[], Any]) -> Any:
        """A value replays read from getter() (a fresh object, so ops that use it can be told apart)."""
        v = self._new(value)
        self.steps.append(Live(v, getter))
        self._bind(value, v)
        return value

    def guard(self, getter: Callable[[], Any], value: Any) -> None:
        self.guards.append((getter, value))

    def created(self, t: Tensor, source: Any) -> None:
        """Called when a Tensor is made inside the call (ag.tensor(x)): from a value of the recording, it is a
        copy of that value, made afresh by every replay."""
        if self.muted or self.reason or id(t.data) in self.vals:
            return
        src = source.data if isinstance(source, Tensor) else source
        v = self.vals.get(id(src))
        if v is not None and not v.const:
            if not isinstance(t.data, (np.ndarray, np.generic)):
                return
            out = self._new(t.data)
            self.steps.append(Copy(out, v, t.data.dtype))
            self._bind(t.data, out)
        elif isinstance(source, (list, tuple)) and _holds_traced(self, source):
            self.reason = ("a tensor made from a list of traced tensors (ag.tensor([a, b])); a replay would keep "
                           "its recorded values: use ag.stack or ag.concatenate")

    # ---- bookkeeping -----------------------------------------------------------------------------
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
        ours = {id(self.keep), id(self.flat), id(self.snapshots), id(self.by_data)}
        ours |= {id(r) for r in self.refs.values()}
        ours |= {id(x) for x in self.first.values()} | {id(x) for x in self.stored.values()}
        ours |= {id(x) for x in self.snapshots.values()}
        for v, t, snap in self.snapshots.values():
            if id(t) in self.refs and self.refs[id(t)].arg is not None:
                continue
            # Graph nodes of this call hold their inputs; frames are the call's own: neither makes t persistent.
            others = [r for r in gc.get_referrers(t)
                      if id(r) not in ours and not isinstance(r, (types.FrameType, Context))]
            if not others:
                self.resets[v] = snap

    def finish(self) -> None:
        """Checks made once the call has returned."""
        self._settle()
        if self.reason and not self.problems:
            return
        try:
            self._check_stored()
        except Misuse as e:
            self._misuse(str(e))
        for t, data, fp, _ in self.first.values():
            if fp is None or id(t) in self.written:
                continue
            if t.data is not data or _fingerprint(t.data) != fp:
                self._misuse(f"{self._ref(t).describe(t)} was changed without the tracked in-place API "
                             "(through `.data`?); a replay would not change it. Update parameters with "
                             "`with ag.no_grad(): p -= lr * p.grad` or an optimizer")

    def _misuse(self, what: str) -> None:
        self.problems.append(what)
        self.reason = "misuse"

    @property
    def misuse(self) -> str | None:
        """Everything the function did that replays would get wrong (None if nothing)."""
        return "; ".join(self.problems) or None


def _holds_traced(rec: Recorder, items: Any) -> bool:
    for x in items:
        if isinstance(x, (list, tuple)):
            if _holds_traced(rec, x):
                return True
        else:
            v = rec.vals.get(id(x.data if isinstance(x, Tensor) else x))
            if v is not None and not v.const:
                return True
    return False


def _grad_enabled() -> bool:
    return is_grad_enabled()


def _convert(x: Any, how: str) -> Any:
    a = np.asarray(x).reshape(())
    return {"bool": bool, "int": int, "index": int, "float": float}.get(how, lambda y: y.item())(a)


def _where() -> str:
    import os
    import traceback
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frames = [f for f in traceback.extract_stack() if not os.path.abspath(f.filename).startswith(here)]
    return "".join(traceback.format_list(frames[-1:])).strip()
