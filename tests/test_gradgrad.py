"""Every built-in op's backward is itself differentiable: gradgradcheck (finite differences of the
vector-Jacobian product, in the inputs and in the upstream gradient) on small fixed inputs.

Inputs keep away from kinks (0 for abs/relu, clip's bounds, ties for max/min/maximum/minimum), and
the two-input cases broadcast, so the engine's un-broadcasting is differentiated too.
"""
import numpy as np
import pytest
from hypothesis import strategies as st

import autograd as ag
from autograd.testing import op_test

_rng = np.random.default_rng(1234)


def _away(shape, low=0.3, high=1.5):
    """Values with |x| in [low, high] and random signs: no kinks at 0."""
    return _rng.uniform(low, high, shape) * _rng.choice([-1.0, 1.0], shape)


def _positive(shape, low=0.3, high=1.5):
    return _rng.uniform(low, high, shape)


def _distinct(shape):
    """Values that differ pairwise by at least 0.1 (no ties)."""
    n = int(np.prod(shape))
    return (_rng.permutation(n) * 0.1 - 0.05 * n).reshape(shape)


A23, B3, C13 = _away((2, 3)), _away((3,)), _away((1, 3))
P23, P3 = _positive((2, 3)), _positive((3,))
D23 = _distinct((2, 3))
D234 = _distinct((2, 3, 4))
MAX_A, MAX_B = np.split(_rng.permutation(12).reshape(2, 6) * 0.1, 2, axis=1)

CASES = {
    # arithmetic
    "add": (ag.add, [A23, B3]),
    "sub": (ag.sub, [A23, C13]),
    "mul": (ag.mul, [A23, B3]),
    "div": (ag.div, [A23, _away((3,), 0.5, 1.5)]),
    "pow_number": (lambda x: x ** 3, [A23]),
    "pow_real_number": (lambda x: x ** 1.5, [P23]),
    "pow_negative_number": (lambda x: ag.pow(x, -2), [A23]),
    "pow_tensor": (ag.pow, [P23, B3]),
    "rpow": (lambda x: 1.7 ** x, [A23]),
    "neg": (ag.neg, [A23]),
    "abs": (ag.abs, [A23]),
    # elementwise
    "exp": (ag.exp, [A23]),
    "log": (ag.log, [P23]),
    "sqrt": (ag.sqrt, [P23]),
    "sin": (ag.sin, [A23]),
    "cos": (ag.cos, [A23]),
    "tanh": (ag.tanh, [A23]),
    "sigmoid": (ag.sigmoid, [A23 * 3]),
    "softplus": (ag.softplus, [A23 * 3]),
    "relu": (ag.relu, [A23]),
    "clip": (lambda x: ag.clip(x, -1.0, 0.8), [np.array([[-1.4, -0.5, 0.2], [0.7, 1.2, -0.9]])]),
    "maximum": (ag.maximum, [MAX_A, MAX_B]),
    "minimum": (ag.minimum, [MAX_A, MAX_B]),
    "maximum_broadcast": (ag.maximum, [D23, np.array([0.05, -0.15, 0.25])]),
    "where": (lambda a, b: ag.where(np.array([[True, False, True], [False, False, True]]), a, b), [A23, B3]),
    # reductions
    "sum_all": (ag.sum, [A23]),
    "sum_axis": (lambda x: ag.sum(x, axis=(0, -1), keepdims=True), [_away((2, 3, 2))]),
    "mean": (lambda x: ag.mean(x, axis=1), [A23]),
    "max": (lambda x: ag.max(x, axis=-1), [D234]),
    "min": (lambda x: ag.min(x, axis=(0, 2), keepdims=True), [D234]),
    "max_all": (ag.max, [D23]),
    "var": (lambda x: ag.var(x, axis=0, ddof=1), [A23]),
    "var_all": (ag.var, [A23]),
    "logsumexp": (lambda x: ag.logsumexp(x, axis=1), [A23]),
    "logsumexp_all": (ag.logsumexp, [A23]),
    "softmax": (ag.softmax, [A23]),
    "softmax_axis0": (lambda x: ag.softmax(x, axis=0), [A23]),
    "log_softmax": (ag.log_softmax, [A23]),
    "log_softmax_tuple": (lambda x: ag.log_softmax(x, axis=(0, 1)), [A23]),
    # shape
    "reshape": (lambda x: ag.reshape(x, (3, -1)), [A23]),
    "transpose": (lambda x: ag.transpose(x, (2, -3, 1)), [_away((2, 3, 4))]),
    "T": (lambda x: x.T, [A23]),
    "swapaxes": (lambda x: ag.swapaxes(x, 0, -1), [_away((2, 1, 3))]),
    "expand_dims": (lambda x: ag.expand_dims(x, -2), [A23]),
    "squeeze": (lambda x: ag.squeeze(x, 1), [_away((2, 1, 3))]),
    "flatten": (ag.flatten, [A23]),
    "broadcast_to": (lambda x: ag.broadcast_to(x, (2, 2, 3)), [C13]),
    "concatenate": (lambda a, b: ag.concatenate([a, b], axis=-1), [A23, _away((2, 2))]),
    "stack": (lambda a, b: ag.stack([a, b], axis=1), [A23, _away((2, 3))]),
    "split": (lambda x: ag.split(x, [1, 1, 2], axis=1), [A23]),
    "pad": (lambda x: ag.pad(x, ((1, 0), (0, 2)), value=0.5), [A23]),
    "getitem_basic": (lambda x: x[..., None, ::-2], [A23]),
    "getitem_mask": (lambda x: x[np.array([[True, False, True], [False, True, True]])], [A23]),
    "getitem_repeated": (lambda x: x[np.array([1, 0, 1, 1]), np.array([2, 2, 0, 2])], [A23]),
    "getitem_rows": (lambda x: x[[0, 0, 1]], [A23]),
    # linear algebra
    "matmul_2d": (ag.matmul, [A23, _away((3, 2))]),
    "matmul_batched": (ag.matmul, [_away((2, 1, 2, 3)), _away((3, 3, 2))]),
    "matmul_1d_1d": (ag.matmul, [B3, _away((3,))]),
    "matmul_1d_nd": (ag.matmul, [B3, _away((2, 3, 2))]),
    "matmul_nd_1d": (ag.matmul, [_away((2, 2, 3)), B3]),
    "dot_2d_1d": (ag.dot, [A23, B3]),
    "dot_0d": (ag.dot, [np.array(0.7), A23]),
    "dot_3d_3d": (ag.dot, [_away((2, 3)), _away((4, 3, 2))]),
    "norm": (ag.norm, [A23]),
    "norm_axis": (lambda x: ag.norm(x, axis=1), [A23]),
    "std": (lambda x: ag.std(x, axis=0, ddof=1), [A23]),
    "clone": (lambda x: ag.clone(x) * x, [A23]),
    "astype": (lambda x: ag.astype(x, np.float64) * x, [A23]),
    "cat": (lambda a, b: ag.cat([a, b], dim=1) ** 2, [A23, A23]),
    "permute": (lambda x: ag.permute(x.reshape(1, 2, 3), 2, 0, 1) ** 2, [A23]),
    "unsqueeze": (lambda x: ag.unsqueeze(x, 1) ** 2, [A23]),
    "pow_at_zero": (lambda x: ag.pow(x, 0.0) + x ** 2, [np.array([0.0, 1.5])]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name):
    fn, inputs = CASES[name]
    assert ag.gradgradcheck(fn, inputs)


def test_every_public_op_has_a_case():
    """A new op in autograd.ops must get a second-order check here."""
    covered = {"add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh",
               "sigmoid", "softplus", "relu", "clip", "maximum", "minimum", "where", "sum", "mean", "max", "min",
               "var", "logsumexp", "softmax", "log_softmax", "reshape", "transpose", "swapaxes", "expand_dims",
               "squeeze", "flatten", "broadcast_to", "concatenate", "stack", "split", "pad", "getitem",
               "matmul", "dot", "norm", "std", "clone", "astype", "cat", "permute", "unsqueeze"}
    not_differentiable = {"argmax", "argmin"}
    public = {n for n in dir(ag.ops) if not n.startswith("_") and n.islower() and callable(getattr(ag.ops, n))
              and getattr(getattr(ag.ops, n), "__module__", "").startswith("autograd.ops.")}
    assert public - covered - not_differentiable == set(), f"ops without a gradgrad case: {sorted(public - covered)}"
    for op in covered:
        assert any(case.startswith(op) for case in CASES) or op == "getitem", op


def test_third_order_of_a_composite():
    """Differentiating twice with create_graph and checking the result against the closed form:
    f = sum(tanh(x) * x) -> d3f/dx3 elementwise."""
    x = ag.tensor([0.3, -0.7, 1.1], requires_grad=True)
    (g,) = ag.grad((ag.tanh(x) * x).sum(), x, create_graph=True)
    (h,) = ag.grad(g.sum(), x, create_graph=True)
    (t,) = ag.grad(h.sum(), x)
    th = np.tanh(x.data)
    s2 = 1 - th ** 2  # sech^2
    # f' = th + x s2, f'' = 2 s2 - 2 x th s2, f''' = -6 th s2 - 2 x (s2^2 - 2 th^2 s2)   (using s2' = -2 th s2)
    d3 = -6 * th * s2 - 2 * x.data * (s2 * s2 - 2 * th * th * s2)
    np.testing.assert_allclose(t.data, d3, rtol=1e-12)


# ---- the same through op_test(gradgrad=True): drawn shapes that broadcast, second order included --------

test_mul_gradgrad = op_test(ag.mul, np.multiply, n=2, max_side=3, gradgrad=True, name="mul_gradgrad")
test_div_gradgrad = op_test(ag.div, np.divide, n=2, max_side=3, avoid=[0.0], margin=0.5, gradgrad=True,
                            name="div_gradgrad")
test_pow_gradgrad = op_test(ag.pow, np.power, n=2, max_side=3, domain=[(0.5, 2.0), (-2.0, 2.0)], gradgrad=True,
                            name="pow_gradgrad")
test_softmax_gradgrad = op_test(ag.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), min_dims=1,
                                max_side=3, gradgrad=True, name="softmax_gradgrad")
test_logsumexp_gradgrad = op_test(ag.logsumexp, lambda x: np.log(np.exp(x).sum()), max_side=3, gradgrad=True,
                                  name="logsumexp_gradgrad")
test_matmul_gradgrad = op_test(ag.matmul, np.matmul, n=2, shapes=st.sampled_from(
    [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 1, 3), (2, 3, 2))]), gradgrad=True, name="matmul_gradgrad")
