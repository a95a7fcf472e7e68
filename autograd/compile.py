"""`ag.compile(fn)`: record one call of a training step, then replay it as generated numpy code.

    step = ag.compile(train_step)      # or @ag.compile above the def
    for x, y in batches:
        loss = step(x, y)              # 1st call (per signature): eager, recorded; later calls: replayed

The first call with a given signature (shapes and dtypes of the tensor and array arguments, values of Python
number and string arguments) runs `fn` eagerly while recording every op, in-place write, backward sweep and
optimizer step. Later calls with that signature run one straight-line Python function generated from the
recording: the same numpy operations in the same order (each compiled rule is checked against the op's own code
before it is used; ops without one run their own code), so the results are bit for bit those of eager execution,
without Tensors, graph nodes or per-op checks. Other signatures are recorded in turn (the `cache_size` most recent
recordings are kept). Outputs come back as new tensors that carry no graph (copies: keeping them is safe).
Parameters, their `.grad` and optimizer state are updated exactly as eager code updates them. While recording,
array arguments reach `fn` as tensors over the same memory (so `1.0 - target` is a recorded op, not numpy work).
One call runs at a time per compiled function (a lock: replays share their buffers). Under
`ag.detect_anomaly()` calls run eagerly, so that its checks run.

What a recording bakes in. Replays do not run `fn`'s Python code; they repeat what it did to tensors.
- Python numbers and control flow: `if`, loops, and numbers computed in `fn` or read from closures and globals
  are those of the recorded call. Pass changing numbers as arguments (each value is its own signature) or as
  0-d arrays (read afresh); set hyperparameters such as `opt.lr` outside `fn` (optimizers read them at every
  replay; setting one inside `fn` raises CompileError).
- Values taken out of tensors with `.item()`, `float()`, `int()`, `bool()`: checked before every replay, and a
  different value records again (a value-dependent branch is followed correctly, at the cost of recording). A
  conversion made after a backward or an update cannot be checked before the replay changes state: that
  signature runs eagerly (CompileWarning). Return the tensor and convert it outside.
- numpy work outside tensor ops: arrays computed with numpy inside `fn` (from a tensor's `.data`, random draws
  such as a dropout mask, `ag.tensor(np_array)` made from other values) are constants of the recording. Arrays
  that live outside `fn` are read by reference: in-place changes to them are seen, rebinding them is not.
- Python side effects (appending to a list, setting attributes, counters) happen only while recording.
- Tensors made inside `fn` and then changed in place start from their recorded initial value on every replay,
  as eager code would make them anew; tensors that outlive the call (buffers) accumulate, as in eager code.

What is detected. CompileError on the recording call: a tensor changed without the tracked in-place API
(`p.data -= ...`), a `.grad` cleared or replaced behind the recording's back (`p.grad = None` after backward,
nn.utils.clip_grad_norm_), an optimizer hyperparameter set inside `fn`, a result that is not tensors. CompileError
before a replay changes anything: a `.grad` that the recording found empty and did not clear holds a value
(gradients cleared by hand before the backward, or accumulated across calls). CompileWarning, and that signature
runs eagerly on every call: hooks, retain_grad, create_graph, ag.grad, a graph made before the call, a
conversion after a state change. Not detected: numpy computations inside `fn` that depend on the inputs or on
random draws (above), `.data` writes to tensors the recording never read, and conversions to Python numbers of
parameters or of tensors passed as arguments (those of op results and of array arguments are checked).

Library code (an optimizer) cooperates through `recording()`, `effect()`, `clear_grads()`, `live()` and
`guard()` below: nn.optim records a plain SGD update as tensor ops with the learning rate read live, and other
updates (momentum, Adam, RMSprop) as effects that replays call, so state and schedules behave as in eager code.
"""
from __future__ import annotations

import ctypes
import functools
import gc
import sys
import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from . import _mode
from ._compile_gen import generate
from ._compile_ir import Store
from ._compile_record import Recorder, Watched
from ._compile_runtime import GradSet, Mismatch
from ._tensor import Tensor

__all__ = ["compile", "Compiled", "CompileError", "CompileWarning", "recording", "effect", "clear_grads", "live",
           "guard"]


class CompileError(RuntimeError):
    """A compiled function did something a replay would get wrong."""


class CompileWarning(UserWarning):
    """A compiled function runs eagerly (for one signature) or records again and again."""


_modes = _mode.mode if hasattr(_mode, "mode") else (lambda: _mode.state)


def _tracer() -> Any:
    return _modes().tracer


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


def clear_grads(tensors: Any) -> None:
    """Set each tensor's .grad to None; when recording, replays do the same here (an optimizer's zero_grad)."""
    rec = recording()
    if rec is None:
        for t in tensors:
            t.grad = None
    else:
        rec.clear_grads(tensors)


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
        value = getter()
        if not isinstance(value, (bool, int, float, str, tuple, type(None))):
            raise TypeError(f"guard: the value must be a number, string, tuple or None, got {type(value).__name__}")
        rec.guard(getter, value)


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


def _map_leaves(obj: Any, kinds: Any, fn: Any) -> Any:
    """obj with fn applied to every value of type `kinds` inside it (through tuples, lists and dicts)."""
    if isinstance(obj, kinds):
        return fn(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_leaves(x, kinds, fn) for x in obj)
    if isinstance(obj, dict):
        return {k: _map_leaves(x, kinds, fn) for k, x in obj.items()}
    return obj


def _watched(arr: Any) -> Tensor:
    t = Tensor._make(arr, False, None)
    t.__class__ = Watched  # converting it to a Python value (`.item()`) is reported, as for op results
    return t


def _as_tensors(obj: Any) -> Any:
    """obj with every array replaced by a Tensor over it (no copy, no grad): arithmetic that fn does on its
    array arguments (`1.0 - target`) is then made of ops, which the recording sees."""
    return _map_leaves(obj, (np.ndarray, np.generic), _watched)


class _WatchConstruction:
    """While any thread records, Tensor.__init__ reports tensors made from values of the recording
    (`ag.tensor(x)` copies x with plain numpy, which the op hooks do not see). Counted, so that overlapping
    recordings in several threads install and remove the wrapper once."""

    _lock = threading.Lock()
    _users = 0
    _plain: Any = None

    def __enter__(self) -> None:
        with self._lock:
            cls = type(self)
            if cls._users == 0:
                cls._plain = plain = Tensor.__init__

                def __init__(t: Tensor, data: Any, *args: Any, **kwargs: Any) -> None:
                    plain(t, data, *args, **kwargs)
                    rec = _modes().tracer
                    if isinstance(rec, Recorder):
                        rec.created(t, data)
                __init__.__doc__ = plain.__doc__
                Tensor.__init__ = __init__
            cls._users += 1

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            cls = type(self)
            cls._users -= 1
            if cls._users == 0:
                Tensor.__init__ = cls._plain


def _detached(out: Any) -> Any:
    return _map_leaves(out, Tensor, lambda t: Tensor._make(t.data, False, None))


def _drop_kept_gradients(rec: Recorder) -> None:
    """The engine keeps a leaf's last gradient array to write the next one into; replays store gradients
    of their own, so the arrays kept by the recorded (eager) call would only take memory."""
    for step in rec.steps:
        if isinstance(step, Store) and step.ref.obj is not None:
            step.ref.obj.__dict__.pop("_grad_buffer", None)


def _trim_heap() -> None:
    """With glibc, hand back the heap pages the recorded call's temporaries were freed from: they would stay
    resident for the life of the process (measured on the MNIST-size MLP: about 20 MB resident, 11 MB trimmed)."""
    global _libc
    if _libc is False:  # loaded on the first recording, not at import (loading it moves an eager loop's RSS)
        try:
            _libc = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None
            _libc.malloc_trim  # noqa: B018  (raises AttributeError on a libc without it, such as musl)
        except (OSError, AttributeError):
            _libc = None
    if _libc is not None:
        gc.collect()  # the recording's values may sit in reference cycles
        _libc.malloc_trim(0)


_libc: Any = False


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
        m = _modes()
        if m.tracer is not None or m.anomaly:
            # Inside another recording (or an effect): run as part of it. Under detect_anomaly: eagerly, so
            # that every op's checks run (replays skip them).
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
                if now is not value and now != value:
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
        args, kwargs = _as_tensors(args), _as_tensors(kwargs)
        with _WatchConstruction(), _mode.tracing(rec):
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
            _drop_kept_gradients(rec)
        self._cache.pop(key, None)
        self._cache[key] = entry  # most recently recorded last: the cache forgets the oldest recording
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        if self.recordings > 2 * self.cache_size and not self._warned:
            self._warned = True
            warnings.warn(f"compiled function {getattr(self.fn, '__name__', '?')} has been recorded "
                          f"{self.recordings} times: its signature (shapes, dtypes, Python-number arguments) or a "
                          "checked value keeps changing, so it mostly runs eagerly", CompileWarning, stacklevel=3)
        result = _detached(out)
        if entry.replay is not None:
            out = spec = rec = None  # the recorded call's arrays go before the heap is trimmed
            _trim_heap()
        return result

    def source(self) -> str:
        """The generated source of the most recently used recording ('' if it runs eagerly)."""
        with self._lock:
            return next(reversed(self._cache.values())).source if self._cache else ""


def compile(fn: Callable | None = None, *, cache_size: int = 8) -> Any:  # noqa: A001
    """Compile fn (see the module docstring): `ag.compile(fn)`, `@ag.compile` or `@ag.compile(cache_size=4)`."""
    if fn is None:
        return lambda f: Compiled(f, cache_size)
    return Compiled(fn, cache_size)
