"""The fast paths of the eager engine give the same answers as the plain ones: gradient buffers reused between
steps (never while anything else can see them), gradients stored without a copy only when nothing can alias them,
the fused linear op and the fused cross-entropy. No timing here: speed is measured by examples/benchmark.py."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

rng = np.random.default_rng(0)


def _layer(n_in=300, n_out=100):
    # 100 x 300 float64 = 240 kB: large enough for the engine to keep its gradient buffer
    w = ag.tensor(rng.standard_normal((n_out, n_in)) * 0.1, requires_grad=True)
    b = ag.tensor(rng.standard_normal(n_out) * 0.1, requires_grad=True)
    return w, b


def _step(x, w, b):
    loss = (F.linear(x, w, b) ** 2).sum()
    loss.backward()
    y = x @ w.data.T + b.data
    return 2 * y.T @ x, 2 * y.sum(axis=0)  # closed-form dW, db


def test_weight_gradient_buffer_is_reused_between_steps_and_stays_right():
    w, b = _layer()
    ids = []
    for _ in range(4):
        x = rng.standard_normal((8, 300))
        dw, db = _step(x, w, b)
        np.testing.assert_allclose(w.grad.data, dw, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b.grad.data, db, rtol=1e-12, atol=1e-12)
        ids.append(id(w.grad.data))
        w.grad = b.grad = None
    assert ids[2] == ids[3]  # the fast path is taken once the layer is trained repeatedly


@pytest.mark.parametrize("hold", ["tensor", "array", "view"])
def test_a_gradient_someone_still_holds_is_never_overwritten(hold):
    w, b = _layer()
    for _ in range(3):
        _step(rng.standard_normal((8, 300)), w, b)
        w.grad = b.grad = None
    _step(rng.standard_normal((8, 300)), w, b)
    kept = {"tensor": lambda g: g, "array": lambda g: g.data, "view": lambda g: g.data[:5]}[hold](w.grad)
    before = np.array(getattr(kept, "data", kept), copy=True)
    w.grad = b.grad = None
    _step(rng.standard_normal((8, 300)), w, b)
    np.testing.assert_array_equal(getattr(kept, "data", kept), before)
    assert not np.shares_memory(w.grad.data, getattr(kept, "data", kept))


def test_a_gradient_array_saved_by_a_graph_is_never_overwritten():
    w, b = _layer()
    for _ in range(3):
        _step(rng.standard_normal((8, 300)), w, b)
        w.grad = b.grad = None
    _step(rng.standard_normal((8, 300)), w, b)
    old = w.grad.data
    expected = old.copy()
    q = ag.tensor(np.ones_like(old), requires_grad=True)
    later = (q * old).sum()  # mul saved `old` for q's gradient
    del old
    w.grad = b.grad = None
    _step(rng.standard_normal((8, 300)), w, b)
    later.backward()
    np.testing.assert_array_equal(q.grad.data, expected)


def test_shared_weight_used_twice_gets_the_sum_of_both_uses():
    w, _ = _layer()
    for _ in range(3):
        x1, x2 = rng.standard_normal((4, 300)), rng.standard_normal((5, 300))
        (F.linear(x1, w).sum() + 2.0 * F.linear(x2, w).sum()).backward()
        expected = np.ones((100, 4)) @ x1 + 2.0 * np.ones((100, 5)) @ x2
        np.testing.assert_allclose(w.grad.data, expected, rtol=1e-12, atol=1e-12)
        w.grad = None


def test_reuse_keeps_backward_failure_atomic():
    w, b = _layer()
    for _ in range(3):
        _step(rng.standard_normal((8, 300)), w, b)
        w.grad = b.grad = None
    _step(rng.standard_normal((8, 300)), w, b)
    g_w, g_b = w.grad, b.grad
    w.grad = None  # w's buffer is free again; b keeps its .grad
    x = ag.tensor(rng.standard_normal((8, 300)), requires_grad=True)
    x.register_hook(lambda g: (_ for _ in ()).throw(RuntimeError("hook failed")))
    with pytest.raises(RuntimeError, match="hook failed"):
        (F.linear(x, w, b) ** 2).sum().backward()
    assert w.grad is None and b.grad is g_b and g_w is not None


def test_gradients_with_create_graph_and_anomaly_are_unchanged_by_the_fast_path():
    w, b = _layer(30, 20)
    x = rng.standard_normal((3, 30))
    for mode in ("plain", "anomaly", "create_graph"):
        for _ in range(3):
            if mode == "anomaly":
                with ag.detect_anomaly():
                    dw, db = _step(x, w, b)
            elif mode == "create_graph":
                (F.linear(x, w, b) ** 2).sum().backward(create_graph=True)
                y = x @ w.data.T + b.data
                dw, db = 2 * y.T @ x, 2 * y.sum(axis=0)
            else:
                dw, db = _step(x, w, b)
            np.testing.assert_allclose(w.grad.data, dw, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(b.grad.data, db, rtol=1e-12, atol=1e-12)
            w.grad = b.grad = None


def test_stored_gradients_never_alias_each_other_inputs_or_upstream():
    a = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = ag.tensor(rng.standard_normal((1, 3)), requires_grad=True)  # its gradient is a reshaped sum
    c = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    g = rng.standard_normal((4, 3))
    (a + b + c).backward(g)
    np.testing.assert_array_equal(a.grad.data, g)
    np.testing.assert_allclose(b.grad.data, g.sum(axis=0, keepdims=True))
    arrays = [a.grad.data, b.grad.data, c.grad.data, g, a.data, b.data, c.data]
    for i, p in enumerate(arrays):
        for q in arrays[i + 1:]:
            assert not np.shares_memory(p, q)


def test_linear_forward_keeps_numpys_result_dtype():
    x = np.ones((2, 3), dtype=np.float32)
    w = ag.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    assert F.linear(x, w, np.ones(4, dtype=np.float32)).dtype == np.float32
    assert F.linear(x, w, np.ones(4)).dtype == np.float64  # as x @ w.T + b in numpy
    out = F.linear(np.ones(3), w, np.ones((2, 4)))  # a bias that broadcasts the output up
    np.testing.assert_array_equal(out.data, np.full((2, 4), 4.0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_cross_entropy_matches_the_closed_form(reduction):
    logits = rng.standard_normal((6, 5)) * 3
    target = rng.integers(0, 5, 6)
    x = ag.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, target, reduction=reduction)
    (loss.sum() if reduction == "none" else loss).backward()
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    picked = -logp[np.arange(6), target]
    expected = {"mean": picked.mean(), "sum": picked.sum(), "none": picked}[reduction]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-13)
    grad = np.exp(logp)
    grad[np.arange(6), target] -= 1.0
    np.testing.assert_allclose(x.grad.data, grad / 6 if reduction == "mean" else grad, rtol=1e-12, atol=1e-15)
    assert ag.gradgradcheck(lambda z: F.cross_entropy(z, target, reduction=reduction), [logits])


def test_fused_cross_entropy_is_exact_for_huge_logits_and_leading_axes():
    x = ag.tensor(np.array([[1e15, 1e15, 0.0], [1e300, 0.0, 1e300]]), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 2]))
    loss.backward()
    np.testing.assert_allclose(loss.data, np.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0.0, atol=1e-16)
    logits = rng.standard_normal((2, 3, 4))
    target = rng.integers(0, 4, (2, 3))
    assert ag.gradcheck(lambda z: F.cross_entropy(z, target), [logits])


def test_training_with_the_fast_paths_learns():
    from nn import optim

    model = nn.Sequential(nn.Linear(64, 300), nn.ReLU(), nn.Linear(300, 3))
    opt = optim.SGD(model.parameters(), lr=0.05)
    x = rng.standard_normal((60, 64))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    losses = []
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
