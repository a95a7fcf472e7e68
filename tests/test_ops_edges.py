"""Ops at their edges (issue 13): pow at 0, where with infinite upstream gradients, every np.pad width form,
np.dot of any rank, log-softmax / cross-entropy / logsumexp at large logits, sigmoid to a few ulps.

Each property is checked against a closed form (or np.longdouble / decimal references); where PyTorch is
installed, the same cases are also compared with it.
"""
import decimal
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn.functional as F
from autograd.testing import floats, shapes


@contextmanager
def _strict():
    """Fail on any numpy floating-point warning (overflow, invalid, division by zero) or RuntimeWarning.
    (Underflow is allowed: exp(-1000) = 0 is the right, finite answer.)"""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


# ---- pow at 0 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("power", [0, 0.0, np.float64(0.0), "tensor"])
def test_derivative_of_x_to_the_zero_is_zero_at_zero(power):
    x = ag.tensor([0.0, 0.0, 1.5, -2.0], requires_grad=True)
    p = ag.tensor([0.0, 0.0, 0.0, 0.0]) if power == "tensor" else power
    with _strict():
        y = x ** p
        y.backward(np.array([1.0, -3.0, 2.0, 5.0]))
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0, 0.0])


def test_tensor_power_gradients_at_zero_base_and_zero_exponent():
    """x.grad is 0 where y = 0; y.grad is 0 where x = 0 and y >= 0 (the limits, and PyTorch's values)."""
    xs = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 3.0, 0.5])
    ys = np.array([0.0, 1.0, 2.0, 3.5, 0.0, 0.5, 2.0])
    x, y = ag.tensor(xs, requires_grad=True), ag.tensor(ys, requires_grad=True)
    (x ** y).sum().backward()
    # d/dx x^y = y x^(y-1): 0 at y = 0, 1 at (0, 1), 0 at (0, y > 1); d/dy x^y = x^y log x: 0 at x = 0.
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 0.0, 0.0, 0.0, 0.5 / np.sqrt(3.0), 2 * 0.5], rtol=1e-15)
    np.testing.assert_allclose(y.grad.data, [0.0, 0.0, 0.0, 0.0, np.log(2.0), np.sqrt(3.0) * np.log(3.0),
                                             0.25 * np.log(0.5)], rtol=1e-15)


def test_tensor_power_at_zero_matches_pytorch():
    torch = pytest.importorskip("torch")
    xs = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 3.0, 0.5])
    ys = np.array([0.0, 1.0, 2.0, 3.5, 0.0, 0.5, 2.0])
    x, y = ag.tensor(xs, requires_grad=True), ag.tensor(ys, requires_grad=True)
    (x ** y).sum().backward()
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    (tx ** ty).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-15)


@pytest.mark.parametrize("base", ["python", "array", "tensor", "function"])
def test_zero_to_a_tensor_power_has_zero_gradient(base):
    ys = np.array([0.0, 0.5, 1.0, 2.0, 3.5])
    y = ag.tensor(ys, requires_grad=True)
    with _strict():
        out = {"python": lambda: 0.0 ** y, "array": lambda: np.zeros(5) ** y,
               "tensor": lambda: ag.tensor(np.zeros(5)) ** y, "function": lambda: ag.pow(0.0, y)}[base]()
        out.backward(np.array([1.0, 2.0, -1.0, 4.0, 7.0]))
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, np.zeros(5))


def test_zero_to_a_power_matches_pytorch():
    torch = pytest.importorskip("torch")
    ys = np.array([0.0, 0.5, 1.0, 2.0, 3.5])
    y, ty = ag.tensor(ys, requires_grad=True), torch.tensor(ys, requires_grad=True)
    (0.0 ** y).sum().backward()
    (0.0 ** ty).sum().backward()
    np.testing.assert_array_equal(y.grad.data, ty.grad.numpy())


def test_pow_at_zero_under_create_graph():
    """The rule written with ops (create_graph) keeps the same values at 0, and differentiates again."""
    x = ag.tensor([0.0, 0.0, 2.0], requires_grad=True)
    (g0,) = ag.grad((x ** 0).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g0.data, [0.0, 0.0, 0.0])
    (g2,) = ag.grad((x ** 2.0).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g2.data, [0.0, 0.0, 4.0])
    (gg,) = ag.grad(g2.sum(), [x])
    np.testing.assert_array_equal(gg.data, [2.0, 2.0, 2.0])
    y = ag.tensor([0.0, 1.0, 2.0], requires_grad=True)
    (gy,) = ag.grad((ag.tensor(np.zeros(3)) ** y).sum(), [y], create_graph=True)
    np.testing.assert_array_equal(gy.data, [0.0, 0.0, 0.0])


_BASES = st.one_of(st.just(0.0), floats(0.1, 2.0))


@given(base=hnp.arrays(np.float64, shapes(max_dims=2), elements=_BASES),
       power=st.sampled_from([0, 0.0, 1, 1.0, 2, 3, 2.5, 4.0]))
def test_pow_number_exponent_gradient_closed_form_with_zeros(base, power):
    """d/dx x^p = p x^(p-1) (0 where p = 0), finite and exact at x = 0 for p = 0 and p >= 1."""
    x = ag.tensor(base, requires_grad=True)
    g = np.linspace(-1.0, 2.0, base.size).reshape(base.shape)
    (x ** power).backward(g)
    p = float(power)
    expected = g * (np.zeros_like(base) if p == 0 else p * base ** (p - 1.0))
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-13, atol=0)


@st.composite
def _bases_and_exponents(draw):
    """Same-shape bases (0 or in [0.1, 2]) and exponents (0, or in [1, 3], where x^y is differentiable at 0)."""
    shape = draw(shapes(max_dims=2))
    exponents = st.one_of(st.sampled_from([0.0, 1.0, 2.0]), floats(1.0, 3.0))
    return draw(hnp.arrays(np.float64, shape, elements=_BASES)), draw(hnp.arrays(np.float64, shape, elements=exponents))


@given(pair=_bases_and_exponents())
def test_pow_tensor_exponent_gradients_closed_form_with_zeros(pair):
    """Both gradients of x^y with zeros in x and in y: finite and equal to the limits PyTorch uses."""
    xs, ys = pair
    x, y = ag.tensor(xs, requires_grad=True), ag.tensor(ys, requires_grad=True)
    (x ** y).backward(np.ones(xs.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(ys == 0, 0.0, ys * xs ** (ys - 1.0))
        dy = np.where(xs == 0, 0.0, xs ** ys * np.log(np.where(xs == 0, 1.0, xs)))
    assert np.all(np.isfinite(x.grad.data)) and np.all(np.isfinite(y.grad.data))
    np.testing.assert_allclose(x.grad.data, dx, rtol=1e-13, atol=0)
    np.testing.assert_allclose(y.grad.data, dy, rtol=1e-13, atol=0)


def test_polynomial_features_through_zero_train():
    """Features [z^0, z^1, z^2] of z = scale * x with x = 0 among the inputs (and a learnable scale, so the
    gradient passes through pow at 0): the regression reaches a low loss and nothing becomes NaN."""
    xs = np.linspace(-1.0, 1.0, 9)  # contains 0.0 exactly
    assert 0.0 in xs
    target = 0.5 + 2.0 * xs - 3.0 * xs ** 2
    scale = ag.tensor(1.0, requires_grad=True)
    w = ag.tensor([0.0, 0.0, 0.0], requires_grad=True)
    powers = ag.tensor([0.0, 1.0, 2.0])
    column = ag.tensor(xs)[:, None]
    losses = []
    for _ in range(600):
        z = column * scale
        loss = (((z ** powers) * w).sum(axis=1) - target) ** 2
        loss = loss.mean()
        losses.append(float(loss))
        scale.grad = w.grad = None
        loss.backward()
        assert np.isfinite(scale.grad.data) and np.all(np.isfinite(w.grad.data))
        with ag.no_grad():
            scale -= 0.1 * scale.grad
            w -= 0.1 * w.grad
    assert losses[0] > 1.0 and losses[-1] < 1e-8
    # The fit is the target polynomial: w0 = 0.5, w1 * scale = 2, w2 * scale^2 = -3.
    s = float(scale)
    np.testing.assert_allclose([w.data[0], w.data[1] * s, w.data[2] * s * s], [0.5, 2.0, -3.0], rtol=1e-3)


# ---- where: the unselected side gets an exact zero --------------------------------------------------------

def test_where_infinite_upstream_gives_exact_zero_to_the_unselected_side():
    a = ag.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = ag.tensor([5.0, 6.0, 7.0, 8.0], requires_grad=True)
    cond = np.array([True, False, True, False])
    ag.where(cond, a, b).backward(np.array([np.inf, -np.inf, np.nan, np.inf]))
    np.testing.assert_array_equal(a.grad.data, [np.inf, 0.0, np.nan, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, -np.inf, 0.0, np.inf])


def test_where_infinite_upstream_under_create_graph():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([5.0, 6.0, 7.0], requires_grad=True)
    out = ag.where(np.array([True, False, True]), a, b)
    ga, gb = ag.grad(out, [a, b], grad_outputs=[ag.tensor([np.inf, -np.inf, 1.0])], create_graph=True)
    np.testing.assert_array_equal(ga.data, [np.inf, 0.0, 1.0])
    np.testing.assert_array_equal(gb.data, [0.0, -np.inf, 0.0])


_UPSTREAM = st.one_of(st.sampled_from([np.inf, -np.inf, np.nan]), floats(-3.0, 3.0))


@st.composite
def _conditions_and_upstreams(draw):
    shape = draw(shapes(max_dims=3))
    return draw(hnp.arrays(bool, shape)), draw(hnp.arrays(np.float64, shape, elements=_UPSTREAM))


@given(case=_conditions_and_upstreams())
def test_where_with_non_finite_upstream_property(case):
    """For any condition and any upstream (inf, -inf, NaN included): a.grad = where(c, g, 0) and
    b.grad = where(c, 0, g) exactly, so no inf * 0 = NaN reaches the unselected side."""
    cond, g = case
    a = ag.tensor(np.full(g.shape, 1.5), requires_grad=True)
    b = ag.tensor(np.full(g.shape, -0.5), requires_grad=True)
    ag.where(cond, a, b).backward(g)
    np.testing.assert_array_equal(a.grad.data, np.where(cond, g, 0.0))
    np.testing.assert_array_equal(b.grad.data, np.where(cond, 0.0, g))


def _masked_distances(points, upstream):
    """sum(upstream * sqrt(where(offdiag, d2, 0))) and the gradient with respect to the points."""
    p = ag.tensor(points, requires_grad=True)
    diff = p[:, None, :] - p[None, :, :]
    d2 = (diff * diff).sum(axis=-1)
    offdiag = ~np.eye(len(points), dtype=bool)
    with np.errstate(divide="ignore"):  # sqrt's derivative at the diagonal's 0 is inf, then masked to 0
        d = ag.sqrt(ag.where(offdiag, d2, 0.0))
        (d * upstream).sum().backward()
    return d.data, p.grad.data


def test_masked_pairwise_distance_gradient_closed_form():
    rng = np.random.default_rng(3)
    pts, w = rng.standard_normal((5, 3)), rng.standard_normal((5, 5))
    d, grad = _masked_distances(pts, w)
    expected = np.zeros_like(pts)
    for i in range(5):
        for j in range(5):
            if i != j:  # dL/dp_i = sum_j (w_ij + w_ji) (p_i - p_j) / |p_i - p_j|
                expected[i] += (w[i, j] + w[j, i]) * (pts[i] - pts[j]) / np.linalg.norm(pts[i] - pts[j])
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(d, np.linalg.norm(pts[:, None] - pts[None], axis=-1), rtol=1e-14)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-14)


def test_masked_pairwise_distance_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    pts, w = rng.standard_normal((6, 2)), rng.standard_normal((6, 6))
    _, grad = _masked_distances(pts, w)
    tp = torch.tensor(pts, requires_grad=True)
    td2 = ((tp[:, None, :] - tp[None, :, :]) ** 2).sum(-1)
    off = torch.tensor(~np.eye(6, dtype=bool))
    (torch.sqrt(torch.where(off, td2, torch.zeros(()))) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(grad, tp.grad.numpy(), rtol=1e-12, atol=1e-14)


# ---- pad: every np.pad pad_width form ----------------------------------------------------------------------

_PAD_FORMS = [2, (2,), (1, 2), ((1, 2),), ((1, 2), (0, 3)), ((1,), (2,)), [[2], [0]], np.array([1, 0]),
              np.int64(1), ((0, 0), (0, 0))]


@pytest.mark.parametrize("pad_width", _PAD_FORMS, ids=repr)
def test_pad_accepts_every_np_pad_form(pad_width):
    a = np.arange(6.0).reshape(2, 3) + 1.0
    x = ag.tensor(a, requires_grad=True)
    out = ag.pad(x, pad_width, value=-0.5)
    expected = np.pad(a, pad_width, constant_values=-0.5)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    # Closed form: the gradient is the upstream's block where x sits (find it by padding a marker array).
    g = np.arange(expected.size, dtype=np.float64).reshape(expected.shape)
    out.backward(g)
    inside = np.pad(np.ones_like(a, dtype=bool), pad_width, constant_values=False)
    np.testing.assert_array_equal(x.grad.data, g[inside].reshape(a.shape))
    assert ag.gradcheck(lambda t: ag.pad(t, pad_width, value=2.0), [a])


@pytest.mark.parametrize("pad_width", [((1,), (2,), (0,)), ((1, 2),), (2,), ((2, 0), (1, 1), (0, 1))], ids=repr)
def test_pad_forms_on_three_dimensions(pad_width):
    a = np.random.default_rng(0).standard_normal((2, 1, 3))
    out = ag.pad(ag.tensor(a), pad_width)
    np.testing.assert_array_equal(out.data, np.pad(a, pad_width))
    assert ag.gradcheck(lambda t: ag.pad(t, pad_width), [a])


@st.composite
def _any_pad_form(draw, ndim):
    """A pad_width in one of np.pad's forms for an ndim-d array, as tuples, lists or an ndarray."""
    w = st.integers(0, 2)
    kind = draw(st.sampled_from(["n", "(n,)", "(a, b)", "((a, b),)", "((n,),)", "per-axis pairs",
                                 "per-axis singles"]))
    form = {"n": lambda: draw(w), "(n,)": lambda: (draw(w),), "(a, b)": lambda: (draw(w), draw(w)),
            "((a, b),)": lambda: ((draw(w), draw(w)),), "((n,),)": lambda: ((draw(w),),),
            "per-axis pairs": lambda: tuple((draw(w), draw(w)) for _ in range(ndim)),
            "per-axis singles": lambda: tuple((draw(w),) for _ in range(ndim))}[kind]()
    wrap = draw(st.sampled_from(["tuple", "list", "array"]))
    if wrap == "array":
        return np.array(form)
    return form if wrap == "tuple" or isinstance(form, int) else \
        [list(p) if isinstance(p, tuple) else p for p in form]


@given(data=st.data())
def test_pad_forms_property(data):
    """Values equal np.pad's for every form; the gradient is the upstream's centre block (closed form)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3), label="shape")
    pad_width = data.draw(_any_pad_form(len(shape)), label="pad_width")
    a = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    x = ag.tensor(a, requires_grad=True)
    out = ag.pad(x, pad_width, value=0.25)
    expected = np.pad(a, pad_width, constant_values=0.25)
    np.testing.assert_array_equal(out.data, expected)
    g = np.arange(expected.size, dtype=np.float64).reshape(expected.shape) - 3.0
    out.backward(g)
    inside = np.pad(np.ones(shape, dtype=bool), pad_width, constant_values=False)
    np.testing.assert_array_equal(x.grad.data, g[inside].reshape(shape))


@pytest.mark.parametrize("pad_width", [-1, (1, -1), 1.5, ((1, 1), (1, 1), (1, 1)), ((1, 2, 3),), "a"], ids=repr)
def test_pad_refuses_widths_np_pad_refuses(pad_width):
    a = np.ones((2, 3))
    with pytest.raises((TypeError, ValueError)):
        np.pad(a, pad_width)
    x = ag.tensor(a, requires_grad=True)
    with pytest.raises((TypeError, ValueError), match="pad"):
        ag.pad(x, pad_width)


# ---- dot: np.dot for any number of dimensions -----------------------------------------------------------

_DOT_SHAPES = [((), ()), ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
               ((2, 3), (3, 4)), ((2, 3, 4), (5, 4, 2)), ((2, 3), (4, 2, 3, 2)), ((3,), (2, 3, 4)),
               ((2, 3, 4), (4,)), ((2, 3, 4), (4, 2)), ((), (2, 3, 2)), ((2, 1, 2, 3), (2, 3, 1))]


@pytest.mark.parametrize("sa,sb", _DOT_SHAPES, ids=lambda s: str(s))
def test_dot_follows_np_dot_for_any_rank(sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = ag.dot(ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True))
    expected = np.dot(a, b)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-14)
    assert ag.gradcheck(ag.dot, [a, b])
    assert ag.gradcheck(lambda p, q: p.dot(q), [a, b])


def test_dot_3d_gradient_closed_form():
    """out[i,j,k,m] = sum_l a[i,j,l] b[k,l,m], so with upstream G: da = einsum(G, b), db = einsum(a, G)."""
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4, 2))
    G = rng.standard_normal((2, 3, 5, 2))
    x, y = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    ag.dot(x, y).backward(G)
    np.testing.assert_allclose(x.grad.data, np.einsum("ijkm,klm->ijl", G, b), rtol=1e-13)
    np.testing.assert_allclose(y.grad.data, np.einsum("ijl,ijkm->klm", a, G), rtol=1e-13)


def test_dot_refuses_misaligned_shapes_naming_dot():
    with pytest.raises(ValueError, match=r"dot.*\(2, 3\).*\(4, 5, 6\)"):
        ag.dot(ag.tensor(np.ones((2, 3))), ag.tensor(np.ones((4, 5, 6))))


# ---- log_softmax, cross-entropy, logsumexp at large logits ------------------------------------------------

def _longdouble_or_skip():
    if np.finfo(np.longdouble).eps > 1e-18:
        pytest.skip("np.longdouble has no extra precision on this platform")


def _reference_lse(z):
    zl = np.asarray(z, dtype=np.longdouble)
    m = zl.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(zl - m).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("seed", range(5))
def test_float32_logits_near_1e4_keep_full_precision(seed):
    """The loss, log-softmax and logsumexp of float32 logits near 1e4 are within ~2 float32 ulps of an
    extended-precision reference (before: 3.4e-4 relative error in the loss)."""
    _longdouble_or_skip()
    rng = np.random.default_rng(seed)
    z = (1e4 + rng.uniform(-5.0, 5.0, size=(4, 7))).astype(np.float32)
    t = rng.integers(0, 7, size=4)
    lse = _reference_lse(z)
    zl = z.astype(np.longdouble)
    ref_loss = float(np.mean(lse[:, 0] - zl[np.arange(4), t]))
    loss = F.cross_entropy(ag.tensor(z), t)
    assert loss.dtype == np.float32
    assert abs(float(loss) - ref_loss) / ref_loss <= 2.5e-7
    logp = ag.log_softmax(ag.tensor(z), axis=-1).data
    ref = zl - lse
    assert np.max(np.abs(logp - ref) / np.maximum(1.0, np.abs(ref))) <= 4e-7
    out = ag.logsumexp(ag.tensor(z), axis=-1).data
    assert np.max(np.abs(out - lse[:, 0]) / lse[:, 0]) <= 1.2e-7


def test_float32_cross_entropy_near_1e4_as_accurate_as_pytorch():
    torch = pytest.importorskip("torch")
    _longdouble_or_skip()
    rng = np.random.default_rng(11)
    z = (1e4 + rng.uniform(-5.0, 5.0, size=(8, 5))).astype(np.float32)
    t = rng.integers(0, 5, size=8)
    ref = float(np.mean(_reference_lse(z)[:, 0] - z.astype(np.longdouble)[np.arange(8), t]))
    ours = abs(float(F.cross_entropy(ag.tensor(z), t)) - ref) / ref
    theirs = abs(torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(t)).item() - ref) / ref
    assert ours <= max(2 * theirs, 2.5e-7)


@pytest.mark.parametrize("big", [1e15, 1e300, -1e300])
@pytest.mark.parametrize("n", [2, 3, 5, 7])
def test_tied_huge_logits_give_log_n_and_a_gradient_summing_to_zero(big, n):
    logits = ag.tensor(np.full((1, n), big), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1]))
    loss.backward()
    np.testing.assert_allclose(float(loss), np.log(n), rtol=1e-15)
    g = logits.grad.data
    expected = np.full((1, n), 1.0 / n)
    expected[0, 1] -= 1.0
    np.testing.assert_allclose(g, expected, rtol=1e-15, atol=1e-16)
    assert abs(g.sum()) <= 1e-15 * np.abs(g).sum()


@pytest.mark.parametrize("big", [1e15, 1e300, -1e300])
def test_tied_huge_logits_log_softmax_and_logsumexp(big):
    n = 3
    x = ag.tensor(np.full(n, big), requires_grad=True)
    logp = ag.log_softmax(x)
    np.testing.assert_allclose(logp.data, np.full(n, -np.log(n)), rtol=1e-15)
    logp.backward(np.array([1.0, 2.0, 3.0]))  # dx = g - softmax * sum(g) = g - 2
    np.testing.assert_allclose(x.grad.data, [-1.0, 0.0, 1.0], rtol=1e-15, atol=1e-15)
    y = ag.tensor(np.full(n, big), requires_grad=True)
    lse = ag.logsumexp(y)
    np.testing.assert_allclose(float(lse), float(np.longdouble(big) + np.log(np.longdouble(n))), rtol=1e-15)
    lse.backward()
    np.testing.assert_allclose(y.grad.data, np.full(n, 1.0 / n), rtol=1e-15)


def test_plus_minus_1000_logits_stay_finite_and_exact():
    logits = ag.tensor([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]], requires_grad=True)
    with _strict():
        loss = F.cross_entropy(logits, np.array([0, 2]))
        loss.backward()
    # Row losses: 1000 - (-1000) and (1000 + log 2) - (-1000); gradient (softmax - onehot) / 2.
    np.testing.assert_allclose(float(loss), (2000.0 + 2000.0 + np.log(2.0)) / 2, rtol=1e-15)
    np.testing.assert_allclose(logits.grad.data, [[-0.5, 0.0, 0.5], [0.25, 0.25, -0.5]], rtol=1e-15, atol=0)
    x = ag.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with _strict():
        lse = ag.logsumexp(x)
        lse.backward()
        sm = ag.softmax(ag.tensor([-1000.0, 0.0, 1000.0]))
    assert float(lse) == 1000.0
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(sm.data, [0.0, 0.0, 1.0])


def test_tied_huge_logits_match_pytorch():
    torch = pytest.importorskip("torch")
    for big in (1e15, 1e300):
        z = np.full((2, 4), big)
        ours = ag.tensor(z, requires_grad=True)
        loss = F.cross_entropy(ours, np.array([0, 3]))
        loss.backward()
        theirs = torch.tensor(z, requires_grad=True)
        tl = torch.nn.functional.cross_entropy(theirs, torch.tensor([0, 3]))
        tl.backward()
        np.testing.assert_allclose(float(loss), tl.item(), rtol=1e-15)
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-15, atol=1e-16)


# ---- sigmoid: a few ulps over [-700, 700] ------------------------------------------------------------------

def _sigmoid_grid():
    x = np.linspace(-700.0, 700.0, 140001)
    tails = np.logspace(-300, np.log10(700.0), 3000)
    return np.concatenate([x, tails, -tails, [0.0, -0.0, -37.0, -38.0, -40.0, -708.0, 36.7, 37.5]])


def _ulps(value, reference):
    ref64 = np.asarray(reference, dtype=np.float64)
    return np.abs(np.asarray(value, dtype=np.longdouble) - reference) / np.spacing(np.abs(ref64))


def test_sigmoid_within_4_ulps_of_a_longdouble_reference():
    _longdouble_or_skip()
    x = _sigmoid_grid()
    s = ag.sigmoid(ag.tensor(x)).data
    ref = 1.0 / (1.0 + np.exp(-x.astype(np.longdouble)))
    err = _ulps(s, ref)
    worst = int(np.argmax(err))
    assert err[worst] <= 4.0, f"{err[worst]:.1f} ulps at x = {x[worst]!r}"


def test_sigmoid_within_4_ulps_of_a_decimal_reference():
    """The same property against Python's decimal module (any platform, no longdouble needed)."""
    decimal.getcontext().prec = 40
    xs = np.concatenate([np.linspace(-700.0, 700.0, 701), [-37.0, -38.0, -40.0, -1e-9, 1e-9, 0.3]])
    s = ag.sigmoid(ag.tensor(xs)).data
    for x, v in zip(xs, s):
        ref = decimal.Decimal(1) / (1 + (-decimal.Decimal(float(x))).exp())
        err = abs(decimal.Decimal(float(v)) - ref) / decimal.Decimal(float(np.spacing(float(ref))))
        assert err <= 4, f"{float(err):.1f} ulps at x = {x!r}"


def test_sigmoid_scalar_and_array_paths_agree():
    """A 0-d tensor and an array take different code paths; they agree to 2 ulps (both tiny in the far tail)."""
    xs = np.concatenate([np.linspace(-700.0, 700.0, 57), [-500.0, -37.0, 1000.0, -1000.0, 0.0]])
    arr = ag.sigmoid(ag.tensor(xs)).data
    for x, v in zip(xs, arr):
        one = ag.sigmoid(ag.tensor(x)).data
        assert abs(one - v) <= 2 * np.spacing(max(abs(one), abs(v))) or max(one, v) < 1e-307, (x, one, v)


def test_sigmoid_at_the_extremes():
    decimal.getcontext().prec = 40
    with _strict():
        x = ag.tensor([-1000.0, -700.0, 1000.0, 700.0], requires_grad=True)
        s = ag.sigmoid(x)
        s.backward(np.ones(4))
    assert np.all(np.isfinite(s.data)) and np.all(np.isfinite(x.grad.data))
    assert s.data[2] == 1.0 and s.data[3] == 1.0
    assert 0.0 <= s.data[0] < 1e-307  # the true value, 5e-435, is below the smallest normal float64
    tiny = float(decimal.Decimal(1) / (1 + decimal.Decimal(700).exp()))  # 9.86e-305
    assert tiny > 0 and abs(s.data[1] - tiny) <= 4 * np.spacing(tiny)
    assert abs(x.grad.data[1] - tiny) <= 4 * np.spacing(tiny)  # σ(1 - σ) = σ there


def test_sigmoid_float32_within_4_ulps():
    _longdouble_or_skip()
    x = np.linspace(-80.0, 80.0, 20001).astype(np.float32)
    s = ag.sigmoid(ag.tensor(x)).data
    assert s.dtype == np.float32
    ref = 1.0 / (1.0 + np.exp(-x.astype(np.longdouble)))
    err = np.abs(s.astype(np.longdouble) - ref) / np.spacing(np.abs(ref.astype(np.float32)))
    assert err.max() <= 4.0, f"{err.max():.1f} float32 ulps at x = {x[np.argmax(err)]!r}"


def test_sigmoid_matches_pytorch_within_4_ulps():
    torch = pytest.importorskip("torch")
    x = np.linspace(-700.0, 700.0, 14001)
    ours = ag.sigmoid(ag.tensor(x)).data
    theirs = torch.sigmoid(torch.tensor(x)).numpy()
    fine = theirs > np.finfo(np.float64).tiny
    assert np.all(np.abs(ours[fine] - theirs[fine]) <= 4 * np.spacing(theirs[fine]))
