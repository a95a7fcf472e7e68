"""Flat-vector views of parameters and gradients (for scipy.optimize), gradient clipping, `functional_call`,
and the one place that writes new values into existing tensors."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

import autograd as ag

if TYPE_CHECKING:
    from .module import Module


def _write(t: ag.Tensor, value: Any) -> None:
    """Set t's values to `value` (broadcast to t's shape, cast to its dtype) in place: every write nn makes
    into a parameter goes through here."""
    arr = np.broadcast_to(np.asarray(value), np.shape(t.data)).astype(t.dtype, copy=True)
    with ag.no_grad():  # in place, so a graph that saved the old values refuses to backward through them
        t.copy_(arr)


def _params(params: Iterable[ag.Tensor], name: str) -> list:
    if isinstance(params, ag.Tensor):
        params = [params]
    params = list(params)
    for k, p in enumerate(params):
        if not isinstance(p, ag.Tensor):
            raise TypeError(f"{name}: item {k} is a {type(p).__name__}, not a Tensor")
    return params


def parameters_to_vector(params: Iterable[ag.Tensor]) -> np.ndarray:
    """All parameters' values concatenated into one new float64 1-d array (in the given order)."""
    params = _params(params, "parameters_to_vector")
    if not params:
        return np.zeros(0)
    return np.concatenate([np.asarray(p.data, dtype=np.float64).reshape(-1) for p in params])


def grads_to_vector(params: Iterable[ag.Tensor]) -> np.ndarray:
    """All parameters' gradients concatenated into one new float64 1-d array (zeros where .grad is None),
    in the order of parameters_to_vector: together they give scipy.optimize.minimize(jac=True) what it needs."""
    params = _params(params, "grads_to_vector")
    if not params:
        return np.zeros(0)
    return np.concatenate([np.zeros(p.size) if p.grad is None
                           else np.asarray(p.grad.data, dtype=np.float64).reshape(-1) for p in params])


def vector_to_parameters(vec: Any, params: Iterable[ag.Tensor]) -> None:
    """Copy consecutive slices of the 1-d `vec` into the parameters (each cast to its own dtype).
    The length must match exactly; on an error no parameter changes."""
    params = _params(params, "vector_to_parameters")
    v = np.asarray(getattr(vec, "data", vec))
    total = sum(p.size for p in params)
    if v.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-d vector, got shape {v.shape}")
    if v.size != total:
        raise ValueError(f"vector_to_parameters: vector has {v.size} elements, the parameters have {total}")
    if v.dtype.kind not in "biuf":
        raise TypeError(f"vector_to_parameters: vector has non-numeric dtype {v.dtype}")
    i = 0
    for p in params:
        n = p.size
        _write(p, v[i:i + n].reshape(np.shape(p.data)))
        i += n


def clip_grad_norm_(params: Iterable[ag.Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so their joint norm is at most max_norm; returns the norm before clipping."""
    params = [p for p in _params(params, "clip_grad_norm_") if p.grad is not None]
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not params:
        return 0.0
    grads = [np.asarray(p.grad.data, dtype=np.float64) for p in params]
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(np.sum(np.abs(g) ** norm_type) for g in grads) ** (1.0 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:
            # Rebind rather than scale in place: the gradient array may be shared with another tensor.
            p.grad = ag.Tensor(np.asarray(p.grad.data) * scale, dtype=np.asarray(p.grad.data).dtype)
    return total


def clip_grad_value_(params: Iterable[ag.Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    for p in _params(params, "clip_grad_value_"):
        if p.grad is not None:
            p.grad = ag.Tensor(np.clip(p.grad.data, -clip_value, clip_value))


def functional_call(module: "Module", tensors: Mapping[str, Any], args: Any = (),
                    kwargs: Mapping[str, Any] | None = None) -> Any:
    """`module(*args, **kwargs)` with the parameters and buffers named in `tensors` (dotted names, as in
    state_dict) replaced by the given tensors for this call only, as torch.func.functional_call does:
    e.g. to differentiate a module with respect to stand-in tensors (gradcheck)."""
    owners = dict(module.named_modules())
    swaps = []
    for name, value in tensors.items():
        mname, _, leaf = name.rpartition(".")
        m = owners.get(mname)
        reg = None if m is None else m._parameters if leaf in m._parameters else m._buffers
        if reg is None or leaf not in reg:
            raise KeyError(f"functional_call: {type(module).__name__} has no parameter or buffer {name!r}")
        swaps.append((reg, leaf, value))
    old = [(reg, leaf, reg[leaf]) for reg, leaf, _ in swaps]
    try:
        for reg, leaf, value in swaps:
            reg[leaf] = value
        return module(*(args if isinstance(args, tuple) else (args,)), **(kwargs or {}))
    finally:
        for reg, leaf, value in reversed(old):
            reg[leaf] = value
