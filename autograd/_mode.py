"""Per-thread switches read by every op: is the graph recorded, is anomaly detection on, which scopes.

They are thread-local, as PyTorch's grad mode is: a thread running inference under `no_grad` never turns
recording off for a thread that is training.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class Mode:
    """This thread's switches (a plain object: the hot path reads the thread-local once per op, then slots)."""

    __slots__ = ("grad_enabled", "anomaly", "tracer", "watching", "scope")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.tracer: Any = None  # ag.compile's recorder while it records a call (see autograd/compile.py)
        self.watching = False  # anomaly or tracer: ops take their slow path
        self.scope: tuple = ()  # tags of the enclosing graph_scope blocks, innermost last


class _Local(threading.local):
    def __init__(self) -> None:
        self.mode = Mode()


_local = _Local()


def mode() -> Mode:
    """This thread's switches."""
    return _local.mode


class _Switch:
    """A context manager (and decorator) that sets one flag of this thread's state and restores it."""

    flag = ""
    value: bool = True

    def __enter__(self) -> None:
        m = _local.mode
        self._prev = getattr(m, self.flag)
        setattr(m, self.flag, self.value)
        m.watching = m.anomaly or m.tracer is not None

    def __exit__(self, *exc: Any) -> None:
        m = _local.mode
        setattr(m, self.flag, self._prev)
        m.watching = m.anomaly or m.tracer is not None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_Switch):
    """`with no_grad():` or `@no_grad()`: ops record nothing inside (in this thread)."""

    flag, value = "grad_enabled", False


class enable_grad(_Switch):
    """`with enable_grad():` records ops again, even inside `no_grad`."""

    flag, value = "grad_enabled", True


class detect_anomaly(_Switch):
    """`with detect_anomaly():` raise on the first NaN/inf produced by a forward or backward rule, naming the
    op and the user code that created it; also catch saved arrays changed behind the engine's back."""

    flag, value = "anomaly", True


class tracing(_Switch):
    """`with tracing(recorder):` hands every op, in-place write and backward call in this thread to
    `recorder` (used by ag.compile; `recorder` has methods forward, write and backward)."""

    flag = "tracer"

    def __init__(self, recorder: Any) -> None:
        self.value = recorder


def is_grad_enabled() -> bool:
    """True when ops record the graph in this thread."""
    return _local.mode.grad_enabled


class graph_scope:
    """`with graph_scope(tag):` marks every op recorded inside with `tag` (in `ctx.scope`, outermost first).
    nn.Module uses it so drawings can group a module's ops; the tag can be any object."""

    def __init__(self, tag: Any) -> None:
        self.tag = tag

    def __enter__(self) -> None:
        m = _local.mode
        self._prev = m.scope
        m.scope = self._prev + (self.tag,)

    def __exit__(self, *exc: Any) -> None:
        _local.mode.scope = self._prev
