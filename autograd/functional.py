"""Jacobian-level tools with PyTorch's names: vjp, jvp, jacobian, hessian, hvp.

All are built from `grad` with create_graph, so they compose to any order.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._mode import enable_grad
from ._tensor import Tensor
from .engine import grad


def _inputs(inputs: Any) -> tuple[tuple, bool]:
    single = not isinstance(inputs, (tuple, list))
    items = (inputs,) if single else tuple(inputs)
    return tuple(Tensor(getattr(x, "data", x), requires_grad=True) for x in items), single


def _grads(out: Tensor, xs: tuple, v: Any, create_graph: bool) -> tuple:
    gs = grad(out, xs, v, create_graph=True, allow_unused=True) if out.requires_grad else (None,) * len(xs)
    result = []
    for g, x in zip(gs, xs):
        if g is None:
            g = Tensor(np.zeros_like(np.asarray(x.data)))
        result.append(g if create_graph else g.detach())
    return tuple(result)


@enable_grad()
def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False) -> tuple:
    """(func(inputs), v^T J): the vector-Jacobian product; v may be omitted for a scalar output."""
    xs, single = _inputs(inputs)
    out = func(*xs)
    gs = _grads(out, xs, v, create_graph)
    return (out if create_graph else out.detach()), (gs[0] if single else gs)


@enable_grad()
def jvp(func: Callable, inputs: Any, v: Any, create_graph: bool = False) -> tuple:
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp in its (linear) cotangent."""
    xs, single = _inputs(inputs)
    vs = (v,) if single else tuple(v)
    out = func(*xs)
    u = Tensor(np.zeros_like(np.asarray(out.data)), requires_grad=True)
    gs = _grads(out, xs, u, create_graph=True)
    total = sum(((g * Tensor(getattr(w, "data", w))).sum() for g, w in zip(gs, vs)), Tensor(0.0))
    if not total.requires_grad:
        jv = Tensor(np.zeros_like(np.asarray(out.data)))
    else:
        (jv,) = grad(total, [u], create_graph=create_graph, allow_unused=True)
        jv = Tensor(np.zeros_like(np.asarray(out.data))) if jv is None else jv
    return (out if create_graph else out.detach()), (jv if create_graph else jv.detach())


@enable_grad()
def jacobian(func: Callable, inputs: Any, create_graph: bool = False) -> Any:
    """d func / d inputs, of shape out.shape + input.shape (a tuple over inputs when there are several)."""
    xs, single = _inputs(inputs)
    out = func(*xs)
    shape = np.shape(out.data)
    rows = []
    for r in range(int(np.prod(shape))):
        e = np.zeros(shape)
        e.reshape(-1)[r] = 1.0
        rows.append(_grads(out, xs, e, create_graph))
    from .ops import reshape, stack
    jac = tuple(reshape(stack([row[k] for row in rows]) if rows else Tensor(np.zeros((0,) + x.shape)),
                        shape + x.shape) for k, x in enumerate(xs))
    return jac[0] if single else jac


def hessian(func: Callable, inputs: Any, create_graph: bool = False) -> Any:
    """Second derivatives of a scalar func: the Jacobian of its gradient."""
    def gradient(*xs):
        (g,) = _grads(func(*xs), xs[:1], None, create_graph=True) if len(xs) == 1 else (None,)
        return g
    if isinstance(inputs, (tuple, list)):
        raise NotImplementedError("hessian: pass a single input tensor")
    return jacobian(gradient, inputs, create_graph=create_graph)


@enable_grad()
def hvp(func: Callable, inputs: Any, v: Any, create_graph: bool = False) -> tuple:
    """(func(inputs), H v) for a scalar func, by differentiating (grad func) . v."""
    xs, single = _inputs(inputs)
    vs = (v,) if single else tuple(v)
    out = func(*xs)
    gs = _grads(out, xs, None, create_graph=True)
    total = sum(((g * Tensor(getattr(w, "data", w))).sum() for g, w in zip(gs, vs)), Tensor(0.0))
    hv = _grads(total, xs, None, create_graph)
    return (out if create_graph else out.detach()), (hv[0] if single else hv)
