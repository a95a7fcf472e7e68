"""Replaying an in-place write (`+=`, `copy_`, `t[i] = v`, `zero_()`, ...): what autograd/_inplace.py's write
does to the array, to the tensor's version counter and to the write log that backward checks, nothing more
(the checks it makes were made when recording)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _compile_runtime as rt
from ._compile_ir import Val, Write

_SCALAR = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/"}


def _arg(g: Any, v: Any) -> str:
    return f"_f64({g.x(v)})" if isinstance(v, Val) and v.kind == "f" else g.x(v)


def write(g: Any, step: Write) -> None:
    """Emit one in-place write."""
    t = f"A[{step.ref.arg}]" if step.ref.arg is not None else g.bind(step.ref.obj, step.ref.name)
    tgt, val = g.x(step.target), _arg(g, step.value)
    if step.out is None:  # an ndarray, changed in place
        if step.ufunc is not None:  # a ufunc's default casting is same_kind, as _inplace.write asks
            g.line(f"{g.bind(step.ufunc)}({tgt}, {val}, {tgt})")
        elif step.index is None:
            g.line(f"_np.copyto({tgt}, {val}, casting='same_kind')")
        else:
            g.line(f"{tgt}[{g.index(step.index)}] = {val}")
        if step.target.n not in g.resets:
            g.line(f"{g.bind(rt.write_log(step.op))}({t}, {tgt})")
        return
    o = step.out.name  # a 0-d tensor: it gets a new numpy scalar
    if step.ufunc in _SCALAR and step.index is None and step.target.kind == "f" and \
            (step.value.kind == "f" or type(step.value.example) in (int, float)):
        g.line(f"{o} = {tgt} {_SCALAR[step.ufunc]} {g.x(step.value)}")
        g.line(f"{t}.data = _f64({o}); {t}._version += 1")
        return
    g.line(f"{o} = _np.array({_arg(g, step.target)})")
    if step.ufunc is not None:
        g.line(f"{g.bind(step.ufunc)}({o}, {val}, out={o}, casting='same_kind')")
    elif step.index is None:
        g.line(f"_np.copyto({o}, {val}, casting='same_kind')")
    else:
        g.line(f"{o}[{g.index(step.index)}] = {val}")
    g.line(f"{o} = {o}[()]; {t}.data = {o}; {t}._version += 1")
    if step.out.kind == "f":
        g.line(f"{o} = _float({o})")
