"""ag.functional (vjp, jvp, jacobian, hessian, hvp) and higher-order derivatives through create_graph,
checked against finite differences (ag.numeric_jacobian) and closed forms."""
import numpy as np
import pytest

import autograd as ag
from autograd import functional as AF

rng = np.random.default_rng(0)


def f_vec(x):
    """R^3 -> R^2, nonlinear in every coordinate."""
    return ag.stack([(ag.sin(x) * x).sum(), ag.exp(x[0] * x[1]) + x[2] ** 3])


def f_two(a, b):
    """Two inputs (2, 3) and (3,) -> (2, 3)."""
    return ag.tanh(a * b) + a ** 2


def numeric_J(fn, inputs, i):
    return ag.numeric_jacobian(fn, inputs, i)[0]


# ---- vjp / jvp / jacobian -----------------------------------------------------------------------

def test_vjp_matches_finite_differences():
    x = rng.standard_normal(3)
    v = rng.standard_normal(2)
    out, g = AF.vjp(f_vec, ag.tensor(x), v)
    np.testing.assert_allclose(out.data, f_vec(ag.tensor(x)).data)
    np.testing.assert_allclose(g.data, v @ numeric_J(f_vec, [x], 0), rtol=1e-6, atol=1e-8)
    assert not g.requires_grad and not out.requires_grad


def test_vjp_with_two_inputs_and_a_scalar_function():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    v = rng.standard_normal((2, 3))
    _, (ga, gb) = AF.vjp(f_two, (a, b), v)
    for i, g in enumerate((ga, gb)):
        np.testing.assert_allclose(g.data.reshape(-1), v.reshape(-1) @ numeric_J(f_two, [a, b], i),
                                   rtol=1e-6, atol=1e-8)
    _, g = AF.vjp(lambda x: (x * x).sum(), ag.tensor(a))  # no v for a scalar output
    np.testing.assert_allclose(g.data, 2 * a)


def test_jvp_matches_finite_differences():
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    out, jv = AF.jvp(f_vec, ag.tensor(x), v)
    np.testing.assert_allclose(jv.data, numeric_J(f_vec, [x], 0) @ v, rtol=1e-6, atol=1e-8)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    va, vb = rng.standard_normal((2, 3)), rng.standard_normal(3)
    _, jv2 = AF.jvp(f_two, (a, b), (va, vb))
    want = numeric_J(f_two, [a, b], 0) @ va.reshape(-1) + numeric_J(f_two, [a, b], 1) @ vb
    np.testing.assert_allclose(jv2.data.reshape(-1), want, rtol=1e-6, atol=1e-8)


def test_jacobian_shape_and_values():
    x = rng.standard_normal(3)
    J = AF.jacobian(f_vec, ag.tensor(x))
    assert J.shape == (2, 3)
    np.testing.assert_allclose(J.data, numeric_J(f_vec, [x], 0), rtol=1e-6, atol=1e-8)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    Ja, Jb = AF.jacobian(f_two, (a, b))
    assert Ja.shape == (2, 3, 2, 3) and Jb.shape == (2, 3, 3)
    np.testing.assert_allclose(Ja.data.reshape(6, 6), numeric_J(f_two, [a, b], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(Jb.data.reshape(6, 3), numeric_J(f_two, [a, b], 1), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_linear_map_is_its_matrix():
    W = rng.standard_normal((4, 3))
    J = AF.jacobian(lambda x: ag.tensor(W) @ x, ag.tensor(rng.standard_normal(3)))
    np.testing.assert_allclose(J.data, W)


# ---- hessian / hvp ----------------------------------------------------------------------------------

def test_hessian_of_quadratic_form_is_A_plus_A_transpose():
    A = rng.standard_normal((4, 4))  # not symmetric on purpose
    x = ag.tensor(rng.standard_normal(4))
    H = AF.hessian(lambda x: x @ (ag.tensor(A) @ x), x)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H.data, A + A.T, atol=1e-12)


def test_hessian_matches_finite_differences_of_the_gradient():
    def f(x):
        return (ag.exp(x[0] * x[1]) + ag.sin(x) * x ** 2).sum()

    @ag.enable_grad()  # numeric_jacobian runs fn under no_grad
    def gradient(t):
        x = ag.tensor(t.data, requires_grad=True)
        (g,) = ag.grad(f(x), x)
        return g

    x = rng.standard_normal(3)
    H = AF.hessian(f, ag.tensor(x))
    numeric = ag.numeric_jacobian(gradient, [x], 0)[0]
    np.testing.assert_allclose(H.data, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(H.data, H.data.T, atol=1e-10)


def test_hvp_matches_the_hessian_times_v():
    A = rng.standard_normal((3, 3))
    v = rng.standard_normal(3)
    x = rng.standard_normal(3)

    def f(x):
        return x @ (ag.tensor(A) @ x) + ag.exp(x).sum()

    out, hv = AF.hvp(f, ag.tensor(x), v)
    np.testing.assert_allclose(out.data, x @ A @ x + np.exp(x).sum())
    np.testing.assert_allclose(hv.data, (A + A.T) @ v + np.exp(x) * v, rtol=1e-10)


# ---- higher derivatives by repeated grad ---------------------------------------------------------------

def nth_derivative(f, x, n):
    """d^n/dx^n of sum(f(x)) elementwise, by n calls of ag.grad(create_graph=True)."""
    y = f(x).sum()
    for k in range(n):
        (y,) = ag.grad(y, x, create_graph=k < n - 1)
        y = y.sum() if k < n - 1 else y
    return y


def test_third_derivative_of_sin_is_minus_cos():
    x = ag.tensor(np.linspace(-3, 3, 7), requires_grad=True)
    np.testing.assert_allclose(nth_derivative(ag.sin, x, 3).data, -np.cos(x.data), atol=1e-12)
    np.testing.assert_allclose(nth_derivative(ag.sin, x, 4).data, np.sin(x.data), atol=1e-12)


def test_third_derivative_of_tanh_closed_form():
    x = ag.tensor(np.linspace(-2, 2, 5), requires_grad=True)
    t = np.tanh(x.data)
    np.testing.assert_allclose(nth_derivative(ag.tanh, x, 3).data, (1 - t ** 2) * (6 * t ** 2 - 2), atol=1e-12)


@pytest.mark.parametrize("f", [
    lambda x: ag.tanh(ag.tanh(x) * 2.0),
    lambda x: ag.tanh(ag.sin(x) * x) * ag.exp(x * 0.3),
])
def test_third_derivative_of_chains_matches_finite_differences_of_the_second(f):
    x0 = np.linspace(-1.5, 1.5, 5)

    def second(t):
        with ag.enable_grad():
            return nth_derivative(f, ag.tensor(t.data, requires_grad=True), 2).detach()

    third = nth_derivative(f, ag.tensor(x0, requires_grad=True), 3)
    numeric = np.diag(ag.numeric_jacobian(second, [x0], 0, eps=1e-5)[0])
    np.testing.assert_allclose(third.data, numeric, rtol=1e-5, atol=1e-6)


def test_backward_with_create_graph_gives_a_differentiable_grad():
    x = ag.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    (gg,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, 6 * x.data)


def test_gradient_penalty_style_double_backward():
    """loss = sum(w * x)^2 + |d loss/dx|^2: the penalty's gradient w.r.t. w needs second derivatives."""
    w = ag.tensor(rng.standard_normal(3), requires_grad=True)
    x = ag.tensor(rng.standard_normal(3), requires_grad=True)
    s = (w * x).sum()
    (gx,) = ag.grad(s ** 2, x, create_graph=True)  # = 2 s w
    loss = s ** 2 + (gx * gx).sum()  # = s^2 + 4 s^2 |w|^2
    loss.backward()
    sv, wv, xv = float(s), w.data, x.data
    ww = wv @ wv
    np.testing.assert_allclose(w.grad.data, 2 * sv * xv + 8 * sv * xv * ww + 8 * sv ** 2 * wv, rtol=1e-10)
