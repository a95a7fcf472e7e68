"""Optimizers against updates computed by hand on small problems; state dicts; schedules; bad settings."""
import numpy as np
import pytest

import nn
from nn import optim


def _quadratic_steps(opt_cls, n, p0=(1.0, -2.0), **kw):
    """Minimise 0.5 * |p|^2 (gradient = p) for n steps; return the parameter after each step."""
    p = nn.Parameter(np.array(p0))
    opt = opt_cls([p], **kw)
    out = []
    for _ in range(n):
        opt.zero_grad()
        (0.5 * (p * p).sum()).backward()
        opt.step()
        out.append(p.data.copy())
    return out


def test_sgd_plain():
    p1, p2 = _quadratic_steps(optim.SGD, 2, lr=0.1)
    np.testing.assert_allclose(p1, [0.9, -1.8])
    np.testing.assert_allclose(p2, [0.81, -1.62])


def test_sgd_momentum():
    # step 1: b = g = [1, -2], p = [0.9, -1.8]; step 2: b = 0.9 [1, -2] + [0.9, -1.8] = [1.8, -3.6]
    p1, p2 = _quadratic_steps(optim.SGD, 2, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(p1, [0.9, -1.8])
    np.testing.assert_allclose(p2, [0.72, -1.44])


def test_sgd_nesterov():
    # step 1: b = [1, -2], step = g + 0.9 b = [1.9, -3.8], p = [0.81, -1.62]
    # step 2: b = 0.9 [1, -2] + [0.81, -1.62] = [1.71, -3.42], step = [0.81 + 1.539, -1.62 - 3.078]
    p1, p2 = _quadratic_steps(optim.SGD, 2, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(p1, [0.81, -1.62])
    np.testing.assert_allclose(p2, [0.81 - 0.2349, -1.62 + 0.4698])


def test_sgd_weight_decay():
    # gradient of sum(p) is 1; with decay 0.5 it becomes 1 + 0.5 p = [1.5, 0]
    p = nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([p], lr=0.1, weight_decay=0.5)
    p.sum().backward()
    opt.step()
    np.testing.assert_allclose(p.data, [0.85, -2.0])


def test_adam_two_steps():
    p1, p2 = _quadratic_steps(optim.Adam, 2, lr=0.1)
    # step 1: m_hat = g, v_hat = g^2, so each coordinate moves by lr * sign(g)
    np.testing.assert_allclose(p1, [0.9, -1.9], rtol=1e-7)
    # step 2 on coordinate 0: g = 0.9; m = 0.09 * 1 + 0.1 * 0.9 = 0.18, v = 0.000999 + 0.00081 = 0.001809
    m_hat, v_hat = 0.18 / (1 - 0.9 ** 2), 0.001809 / (1 - 0.999 ** 2)
    # (the hand values ignore eps in step 1)
    np.testing.assert_allclose(p2[0], 0.9 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-7)
    # coordinate 1: g = -1.9; m = 0.09 * -2 + 0.1 * -1.9 = -0.37, v = 0.999 * 0.004 + 0.001 * 3.61
    m_hat, v_hat = -0.37 / 0.19, (0.003996 + 0.00361) / (1 - 0.999 ** 2)
    np.testing.assert_allclose(p2[1], -1.9 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-7)


def test_adam_weight_decay_enters_the_gradient():
    # g = 1 + 1.0 * p = [2, -1] at p = [1, -2]; the first Adam step moves by lr * sign(g)
    p = nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.Adam([p], lr=0.1, weight_decay=1.0)
    p.sum().backward()
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, -1.9], rtol=1e-7)


def test_rmsprop_two_steps_constant_gradient():
    p = nn.Parameter(np.array([1.0, -2.0]))
    c = np.array([2.0, -0.5])
    opt = optim.RMSprop([p], lr=0.01, alpha=0.99)
    for _ in range(2):
        opt.zero_grad()
        (p * c).sum().backward()
        opt.step()
    # v1 = 0.01 c^2 -> step 0.01 c / (0.1 |c|) = 0.1 sign(c); v2 = 0.0199 c^2 -> 0.01 / sqrt(0.0199) sign(c)
    expected = np.array([1.0, -2.0]) - (0.1 + 0.01 / np.sqrt(0.0199)) * np.sign(c)
    np.testing.assert_allclose(p.data, expected, rtol=1e-7)


def test_rmsprop_momentum():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.RMSprop([p], lr=0.01, alpha=0.99, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (3.0 * p).sum().backward()
        opt.step()
    s1, s2 = 1 / np.sqrt(0.01), 1 / np.sqrt(0.0199)  # g / sqrt(v) on each step (|g| cancels)
    np.testing.assert_allclose(p.data, [1.0 - 0.01 * s1 - 0.01 * (0.5 * s1 + s2)], rtol=1e-7)


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1), lambda ps: optim.RMSprop(ps)])
def test_parameters_without_grad_are_skipped(make):
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = make([a, b])
    (a * a).sum().backward()
    opt.step()
    assert not np.allclose(a.data, 1.0)
    np.testing.assert_array_equal(b.data, 1.0)
    assert 1 not in opt.state


def test_in_place_update_and_scalar_and_float32_parameters():
    w = nn.Parameter(np.ones(3))
    data = w.data
    s = nn.Parameter(np.float64(2.0))
    h = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = optim.SGD([w, s, h], lr=0.5)
    (w.sum() + s * s + h.sum()).backward()
    opt.step()
    assert w.data is data  # arrays are updated in place
    np.testing.assert_allclose(w.data, 0.5)
    assert s.data == 0.0 and np.ndim(s.data) == 0
    assert h.data.dtype == np.float32


def _train(opt, p, steps):
    for _ in range(steps):
        opt.zero_grad()
        ((p - 3.0) ** 2).sum().backward()
        opt.step()


@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.1)),
                                     (optim.RMSprop, dict(lr=0.01, momentum=0.3))])
def test_state_dict_round_trip_through_a_file(tmp_path, cls, kw):
    a = nn.Parameter(np.array([0.0, 1.0]))
    opt_a = cls([a], **kw)
    _train(opt_a, a, 3)
    nn.save(opt_a, tmp_path / "opt.npz")
    b = nn.Parameter(a.data.copy())
    opt_b = cls([b], lr=123.0)  # a different lr: loading must restore the saved one
    opt_b.load_state_dict(nn.load(tmp_path / "opt.npz"))
    assert opt_b.lr == kw["lr"]
    _train(opt_a, a, 2)
    _train(opt_b, b, 2)
    np.testing.assert_array_equal(a.data, b.data)


def test_optimizer_load_state_dict_refuses_mismatch():
    p = nn.Parameter(np.zeros(2))
    opt = optim.Adam([p], lr=0.1)
    _train(opt, p, 1)
    sd = opt.state_dict()
    sd["state.0.exp_avg"] = np.zeros(5)
    sd["lr"] = 7.0
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"exp_avg.*shape \(5,\)"):
        opt.load_state_dict(sd)
    assert opt.lr == 0.1 and np.array_equal(opt.state[0]["exp_avg"], before["state.0.exp_avg"])
    sd = opt.state_dict()
    sd["state.3.exp_avg"] = np.zeros(2)
    with pytest.raises(ValueError, match="'state.3.exp_avg' refers to parameter 3, the optimizer has 1"):
        opt.load_state_dict(sd)


def test_bad_settings_are_refused():
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p * 2], lr=0.1)


def test_zero_grad():
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.1)
    p.sum().backward()
    opt.zero_grad()
    assert p.grad is None


def test_step_lr_and_exponential_lr():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]
    opt2 = optim.Adam([nn.Parameter(np.zeros(1))], lr=0.1)
    sched2 = optim.ExponentialLR(opt2, gamma=0.9)
    sched2.step()
    sched2.step()
    assert opt2.lr == pytest.approx(0.081)
    state = sched2.state_dict()
    sched3 = optim.ExponentialLR(optim.Adam([nn.Parameter(np.zeros(1))], lr=0.1), gamma=0.9)
    sched3.load_state_dict(state)
    assert sched3.get_last_lr() == pytest.approx(0.081)
