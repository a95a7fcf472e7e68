"""Losses: finite-difference gradients, the closed forms (softmax - one-hot) / N, values, stability, errors."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

rng = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_integer_targets(reduction):
    y = np.array([0, 2, 1, 2])
    assert ag.gradcheck(lambda z: F.cross_entropy(z, y, reduction), [rng.normal(size=(4, 3))])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_probability_targets(reduction):
    t = _softmax(rng.normal(size=(4, 3)))
    assert ag.gradcheck(lambda z, t: F.cross_entropy(z, t, reduction), [rng.normal(size=(4, 3)), t])


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_batch():
    z = ag.tensor(rng.normal(size=(5, 4)), requires_grad=True)
    y = np.array([3, 0, 1, 1, 2])
    F.cross_entropy(z, y).backward()
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(z.grad.data, (_softmax(z.data) - onehot) / 5, atol=1e-12)
    z.grad = None
    nn.CrossEntropyLoss(reduction="sum")(z, y).backward()
    np.testing.assert_allclose(z.grad.data, _softmax(z.data) - onehot, atol=1e-12)


def test_cross_entropy_value_and_target_forms_agree():
    z = rng.normal(size=(3, 5))
    y = np.array([4, 0, 2])
    expected = -np.log(_softmax(z)[np.arange(3), y])
    np.testing.assert_allclose(F.cross_entropy(z, y, "none").data, expected)
    np.testing.assert_allclose(F.cross_entropy(z, y).data, expected.mean())
    np.testing.assert_allclose(F.cross_entropy(z, F.one_hot(y, 5)).data, expected.mean())
    # a single example: 1-d logits with a scalar class
    np.testing.assert_allclose(F.cross_entropy(z[0], np.int64(4)).data, expected[0])


def test_cross_entropy_stable_for_huge_logits():
    z = ag.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    assert F.cross_entropy(z, np.array([0, 1])).item() == 0.0
    loss = F.cross_entropy(z, np.array([1, 0]))
    np.testing.assert_allclose(loss.item(), 2000.0)
    loss.backward()
    np.testing.assert_allclose(z.grad.data, [[0.5, -0.5], [-0.5, 0.5]])


def test_cross_entropy_errors():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        F.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        F.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        F.cross_entropy(z, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(z, np.array([0, 1, 2]), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradcheck_and_closed_form(reduction):
    x, t = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    assert ag.gradcheck(lambda x, t: F.mse_loss(x, t, reduction), [x, t])
    xt = ag.tensor(x, requires_grad=True)
    nn.MSELoss()(xt, t).backward()
    np.testing.assert_allclose(xt.grad.data, 2 * (x - t) / x.size)


def test_mse_refuses_broadcasting_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        F.mse_loss(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_gradcheck(reduction):
    p = rng.uniform(0.05, 0.95, size=(3, 4))
    t = rng.uniform(size=(3, 4))
    assert ag.gradcheck(lambda p, t: F.binary_cross_entropy(p, t, reduction), [p, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck(reduction):
    z, t = rng.normal(size=(3, 4)) * 3, rng.uniform(size=(3, 4))
    assert ag.gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction), [z, t])


def test_bce_with_logits_closed_form_and_agreement():
    z = ag.tensor(rng.normal(size=(6, 1)), requires_grad=True)
    t = rng.integers(0, 2, size=(6, 1)).astype(float)
    loss = nn.BCEWithLogitsLoss()(z, t)
    s = 1 / (1 + np.exp(-z.data))
    np.testing.assert_allclose(loss.item(), np.mean(-(t * np.log(s) + (1 - t) * np.log(1 - s))))
    np.testing.assert_allclose(nn.BCELoss()(ag.sigmoid(z), t).item(), loss.item())
    loss.backward()
    np.testing.assert_allclose(z.grad.data, (s - t) / 6)


def test_bce_extremes_are_finite():
    z = ag.tensor([1000.0, -1000.0, 1000.0], requires_grad=True)
    t = np.array([0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(z, t, "none")
    np.testing.assert_allclose(loss.data, [1000.0, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.data, [1.0, 0.0, 0.0], atol=1e-300)
    # probabilities of exactly 0 and 1: the log is clamped at -100, as in PyTorch
    np.testing.assert_allclose(F.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]), "none").data,
                               [100.0, 100.0])


def test_bce_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.binary_cross_entropy(np.array([1.5]), np.array([1.0]))


def test_nll_of_log_softmax_is_cross_entropy():
    z = ag.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    y = np.array([2, 0, 1, 1])
    np.testing.assert_allclose(nn.NLLLoss()(nn.LogSoftmax()(z), y).item(), F.cross_entropy(z, y).item())
    assert ag.gradcheck(lambda z: F.nll_loss(F.log_softmax(z), y), [z.data])


def test_loss_module_reduction_validated_and_repr():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    assert F.one_hot(np.array([[1], [0]]), 2).shape == (2, 1, 2)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(np.array([0.5]), 3)


_PROBS = _softmax(rng.normal(size=(4, 3)))
LOSS_CASES = [
    (nn.MSELoss, F.mse_loss, rng.normal(size=(4, 3)), rng.normal(size=(4, 3))),
    (nn.CrossEntropyLoss, F.cross_entropy, rng.normal(size=(4, 3)), np.array([0, 2, 1, 1])),
    (nn.NLLLoss, F.nll_loss, np.log(_PROBS), np.array([1, 0, 2, 2])),
    (nn.BCELoss, F.binary_cross_entropy, _PROBS, rng.uniform(size=(4, 3))),
    (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits, rng.normal(size=(4, 3)), rng.uniform(size=(4, 3))),
]


@pytest.mark.parametrize("module, fn, x, t", LOSS_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_loss_module_is_its_functional_with_its_reduction(module, fn, x, t, reduction):
    got = module(reduction=reduction)(x, t).data
    np.testing.assert_array_equal(got, fn(x, t, reduction).data)
    per_item = fn(x, t, "none").data
    want = {"mean": per_item.mean(), "sum": per_item.sum(), "none": per_item}[reduction]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.shape(got) == np.shape(want)
