"""Compare analytic gradients with central finite differences, and say precisely where they disagree.

One numeric core (`_sweep`, public as `numeric_jacobian`) serves `gradcheck`, `gradgradcheck` and the tests.

Tolerance. For input element j the step is h = eps, and d_j = (x_j + h) - (x_j - h) is the step actually
taken (exact in floating point, so rounding x_j ± h costs nothing). For output element i,
    N_ij = (f_i(x + h e_j) - f_i(x - h e_j)) / d_j.
Each evaluation of f_i is off by up to about c·ε·|f_i| (ε = 2.2e-16; c = NOISE roundings, with room), so
N_ij carries a rounding noise that grows with the magnitude of f, not of its derivative:
    noise_ij = 2·c·ε·max(|f_i(x + h e_j)|, |f_i(x - h e_j)|) / d_j        (≈ c·ε·|f_i| / h).
An entry passes when |A_ij - N_ij| <= atol + rtol·|N_ij| + noise_ij; the product with an upstream u passes
when |a_j - Σ_i u_i N_ij| <= atol + rtol·|Σ_i u_i N_ij| + Σ_i |u_i|·noise_ij. The truncation error
h²·|f'''|/6 (1e-12·|f'''| at the default eps) is left to atol and rtol. Noise from intermediate values much
larger than the outputs (f = big - big) is not seen by this estimate.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ._mode import enable_grad, no_grad
from ._tensor import Tensor
from .engine import grad as _grad

NOISE = 16.0  # c above; the largest seen is about 2 (tests/test_gradcheck_strict.py measures it)
_EPS = float(np.finfo(np.float64).eps)
_MAX_ROWS = 256  # up to this many output elements a failure compares every Jacobian entry (a backward each)


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with finite differences."""


def _outputs(fn: Callable, tensors: Sequence[Tensor]) -> tuple:
    out = fn(*tensors)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _float64_copy(x: Any) -> np.ndarray:
    # Only floating-point inputs are promoted: integer or boolean inputs (indices, masks) stay as they are.
    a = np.array(x)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def _evaluate(fn: Callable, arrays: list) -> list:
    # Copies: an output may be a view of the perturbed input (reshape, slicing), which changes next.
    with no_grad():
        outs = _outputs(fn, [Tensor._make(a, False, None) for a in arrays])
    return [np.array(o.data, dtype=np.float64).reshape(-1) for o in outs]


def _sweep(fn: Callable, inputs: Sequence[Any], i: int, eps: float, cols: Sequence[int] | None = None) -> tuple:
    """Central differences of every output with respect to elements `cols` (default all) of inputs[i]: one
    (output.size, len(cols)) matrix per output, and one of the entries' rounding noise (module docstring)."""
    arrays = [_float64_copy(getattr(x, "data", x)) for x in inputs]
    flat = arrays[i].reshape(-1)
    cols = range(flat.size) if cols is None else cols
    sizes = [o.size for o in _evaluate(fn, arrays)]
    jac, noise = [np.zeros((n, len(cols))) for n in sizes], [np.zeros((n, len(cols))) for n in sizes]
    for c, j in enumerate(cols):
        old = flat[j]
        h = max(eps, 64 * float(np.spacing(abs(old))))  # so that x + h differs from x however large x is
        flat[j] = old + h
        plus = _evaluate(fn, arrays)
        flat[j] = old - h
        minus = _evaluate(fn, arrays)
        flat[j] = old
        d = (old + h) - (old - h)
        for J, Z, p, m in zip(jac, noise, plus, minus):
            J[:, c] = (p - m) / d
            Z[:, c] = 2 * NOISE * _EPS * np.maximum(np.abs(p), np.abs(m)) / d
    return jac, noise


def numeric_jacobian(fn: Callable, inputs: Sequence[Any], i: int, eps: float = 1e-6) -> list:
    """Central differences of every output of fn with respect to every element of inputs[i], in float64.
    Returns one matrix of shape (output.size, inputs[i].size) per output."""
    return _sweep(fn, inputs, i, eps)[0]


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


def _vjp(outs: tuple, wrt: list, us: list) -> list:
    """Analytic u-weighted gradients of outs with respect to wrt (None where unused); the graph is kept."""
    live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    if not live or not wrt:
        return [None] * len(wrt)
    gs = _grad([o for o, _ in live], wrt, [u for _, u in live], retain_graph=True, allow_unused=True)
    return [None if g is None else np.asarray(g.data) for g in gs]


def _read_only(u: Any) -> np.ndarray:
    u = np.array(u, dtype=np.float64)
    u.flags.writeable = False
    return u


def _graph(outs: tuple) -> tuple:
    """The recorded nodes reachable from outs as (tensor, node) pairs, and the ops that use each node or leaf."""
    nodes, users, stack = {}, {}, [o for o in outs if isinstance(o, Tensor) and o.grad_fn is not None]
    while stack:
        t = stack.pop()
        if id(t.grad_fn) not in nodes:
            nodes[id(t.grad_fn)] = (t, t.grad_fn)
            for x in t.grad_fn.inputs:
                if isinstance(x, Tensor) and x.requires_grad:
                    users.setdefault(id(x.grad_fn or x), set()).add(t.grad_fn.name)
                    stack += [x] if x.grad_fn is not None else []
    return list(nodes.values()), users


def _base(a: np.ndarray) -> int:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return id(a)


def _watched_vjp(outs: tuple, tensors: list, wrt: list, us: list) -> tuple:
    """The analytic pass, watched through hooks: each rule gets a read-only copy of its incoming gradient (so
    one that writes into it fails loudly), and no gradient may share memory with an array of the forward
    pass. Returns (gradients, None) or (None, what went wrong)."""
    state: dict = {"node": None, "alias": None}
    nodes, users = _graph(outs)
    forward: dict = {}  # base buffer -> [(array, what it is)]
    found = [(t.data, f"the data of input {k}") for k, t in enumerate(tensors)]
    for t, node in nodes:
        found += [(t.data, f"the output of {node.name}")] + [(x, f"an operand of {node.name}") for x in node.inputs]
        found += [(getattr(a, "data", a), f"an array {node.name} saved for backward") for a in node.saved]
    for a, what in found:
        if isinstance(a, np.ndarray) and a.size:
            forward.setdefault(_base(a), []).append((a, what))

    def watch(key: int, where: str, node: Any) -> Callable:
        def hook(g: Tensor) -> Any:
            arr = g.data
            if isinstance(arr, np.ndarray) and state["alias"] is None:
                for a, what in forward.get(_base(arr), ()):
                    if np.shares_memory(arr, a):
                        by = " and ".join(sorted(users.get(key, {"an op"})))
                        state["alias"] = (f"gradcheck: the gradient that the backward of {by} passed to {where} "
                                          f"shares memory with {what}, so it would change when that array "
                                          "does; a rule must return a new array")
            state["node"] = node  # node's own rule runs next, on what this hook returns
            return _read_only(arr) if isinstance(arr, np.ndarray) and node is not None else None
        return hook

    removers = [t.register_hook(watch(id(node), f"the output of {node.name}", node)) for t, node in nodes]
    removers += [t.register_hook(watch(id(t), f"input {k}", None)) for k, t in enumerate(tensors) if t.requires_grad]
    try:
        grads = _vjp(outs, wrt, [_read_only(u) for u in us])
    except Exception as e:  # numpy's ValueError, or the engine's restatement of it
        if "read-only" not in str(e):
            raise
        name = state["node"].name if state["node"] is not None else "an op"
        return None, (f"gradcheck: the backward of {name} modified its incoming gradient in place ({e}). A "
                      "rule must not write into `grad`: the engine may hand the same array to several rules "
                      "(add gives it to both of its inputs), which would then see the modified values")
    finally:
        for remove in removers:
            remove()
    return grads, state["alias"]


def gradcheck(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-7, rtol: float = 1e-5,
              raise_exception: bool = True, fast_mode: bool = False, seed: int = 0,
              max_report: int = 64) -> bool:
    """Check fn's analytic vector-Jacobian products against central differences for every input that
    requires grad (arrays of floats count as requiring grad), with random upstream gradients.

    Also checks that forward and backward leave the inputs unchanged, that no backward writes into its
    incoming gradient, that each gradient has its input's shape and dtype, and that no gradient shares
    memory with another, with an upstream gradient or with an array of the forward pass (with a random
    upstream and with the all-ones one of loss.backward()). With fast_mode=True one random direction per
    input replaces the element-by-element sweep. The tolerance adds the rounding noise of the finite
    differences to atol and rtol (module docstring); a failure names the worst Jacobian entry.
    """
    rng = np.random.default_rng(seed)
    tensors = _prepare(inputs)
    before = [np.array(t.data, copy=True) for t in tensors]
    with no_grad():
        shapes = [np.shape(o.data) for o in _outputs(fn, tensors)]
    us = [rng.standard_normal(s) for s in shapes]
    with enable_grad():
        outs = _outputs(fn, tensors)
    wrt = [(k, t) for k, t in enumerate(tensors) if t.requires_grad]
    grads, problem = _watched_vjp(outs, tensors, [t for _, t in wrt], us)
    if problem is None:  # rules may take shortcuts for the all-ones upstream gradient
        problem = _watched_vjp(outs, tensors, [t for _, t in wrt], [np.ones(s) for s in shapes])[1]

    for k, (t, b) in enumerate(zip(tensors, before)):
        if not np.array_equal(np.asarray(t.data), b, equal_nan=True):
            return _fail(f"gradcheck: input {k} was modified in place by forward or backward", raise_exception)
    if problem:
        return _fail(problem, raise_exception)
    arrays = []
    for (k, t), g in zip(wrt, grads):
        g = np.zeros_like(np.asarray(t.data)) if g is None else g
        if g.shape != np.shape(t.data) or g.dtype != np.asarray(t.data).dtype:
            return _fail(f"gradcheck: gradient of input {k} has shape {g.shape} and dtype {g.dtype}, "
                         f"the input has {np.shape(t.data)} and {np.asarray(t.data).dtype}", raise_exception)
        shared = [f"the upstream gradient of output {o}" for o, u in enumerate(us) if np.shares_memory(g, u)]
        shared += [f"the data of input {k2}" for k2, x in enumerate(tensors) if np.shares_memory(g, x.data)]
        shared += [f"the gradient of input {k2}" for k2, other in arrays if np.shares_memory(g, other)]
        if g.size and shared:
            return _fail(f"gradcheck: the gradient of input {k} shares memory with {shared[0]}", raise_exception)
        arrays.append((k, g))

    for k, analytic in arrays:
        check = _check_direction if fast_mode else _check_full
        msg = check(fn, tensors, outs, k, us, analytic, eps, atol, rtol, rng, max_report)
        if msg:
            return _fail(msg, raise_exception)
    return True


def _excess(a: Any, n: Any, allowed: Any) -> np.ndarray:
    """|a - n| / allowed (above 1 fails); inf where only one side is finite or the infinities differ."""
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(a - n)
        same = (a == n) | (np.isnan(a) & np.isnan(n))
        return np.where(same, 0.0, np.where(np.isfinite(err), err / allowed, np.inf))


def _allowed(n: Any, noise: Any, atol: Any, rtol: float) -> Any:
    return atol + rtol * np.abs(n) + noise


def _products(jacs: list, noise: list, us: list) -> tuple:
    """Σ_i u_i N_ij and its rounding noise Σ_i |u_i| noise_ij, for each column j of the numeric Jacobians."""
    flat = [u.reshape(-1) for u in us]
    return sum(J.T @ u for J, u in zip(jacs, flat)), sum(Z.T @ np.abs(u) for Z, u in zip(noise, flat))


def _check_full(fn, tensors, outs, k, us, analytic, eps, atol, rtol, rng, max_report) -> str:
    jacs, noise = _sweep(fn, tensors, k, eps)
    numeric, slack = _products(jacs, noise, us)
    bad = _excess(analytic.reshape(-1), numeric, _allowed(numeric, slack, atol, rtol)) > 1
    if not np.any(bad):
        return ""
    return (f"gradcheck: gradient of input {k} (shape {analytic.shape}) disagrees with finite differences at "
            f"{int(np.sum(bad))} of {analytic.size} elements of its product with a random upstream gradient"
            + _report(outs, tensors[k], k, us, analytic, jacs, noise, list(range(analytic.size)), atol, rtol,
                      max_report))


def _check_direction(fn, tensors, outs, k, us, analytic, eps, atol, rtol, rng, max_report) -> str:
    arrays = [_float64_copy(t.data) for t in tensors]
    base, v = arrays[k].copy(), rng.standard_normal(analytic.shape)
    flat_u = [u.reshape(-1) for u in us]

    def error(mask: Any) -> tuple:
        """Derivative along v·mask from the gradient and from finite differences, and the error allowed."""
        ends, sums = [base + eps * v * mask, base - eps * v * mask], []
        for x in ends:
            arrays[k] = x
            fx = _evaluate(fn, arrays)
            sums.append((sum(float(f @ u) for f, u in zip(fx, flat_u)),
                         sum(float(np.abs(f) @ np.abs(u)) for f, u in zip(fx, flat_u))))
        arrays[k] = base
        a = float(np.sum(analytic * (ends[0] - ends[1]))) / (2 * eps)  # along the step taken, rounding included
        n = (sums[0][0] - sums[1][0]) / (2 * eps)
        return a, n, _allowed(n, NOISE * _EPS * max(sums[0][1], sums[1][1]) / eps, atol * np.sqrt(np.sum(mask)), rtol)

    a, n, allowed = error(np.ones(analytic.shape))
    if _excess(a, n, allowed) <= 1:
        return ""
    idx = np.arange(analytic.size)  # few elements: every column; many: bisect down to one that disagrees
    while analytic.size > _MAX_ROWS and idx.size > 1:
        halves = np.array_split(idx, 2)
        masks = [np.isin(np.arange(analytic.size), h).reshape(analytic.shape).astype(float) for h in halves]
        idx = halves[int(np.argmax([float(_excess(*error(m))) for m in masks]))]
    cols = [int(j) for j in idx]
    jacs, noise = _sweep(fn, tensors, k, eps, cols=cols)
    return (f"gradcheck (fast_mode): the derivative of input {k} (shape {analytic.shape}) along a random "
            f"direction is {a:.10g} from the gradient but {n:.10g} from finite differences"
            + _report(outs, tensors[k], k, us, analytic, jacs, noise, cols, atol, rtol, max_report))


def _unit(us: list, rows: Sequence[int], weights: Any = 1.0) -> list:
    """Upstream gradients that are zero except at the flat output elements `rows` (all outputs in turn)."""
    flat = np.zeros(sum(u.size for u in us))
    flat[np.asarray(rows, dtype=int)] = weights
    cuts = np.cumsum([0] + [u.size for u in us])
    return [flat[cuts[o]:cuts[o + 1]].reshape(np.shape(u)) for o, u in enumerate(us)]


def _report(outs, t, k, us, analytic, jacs, noise, cols, atol, rtol, max_report) -> str:
    """The worst Jacobian entry (largest error relative to the error allowed) among columns `cols` of input
    k: exact with one backward per output element, by bisection when there are more than _MAX_ROWS of those.
    Both Jacobians follow when they are small."""
    N, Z = np.vstack(jacs), np.vstack(noise)  # rows: every output's elements in turn; columns: `cols`

    def analytic_row(up: list) -> np.ndarray:
        g = _vjp(outs, [t], up)[0]
        return np.zeros(analytic.size) if g is None else g.reshape(-1)

    A = None
    if N.shape[0] <= _MAX_ROWS:
        A = np.array([analytic_row(_unit(us, [r])) for r in range(N.shape[0])]).reshape(N.shape[0], -1)
        ratio = _excess(A[:, cols], N, _allowed(N, Z, atol, rtol))
        r, c = (int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape))
        label, a = "worst Jacobian entry", A[r, cols[c]]
    else:
        numeric, slack = _products(jacs, noise, us)
        c = int(np.argmax(_excess(analytic.reshape(-1)[cols], numeric, _allowed(numeric, slack, atol, rtol))))
        w, part = np.concatenate([u.reshape(-1) for u in us]), np.arange(N.shape[0])
        while part.size > 1:
            halves = np.array_split(part, 2)
            part = halves[int(np.argmax([float(_excess(
                analytic_row(_unit(us, h, w[h]))[cols[c]], w[h] @ N[h, c],
                _allowed(w[h] @ N[h, c], np.abs(w[h]) @ Z[h, c], atol, rtol))) for h in halves]))]
        r = int(part[0])
        label = "a disagreeing Jacobian entry (found by bisection: too many output elements to compare all)"
        a = analytic_row(_unit(us, [r]))[cols[c]]
    n, allowed = N[r, c], _allowed(N[r, c], Z[r, c], atol, rtol)
    cuts = np.cumsum([0] + [u.size for u in us])
    o = int(np.searchsorted(cuts, r, side="right")) - 1
    i = tuple(int(v) for v in np.unravel_index(r - cuts[o], np.shape(us[o])))
    j = tuple(int(v) for v in np.unravel_index(cols[c], analytic.shape))
    msg = (f".\n  {label}: output {o} index {i}, input {k} index {j}: analytic {a:.10g}, numeric {n:.10g}, "
           f"abs error {abs(a - n):.3g}, rel error {abs(a - n) / max(abs(n), 1e-300):.3g} (allowed {allowed:.3g}: "
           f"atol={atol}, rtol={rtol}, plus the rounding noise of finite differences)")
    if A is not None and len(cols) == analytic.size and A.size <= max_report:
        for o in range(len(us)):
            msg += (f"\n  output {o} (rows: output elements, columns: elements of input {k})\n"
                    f"  analytic Jacobian:\n{np.array2string(A[cuts[o]:cuts[o + 1]], precision=6)}\n"
                    f"  numeric Jacobian:\n{np.array2string(N[cuts[o]:cuts[o + 1]], precision=6)}")
    return msg


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
