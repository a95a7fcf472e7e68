"""`Function`: the one mechanism every op uses, built-in or user-defined.

An op is a class with a numpy `forward(ctx, *inputs, **options)` and a `backward(ctx, grad)` that
returns one gradient per positional input. In an ordinary backward pass the rule gets plain numpy arrays;
under `create_graph=True` it gets Tensors (its saved inputs and output too), so a rule written with
operators is differentiable again.

An op is recorded in one of two ways that share one node builder (`_node`), one way of running forward
(`_run`) and one display name (`display_name`): `call` for up to two positional inputs without options (every
operator and most built-in ops), and `Function.apply` for everything else.
"""
from __future__ import annotations

import itertools
import os
import traceback
from typing import Any

import numpy as np

from ._mode import state
from ._tensor import Tensor

# The engine's clock: ops are numbered as they are recorded, in-place writes as they happen.
clock = itertools.count()

# Shared constants for what most nodes hold: a live graph then references fewer distinct objects, which
# makes Python's cyclic garbage collector's passes over it cheaper.
_NO_OPTIONS: dict = {}
_NEEDS = {(a,): (a,) for a in (False, True)}
_NEEDS.update({(a, b): (a, b) for a in (False, True) for b in (False, True)})
_ABSENT = object()  # `call`'s marker for "no second input"
_new = object.__new__


def display_name(fn: type, options: dict) -> str:
    """An op's name with its options, e.g. `sum(axis=1)`."""
    base = getattr(fn, "name", None) or fn.__name__.lower()
    opts = ", ".join(f"{k}={v!r}" for k, v in options.items() if v is not None and v is not False and k != "index")
    return f"{base}({opts})" if opts else base


class Context:
    """Per-call record of an op: the node of the graph. Holds where each input's gradient goes, what
    forward saved, and the output array.

    The graph is made of nodes, not tensors: `edges[i]` is the node of input i (the Context of the op
    that made it, or the input itself when it is a leaf, a constant or a plain value), so intermediate
    Tensors die as soon as the user drops them, and a live graph holds one object per one- or two-input
    op (the edges sit in slots, not a tuple) for Python's cyclic garbage collector to scan.
    A forward that records nothing still gets a Context (one that no output points at), so a rule's
    forward behaves the same either way.
    """

    __slots__ = ("fn", "_e0", "_e1", "_more", "options", "saved", "scope", "seq", "needs_input_grad", "data",
                 "__dict__")
    trace = None  # where the op was created, recorded only under detect_anomaly
    _hooks: list | None = None  # hooks registered on the op's output tensor
    _retain: Any = None  # weak reference to the output tensor that asked for retain_grad()
    _version = 0  # bumped by in-place writes to the output tensor (an intermediate's array lives here)

    @property
    def edges(self) -> tuple:
        """The node of each input: a Context, or the input itself (a leaf, a constant, a plain value)."""
        n = len(self.needs_input_grad)
        return (self._e0, self._e1) if n == 2 else (self._e0,) if n == 1 else self._more

    @property
    def inputs(self) -> tuple:
        """The op's inputs: Tensors (a fresh handle for each intermediate one) and plain values."""
        return tuple(e.tensor() if type(e) is Context else e for e in self.edges)

    def tensor(self) -> Tensor:
        """A Tensor for this node's output: its data, with this node as grad_fn."""
        return Tensor._make(self.data, True, self)

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward. Save inputs or the output: those become Tensors under create_graph."""
        self.saved = arrays

    @property
    def name(self) -> str:
        """The op's display name, e.g. `sum(axis=1)`."""
        return display_name(self.fn, self.options)

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _node(fn: type, e0: Any, e1: Any, more: tuple | None, options: dict, needs: tuple, record: bool) -> Context:
    """The one place a Context is built. Unrecorded ones (no input needs a gradient, or no_grad) get no edges."""
    ctx = _new(Context)
    ctx.fn = fn
    ctx.options = options
    ctx.saved = ()
    ctx.needs_input_grad = needs
    if record:
        if more is None:
            ctx._e0 = e0
            if len(needs) == 2:
                ctx._e1 = e1
        else:
            ctx._more = more
        ctx.scope = state.scope
        ctx.seq = next(clock)  # creation order: the engine's topological order
    return ctx


class Function:
    """Base class of differentiable ops. Subclass with static `forward` and `backward`; call `apply`.

    forward(ctx, *arrays, **options) -> ndarray  (inputs arrive as numpy arrays or plain values)
    backward(ctx, grad) -> gradient or tuple of gradients, one per positional input (None for none)
    """

    name: str | None = None

    @staticmethod
    def forward(ctx: Context, *args: Any, **options: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run forward on the inputs' arrays and, if any input requires grad, record the op."""
        if not options and 0 < len(inputs) < 3:
            return call(cls, *inputs)
        raw = tuple(x.data if isinstance(x, Tensor) else x for x in inputs)
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        needs = _NEEDS.get(needs, needs)
        record = any(needs) and state.grad_enabled
        edges = tuple(map(_edge, inputs)) if record else None
        if record and len(edges) in (1, 2):
            ctx = _node(cls, edges[0], edges[-1], None, options or _NO_OPTIONS, needs, True)
        else:
            ctx = _node(cls, None, None, edges, options or _NO_OPTIONS, needs, record)
        return _run(cls, ctx, raw, options, record)


def _edge(x: Any) -> Any:
    """Where the gradient of input x goes: the node that made it, or x itself."""
    if isinstance(x, Tensor) and x.grad_fn is not None:
        return x.grad_fn
    return x


def call(cls: type, a: Any, b: Any = _ABSENT) -> Tensor:
    """`cls.apply(a)` or `cls.apply(a, b)` for ops without options: the path of every operator."""
    x = ea = a
    na = nb = False
    if isinstance(a, Tensor):
        x = a.data
        na = a.requires_grad
        if a.grad_fn is not None:
            ea = a.grad_fn
    if b is _ABSENT:
        record = na and state.grad_enabled
        return _run(cls, _node(cls, ea, None, None, _NO_OPTIONS, _NEEDS[(na,)], record), (x,), _NO_OPTIONS, record)
    y = eb = b
    if isinstance(b, Tensor):
        y = b.data
        nb = b.requires_grad
        if b.grad_fn is not None:
            eb = b.grad_fn
    record = (na or nb) and state.grad_enabled
    return _run(cls, _node(cls, ea, eb, None, _NO_OPTIONS, _NEEDS[na, nb], record), (x, y), _NO_OPTIONS, record)


def _run(cls: type, ctx: Context, raw: tuple, options: dict, record: bool) -> Tensor:
    """Run forward and wrap its result in a Tensor attached to ctx (when recording)."""
    try:
        out = cls.forward(ctx, *raw, **options)
    except (ValueError, TypeError, IndexError) as e:
        raise _op_error(cls, options, raw, e) from None
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        out = np.asarray(out)
    t = _new(Tensor)
    t.data = out
    kind = out.dtype.kind
    if record and kind in "fc":
        t.requires_grad = True
        t.grad_fn = ctx
        ctx.data = out
    else:
        t.requires_grad = False
        if kind == "O":
            raise _op_error(cls, options, raw, TypeError("the result has dtype object: only numeric arrays "
                                                         "and Tensors can be operands"))
    if state.watching:
        _watch(cls, ctx, raw, options, t, record)
    return t


def _watch(cls: type, ctx: Context, raw: tuple, options: dict, t: Tensor, record: bool) -> None:
    """The slow path of every op, taken only under detect_anomaly or while ag.compile records."""
    if state.anomaly:
        _check_finite(t.data, cls, "forward")
        if record:
            ctx.trace = _user_trace()
            ctx.checksums = tuple(_checksum(a) for a in ctx.saved)
    if state.tracer is not None:
        state.tracer.forward(cls, ctx, raw, options, t, record)


def _checksum(a: Any) -> Any:
    """A cheap fingerprint of a saved array, so detect_anomaly catches writes through `.data` too."""
    if isinstance(a, np.ndarray) and a.dtype.kind in "biufc":
        return hash(np.ascontiguousarray(a).tobytes())
    return None


def _op_error(cls: type, options: dict, raw: Any, e: Exception) -> Exception:
    """forward's error, restated with the op's name and the input shapes (and dtypes when they matter)."""
    def describe(r: Any) -> str:
        if isinstance(r, (np.ndarray, np.generic, int, float, bool, complex, list, tuple)):
            try:
                return str(np.shape(r))
            except (ValueError, TypeError):
                return type(r).__name__
        return type(r).__name__
    shapes = ", ".join(describe(r) for r in raw)
    name = display_name(cls, options)
    msg = str(e).removeprefix(f"{cls.name or cls.__name__.lower()}: ")  # numpy may name the op too
    kind = TypeError if isinstance(e, TypeError) else IndexError if isinstance(e, IndexError) else ValueError
    return kind(f"{name}: {msg} (input shapes: {shapes})")


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_trace() -> str:
    """The last 3 frames outside this package: the user's line that created the op, however it was
    reached (operator, ag function, composed op, or a custom Function's apply called directly)."""
    frames = [f for f in traceback.extract_stack() if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    return "".join(traceback.format_list(frames[-3:]))


def _check_finite(value: Any, fn: type, where: str, trace: str | None = None) -> None:
    arr = np.asarray(value.data if isinstance(value, Tensor) else value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        msg = f"detect_anomaly: {getattr(fn, 'name', None) or fn.__name__.lower()} produced a non-finite value in {where}"
        if trace:
            msg += f"; the op was created at:\n{trace}"
        raise FloatingPointError(msg)
