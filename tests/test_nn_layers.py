"""Layers: gradients against finite differences or closed forms, initialisation, dropout, stability."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

rng = np.random.default_rng(0)


def test_functional_linear_gradcheck():
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)  # W is (out, in)
    assert ag.gradcheck(F.linear, [x, W, b])
    assert ag.gradcheck(lambda x, W: F.linear(x, W), [x, W])
    assert ag.gradgradcheck(F.linear, [x, W, b])
    # leading axes (time, batch) and a single example
    assert ag.gradcheck(F.linear, [rng.normal(size=(2, 4, 3)), W, b])
    assert ag.gradcheck(F.linear, [rng.normal(size=3), W, b])
    with pytest.raises(ValueError, match=r"weight must be 2-d.*\(3,\)"):
        F.linear(x, np.ones(3))


def test_linear_module_matches_closed_form_gradients():
    lin = nn.Linear(3, 2, rng=np.random.default_rng(1))
    x = rng.normal(size=(5, 3))
    u = rng.normal(size=(5, 2))
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)  # PyTorch's (out_features, in_features)
    y = lin(x)
    np.testing.assert_allclose(y.data, x @ lin.weight.data.T + lin.bias.data)
    (y * u).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.data, u.T @ x)
    np.testing.assert_allclose(lin.bias.grad.data, u.sum(axis=0))


def test_linear_by_hand():
    lin = nn.Linear(3, 2)
    lin.load_state_dict({"weight": np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]), "bias": np.array([0.5, -2.0])})
    y = lin(np.array([[1.0, 1.0, 2.0]]))
    np.testing.assert_array_equal(y.data, [[1 + 2 + 6 + 0.5, 0 - 1 + 1 - 2.0]])


def test_linear_applies_to_leading_axes():
    lin = nn.Linear(3, 2, rng=np.random.default_rng(4))
    x = rng.normal(size=(4, 5, 3))
    np.testing.assert_allclose(lin(x).data, np.einsum("tbi,oi->tbo", x, lin.weight.data) + lin.bias.data)


def test_linear_names_itself_and_its_features_on_a_wrong_input():
    lin = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=2.*4 features.*\(2, 3\)"):
        lin(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"4 features.*shape \(\)"):
        lin(ag.tensor(1.0))


def test_linear_module_gradient_wrt_input_gradcheck():
    lin = nn.Linear(3, 2, rng=np.random.default_rng(1))
    assert ag.gradcheck(lin, [rng.normal(size=(4, 3))])


def test_linear_without_bias_and_bad_sizes():
    lin = nn.Linear(3, 2, bias=False)
    assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="unknown initialiser 'bogus'"):
        nn.Linear(2, 2, init="bogus")


def test_glorot_default_init_bounds_and_spread():
    lin = nn.Linear(300, 200, rng=np.random.default_rng(2))
    a = np.sqrt(6 / 500)
    w = lin.weight.data
    assert w.shape == (200, 300) and np.all(np.abs(w) <= a)
    assert abs(w.std() - a / np.sqrt(3)) < 0.02 * a  # uniform on [-a, a] has std a / sqrt(3)
    assert np.all(lin.bias.data == 0)


def test_he_init_spread():
    # fan_in is in_features = 400, the weight's second axis in the (out, in) layout
    w = nn.Linear(400, 300, init="he", rng=np.random.default_rng(3)).weight.data
    assert w.shape == (300, 400)
    assert abs(w.std() - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)
    assert abs(w.mean()) < 0.01 * np.sqrt(2 / 400) * 10


def test_init_is_reproducible_from_rng_and_global_seed():
    w1 = nn.Linear(4, 3, rng=np.random.default_rng(7)).weight.data
    w2 = nn.Linear(4, 3, rng=np.random.default_rng(7)).weight.data
    np.testing.assert_array_equal(w1, w2)
    nn.init.seed(11)
    g1 = nn.Linear(4, 3).weight.data
    nn.init.seed(11)
    g2 = nn.Linear(4, 3).weight.data
    g3 = nn.Linear(4, 3).weight.data
    np.testing.assert_array_equal(g1, g2)
    assert not np.array_equal(g2, g3)


def test_custom_init_function():
    seen = []
    lin = nn.Linear(2, 3, init=lambda shape, rng: seen.append(shape) or np.full(shape, 0.5))
    assert seen == [(3, 2)]
    np.testing.assert_array_equal(lin.weight.data, np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(3, 2\)"):
        nn.Linear(2, 3, init=lambda shape, rng: np.zeros((2, 3)))  # an (in, out) array is refused


def test_init_fans_follow_the_out_in_layout():
    g = np.random.default_rng(0)
    w = nn.init.he_normal((50, 2000), g)  # fan_in 2000
    assert abs(w.std() - np.sqrt(2 / 2000)) < 0.05 * np.sqrt(2 / 2000)
    conv = nn.init.glorot_uniform((8, 4, 3, 3), g)  # (out, in, kh, kw): fans 4*9 and 8*9
    assert np.abs(conv).max() <= np.sqrt(6 / (36 + 72)) and np.abs(conv).max() > 0.9 * np.sqrt(6 / (36 + 72))


@pytest.mark.parametrize("layer", [nn.Sigmoid(), nn.Tanh(), nn.Softmax(), nn.LogSoftmax(), nn.Softmax(axis=0),
                                   nn.LogSoftmax(axis=0), nn.Identity(), nn.Flatten()])
def test_activation_gradcheck(layer):
    assert ag.gradcheck(layer, [rng.normal(size=(3, 4))])


def test_relu_gradcheck_away_from_kink():
    x = rng.normal(size=(3, 4))
    x[np.abs(x) < 0.1] = 0.5
    assert ag.gradcheck(nn.ReLU(), [x])


@pytest.mark.parametrize("fn", [F.sigmoid, F.relu, F.tanh, F.softmax, F.log_softmax])
def test_functional_activations_gradcheck(fn):
    x = rng.normal(size=(2, 5))
    x[np.abs(x) < 0.1] = 0.3
    assert ag.gradcheck(fn, [x])


@pytest.mark.parametrize("layer", [nn.Sigmoid(), nn.Tanh(), nn.Softmax(), nn.LogSoftmax()])
def test_activations_finite_at_extremes(layer):
    x = ag.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], requires_grad=True)
    y = layer(x)
    assert np.all(np.isfinite(y.data))
    (y * np.arange(6.0).reshape(2, 3)).sum().backward()
    assert np.all(np.isfinite(x.grad.data))


def test_log_softmax_extreme_values_are_right():
    y = nn.LogSoftmax()(np.array([[1000.0, -1000.0]])).data
    np.testing.assert_allclose(y, [[0.0, -2000.0]])


def test_flatten_shapes():
    x = ag.tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0)(x).shape == (24,)


def test_dropout_train_and_eval():
    x = ag.tensor(np.ones((200, 50)), requires_grad=True)
    drop = nn.Dropout(0.25, rng=np.random.default_rng(0))
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.75)  # the gradient is the same mask and scale
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, 0.0)
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_dropout_follows_module_mode():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    x = np.ones((4, 3))
    model.eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
