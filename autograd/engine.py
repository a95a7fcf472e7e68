"""Reverse-mode sweep: order the graph without recursion, run each op's rule once, sum gradients.

Broadcasting is undone here, in one place (`_unbroadcast`), so no op's rule deals with it. A sweep either
completes or changes nothing: gradients are stored and buffers released only once every rule and hook ran.
"""
from __future__ import annotations

import gc
from heapq import heappop, heappush
from typing import Any, Sequence

import numpy as np

from . import _inplace
from ._grad_store import _FILLS, _spare_buffers, _store, _store_all, _wrap, fills_gradients  # noqa: F401
from ._mode import mode
from ._tensor import Tensor
from .function import Context, _check_finite

_FREED = ("freed",)
ndarray = np.ndarray


def _unbroadcast(g: Any, shape: tuple, ctx: Any, i: int) -> Any:
    """Sum g over the axes that broadcasting added or stretched, so it has `shape`."""
    lead = g.ndim - len(shape)
    if lead < 0 or any(n != 1 and g.shape[lead + k] != n for k, n in enumerate(shape)):
        raise ValueError(f"{ctx.name}: backward returned a gradient of shape {g.shape} for input {i}, "
                         f"which has shape {shape}")
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape) if n == 1 and g.shape[lead + k] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


def _as_graph(value: Any, ctx: Context) -> Any:
    """Under create_graph, a saved array becomes a Tensor of the node it came from, so the rule's ops record."""
    if value is ctx.data:
        return ctx.tensor()
    for e in ctx.edges:
        if type(e) is Context:
            if value is e.data:
                return e.tensor()
        elif isinstance(e, Tensor) and value is e.data:
            return e
    return value


def _freed_error(ctx: Context) -> RuntimeError:
    return RuntimeError(f"backward through the graph a second time: the buffers of {ctx.name} were freed by "
                        "the first backward; pass retain_graph=True to the first call if you need this")


def _run_rule(ctx: Context, g: Any, create_graph: bool) -> tuple:
    """The careful path: freed buffers, in-place writes and create_graph are handled here."""
    saved = ctx.saved
    if saved is _FREED:
        raise _freed_error(ctx)
    _inplace.check_saved(ctx)
    if create_graph:
        ctx.saved = tuple(_as_graph(v, ctx) for v in saved)
        try:
            grads = ctx.fn.backward(ctx, g)
        finally:
            ctx.saved = saved
    else:
        grads = ctx.fn.backward(ctx, g)
    return _check_count(grads, ctx)


def _check_count(grads: Any, ctx: Any) -> tuple:
    if type(grads) is not tuple:
        grads = tuple(grads) if type(grads) is list else (grads,)
    if len(grads) != len(ctx.needs_input_grad):
        raise ValueError(f"{ctx.name}: backward returned {len(grads)} gradients for {len(ctx.needs_input_grad)} inputs")
    return grads


def _check_grad(gi: Any, p: Any, ctx: Any, i: int, create_graph: bool) -> Any:
    """Give a returned gradient the input's type, shape and dtype, or say precisely why it cannot."""
    pd = p.data
    if pd is None:  # the input's own node was released by an earlier backward
        raise _freed_error(p)
    if create_graph:
        if not isinstance(gi, Tensor):
            gi = Tensor._make(np.asarray(gi) if not isinstance(gi, (np.ndarray, np.generic)) else gi, False, None)
    elif isinstance(gi, Tensor):
        gi = gi.data
    elif not isinstance(gi, (np.ndarray, np.generic)):
        gi = np.asarray(gi, dtype=pd.dtype if isinstance(gi, (int, float)) else None)
    if gi.dtype.kind not in "fc":
        raise TypeError(f"{ctx.name}: backward returned a gradient of dtype {gi.dtype} for input {i}, "
                        f"which has dtype {pd.dtype}")
    if gi.shape != pd.shape:
        gi = _unbroadcast(gi, pd.shape, ctx, i)
    if gi.dtype != pd.dtype:
        gi = gi.astype(pd.dtype)
    return gi


def _run_hooks(t: Any, g: Any, create_graph: bool) -> Any:
    """t: a leaf Tensor or the Context of a non-leaf one (both have _hooks and data)."""
    for hook in list(t._hooks):
        new = hook(_wrap(g))
        if new is not None:
            if isinstance(new, Tensor) and not create_graph:
                new = new.data
            name = getattr(hook, "__name__", repr(hook))
            dt = np.asarray(new.data if isinstance(new, Tensor) else new).dtype
            if dt.kind not in "f":
                raise TypeError(f"hook {name} returned a gradient of dtype {dt} ({type(new).__name__}); "
                                "it must return a floating-point array or Tensor (or None)")
            if np.shape(new) != np.shape(g):
                raise ValueError(f"hook {name} returned shape {np.shape(new)} for a gradient of shape {np.shape(g)}")
            gdt = np.result_type(g.data if isinstance(g, Tensor) else g)
            if not isinstance(new, (Tensor, np.ndarray, np.generic)):
                new = np.asarray(new, dtype=gdt)
            elif dt != gdt:  # as a rule's gradient is cast to its input's dtype
                new = new.astype(gdt)
            g = new
    return g


def _on_path(starts: list, targets: set) -> set:
    """ids of the nodes from which some target is reachable (targets included): ag.grad sweeps only these."""
    memo: dict = {}
    stack = list(starts)
    while stack:
        n = stack[-1]
        k = id(n)
        if k in memo:
            stack.pop()
            continue
        if type(n) is not Context:
            memo[k] = k in targets
            stack.pop()
            continue
        todo = [e for e in n.edges if id(e) not in memo and (type(e) is Context or isinstance(e, Tensor))]
        if todo:
            stack.extend(todo)
            continue
        memo[k] = k in targets or any(memo.get(id(e), False) for e in n.edges)
        stack.pop()
    return {k for k, v in memo.items() if v}


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, capture: Sequence[Tensor] | None = None) -> list | None:
    """The sweep itself. Without `capture`, leaves (and retain_grad tensors) accumulate `.grad`;
    with it, the gradients of those tensors are returned and no `.grad` is touched.

    The graph is nodes: each op's Context, whose edges lead to its inputs' nodes (a Context, or a leaf
    Tensor). Ops are numbered as they are recorded, so a node always has a larger number than the nodes of
    its inputs: taking pending nodes largest-number-first (a heap; no recursion) reaches each one only after
    every use of it has contributed its gradient. Leaves come last.
    """
    grads: dict = {}  # id(node) -> gradient summed so far; a node is a Context or a leaf Tensor
    heap: list = []
    leaves: dict = {}
    done: list = []  # swept nodes, released once the whole sweep succeeded
    retained: list = []  # (tensor, gradient) for retain_grad, stored at the end
    wanted = on_path = None
    if capture is not None:
        wanted = {id(c if c.grad_fn is None else c.grad_fn): None for c in capture}
        on_path = _on_path([r if r.grad_fn is None else r.grad_fn for r in roots], set(wanted))
    # Same accumulate-or-schedule step as for each input in the sweep below, which stays inline there
    # because it runs once per edge (a call would cost about 0.3 us per edge).
    for r, g in zip(roots, root_grads):
        n = r if r.grad_fn is None else r.grad_fn
        k = id(n)
        if not r.requires_grad or (on_path is not None and k not in on_path):
            continue
        if k in grads:
            grads[k] = grads[k] + g
        else:
            grads[k] = g
            if n is r:
                leaves[k] = r
            else:
                heappush(heap, (-n.seq, n))
    m = mode()
    prev = m.grad_enabled
    m.grad_enabled = create_graph
    anomaly = m.anomaly
    checked = create_graph or anomaly  # every rule and gradient goes through the careful path
    # Reusing gradient buffers is unobservable, except to ag.compile's recorder, which follows arrays by identity.
    reuse = wanted is None and m.tracer is None
    bufs = None
    # The sweep makes no reference cycles, so the cyclic collector has nothing to find here; pausing it
    # avoids repeated scans of a large graph.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        while heap:
            ctx = heappop(heap)[1]
            g = grads.pop(id(ctx))
            if ctx._hooks or ctx._retain or wanted is not None:
                if ctx._hooks:
                    g = _run_hooks(ctx, g, create_graph)
                if wanted is not None:
                    if id(ctx) in wanted:
                        wanted[id(ctx)] = g
                        if not any(id(e) in on_path for e in ctx.edges):
                            continue  # nothing below it is wanted: its rule need not run
                elif ctx._retain:
                    t = ctx._retain()
                    if t is not None:
                        # A copy: g flows on into the rule, which may hand this very array to an input (add does).
                        retained.append((t, g if create_graph else g.copy()))
            if checked or ctx.saved is _FREED or ctx.seq < _inplace.last_write:
                out = _run_rule(ctx, g, create_graph)
            elif reuse and ctx.fn in _FILLS:
                needs = ctx.needs_input_grad
                bufs = _spare_buffers(ctx.edges, needs, grads)
                out = ctx.fn.backward(ctx, g) if bufs is None else ctx.fn.backward(ctx, g, bufs)
                if type(out) is not tuple:
                    out = tuple(out) if type(out) is list else (out,)
            else:
                out = ctx.fn.backward(ctx, g)
                if type(out) is not tuple:
                    out = tuple(out) if type(out) is list else (out,)
            done.append(ctx)
            needs = ctx.needs_input_grad
            n = len(needs)
            if len(out) != n:
                out = _check_count(out, ctx)
            # ctx.edges, inline (it runs once per node)
            edges = (ctx._e0, ctx._e1) if n == 2 else (ctx._e0,) if n == 1 else ctx._more
            for i, (e, gi, needed) in enumerate(zip(edges, out, needs)):
                if gi is None or not needed:
                    continue
                if on_path is not None and id(e) not in on_path:
                    continue
                pd = e.data
                tg = type(gi)
                # Same numpy scalar type: same shape () and dtype, nothing to check (scalar graphs).
                if checked or tg is not type(pd) or (tg is ndarray and (gi.shape != pd.shape or gi.dtype != pd.dtype)):
                    gi = _check_grad(gi, e, ctx, i, create_graph)
                    if anomaly:
                        _check_finite(gi, ctx.fn, f"backward (gradient of input {i})", ctx.trace)
                k = id(e)
                if k in grads:
                    grads[k] = grads[k] + gi
                else:
                    grads[k] = gi
                    if type(e) is Context:
                        heappush(heap, (-e.seq, e))
                    else:
                        leaves[k] = e
        staged = []
        for k, t in leaves.items():
            g = grads.pop(k)
            if t._hooks:
                g = _run_hooks(t, g, create_graph)
            if wanted is not None:
                if k in wanted:
                    wanted[k] = g
            else:
                staged.append((t, g))
    finally:
        m.grad_enabled = prev
        if gc_was_on:
            gc.enable()
    # Every rule and hook succeeded: now store, then release. The sweep's last arrays are let go first, so
    # _store_all's reference counts see only what others hold.
    g = gi = out = bufs = None
    if wanted is None:
        _store_all(staged, retained, root_grads, create_graph)
    if not retain_graph:
        for ctx in done:  # _release, inline: it runs once per node
            ctx.saved = _FREED
            if ctx._hooks is None and ctx._retain is None:
                ctx.data = None
            if "index" in ctx.options:  # getitem's index may be an array as large as its input
                ctx.options = {k: v for k, v in ctx.options.items() if k != "index"}
            if False in ctx.needs_input_grad or ctx.fn.keeps_attributes:
                _release(ctx)
    if wanted is not None:
        return [wanted[id(c if c.grad_fn is None else c.grad_fn)] for c in capture]
    return None


def _release(ctx: Context) -> None:
    """Drop what a swept node holds beyond its saved arrays and output (done inline in run_backward): its
    constant inputs (an input batch, say; nodes and parameters stay) and the attributes a rule set on it."""
    needs = ctx.needs_input_grad
    if len(needs) == 2:
        if not needs[0]:
            ctx._e0 = None
        if not needs[1]:
            ctx._e1 = None
    elif len(needs) == 1:
        if not needs[0]:
            ctx._e0 = None
    elif not all(needs):
        ctx._more = tuple(e if n else None for e, n in zip(ctx._more, needs))
    if ctx.fn.keeps_attributes:
        d = ctx.__dict__
        keep = {k: d[k] for k in ("_hooks", "_retain", "trace") if k in d}
        d.clear()
        d.update(keep)


def _root_grad(r: Tensor, g: Any, create_graph: bool) -> Any:
    if g is None:
        d = r.data
        if d.ndim != 0 and d.size != 1:
            raise RuntimeError(f"backward: grad must be given for a non-scalar output (shape {d.shape})")
        g = d.dtype.type(1) if d.ndim == 0 else np.ones_like(d)
        return Tensor._make(g, False, None) if create_graph else g
    if isinstance(g, Tensor):
        if not create_graph:
            g = g.data
    else:
        g = np.asarray(g, dtype=r.data.dtype)
        g = g[()] if g.ndim == 0 else g
        if create_graph:
            g = Tensor._make(g, False, None)
    if np.shape(g) != r.data.shape:
        raise ValueError(f"backward: grad has shape {np.shape(g)} but the output has shape {r.data.shape}")
    if np.result_type(g.data if isinstance(g, Tensor) else g).kind not in "f":
        raise TypeError(f"backward: grad has dtype {np.result_type(g)}; it must be floating-point")
    return g


def backward(roots: Sequence[Tensor], grads: Sequence[Any] | None = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate the gradients of `roots` (weighted by `grads`) into the leaves' `.grad`."""
    for r in roots:
        if not r.requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no grad_fn "
                               "(was it made inside no_grad, or from inputs without requires_grad?)")
    tracer = mode().tracer
    if tracer is not None:
        tracer.backward(roots, grads, retain_graph, create_graph)
    if grads is None and len(roots) == 1 and not create_graph:  # loss.backward(): the common call
        d = roots[0].data
        if d.ndim == 0:
            run_backward(roots, (d.dtype.type(1),), bool(retain_graph), False)
            return
    grads = [None] * len(roots) if grads is None else list(grads)
    grads = [_root_grad(r, g, create_graph) for r, g in zip(roots, grads)]
    run_backward(roots, grads, create_graph if retain_graph is None else retain_graph, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated), as in torch.autograd.grad.
    Only the part of the graph between them is swept. With create_graph=True the results are differentiable."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if mode().tracer is not None: mode().tracer.grad(outputs, inputs)  # noqa: E701  (ag.compile)
    if not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for r in outputs:
        if not r.requires_grad:
            raise RuntimeError("grad: an output does not require grad")
    for x in inputs:
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    root_grads = [_root_grad(r, g, create_graph) for r, g in zip(outputs, grad_outputs)]
    got = run_backward(outputs, root_grads, create_graph if retain_graph is None else retain_graph,
                       create_graph, capture=inputs)
    result = []
    handed = {id(r) for r in root_grads} | {id(x.data) for x in inputs}
    for g in got:
        if g is None:
            if not allow_unused:
                raise RuntimeError("grad: an input was not used to compute the outputs; pass allow_unused=True")
            result.append(None)
            continue
        if not create_graph:
            if id(g) in handed or getattr(g, "base", None) is not None:
                g = g.copy()
            handed.add(id(g))
            g = Tensor._make(g, False, None)
        result.append(g)
    return tuple(result)
