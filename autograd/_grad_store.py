"""Where the backward sweep puts leaf gradients: `.grad`, without copies where nothing can alias, and into
arrays kept from the previous step where nothing else can see them (the engine's sweep is autograd/engine.py).
"""
from __future__ import annotations

from sys import getrefcount
from typing import Any, Sequence

import numpy as np

from ._tensor import Tensor
from .function import Context

ndarray = np.ndarray
_generic = np.generic
_FILLS: set = set()  # ops whose backward takes `out`: arrays to write leaf gradients into (fills_gradients)
# A leaf that is an input of such an op keeps its last gradient array (`_grad_buffer`) to be written again by the
# next backward once nothing else holds it (.grad set to None, no view, no saved copy: sys.getrefcount tells).
# So a Linear layer's weight trained by more than one backward keeps one gradient-sized array after .grad = None
# (PyTorch frees it; this saves the page faults of a fresh one each step). Only for arrays this large: a fresh
# 1.6 MB array each step costs ~400 page faults as glibc hands the heap back and regrows it (~1 ms), while small
# arrays come cheaply from malloc's free lists.
_BUFFER_MIN = 1 << 16
_ABSENT = object()
_SEEN = object()  # a leaf met once: a single backward (a one-off evaluation) keeps nothing


def fills_gradients(cls: type) -> type:
    """Class decorator: `cls.backward(ctx, g, out)` accepts `out`, one entry per input, None or an array of that
    input's shape and dtype to write its gradient into (and return). The engine offers a leaf's previous
    gradient array there when nothing else can see it any more."""
    _FILLS.add(cls)
    return cls


def _spare_buffers(edges: tuple, needs: tuple, grads: dict) -> tuple | None:
    """For a fills_gradients op: each needed input that is a leaf getting its first gradient of this sweep
    into an empty .grad, whose kept buffer has its shape and dtype and is referenced by nothing but the leaf."""
    out = None
    for i, (e, need) in enumerate(zip(edges, needs)):
        if not need or type(e) is Context or not isinstance(e, Tensor) or e.grad is not None or e._hooks:
            continue
        d = e.__dict__
        buf = d.get("_grad_buffer", _ABSENT)
        if buf is _ABSENT or buf is _SEEN:  # from the second backward through it on, _store_all keeps its array
            d["_grad_buffer"] = _SEEN if buf is _ABSENT else None
            continue
        # 3 references: the leaf's __dict__, `buf`, getrefcount's argument
        if buf is None or getrefcount(buf) != 3 or id(e) in grads:
            continue
        d = e.data
        if buf.shape != d.shape or buf.dtype != d.dtype:
            continue
        if out is None:
            out = [None] * len(needs)
        if any(b is buf for b in out):
            continue
        out[i] = buf
    return out


def _wrap(g: Any) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor._make(g, False, None)


def _store_all(staged: list, retained: list, root_grads: Sequence[Any], create_graph: bool) -> None:
    """Accumulate into `.grad`. Gradients the user gets never share memory with each other or with any
    tensor's data (add's rule returns (g, g); an upstream gradient may pass through unchanged)."""
    for t, g in list(retained) + list(staged):
        old = t.grad
        if old is not None and (not isinstance(old, Tensor) or np.shape(old.data) != np.shape(g)):
            name = f"'{t.name}' " if t.name else ""
            raise RuntimeError(f"backward: tensor {name}of shape {np.shape(t.data)} has a .grad of shape "
                               f"{np.shape(getattr(old, 'data', old))} ({type(old).__name__}) that its gradient "
                               "cannot be added to; set .grad to None first (no .grad was changed)")
    handed = set(map(id, root_grads))
    handed.update(id(t.data) for t, _ in staged)
    for t, g in retained:
        _store(t, g, create_graph)
    for t, g in staged:
        if create_graph:
            _store(t, g, True)
            continue
        d = t.__dict__
        if type(g) is ndarray:
            # Copied unless the engine alone holds it (3 references: the staged pair, `g`, getrefcount's
            # argument; 4 when it is the leaf's own kept buffer), or a view of an array of the same size that
            # only it holds (a reshaped sum): then nothing else can see or change it. add's rule hands one
            # array to two inputs: the pair shows it.
            if id(g) in handed or getrefcount(g) != 3 + (d.get("_grad_buffer") is g) or g.base is not None and (
                    getrefcount(g.base) != 2 or g.base.nbytes != g.nbytes):
                g = g.copy()
            handed.add(id(g))
        elif not isinstance(g, _generic):  # numpy scalars are immutable: nothing to copy
            g = np.array(g)
        if t.grad is None:  # _store's common case, inline: once per parameter per step
            t.grad = Tensor._make(g, False, None)
        else:
            _store(t, g, False)
            g = t.grad.data
        if d.get("_grad_buffer", _SEEN) is not _SEEN:  # it feeds a fills_gradients op: keep its array
            d["_grad_buffer"] = g if type(g) is ndarray and g.nbytes >= _BUFFER_MIN and g.base is None else None


def _store(t: Tensor, g: Any, create_graph: bool) -> None:
    """Accumulate g into t.grad (a Tensor)."""
    if t.grad is None:
        t.grad = g if isinstance(g, Tensor) else Tensor._make(g, False, None)
    else:
        t.grad = t.grad + g if create_graph else _wrap(t.grad.data + g)
