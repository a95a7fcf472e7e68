"""What a recording of ag.compile is made of: values (`Val`) and the steps (`Step` subclasses) that compute,
read, store or write them, in the order the eager call performed them.

A Val is one array or number of the recorded call. Its `kind` says how replayed code holds it: "a" an ndarray,
"f" a float64 scalar (a Python float in generated code: the same IEEE double as numpy's float64), "s" any other
numpy scalar, "c" a constant baked into the recording (`value` holds it).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

_F64 = np.dtype(np.float64)


def kind_of(x: Any) -> str:
    """The kind of a recorded value (see the module docstring); constants are marked by the recorder."""
    if type(x) is np.ndarray:
        return "a"
    if type(x) is np.float64:
        return "f"
    if isinstance(x, np.generic):
        return "s"
    return "c"


class Val:
    """One value of the recording. `example` is what it was in the recorded call (kept until code is
    generated: shapes, dtypes and constant folding come from it); `value` is set for constants."""

    __slots__ = ("n", "kind", "shape", "dtype", "example", "const", "name")

    def __init__(self, n: int, example: Any, const: bool = False) -> None:
        self.n = n
        self.example = example
        self.const = const
        t = type(example)
        if t is np.float64:  # the scalar graphs' case, first
            self.kind, self.shape, self.dtype = "c" if const else "f", (), _F64
        elif t is np.ndarray or isinstance(example, np.generic):
            self.kind, self.shape, self.dtype = "c" if const else kind_of(example), example.shape, example.dtype
        else:
            self.kind, self.shape, self.dtype = "c", None, None
        self.name = f"c{n}" if const else f"v{n}"

    def __repr__(self) -> str:
        return f"<{self.name} {self.kind} {self.shape} {self.dtype}>"


class TensorRef:
    """A tensor that replayed code reaches: a fixed object (a parameter the function closes over) or the
    tensor passed as flat argument `arg` (a fresh one on every call)."""

    __slots__ = ("obj", "arg", "name")

    def __init__(self, obj: Any, arg: int | None, n: int) -> None:
        self.obj = obj if arg is None else None
        self.arg = arg
        self.name = f"t{n}"

    def describe(self, obj: Any = None) -> str:
        t = obj if obj is not None else self.obj
        label = f"argument {self.arg}" if self.arg is not None else "tensor"
        if t is None:
            return label
        name = f" '{t.name}'" if getattr(t, "name", None) else ""
        return f"{label}{name} of shape {tuple(np.shape(t.data))}"


class Step:
    """One thing the recorded call did, replayed in order."""

    __slots__ = ()
    side_effect = False  # it changes state the user sees (a tensor, a .grad, anything an effect touches)


class ReadArg(Step):
    """out = the array of flat argument i (a Tensor's data, or the array or number itself)."""
    __slots__ = ("out", "i", "is_tensor")

    def __init__(self, out: Val, i: int, is_tensor: bool) -> None:
        self.out, self.i, self.is_tensor = out, i, is_tensor


class ReadLeaf(Step):
    """out = ref's tensor's data, as it is at this point of the call."""
    __slots__ = ("out", "ref")

    def __init__(self, out: Val, ref: TensorRef) -> None:
        self.out, self.ref = out, ref


class ReadGrad(Step):
    """out = ref's tensor's .grad data, as it is at this point (a gradient this recording did not compute)."""
    __slots__ = ("out", "ref")

    def __init__(self, out: Val, ref: TensorRef) -> None:
        self.out, self.ref = out, ref


class Live(Step):
    """out = getter(), evaluated at this point of every replay (autograd.compile.live)."""
    __slots__ = ("out", "getter")

    def __init__(self, out: Val, getter: Callable[[], Any]) -> None:
        self.out, self.getter = out, getter


class Copy(Step):
    """out = a new array with src's values (a Tensor made from a traced array inside the function)."""
    __slots__ = ("out", "src", "dtype")

    def __init__(self, out: Val, src: Val, dtype: Any) -> None:
        self.out, self.src, self.dtype = out, src, dtype


class Op(Step):
    """out = cls.forward(ctx, *ins, **options). `node` is the recorded Context (None when the op was not
    recorded: no input needed a gradient, or no_grad); `saved` lists what forward saved, as Vals where
    a saved item is one of the op's arrays, else as the object itself."""
    __slots__ = ("cls", "ins", "options", "out", "needs", "node", "saved", "extra", "probe")

    def __init__(self, cls: type, ins: list, options: dict, out: Val, needs: tuple, node: Any,
                 saved: tuple, extra: dict) -> None:
        self.cls, self.ins, self.options, self.out = cls, ins, options, out
        self.needs, self.node, self.saved, self.extra = needs, node, saved, extra
        self.probe: Any = None  # what the op's own code gave on the recorded values (see _compile_direct)


class Rule(Step):
    """The backward rule of `op` applied to gradient g; outs[i] is input i's gradient (fitted to the
    input's shape and dtype) or None."""
    __slots__ = ("op", "g", "outs")

    def __init__(self, op: Op, g: Val, outs: list) -> None:
        self.op, self.g, self.outs = op, g, outs


class Acc(Step):
    """out = a + b: two gradients of one node summed, in the order the engine sums them."""
    __slots__ = ("out", "a", "b")

    def __init__(self, out: Val, a: Val, b: Val) -> None:
        self.out, self.a, self.b = out, a, b


class Store(Step):
    """ref.grad receives g as the engine stores it: a new tensor if .grad is None, else .grad + g.
    `saw_none`: .grad was None when the recorded backward stored it; `cleared`: a recorded effect cleared
    it earlier in the call. out: the array now held by .grad."""
    __slots__ = ("ref", "g", "out", "saw_none", "cleared")
    side_effect = True

    def __init__(self, ref: TensorRef, g: Val, out: Val, saw_none: bool, cleared: bool) -> None:
        self.ref, self.g, self.out, self.saw_none, self.cleared = ref, g, out, saw_none, cleared


class Write(Step):
    """An in-place write (`+=`, `copy_`, `t[i] = v`, ...) on target (ref's tensor when it is one the
    user can see). For a 0-d target the tensor gets a new scalar: `out` is that new value."""
    __slots__ = ("ref", "target", "op", "ufunc", "value", "index", "out")
    side_effect = True

    def __init__(self, ref: TensorRef | None, target: Val, op: str, ufunc: Any, value: Any, index: Any,
                 out: Val | None) -> None:
        self.ref, self.target, self.op, self.ufunc = ref, target, op, ufunc
        self.value, self.index, self.out = value, index, out


class ClearGrads(Step):
    """Each tensor's .grad is set to None (autograd.compile.clear_grads: an optimizer's zero_grad)."""
    __slots__ = ("refs",)
    side_effect = True

    def __init__(self, refs: list) -> None:
        self.refs = refs


class Effect(Step):
    """fn() is called at this point of every replay (autograd.compile.effect)."""
    __slots__ = ("fn",)
    side_effect = True

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


class Check(Step):
    """A value the recorded call converted to a Python number (`.item()`, `float()`, `bool()`): replay
    compares it with the recorded one and records again if it differs (checks come before any side effect)."""
    __slots__ = ("val", "how", "expected", "where")

    def __init__(self, val: Val, how: str, expected: Any, where: str) -> None:
        self.val, self.how, self.expected, self.where = val, how, expected, where
