"""autograd.testing keeps its promises: the strategies draw what they say, and op_test catches wrong ops."""
import numpy as np
import pytest
from helpers import Cube
from hypothesis import find, given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd.gradcheck import GradcheckError
from autograd.testing import axes, broadcastable_shapes, check_op, floats, op_test, shapes, tensors

# ---- strategies -------------------------------------------------------------------------------------------

@given(shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_bounds(shape):
    assert 1 <= len(shape) <= 2 and all(2 <= n <= 3 for n in shape)


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast_together(shs):
    assert len(shs) == 3
    np.broadcast_shapes(*shs)  # raises if they do not
    assert all(len(s) <= 3 and all(1 <= n <= 4 for n in s) for s in shs)


def test_broadcastable_shapes_reach_0d_size_1_and_stretching():
    settings_ = settings(database=None, max_examples=500)
    assert () in find(broadcastable_shapes(2), lambda shs: () in shs, settings=settings_)
    # A size-1 axis stretched against a longer one, and shapes of different lengths.
    find(broadcastable_shapes(2), lambda shs: any(a == 1 and b > 1 for a, b in zip(shs[0][::-1], shs[1][::-1])),
         settings=settings_)
    find(broadcastable_shapes(2), lambda shs: len(shs[0]) != len(shs[1]), settings=settings_)


@given(tensors(shape=(2, 3)))
def test_tensors_default_float64_away_from_zero(t):
    assert isinstance(t, ag.Tensor) and t.shape == (2, 3) and t.dtype == np.float64
    assert not t.requires_grad
    assert np.all((np.abs(t.data) >= 0.125) & (np.abs(t.data) <= 2.0))


@given(tensors(shape=shapes(max_dims=2), dtype=np.float32, requires_grad=True))
def test_tensors_float32_with_grad(t):
    assert t.dtype == np.float32 and t.requires_grad and t.is_leaf and t.ndim <= 2
    assert np.all((np.abs(t.data) >= 0.125) & (np.abs(t.data) <= 2.0))


@given(tensors(shape=(4,), elements=st.floats(-1, 1)), tensors(shape=(), dtype=np.int64))
def test_tensors_custom_elements_and_integers(t, i):
    assert np.all(np.abs(t.data) <= 1.0)
    assert i.shape == () and i.dtype == np.int64 and -5 <= int(i) <= 5


def test_tensors_refuse_grad_for_integers():
    with pytest.raises(TypeError, match="floating-point"):
        tensors(dtype=np.int32, requires_grad=True)


@given(floats(-3.0, 3.0, avoid=[0.0, 1.0], margin=0.25))
def test_floats_avoid_points(x):
    assert -3.0 <= x <= 3.0 and abs(x) >= 0.25 and abs(x - 1.0) >= 0.25


@given(floats(0.1, 0.3, dtype=np.float32))
def test_floats_narrow_dtype_stays_inside(x):
    assert np.float32(x) == x and 0.1 <= x <= 0.3


def test_floats_reject_an_empty_domain():
    with pytest.raises(ValueError, match="nothing left"):
        floats(-0.1, 0.1, avoid=[0.0], margin=0.2)


@given(st.data())
def test_axes_are_valid_for_numpy(data):
    shape = data.draw(shapes(max_dims=3))
    axis = data.draw(axes(len(shape)))
    np.sum(np.zeros(shape), axis=axis)  # raises on an invalid or repeated axis
    if isinstance(axis, tuple):
        assert len({a % len(shape) for a in axis}) == len(axis)


# ---- op_test and check_op --------------------------------------------------------------------------------

class CubeOffGradient(Cube):
    """Right value, gradient 0.1 % too large: gradcheck must notice."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * 3 * x ** 2 * 1.001


class CubeConstantSecondOrder(Cube):
    """Right first derivative, but computed from an array forward kept aside, so under create_graph the
    rule does not record how it depends on x: second derivatives come out wrong."""

    @staticmethod
    def forward(ctx, x):
        ctx.slope = 3 * x ** 2
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        return g * ctx.slope


def test_op_test_passes_a_correct_custom_op():
    # The generated test raises (GradcheckError / AssertionError) on any disagreement; a pass returns None.
    assert op_test(Cube.apply, lambda x: x ** 3, gradgrad=True)() is None


def test_op_test_fails_on_a_wrong_gradient():
    with pytest.raises(GradcheckError, match="disagrees with finite differences"):
        op_test(CubeOffGradient.apply, lambda x: x ** 3)()


def test_op_test_fails_on_a_wrong_value():
    with pytest.raises(AssertionError, match="value of output 0"):
        op_test(Cube.apply, lambda x: x ** 3 + 1e-6 * np.sign(x))()


def test_op_test_fails_on_a_wrong_shape():
    with pytest.raises(AssertionError, match="shape"):
        op_test(lambda x: ag.sum(x, keepdims=True), np.sum)()


def test_op_test_gradgrad_catches_a_first_order_only_rule():
    op_test(CubeConstantSecondOrder.apply, lambda x: x ** 3)()  # first order is right
    with pytest.raises(GradcheckError):
        op_test(CubeConstantSecondOrder.apply, lambda x: x ** 3, gradgrad=True)()


def test_op_test_catches_a_gradient_wrong_only_at_broadcast_inputs():
    """Wrong only when an input is broadcast: the helper draws such shapes, so it finds it."""

    class SloppyAdd(ag.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.shapes = (np.shape(a), np.shape(b))
            return a + b

        @staticmethod
        def backward(ctx, g):
            # Forgets the engine sums over stretched axes for b and averages them instead.
            sa, sb = ctx.shapes
            gb = g if np.shape(g) == sb else np.broadcast_to(np.mean(g), sb)
            return g, gb

    with pytest.raises(GradcheckError):
        op_test(SloppyAdd.apply, np.add, n=2)()


def test_op_test_distinct_draws_no_ties():
    seen = []

    def spy(a, b):
        values = np.concatenate([np.ravel(a.data), np.ravel(b.data)])
        if a.requires_grad:  # the drawn values, not gradcheck's perturbed copies
            seen.append(np.min(np.diff(np.sort(values))) if values.size > 1 else np.inf)
        return ag.maximum(a, b)

    op_test(spy, np.maximum, n=2, distinct=True)()
    assert seen and min(seen) >= 0.005 - 1e-12


def test_op_test_domains_and_avoid_are_respected():
    seen = []

    def spy(a, b):
        if a.requires_grad:  # the drawn values, not gradcheck's perturbed copies
            seen.append((a.data.copy(), b.data.copy()))
        return a * b

    op_test(spy, np.multiply, n=2, domain=[(0.5, 1.0), (-2.0, 2.0)], avoid=[0.75, 0.0], margin=0.1)()
    a = np.concatenate([np.ravel(x) for x, _ in seen])
    b = np.concatenate([np.ravel(y) for _, y in seen])
    tol = 1e-12  # the cut-out ends at 0.75 - 0.1, which is 0.0999... from 0.75 in floating point
    assert np.all((a >= 0.5) & (a <= 1.0) & (np.abs(a - 0.75) >= 0.1 - tol))
    assert np.all((np.abs(b) <= 2.0) & (np.abs(b) >= 0.1 - tol))


def test_op_test_rejects_mismatched_domains():
    with pytest.raises(ValueError, match="domains"):
        op_test(ag.add, np.add, n=2, domain=[(0, 1)])
    with pytest.raises(ValueError, match="distinct"):
        op_test(ag.maximum, np.maximum, n=2, domain=[(0, 1), (1, 2)], distinct=True)


def test_op_test_names_the_test():
    assert op_test(ag.exp, np.exp).__name__ == "test_exp"
    assert op_test(lambda x: x, lambda x: x, name="identity").__name__ == "test_identity"


def test_check_op_with_multiple_outputs_and_options():
    x = np.arange(6.0).reshape(2, 3) - 2.5
    check_op(lambda t, axis: ag.split(t, 3, axis=axis), lambda a, axis: np.split(a, 3, axis=axis), [x], {"axis": 1},
             gradgrad=True)
    with pytest.raises(AssertionError, match="2 outputs"):
        check_op(lambda t: ag.split(t, 2), lambda a: [a[:1]], [x])
