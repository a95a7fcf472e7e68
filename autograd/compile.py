"""`ag.compile(fn)`: record one call of a training step, then replay it as generated numpy code.

    step = ag.compile(train_step)      # or @ag.compile above the def
    for x, y in batches:
        loss = step(x, y)              # 1st call (per input signature): eager, recorded; later calls: replayed

The first call with a given signature (the shapes and dtypes of the tensor and array arguments, the values of
Python-number arguments) runs `fn` eagerly while recording every op, every in-place write, every backward sweep
and the optimizer's steps. Later calls with the same signature run a straight-line Python function generated
from that recording: the same numpy operations in the same order, so the results are bit-for-bit those of eager
execution, without Tensors, graph nodes or per-op checks. Other signatures are recorded in turn (the last
`cache_size` recordings are kept). Outputs come back as new tensors that carry no graph; parameters, their
`.grad` and optimizer state are updated exactly as the eager call updates them.

What a recording bakes in. Replays do not run `fn`'s Python code: they repeat what it did to tensors.
- Python numbers and control flow: `if`, loops, `range(n)`, Python numbers computed in `fn` or read from
  closures and globals are those of the recorded call. Pass changing numbers as arguments (each value is then
  its own signature) or as 0-d arrays/tensors (read afresh), and set hyperparameters such as `opt.lr` outside
  `fn` (the optimizers read them at every replay; setting one inside `fn` raises CompileError).
- Values taken out of tensors with `.item()`, `float()`, `int()`, `bool()`: the recording checks them before
  every replay and records again when one differs (so a value-dependent branch is followed correctly, at the
  cost of recording); such a conversion after a backward or an update cannot be checked in time, so that
  signature runs eagerly (with a CompileWarning). Return the tensor and convert it outside.
- numpy work outside tensor ops: arrays computed with numpy inside `fn` (from `.data`, from inputs, random
  draws such as a dropout mask) are constants of the recording. Arrays that live outside `fn` (closures,
  attributes) are read by reference, so in-place changes to them are seen; replacing them is not.
- Python side effects (appending to lists, attributes set on objects, counters) happen only while recording.

What is detected. Changing a parameter without the tracked in-place API (`p.data -= ...`), clearing or
replacing a `.grad` behind the recording's back (`p.grad = None`, `clip_grad_norm_`), setting an optimizer
hyperparameter inside `fn`, returning something other than tensors: CompileError on the recording call. Hooks,
`retain_grad`, `create_graph`, `ag.grad`, tensors made before the call that carry a graph: CompileWarning, and
that signature runs eagerly on every call. A `.grad` that the recording found empty but that is set when a
replay starts (gradients accumulated across calls without a recorded `zero_grad`): CompileError before the
replay changes anything. What is not detected: numpy computations inside `fn` whose results depend on the
inputs or on random draws (see above), and `.data` writes to tensors that the recording never read.

Library code (optimizers) cooperates through `recording()`, `effect()`, `live()` and `guard()` below.
"""
from __future__ import annotations

import functools
import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from . import _mode
from ._compile_gen import generate
from ._compile_record import Recorder
from ._compile_runtime import GradSet, Mismatch
from ._tensor import Tensor

__all__ = ["compile", "Compiled", "CompileError", "CompileWarning", "recording", "effect", "live", "guard"]


class CompileError(RuntimeError):
    """A compiled function did something a replay would get wrong."""


class CompileWarning(UserWarning):
    """A compiled function runs eagerly (for one signature) or records again and again."""


def _tracer() -> Any:
    m = _mode.mode() if hasattr(_mode, "mode") else _mode.state
    return m.tracer


def recording() -> Recorder | None:
    """The recording in progress in this thread (None when not recording): lets library code record its
    updates in replayable form."""
    t = _tracer()
    return t if isinstance(t, Recorder) and not t.muted and not t.reason else None


def effect(fn: Callable[[], Any], clears: tuple = ()) -> None:
    """Call fn() now; when recording, also at this point of every replay. For updates written in plain numpy
    (an optimizer step): replays run the very same code on the live state. `clears`: tensors whose .grad
    fn sets to None (so the recording knows they are empty afterwards)."""
    rec = recording()
    if rec is None:
        fn()
    else:
        rec.effect(fn, clears)


def live(getter: Callable[[], Any]) -> Any:
    """getter()'s value; when recording, ops that use this value read getter() afresh at every replay (for
    a hyperparameter such as a learning rate, which schedules change between calls)."""
    value = getter()
    rec = recording()
    if rec is None:
        return value
    if type(value) is float:
        value = value * 1.0  # a new float object, so ops using it can be told apart from other numbers
    elif isinstance(value, np.ndarray):
        value = value.copy()
    else:
        raise TypeError(f"live: expected a float or an array, got {type(value).__name__}")
    return rec.live(value, getter)


def guard(getter: Callable[[], Any]) -> None:
    """When recording: the recording holds only while getter() returns what it returns now (checked before
    each replay; a different value records again). For settings that choose which ops run."""
    rec = recording()
    if rec is not None:
        rec.guard(getter, getter())


# ---- arguments ---------------------------------------------------------------------------------------
_PLAIN = (bool, int, float, complex, str, type(None))


def _flatten(obj: Any, flat: list, key: list) -> Any:
    """obj's tensors, arrays and numbers in order (into flat), its structure and the signature (into key)."""
    if isinstance(obj, Tensor):
        flat.append(obj)
        key.append(("T", np.shape(obj.data), np.result_type(obj.data).str, obj.requires_grad, type(obj.data)))
    elif isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype == object:
            raise TypeError("compiled function: object arrays cannot be arguments")
        flat.append(obj)
        key.append(("A", obj.shape, obj.dtype.str, type(obj)))
    elif isinstance(obj, _PLAIN):
        key.append(("P", type(obj), obj))
    elif isinstance(obj, (tuple, list)):
        key.append((type(obj), len(obj)))
        for x in obj:
            _flatten(x, flat, key)
    elif isinstance(obj, dict):
        key.append((dict, tuple(obj)))
        for k in obj:
            _flatten(obj[k], flat, key)
    else:
        raise TypeError(f"compiled function: arguments must be tensors, arrays, numbers, strings or "
                        f"tuples/lists/dicts of them, got {type(obj).__name__}")


def _fast_key(args: tuple) -> tuple:
    """(flat arguments, signature) when every argument is an array or a tensor (the usual call), else
    (None, None). Agrees with _flatten on what makes two calls the same."""
    key = []
    for a in args:
        t = type(a)
        if t is np.ndarray:
            if a.dtype.hasobject:
                return None, None
            key.append((a.shape, a.dtype))
        elif isinstance(a, Tensor):
            d = a.data
            key.append((t, np.shape(d), getattr(d, "dtype", None), a.requires_grad, type(d)))
        else:
            return None, None
    return list(args), tuple(key)


def _outputs(rec: Recorder, out: Any, where: str = "the result") -> Any:
    """fn's result with each tensor replaced by its Val (and checked)."""
    if out is None:
        return None
    if isinstance(out, Tensor):
        v = rec.vals.get(id(out.data))
        if v is None and out.grad_fn is None and out.requires_grad:
            v = rec.val(out.data, out)
        if v is None:
            raise CompileError(f"{where} of the compiled function is a tensor that tensor ops inside the function "
                               "did not compute (made from numpy work?); a replay would return the recorded value")
        return v
    if isinstance(out, (tuple, list)):
        return type(out)(_outputs(rec, x, f"{where}[{i}]") for i, x in enumerate(out))
    if isinstance(out, dict):
        return {k: _outputs(rec, x, f"{where}[{k!r}]") for k, x in out.items()}
    raise CompileError(f"{where} of the compiled function is a {type(out).__name__}; a compiled function "
                       "returns tensors (or tuples/lists/dicts of them, or None): a Python or numpy value would "
                       "be the recorded one at every replay")


def _detached(out: Any) -> Any:
    if isinstance(out, Tensor):
        return Tensor._make(out.data, False, None)
    if isinstance(out, (tuple, list)):
        return type(out)(_detached(x) for x in out)
    if isinstance(out, dict):
        return {k: _detached(x) for k, x in out.items()}
    return out


class _Entry:
    __slots__ = ("replay", "source", "guards", "eager", "steps")

    def __init__(self, replay: Any, source: str, guards: list, eager: str | None, steps: int) -> None:
        self.replay, self.source, self.guards, self.eager, self.steps = replay, source, guards, eager, steps


class Compiled:
    """A compiled function: call it like the original. `recordings` counts the calls that were recorded;
    `source()` shows the code generated for the latest signature."""

    def __init__(self, fn: Callable, cache_size: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        if cache_size < 1:
            raise ValueError(f"compile: cache_size must be at least 1, got {cache_size}")
        self.fn, self.cache_size = fn, int(cache_size)
        self.recordings = 0
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.RLock()
        self._warned = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tracer() is not None:  # inside another recording (or an effect): run as part of it
            return self.fn(*args, **kwargs)
        flat, key = _fast_key(args) if not kwargs else (None, None)
        if key is None:
            flat, parts = [], []
            _flatten((args, kwargs), flat, parts)
            key = tuple(parts)
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return self._record(key, args, kwargs, flat)
            if entry.eager is not None:
                return self.fn(*args, **kwargs)
            for getter, value in entry.guards:
                now = getter()
                if now is not value and not _same(now, value):
                    return self._record(key, args, kwargs, flat)
            try:
                return entry.replay(flat)
            except Mismatch:
                return self._record(key, args, kwargs, flat)
            except GradSet as e:
                raise CompileError(f"the gradient of {e.args[0]} holds a value, but the recorded call found it "
                                   "empty and did not clear it (the recording cannot see `p.grad = None` or "
                                   "gradients left from earlier calls): call the optimizer's zero_grad() inside the "
                                   "compiled function, or clear the gradients before calling it. Nothing was "
                                   "changed by this call") from None

    def _record(self, key: tuple, args: tuple, kwargs: dict, flat: list) -> Any:
        rec = Recorder(flat)
        self.recordings += 1
        with _mode.tracing(rec):
            out = self.fn(*args, **kwargs)
        rec.finish()
        if rec.misuse:
            self._cache.pop(key, None)
            raise CompileError(f"compiled function {getattr(self.fn, '__name__', '?')}: {rec.misuse} "
                               "(this call ran eagerly)")
        spec = _outputs(rec, out) if not rec.reason else None
        if rec.reason:
            warnings.warn(f"compiled function {getattr(self.fn, '__name__', '?')} runs eagerly for this signature: "
                          f"{rec.reason}", CompileWarning, stacklevel=3)
            entry = _Entry(None, "", [], rec.reason, len(rec.steps))
        else:
            rec.classify_temporaries()
            replay, source = generate(rec, spec)
            entry = _Entry(replay, source, rec.guards, None, len(rec.steps))
        self._cache.pop(key, None)
        self._cache[key] = entry  # most recently recorded last: the cache forgets the oldest recording
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        if self.recordings > 2 * self.cache_size and not self._warned:
            self._warned = True
            warnings.warn(f"compiled function {getattr(self.fn, '__name__', '?')} has been recorded "
                          f"{self.recordings} times: its signature (shapes, dtypes, Python-number arguments) or a "
                          "checked value keeps changing, so it mostly runs eagerly", CompileWarning, stacklevel=3)
        return _detached(out)

    def source(self) -> str:
        """The generated source of the most recently used recording ('' if it runs eagerly)."""
        with self._lock:
            return next(reversed(self._cache.values())).source if self._cache else ""


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b)) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
    except (TypeError, ValueError):
        return a is b


def compile(fn: Callable | None = None, *, cache_size: int = 8) -> Any:  # noqa: A001
    """Compile fn (see the module docstring): `ag.compile(fn)`, `@ag.compile` or `@ag.compile(cache_size=4)`."""
    if fn is None:
        return lambda f: Compiled(f, cache_size)
    return Compiled(fn, cache_size)
