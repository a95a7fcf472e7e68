"""`Function`: the one mechanism every op uses, built-in or user-defined.

An op is a class with a numpy `forward(ctx, *inputs, **options)` and a `backward(ctx, grad)` that
returns one gradient per positional input. `backward` is written with operators, methods and
`autograd` functions that work on both arrays and Tensors, so the same rule runs on plain arrays in
an ordinary backward pass and on Tensors (recording a graph) when `create_graph=True`.

`apply` hands one- and two-input calls without options to `unary` and `binary`; the built-in ops and
Tensor's operators call those two directly, which saves a call per op and changes nothing else.
"""
from __future__ import annotations

import itertools
import os
import traceback
from typing import Any

import numpy as np

from . import _mode
from .tensor import Tensor


_counter = itertools.count()


def _edge(x: Any) -> Any:
    """Where the gradient of input x goes: the node that made it, or x itself."""
    if isinstance(x, Tensor) and x.grad_fn is not None:
        return x.grad_fn
    return x


# Shared constants for what most nodes hold: a live graph then references fewer distinct objects,
# which makes Python's cyclic garbage collector's passes over it cheaper.
_NO_OPTIONS: dict = {}
_TRUE = (True,)
_PAIRS = {(a, b): (a, b) for a in (False, True) for b in (False, True)}


class Context:
    """Per-call record of an op: the node of the graph. Holds where each input's gradient goes, what
    forward saved, and the output array.

    The graph is made of nodes, not tensors: `edges[i]` is the node of input i (the Context of the op
    that made it, or the input itself when it is a leaf, a constant or a plain value). Intermediate
    Tensors are therefore freed as soon as the user drops them, and a live graph holds one object per
    one- or two-input op (the edges sit in slots, not a tuple) for Python's cyclic garbage collector to
    scan: that collector is most of the cost of large scalar graphs.
    """

    __slots__ = ("fn", "_e0", "_e1", "_more", "options", "saved", "scope", "seq", "needs_input_grad", "data",
                 "__dict__")
    trace = None  # where the op was created, recorded only under detect_anomaly
    _hooks: list | None = None  # hooks registered on the op's output tensor
    _retain: Any = None  # weak reference to the output tensor that asked for retain_grad()

    def __init__(self, fn: type, inputs: tuple, options: dict, needs: tuple | None = None) -> None:
        # Function.apply fills these slots itself (it runs once per op); this is for everything else.
        self.fn = fn
        _set_edges(self, tuple(map(_edge, inputs)))
        self.options = options
        self.saved = ()
        self.scope = _mode.scope
        self.seq = next(_counter)  # creation order: the engine's topological order
        self.data = None
        # One flag per positional input: does it need a gradient?
        self.needs_input_grad = needs if needs is not None else tuple(
            isinstance(x, Tensor) and x.requires_grad for x in inputs)

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
        base = getattr(self.fn, "name", None) or self.fn.__name__.lower()
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items()
                         if v is not None and v is not False and k != "index")
        return f"{base}({opts})" if opts else base

    def __repr__(self) -> str:
        return f"<{self.name}>"


class _NoContext:
    """Stand-in ctx used when nothing is recorded: saving costs nothing."""

    __slots__ = ()
    needs_input_grad = ()

    def save_for_backward(self, *arrays: Any) -> None:
        pass

    def __setattr__(self, key: str, value: Any) -> None:
        pass


_NO_CTX = _NoContext()


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
        if not options:
            if len(inputs) == 2:
                return binary(cls, inputs[0], inputs[1])
            if len(inputs) == 1:
                return unary(cls, inputs[0])
        raw = [x.data if isinstance(x, Tensor) else x for x in inputs]
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        ctx = (_node(cls, tuple(map(_edge, inputs)), options or _NO_OPTIONS, needs)
               if any(needs) and _mode.grad_enabled else _NO_CTX)
        try:
            out = cls.forward(ctx, *raw, **options)
        except (ValueError, TypeError) as e:
            raise _op_error(cls, inputs, options, raw, e) from None
        return _output(cls, ctx, out)


def unary(cls: type, a: Any) -> Tensor:
    """`cls.apply(a)` for a one-input op without options (exp, sigmoid, a full sum, ...)."""
    x = a
    need = False
    if isinstance(a, Tensor):
        need = a.requires_grad
        x = a.data
    ctx = _node(cls, (_edge(a),), _NO_OPTIONS, _TRUE) if need and _mode.grad_enabled else _NO_CTX
    try:
        out = cls.forward(ctx, x)
    except (ValueError, TypeError) as e:
        raise _op_error(cls, (a,), {}, (x,), e) from None
    return _output(cls, ctx, out)


def binary(cls: type, a: Any, b: Any) -> Tensor:
    """`cls.apply(a, b)` for a two-input op without options: the path of every arithmetic operator,
    written out in full since it runs once per op."""
    na = nb = False
    x, y = ea, eb = a, b
    if isinstance(a, Tensor):
        na = a.requires_grad
        x = a.data
        if a.grad_fn is not None:
            ea = a.grad_fn
    if isinstance(b, Tensor):
        nb = b.requires_grad
        y = b.data
        if b.grad_fn is not None:
            eb = b.grad_fn
    if (na or nb) and _mode.grad_enabled:
        ctx = _new(Context)
        ctx.fn = cls
        ctx._e0 = ea
        ctx._e1 = eb
        ctx.options = _NO_OPTIONS
        ctx.saved = ()
        ctx.scope = _mode.scope
        ctx.seq = next(_counter)
        ctx.needs_input_grad = _PAIRS[na, nb]
    else:
        ctx = _NO_CTX
    try:
        out = cls.forward(ctx, x, y)
    except (ValueError, TypeError) as e:
        raise _op_error(cls, (a, b), {}, (x, y), e) from None
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        out = np.asarray(out)
    if _mode.anomaly:
        return _output(cls, ctx, out)
    # _output's common case, inline on purpose: a call less per arithmetic op is ~1% of the MLP benchmark.
    t = _new(Tensor)
    t.data = out
    if ctx is not _NO_CTX and out.dtype.kind in "fc":
        t.requires_grad = True
        t.grad_fn = ctx
        ctx.data = out
    else:
        t.requires_grad = False
    return t


def _set_edges(ctx: Context, edges: tuple) -> None:
    if len(edges) == 1:
        ctx._e0 = edges[0]
    elif len(edges) == 2:
        ctx._e0, ctx._e1 = edges
    else:
        ctx._more = edges


def _node(cls: type, edges: tuple, options: dict, needs: tuple) -> Context:
    ctx = _new(Context)
    ctx.fn = cls
    _set_edges(ctx, edges)
    ctx.options = options
    ctx.saved = ()
    ctx.scope = _mode.scope
    ctx.seq = next(_counter)
    ctx.needs_input_grad = needs
    return ctx


def _output(cls: type, ctx: Any, out: Any) -> Tensor:
    """Wrap forward's result in a Tensor attached to ctx (unless nothing is recorded)."""
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        out = np.asarray(out)
    need = ctx is not _NO_CTX
    if _mode.anomaly:
        _check_finite(out, cls, "forward")
        if need:
            ctx.trace = _user_trace()
    t = _new(Tensor)
    t.data = out
    if need and out.dtype.kind in "fc":
        t.requires_grad = True
        t.grad_fn = ctx
        ctx.data = out
    else:
        t.requires_grad = False
    return t


def _op_error(cls: type, inputs: tuple, options: dict, raw: Any, e: Exception) -> Exception:
    """forward's ValueError/TypeError, restated with the op's name and the input shapes."""
    shapes = ", ".join(str(np.shape(r)) for r in raw)
    name = Context(cls, inputs, options).name
    msg = str(e).removeprefix(f"{cls.name or cls.__name__.lower()}: ")  # numpy may name the op too
    return (TypeError if isinstance(e, TypeError) else ValueError)(f"{name}: {msg} (input shapes: {shapes})")


_new = object.__new__
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
