"""DNI (synthetic gradients): what reaches the layers below and when (whatever the place of zero_grad),
what the synthesizer learns from, finite-difference checks of its regression, and learning the true
gradient of a frozen network."""

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from nn import optim
from nn.utils import functional_call


def _randomise(dni, rng, std=0.3):
    with ag.no_grad():
        for p in dni.synthesizer.parameters():
            p.copy_(rng.normal(scale=std, size=p.shape))


def test_synthetic_gradient_is_exactly_zero_at_step_zero():
    rng = np.random.default_rng(0)
    layer = nn.Linear(5, 4, rng=rng)
    for dni in (nn.DNI(4, rng=rng), nn.DNI(4, conditioned_on=3, hidden=(8,), rng=rng)):
        x = rng.normal(size=(6, 5))
        ctx = F.one_hot(rng.integers(0, 3, 6), 3) if dni.conditioned_on else None
        layer.zero_grad()
        dni(layer(x), ctx)
        dni.backward()
        assert np.all(dni.synthetic_gradient(layer(x).detach(), ctx) == 0.0)
        assert np.all(layer.weight.grad.data == 0.0) and np.all(layer.bias.grad.data == 0.0)


def _setup(seed=1):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(5, 4, rng=rng)
    dni = nn.DNI(4, conditioned_on=2, scale=1.0, rng=rng)
    _randomise(dni, rng)
    x, ctx = rng.normal(size=(3, 5)), rng.normal(size=(3, 2))
    # Closed form: g_hat = [h, ctx] W^T + b; the layer's weight gets (g_hat * relu'(z))^T x.
    z = x @ layer.weight.data.T + layer.bias.data
    h = np.maximum(z, 0)
    w, b = dni.synthesizer[0].weight.data, dni.synthesizer[0].bias.data
    g_hat = np.concatenate([h, ctx], axis=1) @ w.T + b
    return layer, dni, x, ctx, h, (g_hat * (z > 0)).T @ x, (g_hat * (z > 0)).sum(0)


def test_the_synthetic_gradient_replaces_the_true_one_below():
    layer, dni, x, ctx, h, want_w, want_b = _setup()
    out = dni(ag.relu(layer(x)), ctx)
    assert layer.weight.grad is None  # nothing is sent before a backward
    (out * out).sum().backward()  # true gradient 2 h at the output; g_hat, not 2 h, goes below
    np.testing.assert_allclose(layer.weight.grad.data, want_w, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, want_b, rtol=1e-12)
    np.testing.assert_allclose(dni.true_gradient, 2 * h)


def test_backward_sends_the_synthetic_gradient_at_once_and_only_once():
    layer, dni, x, ctx, h, want_w, want_b = _setup()
    out = dni(ag.relu(layer(x)), ctx)
    dni.backward()  # update unlocking: the layer below has its gradient before anything above runs
    np.testing.assert_allclose(layer.weight.grad.data, want_w, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, want_b, rtol=1e-12)
    (out * out).sum().backward()  # the true gradient is still recorded, and nothing more goes below
    np.testing.assert_allclose(layer.weight.grad.data, want_w, rtol=1e-12)
    np.testing.assert_allclose(dni.true_gradient, 2 * h)
    with pytest.raises(RuntimeError, match="sent once"):
        dni.backward()


@pytest.mark.parametrize("zero_grad_after_forward", [False, True])
def test_zero_grad_before_or_after_the_forward_trains_the_layer_below_alike(zero_grad_after_forward):
    layer, dni, x, ctx, h, want_w, want_b = _setup()
    opt = optim.SGD(layer.parameters(), lr=0.5)
    w0, b0 = layer.weight.data.copy(), layer.bias.data.copy()
    (ag.relu(layer(x)) * 3.0).sum().backward()  # a stale gradient that zero_grad must clear either way
    if not zero_grad_after_forward:
        opt.zero_grad()
    out = dni(ag.relu(layer(x)), ctx)
    if zero_grad_after_forward:
        opt.zero_grad()  # PyTorch's usual order: forward, zero_grad, backward, step
    (out * out).sum().backward()
    opt.step()
    np.testing.assert_allclose(layer.weight.data, w0 - 0.5 * want_w, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.data, b0 - 0.5 * want_b, rtol=1e-12)
    assert np.abs(want_w).sum() > 0.1  # the layer really moved


def test_batch_scale_divides_the_prediction_by_the_batch_size():
    rng = np.random.default_rng(2)
    a, b = nn.DNI(3, scale="batch", rng=rng), nn.DNI(3, scale=1.0, rng=rng)
    _randomise(a, rng)
    b.load_state_dict(a.state_dict())
    h = rng.normal(size=(4, 3))
    np.testing.assert_allclose(a.synthetic_gradient(h) * 4, b.synthetic_gradient(h), rtol=1e-12)


@pytest.mark.parametrize("unlocked", [False, True])
def test_stacked_dnis_bootstrap_the_lower_target_from_the_upper_prediction(unlocked):
    rng = np.random.default_rng(3)
    l1, l2, l3 = nn.Linear(4, 5, rng=rng), nn.Linear(5, 6, rng=rng), nn.Linear(6, 3, rng=rng)
    d1, d2 = nn.DNI(5, scale=1.0, rng=rng), nn.DNI(6, scale=1.0, rng=rng)
    _randomise(d1, rng)
    _randomise(d2, rng)
    x, y = rng.normal(size=(7, 4)), rng.integers(0, 3, 7)
    a1 = ag.tanh(l1(x))
    h1 = d1(a1)
    if unlocked:
        d1.backward()
    z2 = h1.data @ l2.weight.data.T + l2.bias.data
    h2 = d2(ag.tanh(l2(h1)))
    if unlocked:
        d2.backward()  # d1's target arrives now: d2's prediction backpropagated through l2 and tanh
        assert d1.true_gradient is not None and d2.true_gradient is None
    loss = F.cross_entropy(l3(h2), y)
    h2_copy = ag.tensor(h2.data, requires_grad=True)
    (want,) = ag.grad(F.cross_entropy(l3(h2_copy), y), [h2_copy])
    loss.backward()
    np.testing.assert_allclose(d2.true_gradient, want.data, rtol=1e-12)
    g2_hat = d2.synthetic_gradient(h2.detach())
    np.testing.assert_allclose(d1.true_gradient, (g2_hat * (1 - np.tanh(z2) ** 2)) @ l2.weight.data, rtol=1e-12)
    # l1 learns from d1's prediction only; l2 from d2's; l3 from the loss
    g1 = d1.synthetic_gradient(a1.detach()) * (1 - a1.data ** 2)
    np.testing.assert_allclose(l1.weight.grad.data, g1.T @ x, rtol=1e-12)
    np.testing.assert_allclose(l2.weight.grad.data, (g2_hat * (1 - np.tanh(z2) ** 2)).T @ h1.data, rtol=1e-12)


def test_step_regresses_onto_the_true_gradient_with_its_own_optimizer():
    rng = np.random.default_rng(4)
    dni = nn.DNI(3, conditioned_on=2, hidden=(4,), optimizer=lambda ps: optim.SGD(ps, lr=0.1), scale=1.0, rng=rng)
    _randomise(dni, rng)
    h = ag.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    ctx, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    out = dni(h, ctx)
    (out * ag.tensor(target)).sum().backward()  # the true gradient at out is `target`
    params = list(dni.synthesizer.parameters())
    before = [p.data.copy() for p in params]
    names = [n for n, _ in dni.synthesizer.named_parameters()]
    inputs = np.concatenate([h.data, ctx], axis=1)

    def regression(*ps):
        return F.mse_loss(functional_call(dni.synthesizer, dict(zip(names, ps)), inputs), target)

    # The synthesizer's parameter gradients pass the gradient checker...
    assert ag.gradcheck(regression, before)
    expected_loss = float(regression(*[ag.tensor(b) for b in before]).data)
    ts = [ag.tensor(b, requires_grad=True) for b in before]
    grads = ag.grad(regression(*ts), ts)
    # ...and step() applies exactly that gradient with its own optimizer, reporting the same loss.
    assert dni.step() == pytest.approx(expected_loss, rel=1e-12)
    assert dni.last_loss == pytest.approx(expected_loss, rel=1e-12)
    for p, b, g in zip(params, before, grads):
        np.testing.assert_allclose(p.data, b - 0.1 * g.data, rtol=1e-12, atol=1e-15)
        assert p.grad is None  # nothing left for an outer optimizer holding these parameters


def _digits_split():
    from sklearn.datasets import load_digits
    d = load_digits()
    X, y = d.data / 16.0, d.target
    perm = np.random.default_rng(0).permutation(len(X))
    return X, y, perm[:1400], perm[1400:]


@pytest.mark.parametrize("conditioned, bound", [(True, 0.2), (False, 0.7)])
def test_synthesizer_alone_learns_the_true_gradient_of_a_frozen_network(conditioned, bound):
    X, y, tr, te = _digits_split()
    rng = np.random.default_rng(1)
    l1, l2, l3 = nn.Linear(64, 64, rng=rng), nn.Linear(64, 64, rng=rng), nn.Linear(64, 10, rng=rng)
    dni = nn.DNI(64, conditioned_on=10 if conditioned else 0, rng=rng)  # linear, Adam 1e-3
    ctx = (lambda idx: F.one_hot(y[idx], 10)) if conditioned else (lambda idx: None)

    def held_out_error():
        h = ag.relu(l1(X[te])).detach().requires_grad_()
        (g,) = ag.grad(F.cross_entropy(l3(ag.relu(l2(h))), y[te]), [h])
        g_hat = dni.synthetic_gradient(h, ctx(te))
        return float(((g_hat - g.data) ** 2).sum() / (g.data ** 2).sum())

    assert held_out_error() == 1.0
    w1 = l1.weight.data.copy()
    for _ in range(500):
        idx = rng.choice(tr, 32, replace=False)
        h = dni(ag.relu(l1(X[idx])), ctx(idx))
        F.cross_entropy(l3(ag.relu(l2(h))), y[idx]).backward()  # true gradient at h (no network update)
        dni.step()
    np.testing.assert_array_equal(l1.weight.data, w1)  # the network really is frozen
    assert held_out_error() <= bound


def test_identity_in_eval_mode_and_under_no_grad():
    rng = np.random.default_rng(5)
    dni = nn.DNI(3, rng=rng)
    h = ag.tensor(rng.normal(size=(2, 3)), requires_grad=True) * 2.0
    assert dni.eval()(h) is h
    dni.train()
    with ag.no_grad():
        h2 = ag.tensor(rng.normal(size=(2, 3))) * 2.0
        assert dni(h2) is h2


def test_bad_use_raises_clear_errors():
    rng = np.random.default_rng(6)
    dni, cdni = nn.DNI(3, rng=rng), nn.DNI(3, conditioned_on=2, rng=rng)
    h = ag.tensor(rng.normal(size=(4, 3)), requires_grad=True) * 1.0
    with pytest.raises(ValueError, match=r"h must have shape \(batch, 3\), got \(4, 2\)"):
        dni(ag.tensor(np.zeros((4, 2)), requires_grad=True))
    with pytest.raises(ValueError, match="context"):
        cdni(h)
    with pytest.raises(ValueError, match=r"context must have shape \(4, 2\)"):
        cdni(h, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="conditioned_on=0"):
        dni(h, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="scale"):
        nn.DNI(3, scale=0)
    with pytest.raises(RuntimeError, match="no forward"):
        dni.step()
    with pytest.raises(RuntimeError, match="nothing to send"):
        dni.backward()
    first = dni(h)
    with pytest.raises(RuntimeError, match="loss.backward"):
        dni.step()
    second = dni(h)  # a second forward before the first one's backward: the first is stale
    with pytest.raises(RuntimeError, match="earlier forward"):
        first.sum().backward()
    second.sum().backward()
    assert dni.step() >= 0.0
