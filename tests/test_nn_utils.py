"""Flat parameter vectors (and scipy's L-BFGS-B through them) and gradient clipping."""
import numpy as np
import pytest
import scipy.optimize

import autograd as ag
import nn
from nn.utils import clip_grad_norm_, functional_call, grads_to_vector, parameters_to_vector, vector_to_parameters


def test_vector_round_trip_and_order():
    lin = nn.Linear(2, 3, rng=np.random.default_rng(0))
    s = nn.Parameter(np.float64(4.0))
    params = list(lin.parameters()) + [s]
    v = parameters_to_vector(params)
    assert v.dtype == np.float64 and v.shape == (10,)
    np.testing.assert_array_equal(v[:6], lin.weight.data.reshape(-1))
    np.testing.assert_array_equal(v[6:9], lin.bias.data)
    assert v[9] == 4.0
    new = np.arange(10.0)
    vector_to_parameters(new, params)
    np.testing.assert_array_equal(lin.weight.data, np.arange(6.0).reshape(3, 2))
    assert s.data == 9.0 and np.ndim(s.data) == 0
    new[:] = -1  # the parameters do not alias the vector
    assert lin.weight.data[0, 0] == 0.0


def test_vector_to_parameters_refuses_wrong_length_and_changes_nothing():
    lin = nn.Linear(2, 2)
    before = parameters_to_vector(lin.parameters())
    with pytest.raises(ValueError, match="5 elements.*6"):
        vector_to_parameters(np.zeros(5), lin.parameters())
    with pytest.raises(ValueError, match="1-d"):
        vector_to_parameters(np.zeros((2, 3)), lin.parameters())
    np.testing.assert_array_equal(parameters_to_vector(lin.parameters()), before)


def test_vector_to_parameters_never_corrupts_a_recorded_graph():
    p = nn.Parameter(np.array([1.0, 2.0]))
    y = (p * p).sum()
    vector_to_parameters(np.array([5.0, 6.0]), [p])
    np.testing.assert_array_equal(p.data, [5.0, 6.0])
    with pytest.raises(RuntimeError, match="modified"):  # the graph saved [1, 2]: it refuses
        y.backward()


def test_functional_call_swaps_tensors_for_one_call():
    lin = nn.Linear(3, 2, rng=np.random.default_rng(0))
    w0 = lin.weight
    x = np.random.default_rng(1).normal(size=(4, 3))
    w, b = np.ones((2, 3)), np.array([1.0, -1.0])
    y = functional_call(lin, {"weight": ag.tensor(w), "bias": b}, (x,))
    np.testing.assert_allclose(y.data, x @ w.T + b)
    assert lin.weight is w0 and isinstance(lin.bias, nn.Parameter) and np.all(lin.bias.data == 0)  # restored
    assert ag.gradcheck(lambda w, b: functional_call(lin, {"weight": w, "bias": b}, x), [w, b])
    model = nn.Sequential(lin, nn.Tanh())
    np.testing.assert_allclose(functional_call(model, {"0.bias": b}, x).data, np.tanh(x @ w0.data.T + b))
    with pytest.raises(KeyError, match="'0.wieght'"):
        functional_call(model, {"0.wieght": w}, x)
    with pytest.raises(ValueError):
        functional_call(model, {"0.bias": b}, np.zeros((1, 5)))  # the forward fails ...
    assert model[0].bias is lin._parameters["bias"] and model[0].bias.shape == (2,)  # ... and still restores


def test_float32_parameters_give_float64_vectors():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    (p * p).sum().backward()
    assert parameters_to_vector([p]).dtype == np.float64
    g = grads_to_vector([p])
    assert g.dtype == np.float64 and np.array_equal(g, [2, 2, 2])
    vector_to_parameters(np.array([1.5, 2.5, 3.5]), [p])
    assert p.data.dtype == np.float32


def test_scipy_lbfgs_fits_a_model_through_flat_vectors():
    # Least squares with a linear model: L-BFGS-B must reach numpy's lstsq solution.
    r = np.random.default_rng(0)
    X = r.normal(size=(30, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.01 * r.normal(size=(30, 1))
    model = nn.Linear(3, 1, rng=r)
    params = list(model.parameters())
    loss_fn = nn.MSELoss()

    def fun(v):
        vector_to_parameters(v, params)
        model.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        return float(loss), grads_to_vector(params)

    res = scipy.optimize.minimize(fun, parameters_to_vector(params), jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-10, "ftol": 1e-14})
    assert res.success, res.message
    A = np.hstack([X, np.ones((30, 1))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0].ravel()
    np.testing.assert_allclose(res.x, coef, atol=1e-5)


def test_flat_gradient_matches_finite_differences():
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(1)), nn.Tanh(), nn.Linear(3, 1))
    params = list(model.parameters())
    X, y = np.random.default_rng(2).normal(size=(5, 2)), np.random.default_rng(3).normal(size=(5, 1))

    def f(v):
        vector_to_parameters(v, params)
        model.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        return float(loss), grads_to_vector(params)

    v0 = parameters_to_vector(params)
    assert scipy.optimize.check_grad(lambda v: f(v)[0], lambda v: f(v)[1], v0) < 1e-6


def test_clip_grad_norm():
    a, b = nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))
    (3 * a + 4 * b).sum().backward()
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [0.6, 0.8], rtol=1e-5)  # unchanged below the cap
    c = nn.Parameter(np.zeros(2))
    (c * ag.tensor([-3.0, 1.0])).sum().backward()
    assert clip_grad_norm_([c], 1.0, norm_type=np.inf) == pytest.approx(3.0)
    np.testing.assert_allclose(c.grad.data, [-1.0, 1 / 3], rtol=1e-5)
