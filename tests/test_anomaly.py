"""detect_anomaly: the first NaN/inf of a forward or backward rule raises, naming the op and its origin."""
import inspect
import os

import numpy as np
import pytest

import autograd as ag

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")  # numpy's own nan/inf notes

HERE = os.path.basename(__file__)


def line_here() -> int:
    """The caller's line number."""
    return inspect.currentframe().f_back.f_lineno


def test_nan_in_forward_raises_naming_the_op():
    x = ag.tensor([1.0, -1.0], requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"log.*forward"):
            ag.log(x)
    assert np.isnan(ag.log(x).data[1])  # outside the block: no check, plain numpy semantics


def test_inf_in_forward_raises_even_without_requires_grad():
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match="div"):
            ag.tensor([1.0]) / ag.tensor([0.0])


def test_inf_in_backward_names_the_op_and_the_users_line():
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        y = ag.sqrt(x); line = line_here()  # noqa: E702  (the op and the line recorded together)
        assert np.all(np.isfinite(y.data))  # forward is fine: sqrt(0) = 0
        with pytest.raises(FloatingPointError) as err:
            y.sum().backward()
    msg = str(err.value)
    assert "sqrt" in msg and "backward" in msg
    assert HERE in msg and f"line {line}" in msg, msg


def test_operator_in_backward_points_at_the_users_line():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x ** 0.5); line = line_here()  # noqa: E702
        with pytest.raises(FloatingPointError) as err:
            (y * 2.0).sum().backward()
    msg = str(err.value)
    assert "pow" in msg and HERE in msg and f"line {line}" in msg, msg


class Recip(ag.Function):
    """1/x, a user op."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 1.0 / np.where(x == 0, 1.0, x)  # finite forward on purpose

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return -g / (x * x)


def test_custom_op_in_backward_points_at_the_users_line():
    x = ag.tensor([0.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        y = Recip.apply(x); line = line_here()  # noqa: E702
        with pytest.raises(FloatingPointError) as err:
            y.sum().backward()
    msg = str(err.value)
    assert "recip" in msg and HERE in msg and f"line {line}" in msg, msg


def test_without_anomaly_detection_non_finite_values_pass_silently():
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    ag.sqrt(x).sum().backward()
    assert np.isinf(x.grad.data[0]) and x.grad.data[1] == pytest.approx(0.25)


def test_detect_anomaly_as_decorator_and_mode_is_restored():
    @ag.detect_anomaly()
    def f(t):
        return ag.log(t)

    with pytest.raises(FloatingPointError, match="log"):
        f(ag.tensor([-1.0]))
    ag.log(ag.tensor([-1.0]))  # no longer checking


def test_finite_computation_is_unaffected():
    x = ag.tensor([0.5, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        (ag.log(x) * ag.sqrt(x)).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.sqrt(x.data) / x.data + np.log(x.data) / (2 * np.sqrt(x.data)))
