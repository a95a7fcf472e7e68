"""gradcheck catches what a value comparison misses (rules writing into their incoming gradient, gradients
sharing memory with forward arrays), scales its tolerance to the rounding noise of finite differences, and
names the worst Jacobian entry when it fails."""
import importlib
import re

import numpy as np
import pytest

import autograd as ag
from autograd.gradcheck import GradcheckError

gc = importlib.import_module("autograd.gradcheck")  # the module: `autograd.gradcheck` is the function
rng = np.random.default_rng(1)


def caught(fn, inputs, **kw):
    """Both ways of failing: the exception (its message is returned) and False with raise_exception=False."""
    with pytest.raises(GradcheckError) as err:
        ag.gradcheck(fn, inputs, **kw)
    assert ag.gradcheck(fn, inputs, raise_exception=False, **kw) is False
    return str(err.value)


# ---- a backward that writes into its incoming gradient ---------------------------------------------------

class DoubleTimesInPlace(ag.Function):
    """2x whose backward doubles the incoming gradient in place: right on its own, wrong as soon as the
    same array also goes to another rule (add hands its gradient to both inputs)."""

    @staticmethod
    def forward(ctx, x):
        return 2.0 * x

    @staticmethod
    def backward(ctx, g):
        g *= 2.0
        return g


class ScaleIntoGrad(ag.Function):
    """x * c with np.multiply(..., out=g): the same mistake through a ufunc's out=."""

    @staticmethod
    def forward(ctx, x):
        return 3.0 * x

    @staticmethod
    def backward(ctx, g):
        return np.multiply(g, 3.0, out=g)


class ZeroTailIntoGrad(ag.Function):
    """x[:-1] padded with a 0 (the last element is dropped); the backward clears g's last element in place."""

    @staticmethod
    def forward(ctx, x):
        out = x.copy()
        out[-1] = 0.0
        return out

    @staticmethod
    def backward(ctx, g):
        g[-1] = 0.0
        return g


@pytest.mark.parametrize("op", [DoubleTimesInPlace, ScaleIntoGrad, ZeroTailIntoGrad])
def test_backward_writing_into_its_incoming_gradient_is_caught_and_named(op):
    x = rng.standard_normal(4)
    msg = caught(op.apply, [x])
    assert "modified its incoming gradient in place" in msg
    assert f"backward of {op.__name__.lower()}" in msg


def test_in_place_rule_buried_in_a_larger_function_is_caught_and_named():
    msg = caught(lambda x: ag.tanh(DoubleTimesInPlace.apply(x * 0.5)).sum() * 2.0, [rng.standard_normal((2, 3))])
    assert "backward of doubletimesinplace modified its incoming gradient" in msg


def test_the_in_place_rule_is_wrong_when_add_shares_its_gradient():
    """Why it matters: the gradient of DoubleTimesInPlace(x) + DoubleTimesInPlace(x) is 4 everywhere, but
    when add hands both rules one array the second doubles the first's result (the engine of this round
    gives 8). gradcheck names the cause rather than only the wrong value."""
    msg = caught(lambda x: DoubleTimesInPlace.apply(x) + DoubleTimesInPlace.apply(x), [rng.standard_normal(3)])
    assert "doubletimesinplace" in msg and "in place" in msg


class BufferReusingSquare(ag.Function):
    """x**2 whose backward writes into a buffer of its own (as sigmoid does): that is allowed."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        d = x * 2.0
        d *= g
        return d


@pytest.mark.parametrize("fn,inputs", [
    (BufferReusingSquare.apply, [rng.standard_normal((3, 2))]),
    (lambda x: ag.sigmoid(x) * x ** 2, [rng.standard_normal((3, 2))]),
    (lambda x: x[np.array([0, 2, 2, 1])] * 2.0, [rng.standard_normal(3)]),  # repeated index: add.at
    (lambda a, b: (a + b) * (a - b), [rng.standard_normal((2, 3)), rng.standard_normal(3)]),
    (lambda x: ag.where(x > 0, x, 0.5 * x).sum(axis=0), [rng.standard_normal((3, 2))]),
])
def test_rules_that_leave_their_incoming_gradient_alone_pass(fn, inputs):
    assert ag.gradcheck(fn, inputs) is True
    assert ag.gradcheck(fn, inputs, fast_mode=True) is True


# ---- a gradient that shares memory with an array of the forward pass --------------------------------------

class ExpReusingItsOutput(ag.Function):
    """exp whose backward writes the gradient into the output array it saved and returns it: the values are
    right, but the input's gradient is the output's memory (and the output changed)."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        out *= g
        return out


class DotWithScalarShortcut(ag.Function):
    """sum(x * w) whose backward skips the multiplication when the upstream gradient is 1 (loss.backward())
    and hands out the other input's own array: x.grad would change whenever w does."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return np.sum(x * w)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        if np.all(g == 1.0):
            return w, x
        return g * w, g * x


def test_gradient_sharing_memory_with_a_saved_output_is_caught():
    msg = caught(ExpReusingItsOutput.apply, [rng.standard_normal(3)])
    assert "shares memory with the output of expreusingitsoutput" in msg
    assert "backward of expreusingitsoutput passed to input 0" in msg


def test_gradient_that_is_another_inputs_data_is_caught_with_the_all_ones_upstream():
    msg = caught(DotWithScalarShortcut.apply, [rng.standard_normal(3), rng.standard_normal(3)])
    assert "backward of dotwithscalarshortcut passed to input 0 shares memory with the data of input 1" in msg


# ---- tolerance scaled to the rounding noise of finite differences -----------------------------------------

def _squared_product(scale, seed):
    r = np.random.default_rng(seed)
    return [r.standard_normal((2, 3)) * scale, r.standard_normal((3, 2)) * scale]


def squared_product(a, b):
    return ((a @ b) ** 2).sum()


@pytest.mark.parametrize("scale", [10.0, 100.0])
@pytest.mark.parametrize("fast_mode", [False, True])
def test_no_false_alarm_on_a_correct_function_with_large_values(scale, fast_mode):
    """((A @ B) ** 2).sum(), A 2x3 and B 3x2 scaled by 10 and 100. Verified by hand over 1,000 trials (seeds
    0..999) in both modes: 0 false alarms at either scale; the old fixed tolerance failed 1 (x10) and 12
    (x100) of them in full mode, 1 (x100) in fast mode. Here 200 trials plus seed 451, which hold the old
    failures 150 (x10), 45, 144, 150, 153 (x100) and 451 (x100, fast)."""
    failed = [s for s in [*range(200), 451] if not ag.gradcheck(squared_product, _squared_product(scale, s),
                                                                 seed=s, fast_mode=fast_mode,
                                                                 raise_exception=False)]
    assert failed == []


def test_without_the_noise_term_the_false_alarm_comes_back(monkeypatch):
    # The test above can fail: seed 150 at x10 is a false alarm for a tolerance blind to |f|.
    monkeypatch.setattr(gc, "NOISE", 0.0)
    assert not ag.gradcheck(squared_product, _squared_product(10.0, 150), seed=150, raise_exception=False)


def _matmul_off_by(factor):
    class MatMulOff(ag.Function):
        """a @ b whose backward is too large by `factor`."""

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a @ b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved
            return (g @ b.T) * factor, (a.T @ g) * factor
    return MatMulOff


@pytest.mark.parametrize("scale", [10.0, 100.0])
@pytest.mark.parametrize("error", [1e-3, 1e-4])
@pytest.mark.parametrize("fast_mode", [False, True])
def test_a_small_relative_error_in_a_rule_is_still_caught_at_large_values(scale, error, fast_mode):
    """A rule 0.1% or 0.01% too large is caught in every trial (measured over 1,000: an error of 2e-5 is
    still caught every time at x10 and x100 in full mode; 1e-5 is rtol and passes). A tolerance loose enough
    to let 0.01% through fails this test."""
    op = _matmul_off_by(1.0 + error)
    missed = [s for s in range(50) if ag.gradcheck(lambda a, b: (op.apply(a, b) ** 2).sum(),
                                                   _squared_product(scale, s), seed=s, fast_mode=fast_mode,
                                                   raise_exception=False)]
    assert missed == []


@pytest.mark.parametrize("scale", [1.0, 10.0, 100.0, 1000.0])
def test_noise_constant_has_room_over_the_measured_finite_difference_error(scale):
    """The finite differences' error, in units of ε·|f|/h, stays well below NOISE (measured: about 2)."""
    worst = 0.0
    for s in range(50):
        a, b = _squared_product(scale, s)
        exact = [2 * (a @ b) @ b.T, 2 * a.T @ (a @ b)]
        for k in (0, 1):
            (J,), (Z,) = gc._sweep(squared_product, [a, b], k, 1e-6)
            unit = Z[0] / gc.NOISE  # ε·max|f|/h per entry
            worst = max(worst, float(np.max(np.abs(J[0] - exact[k].reshape(-1)) / unit)))
    assert 0.1 < worst < gc.NOISE / 4


# ---- the report names the worst Jacobian entry ---------------------------------------------------------------

ENTRY = re.compile(r"output (\d+) index \(([\d, ]*)\), input (\d+) index \(([\d, ]*)\): "
                   r"analytic (\S+), numeric (\S+), abs error")


def entry(msg):
    m = ENTRY.search(msg)
    assert m, msg
    o, i, k, j, a, n = m.groups()
    idx = lambda s: tuple(int(v) for v in s.split(",") if v.strip())  # noqa: E731
    return int(o), idx(i), int(k), idx(j), float(a.rstrip(",")), float(n.rstrip(","))


class MatMulMissingTranspose(ag.Function):
    """a @ b with da = g @ b instead of g @ b.T."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return g @ b, a.T @ g


@pytest.mark.parametrize("fast_mode", [False, True])
def test_report_gives_the_worst_entry_of_the_jacobian_not_of_a_product(fast_mode):
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    msg = caught(MatMulMissingTranspose.apply, [a, b], fast_mode=fast_mode)
    assert "worst Jacobian entry" in msg
    o, (p, q), k, (r, s), analytic, numeric = entry(msg)
    # d(a @ b)[p, q] / d a[r, s] = [p == r] b[s, q]; the wrong rule gives [p == r] b[q, s]
    true = np.einsum("pr,sq->pqrs", np.eye(3), b)
    wrong = np.einsum("pr,qs->pqrs", np.eye(3), b)
    assert (o, k) == (0, 0)
    assert numeric == pytest.approx(true[p, q, r, s], abs=1e-6)
    assert analytic == pytest.approx(wrong[p, q, r, s], abs=1e-9)
    excess = np.abs(wrong - true) / (1e-7 + 1e-5 * np.abs(true))
    assert excess[p, q, r, s] >= 0.99 * excess.max()


class ScaledExp(ag.Function):
    """exp with a backward 0.1% too large."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.exp(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * np.exp(x) * 1.001


@pytest.mark.parametrize("shape,fast_mode", [((20, 20), False), ((100, 100), True), ((7,), True)])
def test_report_entry_is_a_real_jacobian_entry_for_many_outputs_and_fast_mode(shape, fast_mode):
    """The Jacobian of exp is diagonal with exp(x) on it: whichever entry is named (by bisection when there
    are too many outputs to take a backward each), it must be a diagonal one with exactly those values."""
    x = rng.standard_normal(shape)
    msg = caught(ScaledExp.apply, [x], fast_mode=fast_mode)
    o, i, k, j, analytic, numeric = entry(msg)
    assert i == j and (o, k) == (0, 0)
    assert numeric == pytest.approx(np.exp(x[j]), rel=1e-7)
    assert analytic == pytest.approx(1.001 * np.exp(x[j]), rel=1e-9)
