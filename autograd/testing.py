"""Hypothesis strategies and a one-line property test for ops (built-in or your own `ag.Function`).

Needs `hypothesis` (a test-time dependency), so import it explicitly: `from autograd.testing import op_test`.

    test_exp = op_test(ag.exp, np.exp, domain=(-3, 3))             # one input, any shape
    test_div = op_test(ag.div, np.divide, n=2, avoid=[0.0])        # two broadcastable inputs
    test_relu = op_test(ag.relu, lambda x: np.maximum(x, 0), avoid=[0.0], gradgrad=True)
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._tensor import Tensor
from .engine import backward as _backward
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["shapes", "broadcastable_shapes", "floats", "axes", "tensors", "check_op", "op_test"]

Shape = tuple[int, ...]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[Shape]:
    """Array shapes, 0-d included by default, with sides in [min_side, max_side]."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(n: int, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
                         max_side: int = 4) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Tuples of n shapes that broadcast together (0-d shapes, size-1 axes and missing leading axes included)."""
    if n < 1:
        raise ValueError(f"broadcastable_shapes: n must be at least 1, got {n}")
    if n == 1:
        return shapes(min_dims, max_dims, min_side, max_side).map(lambda s: (s,))
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side).map(lambda b: b.input_shapes)


def _intervals(low: float, high: float, avoid: Sequence[float], margin: float) -> list:
    """[low, high] with the open ball of radius `margin` around each point of `avoid` cut out."""
    if not low <= high:
        raise ValueError(f"domain: low {low} is above high {high}")
    parts = [(float(low), float(high))]
    for k in avoid:
        parts = [piece for a, b in parts
                 for piece in ((a, min(b, k - margin)), (max(a, k + margin), b)) if piece[0] <= piece[1]]
    if not parts:
        raise ValueError(f"domain [{low}, {high}] has nothing left after avoiding {list(avoid)} by {margin}")
    return parts


def _inward(a: float, b: float, dtype: np.dtype) -> tuple:
    """Bounds representable in a narrow float type, rounded towards the inside of [a, b]."""
    lo, hi = dtype.type(a), dtype.type(b)
    if float(lo) < a:  # compared as Python floats: numpy would compare in the narrow type
        lo = np.nextafter(lo, dtype.type(np.inf))
    if float(hi) > b:
        hi = np.nextafter(hi, dtype.type(-np.inf))
    return float(lo), float(hi)


def floats(low: float = -2.0, high: float = 2.0, avoid: Sequence[float] = (), margin: float = 0.1,
           dtype: Any = np.float64) -> st.SearchStrategy[float]:
    """Finite floats in [low, high] at least `margin` away from every point of `avoid` (kinks, poles)."""
    dtype = np.dtype(dtype)
    parts = _intervals(low, high, avoid, margin)
    if dtype.itemsize < 8:
        parts = [_inward(a, b, dtype) for a, b in parts]
    return st.one_of([st.floats(a, b, width=8 * dtype.itemsize) for a, b in parts if a <= b])


def axes(ndim: int, allow_none: bool = True) -> st.SearchStrategy[Any]:
    """Valid `axis` arguments for an ndim-d array: None, an int, or a tuple of distinct ints (negatives too)."""
    choices = [st.none()] if allow_none else []
    if ndim == 0:
        return st.one_of(choices + [st.just(())])
    choices.append(st.integers(-ndim, ndim - 1))
    choices.append(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
        lambda ax: st.tuples(*[st.sampled_from([a, a - ndim]) for a in ax])))
    return st.one_of(choices)


def tensors(shape: Shape | st.SearchStrategy[Shape] | None = None, dtype: Any = np.float64,
            elements: st.SearchStrategy | None = None, requires_grad: bool = False) -> st.SearchStrategy[Tensor]:
    """ag.Tensor values of the given shape (a tuple or a strategy; default `shapes()`) and dtype.
    Float elements default to [-2, -0.125] and [0.125, 2]: away from 0, where many ops have kinks."""
    dtype = np.dtype(dtype)
    if requires_grad and dtype.kind not in "fc":
        raise TypeError(f"tensors: only floating-point tensors can require grad, got dtype {dtype}")
    if elements is None:
        if dtype.kind == "f":
            elements = floats(-2.0, 2.0, avoid=(0.0,), margin=0.125, dtype=dtype)
        elif dtype.kind == "b":
            elements = st.booleans()
        elif dtype.kind in "iu":
            elements = st.integers(0 if dtype.kind == "u" else -5, 5)
        else:
            raise TypeError(f"tensors: no default elements for dtype {dtype}; pass elements=")
    return hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements).map(
        lambda a: Tensor(a, requires_grad=requires_grad, dtype=dtype))


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_op(fn: Callable, reference: Callable, inputs: Sequence[Any], options: dict | None = None, *,
             gradgrad: bool = False, rtol: float = 1e-5, atol: float = 1e-7, value_rtol: float = 1e-7,
             value_atol: float = 1e-10, seed: int = 0) -> None:
    """Assert that fn(*tensors, **options) matches reference(*arrays, **options) in value (and shape), that
    backward gives every input a finite gradient of its shape, and that gradcheck (and, with gradgrad=True,
    gradgradcheck) passes. fn may return a Tensor or a list/tuple of Tensors."""
    options = dict(options or {})
    arrays = [np.array(getattr(a, "data", a), dtype=np.float64) for a in inputs]
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    outs = _as_list(fn(*xs, **options))
    expected = _as_list(reference(*[a.copy() for a in arrays], **options))
    assert len(outs) == len(expected), f"{len(outs)} outputs, the reference gives {len(expected)}"
    for k, (o, e) in enumerate(zip(outs, expected)):
        assert isinstance(o, Tensor), f"output {k} is a {type(o).__name__}, not a Tensor"
        e = np.asarray(e)
        assert o.shape == e.shape, f"output {k} has shape {o.shape}, the reference {e.shape}"
        assert o.dtype == np.float64, f"output {k} has dtype {o.dtype} for float64 inputs"
        np.testing.assert_allclose(o.data, e, rtol=value_rtol, atol=value_atol, err_msg=f"value of output {k}")

    rng = np.random.default_rng(seed)
    live = [o for o in outs if o.requires_grad]
    assert live, "no output requires grad although every input does"
    _backward(live, [rng.standard_normal(o.shape) for o in live])
    for i, x in enumerate(xs):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.shape == x.shape, f"input {i} has shape {x.shape} but its gradient {x.grad.shape}"
        assert np.all(np.isfinite(x.grad.data)), f"input {i} got a non-finite gradient {x.grad.data}"

    def bound(*ts: Tensor) -> Any:
        return fn(*ts, **options)

    gradcheck(bound, arrays, rtol=rtol, atol=atol, seed=seed)
    if gradgrad:
        gradgradcheck(bound, arrays, rtol=rtol, atol=atol, seed=seed)


def _distinct_arrays(shapes_: Sequence[Shape], low: float, high: float, avoid: Sequence[float],
                     margin: float) -> st.SearchStrategy[list]:
    """Arrays whose elements, across all of them, differ pairwise by at least 0.005 (no ties, no kinks)."""
    parts = _intervals(low, high, avoid, margin)
    grid = [v for a, b in parts for v in np.linspace(a, b, 1 + int((b - a) / 0.005)).tolist()]
    sizes = [int(np.prod(s)) for s in shapes_]
    total = sum(sizes)

    def split(values: list) -> list:
        cuts = np.cumsum([0] + sizes)
        return [np.array(values[cuts[i]:cuts[i + 1]], dtype=np.float64).reshape(s) for i, s in enumerate(shapes_)]

    return st.lists(st.sampled_from(grid), min_size=total, max_size=total, unique=True).map(split)


def op_test(fn: Callable, reference: Callable, n: int = 1, *, domain: Any = (-2.0, 2.0),
            avoid: Sequence[float] = (), margin: float = 0.1, distinct: bool = False,
            shapes: st.SearchStrategy | None = None, options: Any = None, min_dims: int = 0, max_dims: int = 3,
            max_side: int = 4, gradgrad: bool = False, rtol: float = 1e-5, atol: float = 1e-7,
            value_rtol: float = 1e-7, value_atol: float = 1e-10, name: str | None = None) -> Callable[[], None]:
    """A Hypothesis test (collect it as `test_x = op_test(...)`, or call it) running `check_op` on random cases.

    n: number of Tensor inputs; their shapes broadcast together unless `shapes` (a strategy of an n-tuple
       of shapes, or of one shape when n == 1) says otherwise.
    domain: (low, high) for every input, or a list of one (low, high) per input.
    avoid, margin: values keep at least `margin` away from each point of `avoid` (kinks such as 0 for abs).
    distinct: all elements of all inputs differ (grid of step 0.005), for max/min/maximum/minimum.
    options: keyword arguments for fn and reference: a dict, or a function of the drawn shapes returning a
       strategy of dicts (e.g. to draw an axis that fits).
    gradgrad: also run gradgradcheck.
    """
    domains = [tuple(domain)] * n if np.ndim(domain) == 1 else [tuple(d) for d in domain]
    if len(domains) != n:
        raise ValueError(f"op_test: {len(domains)} domains for {n} inputs")
    if distinct and len(set(domains)) != 1:
        raise ValueError("op_test: distinct=True needs one domain shared by all inputs")
    shape_strategy = shapes if shapes is not None else broadcastable_shapes(n, min_dims, max_dims, 1, max_side)
    element_strategies = [floats(lo, hi, avoid, margin) for lo, hi in domains]

    def test(data: st.DataObject) -> None:
        drawn = data.draw(shape_strategy, label="shapes")
        shs = (drawn,) if all(isinstance(s, int) for s in drawn) else tuple(drawn)
        if distinct:
            arrays = data.draw(_distinct_arrays(shs, *domains[0], avoid, margin), label="inputs")
        else:
            arrays = [data.draw(hnp.arrays(np.float64, s, elements=el), label=f"input {i}")
                      for i, (s, el) in enumerate(zip(shs, element_strategies))]
        opts = options(shs) if callable(options) else options
        opts = data.draw(opts, label="options") if isinstance(opts, st.SearchStrategy) else dict(opts or {})
        check_op(fn, reference, arrays, opts, gradgrad=gradgrad, rtol=rtol, atol=atol,
                 value_rtol=value_rtol, value_atol=value_atol)

    label = name or "".join(c if c.isalnum() else "_" for c in getattr(fn, "__name__", "op")).strip("_") or "op"
    test.__name__ = test.__qualname__ = f"test_{label}"
    return given(data=st.data())(test)
