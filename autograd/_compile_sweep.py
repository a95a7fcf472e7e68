"""The backward sweep of a recording: the steps the engine's sweep (engine.run_backward) will take, laid out
in the same order so that replayed gradients are summed exactly as the engine sums them.

Run from the recorder's backward hook, before the engine sweeps: nodes are taken largest sequence number first,
each node's rule sends one gradient per input that needs one, gradients meeting at a node are added in arrival
order (`earlier + later`), and leaves receive theirs at the end.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

import numpy as np

from ._compile_ir import Acc, Rule, Val
from ._tensor import Tensor
from .function import Context


def _like(rec: Any, v: Val) -> Val:
    """A new Val with v's kind, shape and dtype (a gradient of v)."""
    rec.n += 1
    g = Val(rec.n, None)
    g.kind = v.kind if v.kind in ("a", "f", "s") else "a"
    g.shape, g.dtype = v.shape, v.dtype
    return g


def _root_grads(rec: Any, roots: list, grads: Any) -> list:
    """The engine's root gradients (engine.backward / _root_grad) as Vals."""
    from ._compile_record import Unsupported
    out = []
    if grads is None:
        grads = [None] * len(roots)
    for r, g in zip(roots, grads):
        d = r.data
        if g is None:
            if d.ndim != 0 and d.size != 1:
                return []  # the engine raises its own error
            g = d.dtype.type(1) if d.ndim == 0 else np.ones_like(d)
            rec.owned.add(id(g))
            out.append(rec.val(g))  # a new constant
        elif isinstance(g, Tensor):
            v = rec.val(g)
            if np.shape(g.data) != np.shape(d):
                raise Unsupported("a backward gradient of another shape than its output")
            out.append(v)
        else:
            a = np.asarray(g, dtype=d.dtype)
            out.append(rec.val(a[()] if a.ndim == 0 else a))
    return out


def sweep(rec: Any, roots: list, grads: Any) -> list:
    """Append the sweep's Rule and Acc steps to rec.steps; return (leaf tensor, gradient Val) to store, in
    the engine's order."""
    from ._compile_record import Unsupported
    grad: dict[int, Val] = {}
    heap: list = []
    leaves: dict[int, Tensor] = {}

    def arrive(node: Any, g: Val) -> None:
        k = id(node)
        if k in grad:
            total = _like(rec, grad[k])
            rec.steps.append(Acc(total, grad[k], g))
            grad[k] = total
        else:
            grad[k] = g
            if type(node) is Context:
                heappush(heap, (-node.seq, id(node), node))
            else:
                leaves[k] = node

    for r, g in zip(roots, _root_grads(rec, roots, grads)):
        if r.requires_grad:
            arrive(r if r.grad_fn is None else r.grad_fn, g)
    while heap:
        ctx = heappop(heap)[2]
        g = grad.pop(id(ctx))
        if ctx._hooks or ctx._retain:
            raise Unsupported("a hook or retain_grad() on a tensor inside a compiled function")
        op = rec.nodes.get(id(ctx))
        if op is None:
            raise Unsupported(f"backward reaches {ctx.name}, made before the compiled function was called")
        edges = ctx.edges
        outs = [(_like(rec, v) if need else None) for v, need in zip(op.ins, op.needs)]
        rec.steps.append(Rule(op, g, outs))
        for e, gi in zip(edges, outs):
            if gi is not None and e is not None:
                arrive(e, gi)
    stores = []
    for k, t in leaves.items():
        if t._hooks:
            raise Unsupported("a hook on a leaf tensor used inside a compiled function")
        stores.append((t, grad.pop(k)))
    return stores
