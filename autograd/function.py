"""`Function`: the one mechanism every op uses, built-in or user-defined.

An op is a class with a numpy `forward(ctx, *inputs, **options)` and a `backward(ctx, grad)` that
returns one gradient per positional input. `backward` is written with operators, methods and
`autograd` functions that work on both arrays and Tensors, so the same rule runs on plain arrays in
an ordinary backward pass and on Tensors (recording a graph) when `create_graph=True`.
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
# Shared constants for what most nodes hold: a live graph then references fewer distinct objects,
# which makes Python's cyclic garbage collector's passes over it cheaper.
_NO_OPTIONS: dict = {}
_TRUE, _FALSE = (True,), (False,)
_PAIRS = {(a, b): (a, b) for a in (False, True) for b in (False, True)}


class Context:
    """Per-call record of an op: the node of the graph. Holds the inputs and what forward saved."""

    __slots__ = ("fn", "inputs", "options", "saved", "scope", "seq", "needs_input_grad", "__dict__")
    trace = None  # where the op was created, recorded only under detect_anomaly

    def __init__(self, fn: type, inputs: tuple, options: dict, needs: tuple | None = None) -> None:
        # Function.apply fills these slots itself (it runs once per op); this is for everything else.
        self.fn = fn
        self.inputs = inputs
        self.options = options
        self.saved = ()
        self.scope = _mode.scope
        self.seq = next(_counter)  # creation order: the engine's topological order
        # One flag per positional input: does it need a gradient?
        self.needs_input_grad = needs if needs is not None else tuple(
            isinstance(x, Tensor) and x.requires_grad for x in inputs)

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
        # Unpack the inputs' arrays and note which need a gradient; unrolled for the common one- and
        # two-input ops, and the node and output built inline, since this runs once per op.
        n = len(inputs)
        if n == 2:
            a, b = inputs
            na = nb = False
            if type(a) is Tensor or isinstance(a, Tensor):
                na = a.requires_grad
                a = a.data
            if type(b) is Tensor or isinstance(b, Tensor):
                nb = b.requires_grad
                b = b.data
            raw = (a, b)
            need = na or nb
            needs = _PAIRS[na, nb]
        elif n == 1:
            (a,) = inputs
            need = False
            if type(a) is Tensor or isinstance(a, Tensor):
                need = a.requires_grad
                a = a.data
            raw = (a,)
            needs = _TRUE if need else _FALSE
        else:
            raw = [x.data if isinstance(x, Tensor) else x for x in inputs]
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            need = any(needs)
        if need and _mode.grad_enabled:
            ctx = _new(Context)
            ctx.fn = cls
            ctx.inputs = inputs
            ctx.options = options or _NO_OPTIONS
            ctx.saved = ()
            ctx.scope = _mode.scope
            ctx.seq = next(_counter)
            ctx.needs_input_grad = needs
        else:
            need = False
            ctx = _NO_CTX
        try:
            out = cls.forward(ctx, *raw, **options)
        except (ValueError, TypeError) as e:
            shapes = ", ".join(str(np.shape(r)) for r in raw)
            name = Context(cls, inputs, options).name
            msg = str(e).removeprefix(f"{cls.name or cls.__name__.lower()}: ")  # numpy may name the op too
            raise (TypeError if isinstance(e, TypeError) else ValueError)(
                f"{name}: {msg} (input shapes: {shapes})") from None
        if type(out) is not np.ndarray and not isinstance(out, np.generic):
            out = np.asarray(out)
        if _mode.anomaly:
            _check_finite(out, cls, "forward")
            if need:
                ctx.trace = _user_trace()
        t = _new(Tensor)
        t.data = out
        if need and out.dtype.kind in "fc":
            t.requires_grad = True
            t.grad_fn = ctx
        else:
            t.requires_grad = False
        return t


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
