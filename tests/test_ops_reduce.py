"""Reductions and softmax-like ops over every kind of axis (None, int, negative, tuple, empty tuple) with and
without keepdims: property tests, then ties and inputs of +-1000 in closed form."""
import warnings

import numpy as np
from hypothesis import strategies as st

import autograd as ag
from autograd.testing import axes, op_test


def _axis_keepdims(shapes):
    return st.fixed_dictionaries({"axis": axes(len(shapes[0])), "keepdims": st.booleans()})


def _axis(shapes):
    return st.fixed_dictionaries({"axis": axes(len(shapes[0]))})


def _reduced_count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in ((axis,) if isinstance(axis, int) else axis)]))


def _var_options(shapes):
    # ddof=1 needs at least two reduced elements.
    return st.fixed_dictionaries({"axis": axes(len(shapes[0])), "keepdims": st.booleans(),
                                  "ddof": st.sampled_from([0, 1])}).filter(
        lambda o: _reduced_count(shapes[0], o["axis"]) > o["ddof"])


def _np_logsumexp(x, axis, keepdims):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))  # naive: fine for |x| <= 3


def _np_softmax(x, axis):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


test_sum = op_test(ag.sum, np.sum, options=_axis_keepdims)
test_mean = op_test(ag.mean, np.mean, options=_axis_keepdims)
test_max = op_test(ag.max, np.max, options=_axis_keepdims, distinct=True)
test_min = op_test(ag.min, np.min, options=_axis_keepdims, distinct=True)
test_var = op_test(ag.var, np.var, options=_var_options)
test_logsumexp = op_test(ag.logsumexp, _np_logsumexp, options=_axis_keepdims, domain=(-3.0, 3.0))
test_softmax = op_test(ag.softmax, _np_softmax, options=_axis, domain=(-3.0, 3.0))
test_log_softmax = op_test(ag.log_softmax, lambda x, axis: np.log(_np_softmax(x, axis)), options=_axis,
                           domain=(-3.0, 3.0))
# Default axis (-1) of the softmax pair needs at least one axis.
test_softmax_default_axis = op_test(ag.softmax, lambda x: _np_softmax(x, -1), min_dims=1, name="softmax_default")
test_log_softmax_default_axis = op_test(ag.log_softmax, lambda x: np.log(_np_softmax(x, -1)), min_dims=1,
                                        name="log_softmax_default")

# Method forms, and reductions inside a larger expression (reduced output broadcast back against the input).
test_reduction_methods = op_test(
    lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims) * x.mean(axis=axis, keepdims=keepdims)
    + x.var(axis=axis, keepdims=keepdims) - x.logsumexp(axis=axis, keepdims=keepdims),
    lambda x, axis, keepdims: np.sum(x, axis, keepdims=keepdims) * np.mean(x, axis, keepdims=keepdims)
    + np.var(x, axis, keepdims=keepdims) - _np_logsumexp(x, axis, keepdims),
    options=_axis_keepdims, name="reduction_methods")
test_normalise = op_test(lambda x: (x - x.mean(axis=-1, keepdims=True)) / ag.sqrt(x.var(axis=-1, keepdims=True) + 1.0),
                         lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1.0),
                         min_dims=1, name="normalise")


# ---- ties: the gradient is shared evenly among the extreme elements (closed form) ------------------------

def test_max_ties_share_the_gradient():
    x = ag.tensor([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).backward(np.array([6.0, 9.0]))
    np.testing.assert_array_equal(x.grad.data, [[3.0, 0.0, 3.0], [3.0, 3.0, 3.0]])


def test_min_ties_share_the_gradient_over_all_axes():
    x = ag.tensor([[0.0, 1.0], [0.0, 0.0]], requires_grad=True)
    ag.min(x).backward()
    np.testing.assert_allclose(x.grad.data, [[1 / 3, 0.0], [1 / 3, 1 / 3]], rtol=1e-15)


def test_max_ties_with_tuple_axis_and_keepdims():
    x = ag.tensor(np.ones((2, 2, 3)), requires_grad=True)
    y = ag.max(x, axis=(0, -1), keepdims=True)
    assert y.shape == (1, 2, 1)
    y.backward(np.array([[[6.0], [12.0]]]))
    np.testing.assert_allclose(x.grad.data[:, 0], np.full((2, 3), 1.0), rtol=1e-15)
    np.testing.assert_allclose(x.grad.data[:, 1], np.full((2, 3), 2.0), rtol=1e-15)


# ---- numeric stability at +-1000 ---------------------------------------------------------------------------

def _value_and_grad(fn, values, upstream=None):
    """Value and gradient, raising on overflow, invalid operations, division by zero and any warning."""
    x = ag.tensor(values, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        y = fn(x)
        y.backward(np.ones(y.shape) if upstream is None else upstream)
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))
    return y.data, x.grad.data


def test_logsumexp_at_1000():
    value, grad = _value_and_grad(ag.logsumexp, [1000.0, 1000.0])
    np.testing.assert_allclose(value, 1000.0 + np.log(2.0), rtol=1e-15)
    # exp(x - out): the rounding of out = 1000.69... (ulp 1e-13) limits the relative accuracy to ~1e-13.
    np.testing.assert_allclose(grad, [0.5, 0.5], rtol=1e-12)
    value, grad = _value_and_grad(lambda x: ag.logsumexp(x, axis=1), [[-1000.0, -1000.0], [1000.0, -1000.0]])
    np.testing.assert_allclose(value, [-1000.0 + np.log(2.0), 1000.0], rtol=1e-15)
    np.testing.assert_allclose(grad, [[0.5, 0.5], [1.0, 0.0]], rtol=1e-12)


def test_softmax_at_1000():
    value, grad = _value_and_grad(ag.softmax, [[1000.0, -1000.0, 1000.0]], upstream=np.array([[1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(value, [[0.5, 0.0, 0.5]], rtol=1e-15)
    # d s_0 / d x = s_0 (e_0 - s) = [0.25, 0, -0.25]
    np.testing.assert_allclose(grad, [[0.25, 0.0, -0.25]], rtol=1e-15)


def test_log_softmax_at_1000():
    value, grad = _value_and_grad(ag.log_softmax, [1000.0, -1000.0, 0.0], upstream=np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(value, [0.0, -2000.0, -1000.0], rtol=1e-15)
    # d/dx of the first log-probability: e_0 - softmax(x) = [0, 0, 0] up to exp(-1000)
    np.testing.assert_allclose(grad, [0.0, 0.0, 0.0], atol=1e-300)


def test_mean_and_var_of_0d_and_empty_axis_tuple():
    """Reducing over no axes is the identity (mean) and zero (var), with gradients 1 and 0."""
    x = ag.tensor([[1.0, 2.0]], requires_grad=True)
    y = ag.mean(x, axis=()) + ag.var(x, axis=())
    np.testing.assert_array_equal(y.data, x.data)
    y.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(x.grad.data, [[1.0, 1.0]])
