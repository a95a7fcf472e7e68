"""gradcheck itself: it passes correct ops and, above all, catches realistic wrong backwards (meta-tests)."""
import re
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd.gradcheck import GradcheckError

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def assert_caught(fn, inputs, **kw):
    """Both modes of failing: an exception with a report, and False with raise_exception=False."""
    with pytest.raises(GradcheckError) as err:
        ag.gradcheck(fn, inputs, **kw)
    assert ag.gradcheck(fn, inputs, raise_exception=False, **kw) is False
    return str(err.value)


# ---- correct ops pass ---------------------------------------------------------------------------

CORRECT = [
    (lambda x: ag.exp(x) * ag.sin(x), [randn(3, 2)]),
    (lambda a, b: a @ b, [randn(3, 4), randn(4, 2)]),
    (lambda a, b: a * b + a / (b * b + 1.0), [randn(2, 1, 3), randn(4, 1)]),
    (lambda x: ag.tanh(x).sum(axis=0) ** 2, [randn(3, 4)]),
    (lambda x: x.reshape(2, 3).T[1:], [randn(6)]),
    (lambda x: (x.max(axis=1), x.mean()), [randn(3, 4)]),  # several outputs
]


@pytest.mark.parametrize("fn,inputs", CORRECT)
def test_correct_ops_pass(fn, inputs):
    assert ag.gradcheck(fn, inputs) is True


def test_constant_inputs_are_not_checked_but_used():
    x = randn(3)
    ints = np.array([0, 2, 2])
    c = ag.tensor(randn(3))  # a Tensor without requires_grad stays a constant
    assert ag.gradcheck(lambda x, i, c: x[i] * c, [x, ints, c])


# ---- meta-tests: wrong backwards must be caught ------------------------------------------------------

class ScaledExp(ag.Function):
    """exp with a backward off by a factor 1.001: a 0.1% error."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.exp(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * np.exp(x) * 1.001


class WrongSignSin(ag.Function):
    """sin whose backward has the sign of cos's derivative mixed in."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return -g * np.cos(x)


class RowSumWrongAxis(ag.Function):
    """Sum over axis 1; backward puts g back along the wrong axis (fits only because x is square)."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.sum(axis=1)

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(g[None, :], ctx.shape).copy()  # should be g[:, None]


class AddColumnTakesOneColumn(ag.Function):
    """x (n, k) + b (n, 1): b's gradient must be summed over the k columns it was broadcast to;
    this backward 'unbroadcasts' by taking the first column instead."""

    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g.copy(), g[:, :1].copy()


class AddColumnMeans(ag.Function):
    """Same op, unbroadcasting with a mean instead of a sum: right shape, right direction, wrong size."""

    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g.copy(), g.mean(axis=1, keepdims=True)


class MatMulMissingTranspose(ag.Function):
    """a @ b with da = g @ b (missing .T): shapes agree for square b, values do not."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return g @ b, a.T @ g


class MatMulWrongB(ag.Function):
    """a @ b with db = a @ g (a.T missing): only input 1 is wrong."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return g @ b.T, a @ g


class SquareOffByOne(ag.Function):
    """x**2 with a hand-written loop in backward that stops one element early: only the last one is wrong."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        out = np.zeros_like(x)
        for i in range(x.size - 1):
            out[i] = 2.0 * x[i] * g[i]
        return out


WRONG = [
    ("scaled by 1.001", ScaledExp.apply, [randn(2, 3)]),
    ("wrong sign", WrongSignSin.apply, [randn(4)]),
    ("wrong axis", RowSumWrongAxis.apply, [randn(3, 3)]),
    ("broadcast: one column", AddColumnTakesOneColumn.apply, [randn(3, 4), randn(3, 1)]),
    ("broadcast: mean", AddColumnMeans.apply, [randn(3, 4), randn(3, 1)]),
    ("missing transpose", MatMulMissingTranspose.apply, [randn(3, 3), randn(3, 3)]),
    ("one element", SquareOffByOne.apply, [randn(5)]),
]


@pytest.mark.parametrize("label,fn,inputs", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_backward_is_caught(label, fn, inputs):
    assert_caught(fn, inputs)


@pytest.mark.parametrize("label,fn,inputs", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_backward_inside_a_larger_function_is_caught(label, fn, inputs):
    # the bad op buried between correct ones still shows
    assert_caught(lambda *xs: ag.tanh(fn(*[x * 0.5 for x in xs])) * 2.0, inputs)


def test_report_names_input_worst_index_values_and_errors():
    msg = assert_caught(SquareOffByOne.apply, [np.array([0.3, -1.2, 0.7, 2.0, 1.5])])
    assert "input 0" in msg
    assert "worst Jacobian entry: output 0 index (4,), input 0 index (4,)" in msg
    assert "1 of 5 elements" in msg
    m = re.search(r"analytic (\S+), numeric (\S+), abs error (\S+), rel error (\S+)", msg)
    assert m, msg
    analytic, numeric, abs_err, rel_err = (float(v.rstrip(",")) for v in m.groups())
    assert analytic == 0.0  # the element the loop skipped
    assert abs(numeric) > 0.1 and abs_err == pytest.approx(abs(numeric), rel=1e-2)
    assert rel_err == pytest.approx(1.0, rel=1e-2)
    # small: both Jacobians are printed; the numeric one has 2 x_4 = 3.0 on its diagonal, the analytic 0
    assert "analytic Jacobian" in msg and "numeric Jacobian" in msg
    assert "3." in msg.split("numeric Jacobian")[1]


def test_report_names_the_wrong_input_only():
    msg = assert_caught(MatMulWrongB.apply, [randn(3, 3), randn(3, 3)])
    assert "input 1" in msg and "input 0" not in msg


def test_large_report_leaves_out_the_jacobians():
    msg = assert_caught(ScaledExp.apply, [randn(10, 10)])
    assert "worst Jacobian entry" in msg and "analytic Jacobian" not in msg


def test_float32_input_warns_and_is_checked_in_float64():
    x = randn(3).astype(np.float32)
    with pytest.warns(UserWarning, match="float32"):
        assert ag.gradcheck(lambda t: t * t, [x])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ag.gradcheck(lambda t: t * t, [x.astype(np.float64)])  # no warning for float64


# ---- invariants ----------------------------------------------------------------------------------

class InplaceRelu(ag.Function):
    """relu that clips its input array in place: the caller's data changes."""

    @staticmethod
    def forward(ctx, x):
        np.maximum(x, 0.0, out=x)
        ctx.save_for_backward(x)
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (x > 0)


def test_forward_that_mutates_its_input_is_caught():
    x = np.array([-1.0, 0.5, -0.25, 2.0])
    msg = assert_caught(InplaceRelu.apply, [x])
    assert "modified in place" in msg and "input 0" in msg
    np.testing.assert_array_equal(x, [-1.0, 0.5, -0.25, 2.0])  # gradcheck worked on a copy


class AddSharingGrads(ag.Function):
    """a + b whose backward hands out the upstream gradient itself and a view of it."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g.reshape(g.shape)


def test_backward_returning_views_of_the_upstream_gradient_never_leaks_shared_memory():
    # The math is right, so gradcheck passes; the sharing itself is caught by the engine, which copies
    # before handing a gradient out: no two results, nor a result and the upstream array, share memory.
    a, b = randn(2, 3), randn(2, 3)
    assert ag.gradcheck(AddSharingGrads.apply, [a, b])
    ta, tb = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    u = randn(2, 3)
    ga, gb = ag.grad(AddSharingGrads.apply(ta, tb), [ta, tb], u)
    assert not np.shares_memory(ga.data, gb.data)
    assert not np.shares_memory(ga.data, u) and not np.shares_memory(gb.data, u)
    AddSharingGrads.apply(ta, tb).backward(u)
    assert not np.shares_memory(ta.grad.data, tb.grad.data)
    assert not np.shares_memory(ta.grad.data, u) and not np.shares_memory(tb.grad.data, u)


# ---- fast mode -------------------------------------------------------------------------------------

def test_fast_mode_passes_a_correct_op_on_a_large_input():
    x = randn(100, 100)
    w = randn(100, 20)
    assert ag.gradcheck(lambda x, w: ag.tanh(x @ w).sum(axis=0) * 0.1, [x, w], fast_mode=True)


@pytest.mark.parametrize("fn,inputs", [
    (ScaledExp.apply, [randn(100, 100)]),
    (WrongSignSin.apply, [randn(10_000)]),
    (MatMulMissingTranspose.apply, [randn(60, 60), randn(60, 60)]),
])
def test_fast_mode_catches_a_wrong_backward_on_a_large_input(fn, inputs):
    with pytest.raises(GradcheckError, match="fast_mode"):
        ag.gradcheck(fn, inputs, fast_mode=True)


# ---- gradgradcheck -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fn,inputs", [
    (lambda x: ag.tanh(x) * ag.sin(x), [randn(4)]),
    (lambda a, b: (a @ b) ** 2, [randn(2, 3), randn(3, 2)]),
    (lambda x: ag.softmax(x, axis=-1), [randn(2, 3)]),
    (lambda x: ag.exp(x).sum() / (x * x + 1.0), [randn(3)]),
])
def test_gradgradcheck_passes_correct_ops(fn, inputs):
    assert ag.gradgradcheck(fn, inputs) is True


class CubeSavesSquare(ag.Function):
    """x**3 whose backward uses x**2 computed in forward: a raw array, not an input, so under
    create_graph it is a constant and the second derivative comes out as 0 instead of 6x g."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x * x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x2,) = ctx.saved
        return g * 3.0 * x2


def test_first_order_right_second_order_wrong_is_caught_by_gradgradcheck_only():
    x = randn(4)
    assert ag.gradcheck(CubeSavesSquare.apply, [x])
    with pytest.raises(GradcheckError):
        ag.gradgradcheck(CubeSavesSquare.apply, [x])
    assert ag.gradgradcheck(CubeSavesSquare.apply, [x], raise_exception=False) is False
