"""In-place changes to tensors, and the check that keeps them from corrupting gradients.

Every in-place write (`+=`, `t[i] = v`, `zero_()`, `copy_()`, ...) is stamped on the engine's clock and logged
against the array's root buffer (views share their base's entry). A node records its own stamp when it is
created, so in backward a node older than the last write checks whether any array it saved was written
since; if so, backward raises instead of using the changed values. Nodes newer than every write (the
usual case: the optimizer writes, then the next forward records) skip the check with one comparison.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from ._mode import mode
from ._tensor import Tensor, data_of
from .function import Context, _checksum, clock

last_write = -1  # the clock's stamp of the latest in-place write, in any thread
_writes: dict = {}  # id(root array) -> (weak reference to it, stamp, what was written)


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _describe(what: tuple) -> str:
    name, shape, dtype, op, version = what
    name = f"'{name}' " if name else ""
    return f"tensor {name}of shape {shape} and dtype {dtype} (by {op}, now at version {version})"


def _forget(key: int, ref: Any) -> None:
    entry = _writes.get(key)
    if entry is not None and entry[0] is ref:
        del _writes[key]


def write(t: Tensor, op: str, ufunc: Callable | None, value: Any, index: Any = None) -> Tensor:
    """Change t's array in place: `ufunc(t, value)`, or assign `value` (at `index`) when ufunc is None."""
    if t.requires_grad and mode().grad_enabled:
        if t.grad_fn is None:
            raise RuntimeError(f"{op}: {_who(t)} is a leaf that requires grad, and changing it in place "
                               "while the graph is recorded would make its gradients wrong; do the update "
                               "inside `with ag.no_grad():` (as an optimizer step does)")
        raise RuntimeError(f"{op}: {_who(t)} requires grad (it was made by {t.grad_fn.name}); an in-place change "
                           "is not recorded in the graph: write it out of place (x = x + y), or detach() first")
    if isinstance(value, Tensor) and value.requires_grad and mode().grad_enabled:
        raise RuntimeError(f"{op}: the value written into {_who(t)} requires grad, and an in-place write is not "
                           "recorded in the graph, so its gradient would be lost: write it out of place "
                           "(t = t + value), or inside `with ag.no_grad():` if no gradient should flow")
    tracer = mode().tracer
    if tracer is not None:
        tracer.write(t, op, ufunc, value, index)
    v = data_of(value)
    if isinstance(v, np.ndarray) and v.dtype == object or isinstance(value, (list, tuple)) and \
            np.asarray(value).dtype == object:
        raise TypeError(f"{op}: the value has dtype object; only numeric data can be written into a tensor")
    d = t.data
    scalar = not isinstance(d, np.ndarray)
    arr = np.array(d) if scalar else d  # a 0-d tensor holds an immutable numpy scalar: rebind a new one
    try:
        if ufunc is not None:
            ufunc(arr, v, out=arr, casting="same_kind")
        elif index is None:
            np.copyto(arr, v, casting="same_kind")
        else:
            idx = tuple(data_of(i) for i in index) if isinstance(index, tuple) else data_of(index)
            arr[idx] = v
    except (ValueError, TypeError, IndexError) as e:
        kind = IndexError if isinstance(e, IndexError) else TypeError if isinstance(e, TypeError) else ValueError
        raise kind(f"{op}: cannot write a value of shape {np.shape(v)} and dtype {np.result_type(v)} into "
                   f"{_who(t)}: {e}") from None
    t._version += 1
    if scalar:
        t.data = arr[()]  # nothing that saved the old scalar can see the change: no log entry needed
        return t
    global last_write
    stamp = next(clock)
    root = _root(arr)
    key = id(root)
    ref = weakref.ref(root, lambda r, k=key: _forget(k, r))
    _writes[key] = (ref, stamp, (t.name, arr.shape, arr.dtype, op, t._version))  # formatted only on error
    last_write = stamp
    return t


def _who(t: Tensor) -> str:
    name = f"'{t.name}' " if t.name else ""
    return f"tensor {name}of shape {tuple(np.shape(t.data))}"


def check_saved(ctx: Context) -> None:
    """Raise if an array ctx saved was written in place after ctx was recorded."""
    for a in ctx.saved:
        if isinstance(a, np.ndarray):
            root = _root(a)
            entry = _writes.get(id(root))
            if entry is not None and entry[1] > ctx.seq and entry[0]() is root:
                raise RuntimeError(f"backward: an array that {ctx.name} saved for its gradient was modified in "
                                   f"place after it was saved: {_describe(entry[2])}. Its gradient would be wrong; "
                                   "write the update out of place, or after backward, or clone() the tensor first")
    sums = ctx.__dict__.get("checksums")
    if sums is not None:  # detect_anomaly: catch writes through .data, which bypass the log
        for k, (a, s) in enumerate(zip(ctx.saved, sums)):
            if s is not None and _checksum(a) != s:
                raise RuntimeError(f"backward (detect_anomaly): saved array {k} of {ctx.name} (shape "
                                   f"{np.shape(a)}) changed after it was saved, probably through `.data`; "
                                   f"the op was created at:\n{ctx.trace or '(unknown)'}")
