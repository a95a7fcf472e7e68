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

from ._mode import Mode, _local
from ._tensor import Tensor

# The engine's clock: ops are numbered as they are recorded, in-place writes as they happen.
clock = itertools.count()

# Shared constants for what most nodes hold: a live graph then references fewer distinct objects, which
# makes Python's cyclic garbage collector's passes over it cheaper.
_NO_OPTIONS: dict = {}
_ONE = {False: (False,), True: (True,)}
_TWO = {a: {b: (a, b) for b in (False, True)} for a in (False, True)}
_NEEDS = {n: n for n in list(_ONE.values()) + [t for d in _TWO.values() for t in d.values()]}
_FF = (False, False)
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


def _node(fn: type, e0: Any, e1: Any, more: tuple | None, options: dict, needs: tuple, m: Mode | None) -> Context:
    """The one place a Context is built: recorded into the graph when `m` (the thread's mode) is given,
    otherwise a ctx that nothing will point at (no edges, no order)."""
    ctx = _new(Context)
    ctx.fn = fn
    ctx.options = options
    ctx.saved = ()
    ctx.needs_input_grad = needs
    if m is not None:
        if more is None:
            ctx._e0 = e0
            if len(needs) == 2:
                ctx._e1 = e1
        else:
            ctx._more = more
        ctx.scope = m.scope
        ctx.seq = next(clock)  # creation order: the engine's topological order
    return ctx


class Function:
    """Base class of differentiable ops. Subclass with static `forward` and `backward`; call `apply`.

    forward(ctx, *arrays, **options) -> ndarray  (inputs arrive as numpy arrays or plain values)
    backward(ctx, grad) -> gradient or tuple of gradients, one per positional input (None for none)
    """

    name: str | None = None
    # Whether forward or backward may set attributes on ctx (released after backward). The built-in ops keep
    # everything in ctx.saved and say False, which spares the engine a look at each node's __dict__.
    keeps_attributes: bool = True

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
        _refuse_hidden(cls, raw)
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        needs = _NEEDS.get(needs, needs)
        m = _local.mode
        rec = m if any(needs) and m.grad_enabled else None
        options = options or _NO_OPTIONS
        if rec is not None and 0 < len(inputs) < 3:
            ctx = _node(cls, _edge(inputs[0]), _edge(inputs[-1]), None, options, needs, rec)
        else:
            ctx = _node(cls, None, None, tuple(map(_edge, inputs)) if rec else None, options, needs, rec)
        try:
            out = cls.forward(ctx, *raw, **options)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(cls, options, raw, e) from None
        return _output(cls, ctx, out, rec is not None, m, raw)


class Builtin(Function):
    """Base of the built-in ops: they keep everything in ctx.saved, so the engine need not clear attributes."""

    keeps_attributes = False


def _hidden_grad(v: Any) -> bool:
    """True if a list/tuple operand holds a Tensor that requires grad (it would drop out of the graph)."""
    return any(isinstance(e, Tensor) and e.requires_grad or type(e) in (list, tuple) and _hidden_grad(e) for e in v)


def _refuse_hidden(cls: type, raw: tuple) -> None:
    for r in raw:
        if type(r) in (list, tuple) and _hidden_grad(r):
            raise TypeError(f"{display_name(cls, {})}: an operand is a {type(r).__name__} holding a Tensor that "
                            "requires grad, whose gradient would be lost; combine them with ag.stack first")


def _edge(x: Any) -> Any:
    """Where the gradient of input x goes: the node that made it, or x itself."""
    if isinstance(x, Tensor) and x.grad_fn is not None:
        return x.grad_fn
    return x


def call(cls: type, a: Any, b: Any = _ABSENT) -> Tensor:
    """`cls.apply(a)` or `cls.apply(a, b)` for ops without options: the path of every operator."""
    if isinstance(a, Tensor):
        x, na, ea = a.data, a.requires_grad, a.grad_fn or a
    else:
        x, na, ea = a, False, a
        if type(a) in (list, tuple):
            _refuse_hidden(cls, (a,))
    m = _local.mode
    if b is _ABSENT:
        ctx = _node(cls, ea, None, None, _NO_OPTIONS, _ONE[na], m if na and m.grad_enabled else None)
        try:
            out = cls.forward(ctx, x)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(cls, _NO_OPTIONS, (x,), e) from None
        return _output(cls, ctx, out, na and m.grad_enabled, m, (x,))
    if isinstance(b, Tensor):
        y, nb, eb = b.data, b.requires_grad, b.grad_fn or b
    else:
        y, nb, eb = b, False, b
        if type(b) in (list, tuple):
            _refuse_hidden(cls, (b,))
    # _node and _output, inline for the two-input ops that record (every operator in a training step):
    # measured with callgrind, this saves about 15% of an op's instructions.
    ctx = _new(Context)
    ctx.fn = cls
    ctx.options = _NO_OPTIONS
    ctx.saved = ()
    record = (na or nb) and m.grad_enabled
    if record:
        ctx.needs_input_grad = _TWO[na][nb]
        ctx._e0 = ea
        ctx._e1 = eb
        ctx.scope = m.scope
        ctx.seq = next(clock)
    else:
        ctx.needs_input_grad = _FF
    try:
        out = cls.forward(ctx, x, y)
    except (ValueError, TypeError, IndexError) as e:
        raise _op_error(cls, _NO_OPTIONS, (x, y), e) from None
    if m.watching or type(out) is not np.ndarray and not isinstance(out, np.generic):
        return _output(cls, ctx, out, record, m, (x, y))
    t = _new(Tensor)
    t.data = out
    if record and out.dtype.kind == "f":
        t.requires_grad = True
        t.grad_fn = ctx
        ctx.data = out
    elif out.dtype.kind not in "biuf":
        return _output(cls, ctx, out, record, m, (x, y))  # for its error (or a complex non-recorded result)
    else:
        t.requires_grad = False
    return t


def _output(cls: type, ctx: Context, out: Any, record: bool, m: Mode, raw: tuple) -> Tensor:
    """forward's result as a Tensor, attached to ctx when the op is recorded."""
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        # numpy reduces object operands to a plain Python number (1-d @ 1-d): refuse it as an object result
        if any(isinstance(r, np.ndarray) and r.dtype.kind == "O" for r in raw):
            raise _op_error(cls, ctx.options, raw, TypeError("an operand has dtype object: only numeric arrays "
                                                             "and Tensors can be operands"))
        out = np.asarray(out)
    t = _new(Tensor)
    t.data = out
    kind = out.dtype.kind
    if record and kind == "c":
        raise _op_error(cls, ctx.options, raw, TypeError(f"the result has dtype {out.dtype} and an input requires "
                                                         "grad: complex gradients are not supported"))
    if record and kind in "fc":
        t.requires_grad = True
        t.grad_fn = ctx
        ctx.data = out
    else:
        t.requires_grad = False
        if kind not in "biufc":  # strings, objects, dates: numpy took them, but no gradient ever could
            raise _op_error(cls, ctx.options, raw, TypeError(f"the result has dtype {out.dtype}: only numeric "
                                                             "arrays and Tensors can be operands"))
    if m.watching:
        _watch(cls, ctx, raw, t, record, m)
    return t


def _watch(cls: type, ctx: Context, raw: tuple, t: Tensor, record: bool, m: Mode) -> None:
    """The slow path of every op, taken only under detect_anomaly or while ag.compile records."""
    if m.anomaly:
        _check_finite(t.data, cls, "forward")
        if record:
            ctx.trace = _user_trace()
            ctx.checksums = tuple(_checksum(a) for a in ctx.saved)
    if m.tracer is not None:
        m.tracer.forward(cls, ctx, raw, ctx.options, t, record)


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
        name = getattr(fn, "name", None) or fn.__name__.lower()
        msg = f"detect_anomaly: {name} produced a non-finite value in {where}"
        if trace:
            msg += f"; the op was created at:\n{trace}"
        raise FloatingPointError(msg)
