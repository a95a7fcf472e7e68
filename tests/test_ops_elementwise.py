"""Elementwise functions: property tests (values vs numpy, gradients vs finite differences), then the
closed-form cases property tests avoid: ties, where's unused branch, and inputs of +-1000."""
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import op_test

test_exp = op_test(ag.exp, np.exp, domain=(-3.0, 3.0))
test_log = op_test(ag.log, np.log, domain=(0.1, 3.0))
test_sqrt = op_test(ag.sqrt, np.sqrt, domain=(0.1, 4.0))
test_sin = op_test(ag.sin, np.sin, domain=(-4.0, 4.0))
test_cos = op_test(ag.cos, np.cos, domain=(-4.0, 4.0))
test_tanh = op_test(ag.tanh, np.tanh, domain=(-3.0, 3.0))
test_sigmoid = op_test(ag.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)), domain=(-6.0, 6.0))
test_softplus = op_test(ag.softplus, lambda x: np.log1p(np.exp(x)), domain=(-6.0, 6.0))
test_relu = op_test(ag.relu, lambda x: np.maximum(x, 0.0), avoid=[0.0])
test_exp_method = op_test(lambda x: x.exp().log().tanh().sigmoid(), lambda x: 1 / (1 + np.exp(-np.tanh(x))),
                          name="chained_methods")

_BOUNDS = st.sampled_from([(-1.0, 1.0), (-0.5, None), (None, 0.5), (0.5, 1.0)]).map(
    lambda b: {"lo": b[0], "hi": b[1]})
# Values keep away from every bound used, where clip has kinks.


def _np_clip(x, lo, hi):
    return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)


test_clip = op_test(ag.clip, _np_clip, options=_BOUNDS, avoid=[-1.0, -0.5, 0.5, 1.0])
test_clip_method = op_test(lambda x, lo, hi: x.clip(lo, hi), _np_clip, options=_BOUNDS,
                           avoid=[-1.0, -0.5, 0.5, 1.0], name="clip_method")

# distinct: no element of one input equals an element of the other, so there is no tie (kink).
test_maximum = op_test(ag.maximum, np.maximum, n=2, distinct=True)
test_minimum = op_test(ag.minimum, np.minimum, n=2, distinct=True)
test_maximum_with_number = op_test(lambda x: ag.maximum(x, 0.5), lambda x: np.maximum(x, 0.5), avoid=[0.5],
                                   name="maximum_with_number")
test_minimum_number_first = op_test(lambda x: ag.minimum(-0.5, x), lambda x: np.minimum(-0.5, x), avoid=[-0.5],
                                    name="minimum_number_first")


def _condition(shapes):
    """A boolean condition of the shape both branches broadcast to."""
    return hnp.arrays(bool, np.broadcast_shapes(*shapes)).map(lambda c: {"cond": c})


test_where = op_test(lambda a, b, cond: ag.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b), n=2,
                     options=_condition, name="where")
# The condition computed from a tensor; values keep away from 0, where it flips.
test_where_from_comparison = op_test(lambda a, b: ag.where(a > 0.0, a * a, b), lambda a, b: np.where(a > 0, a * a, b),
                                     n=2, avoid=[0.0], name="where_from_comparison")


# ---- ties: the gradient is split evenly (closed form) ----------------------------------------------------

def test_maximum_minimum_ties_split_the_gradient():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([1.0, 5.0, 3.0], requires_grad=True)
    ag.maximum(a, b).backward(np.array([2.0, 4.0, 6.0]))
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 4.0, 3.0])
    a.grad = b.grad = None
    ag.minimum(a, b).backward(np.array([2.0, 4.0, 6.0]))
    np.testing.assert_array_equal(a.grad.data, [1.0, 4.0, 3.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 0.0, 3.0])


def test_maximum_of_a_tensor_with_itself_passes_the_whole_gradient():
    x = ag.tensor([-1.0, 2.0], requires_grad=True)
    ag.maximum(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_maximum_tie_with_broadcast_number():
    x = ag.tensor([0.0, 1.0, -1.0], requires_grad=True)
    ag.maximum(x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 1.0, 0.0])


# ---- where: the unused branch cannot poison the gradient --------------------------------------------------

def test_where_ignores_infinite_unused_branch():
    """The unused branch is -inf/NaN at unselected places: the selected side's gradient stays exact and
    the unused branch itself receives exact zeros there (not NaN from 0 * inf)."""
    x = ag.tensor([-2.0, 0.0, 0.5, 3.0], requires_grad=True)
    z = ag.tensor([0.0, -1.0, 1.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = ag.log(z)  # -inf, nan, 0, log 2
    b.retain_grad()
    y = ag.where(x > 0.0, x * x, b)
    y.backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 3.0 * 2 * 0.5, 4.0 * 2 * 3.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0, 0.0, 0.0])
    np.testing.assert_array_equal(z.grad.data, [np.inf, -2.0, 0.0, 0.0])  # d log z = g / z, g = 0 where unused


def test_where_guarded_log_has_finite_gradient_everywhere():
    """The usual guard (an inner where keeps log's argument valid) gives finite, exact gradients at 0."""
    x = ag.tensor([-2.0, 0.0, 0.5, 3.0], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        positive = x > 0.0
        y = ag.where(positive, ag.log(ag.where(positive, x, 1.0)), 2.0 * x)
        y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0, 1 / 0.5, 1 / 3.0], rtol=1e-15)


def test_where_branch_gradients_are_exact_zeros_outside_the_selection():
    cond = np.array([[True, False], [False, True]])
    a = ag.tensor([[1.0, np.inf], [np.nan, 4.0]], requires_grad=True)
    b = ag.tensor(7.0, requires_grad=True)  # 0-d, broadcast
    ag.where(cond, a, b).backward(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(a.grad.data, [[1.0, 0.0], [0.0, 4.0]])
    assert b.grad.shape == () and float(b.grad) == 5.0


# ---- numeric stability at +-1000: finite values and gradients, no warnings -------------------------------

def _value_and_grad(fn, values):
    """fn's value and gradient, raising on any overflow, invalid operation or division by zero. (Underflow
    is allowed: exp(-1000) = 0 is the correct, finite answer, and every stable formula produces one.)"""
    x = ag.tensor(values, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        y = fn(x)
        y.backward(np.ones(y.shape))
    return y.data, x.grad.data


def test_sigmoid_is_stable_at_1000():
    value, grad = _value_and_grad(ag.sigmoid, [-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(value, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.25, 0.0])


def test_softplus_is_stable_at_1000():
    value, grad = _value_and_grad(ag.softplus, [-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(value, [0.0, np.log(2.0), 1000.0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(grad, [0.0, 0.5, 1.0], rtol=1e-15, atol=0)


def test_tanh_is_stable_at_1000():
    value, grad = _value_and_grad(ag.tanh, [-1000.0, 1000.0])
    np.testing.assert_array_equal(value, [-1.0, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0])
