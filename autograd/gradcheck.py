"""Compare analytic gradients with central finite differences, and say precisely where they disagree.

One numeric core (`numeric_jacobian`) serves the public `gradcheck`, `gradgradcheck` and the test suite.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ._mode import enable_grad, no_grad
from .engine import grad as _grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with finite differences."""


def _outputs(fn: Callable, tensors: Sequence[Tensor]) -> tuple:
    out = fn(*tensors)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def numeric_jacobian(fn: Callable, inputs: Sequence[Any], i: int, eps: float = 1e-6) -> list:
    """Central differences of every output of fn with respect to every element of inputs[i], in float64.
    Returns one matrix of shape (output.size, inputs[i].size) per output."""
    arrays = [_float64_copy(getattr(x, "data", x)) for x in inputs]
    x = arrays[i]
    flat = x.reshape(-1)
    cols: list = []
    with no_grad():
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = _copied_outputs(fn, arrays)
            flat[j] = old - eps
            minus = _copied_outputs(fn, arrays)
            flat[j] = old
            cols.append([(p - m).reshape(-1) / (2 * eps) for p, m in zip(plus, minus)])
    # An input with no elements still gives (output.size, 0) matrices, so J.T @ u works.
    return [np.stack([c[k] for c in cols], axis=1) if cols else np.zeros((int(np.prod(s)), 0))
            for k, s in enumerate(_outputs_shapes(fn, arrays))]


def _float64_copy(x: Any) -> np.ndarray:
    # Only floating-point inputs are promoted: integer or boolean inputs (indices, masks) stay as they are.
    a = np.array(x)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def _copied_outputs(fn: Callable, arrays: list) -> list:
    # Copies: an output may be a view of the perturbed input (reshape, slicing), which changes next.
    return [np.array(o.data, dtype=np.float64) for o in _outputs(fn, [Tensor._make(a, False, None) for a in arrays])]


def _outputs_shapes(fn: Callable, arrays: list) -> list:
    with no_grad():
        return [np.shape(o.data) for o in _outputs(fn, [Tensor._make(a, False, None) for a in arrays])]


def _prepare(inputs: Sequence[Any]) -> list:
    tensors = []
    for k, x in enumerate(inputs):
        if isinstance(x, Tensor):
            data, rg = x.data, x.requires_grad
        else:
            data = np.asarray(x)
            rg = data.dtype.kind == "f"
        data = np.asarray(data)
        if data.dtype == np.float32 or data.dtype == np.float16:
            warnings.warn(f"gradcheck: input {k} is {data.dtype}; checking it in float64", stacklevel=3)
        if data.dtype.kind == "f":
            data = data.astype(np.float64)
        tensors.append(Tensor(data, requires_grad=rg))
    return tensors


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _analytic(fn: Callable, tensors: list, us: list) -> tuple:
    with enable_grad():
        outs = _outputs(fn, tensors)
    wrt = [t for t in tensors if t.requires_grad]
    live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    if not live or not wrt:
        return outs, [None] * len(wrt)
    return outs, list(_grad([o for o, _ in live], wrt, [u for _, u in live], allow_unused=True))


def gradcheck(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-7, rtol: float = 1e-5,
              raise_exception: bool = True, fast_mode: bool = False, seed: int = 0,
              max_report: int = 64) -> bool:
    """Check fn's analytic vector-Jacobian products against central differences for every input that
    requires grad (arrays of floats count as requiring grad), with random upstream gradients.

    Also checks that forward and backward leave the inputs unchanged, that each gradient has its input's
    shape and dtype, and that no gradient is a view of another or of the upstream gradient.
    With fast_mode=True one random direction per input replaces the element-by-element sweep.
    """
    rng = np.random.default_rng(seed)
    tensors = _prepare(inputs)
    before = [np.array(t.data, copy=True) for t in tensors]
    with no_grad():
        shapes = [np.shape(o.data) for o in _outputs(fn, tensors)]
    us = [rng.standard_normal(s) for s in shapes]
    outs, grads = _analytic(fn, tensors, [u.copy() for u in us])  # a rule may not touch our copy
    wrt = [(k, t) for k, t in enumerate(tensors) if t.requires_grad]

    for k, (t, b) in enumerate(zip(tensors, before)):
        if not np.array_equal(np.asarray(t.data), b, equal_nan=True):
            return _fail(f"gradcheck: input {k} was modified in place by forward or backward", raise_exception)
    arrays = []
    for (k, t), g in zip(wrt, grads):
        g = np.zeros_like(np.asarray(t.data)) if g is None else np.asarray(g.data)
        if g.shape != np.shape(t.data) or g.dtype != np.asarray(t.data).dtype:
            return _fail(f"gradcheck: gradient of input {k} has shape {g.shape} and dtype {g.dtype}, "
                         f"the input has {np.shape(t.data)} and {np.asarray(t.data).dtype}", raise_exception)
        for u in us:
            if g.size and np.shares_memory(g, u):
                return _fail(f"gradcheck: gradient of input {k} is a view of the upstream gradient", raise_exception)
        for k2, other in arrays:
            if g.size and np.shares_memory(g, other):
                return _fail(f"gradcheck: gradients of inputs {k2} and {k} share memory", raise_exception)
        arrays.append((k, g))

    for k, analytic in arrays:
        if fast_mode:
            ok, msg = _check_direction(fn, tensors, k, us, analytic, eps, atol, rtol, rng)
        else:
            ok, msg = _check_full(fn, tensors, k, us, analytic, eps, atol, rtol, max_report)
        if not ok:
            return _fail(msg, raise_exception)
    return True


def _check_full(fn, tensors, k, us, analytic, eps, atol, rtol, max_report) -> tuple:
    jacs = numeric_jacobian(fn, tensors, k, eps)
    numeric = sum(J.T @ u.reshape(-1) for J, u in zip(jacs, us)).reshape(analytic.shape)
    err = np.abs(analytic - numeric)
    bad = err > atol + rtol * np.abs(numeric)
    if not np.any(bad) and np.all(np.isfinite(analytic)) == np.all(np.isfinite(numeric)):
        return True, ""
    worst = np.unravel_index(int(np.argmax(np.where(np.isfinite(err), err, np.inf))), analytic.shape) \
        if analytic.ndim else ()
    a, n = analytic[worst], numeric[worst]
    msg = (f"gradcheck: gradient of input {k} (shape {analytic.shape}) disagrees with finite differences "
           f"at {int(np.sum(bad))} of {analytic.size} elements.\n"
           f"  worst index {tuple(int(i) for i in worst)}: analytic {a:.10g}, numeric {n:.10g}, "
           f"abs error {abs(a - n):.3g}, rel error {abs(a - n) / max(abs(n), 1e-300):.3g} "
           f"(atol={atol}, rtol={rtol})")
    if sum(J.size for J in jacs) <= max_report:
        msg += "\n" + _jacobian_report(fn, tensors, k, us, jacs)
    return False, msg


def _jacobian_report(fn, tensors, k, us, jacs) -> str:
    """Analytic Jacobians (one backward per output element) beside the numeric ones."""
    pos = [m for m, t in enumerate(tensors) if t.requires_grad].index(k)
    lines = []
    for o, J in enumerate(jacs):
        A = np.zeros_like(J)
        for r in range(J.shape[0]):
            e = [np.zeros(np.shape(u)) for u in us]
            e[o].reshape(-1)[r] = 1.0
            g = _analytic(fn, tensors, e)[1][pos]
            if g is not None:
                A[r] = np.asarray(g.data).reshape(-1)
        lines.append(f"  output {o} (rows: output elements, columns: elements of input {k})\n"
                     f"  analytic Jacobian:\n{np.array2string(A, precision=6)}\n"
                     f"  numeric Jacobian:\n{np.array2string(J, precision=6)}")
    return "\n".join(lines)


def _check_direction(fn, tensors, k, us, analytic, eps, atol, rtol, rng) -> tuple:
    v = rng.standard_normal(analytic.shape)
    arrays = [_float64_copy(t.data) for t in tensors]
    base = arrays[k].copy()

    def total(x):
        arrays[k] = x
        with no_grad():
            outs = _outputs(fn, [Tensor._make(a, False, None) for a in arrays])
        return sum(float(np.sum(np.asarray(o.data) * u)) for o, u in zip(outs, us))

    numeric = (total(base + eps * v) - total(base - eps * v)) / (2 * eps)
    arrays[k] = base
    a = float(np.sum(analytic * v))
    if abs(a - numeric) <= atol * np.sqrt(v.size) + rtol * abs(numeric):
        return True, ""
    return False, (f"gradcheck (fast_mode): directional derivative of input {k} along a random vector: "
                   f"analytic {a:.10g}, numeric {numeric:.10g}, abs error {abs(a - numeric):.3g}, "
                   f"rel error {abs(a - numeric) / max(abs(numeric), 1e-300):.3g}")


def gradgradcheck(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-7,
                  rtol: float = 1e-5, raise_exception: bool = True, fast_mode: bool = False,
                  seed: int = 0) -> bool:
    """gradcheck of the map (inputs, u) -> vector-Jacobian product of fn: checks second derivatives."""
    rng = np.random.default_rng(seed + 1)
    tensors = _prepare(inputs)
    n = len(tensors)
    with no_grad():
        shapes = [np.shape(o.data) for o in _outputs(fn, tensors)]
    us = [rng.standard_normal(s) for s in shapes]
    flags = [t.requires_grad for t in tensors]

    @enable_grad()
    def vjp(*args):
        xs = list(args[:n])
        for x, f in zip(xs, flags):
            x.requires_grad = f and x.data.dtype.kind == "f"
        outs = _outputs(fn, xs)
        wrt = [x for x in xs if x.requires_grad]
        live = [(o, u) for o, u in zip(outs, args[n:]) if o.requires_grad]
        if not live:
            return tuple(x * 0.0 for x in wrt)
        gs = _grad([o for o, _ in live], wrt, [u for _, u in live], create_graph=True, allow_unused=True)
        return tuple(g if g is not None else w * 0.0 for g, w in zip(gs, wrt))

    return gradcheck(vjp, tensors + [Tensor(u, requires_grad=True) for u in us], eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, fast_mode=fast_mode, seed=seed)
