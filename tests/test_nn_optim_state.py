"""Optimizer and schedule state from elsewhere: load_state_dict checks everything first and changes nothing
on failure; constructors and attribute assignment hold hyperparameters to the same rules; zero_grad."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optim


def _trained(cls, n_params=2, steps=2, **kw):
    ps = [nn.Parameter(np.linspace(-1, 1, 3) + k) for k in range(n_params)]
    opt = cls(ps, **kw)
    for _ in range(steps):
        opt.zero_grad()
        sum(((p - 3.0) ** 2).sum() for p in ps).backward()
        opt.step()
    return opt


def _snapshot(opt):
    return {k: np.array(v, copy=True) for k, v in opt.state_dict().items()}


def _unchanged(opt, before):
    after = opt.state_dict()
    return list(after) == list(before) and all(np.array_equal(after[k], before[k]) for k in before)


MAKERS = {"sgd": (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)), "adam": (optim.Adam, dict(lr=0.1)),
          "rmsprop": (optim.RMSprop, dict(lr=0.01, momentum=0.5))}


def _refused(opt, state, pattern):
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=pattern):
        opt.load_state_dict(state)
    assert _unchanged(opt, before)


# ---- load_state_dict ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MAKERS)
def test_state_for_a_different_number_of_parameters_is_refused(name):
    cls, kw = MAKERS[name]
    two, three = _trained(cls, 2, **kw), _trained(cls, 3, **kw)
    _refused(three, two.state_dict(), "state is for 2 parameters, this optimizer has 3.*nothing was loaded")
    _refused(two, three.state_dict(), "state is for 3 parameters, this optimizer has 2")


@pytest.mark.parametrize("src, dst", [("sgd", "adam"), ("adam", "rmsprop"), ("rmsprop", "sgd"), ("adam", "sgd")])
def test_state_from_another_optimizer_class_is_refused_and_step_still_works(src, dst):
    other = _trained(MAKERS[src][0], **MAKERS[src][1])
    opt = _trained(MAKERS[dst][0], **MAKERS[dst][1])
    _refused(opt, other.state_dict(), rf"state of a {type(other).__name__} optimizer, not of {type(opt).__name__}")
    opt.step()  # no KeyError: the state it kept is its own


@pytest.mark.parametrize("name, buffer", [("adam", "exp_avg"), ("adam", "exp_avg_sq"), ("adam", "step"),
                                          ("sgd", "momentum_buffer"), ("rmsprop", "square_avg"),
                                          ("rmsprop", "momentum_buffer")])
def test_a_missing_buffer_is_refused(name, buffer):
    opt = _trained(MAKERS[name][0], **MAKERS[name][1])
    state = opt.state_dict()
    del state[f"state.1.{buffer}"]
    _refused(opt, state, rf"parameter 1: missing buffer\(s\) '{buffer}'")


@pytest.mark.parametrize("buffer, value, complaint", [
    ("exp_avg", np.array([np.nan, 0.0, 0.0]), "NaN or inf"),
    ("exp_avg", np.array([np.inf, 0.0, 0.0]), "NaN or inf"),
    ("exp_avg_sq", np.array([-1.0, 0.0, 0.0]), "negative"),  # its square root would be NaN
    ("exp_avg", np.zeros(4), r"shape \(4,\), the parameter has shape \(3,\)"),
    ("exp_avg", np.array(["a", "b", "c"]), "dtype <U1"),
    ("exp_avg", np.zeros(3, dtype=complex), "dtype complex128"),
    ("step", np.array(-1), ">= 0"),
    ("step", np.array(2.5), "integer"),
    ("step", np.zeros(3, dtype=int), "integer"),
])
def test_bad_buffers_are_refused_and_parameters_stay_finite(buffer, value, complaint):
    opt = _trained(optim.Adam, lr=0.1)
    twin = _trained(optim.Adam, lr=0.1)
    state = opt.state_dict()
    state[f"state.0.{buffer}"] = value
    _refused(opt, state, rf"'state.0.{buffer}'.*{complaint}")
    for o in (opt, twin):  # the refused optimizer steps exactly like one that never saw the bad state
        for p in o.params:
            p.grad = ag.Tensor(np.ones(3))
        o.step()
    for p, q in zip(opt.params, twin.params):
        assert np.all(np.isfinite(p.data))
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("name, key, value, complaint", [
    ("adam", "lr", -5.0, "lr must be >= 0"),
    ("adam", "lr", np.nan, "lr must be finite"),
    ("adam", "lr", "0.01", "lr must be a real number"),
    ("adam", "betas", np.array([1.5, 2.0]), r"betas must be in \[0, 1\)"),
    ("adam", "betas", np.array([0.9]), "betas must be two numbers"),
    ("adam", "eps", -1e-8, "eps must be >= 0"),
    ("sgd", "momentum", np.inf, "momentum must be finite"),
    ("sgd", "nesterov", np.array(2.0), "nesterov must be True or False"),
    ("rmsprop", "alpha", 1.0, r"alpha must be in \[0, 1\)"),
    ("rmsprop", "weight_decay", -0.1, "weight_decay must be >= 0"),
])
def test_invalid_hyperparameters_are_refused(name, key, value, complaint):
    opt = _trained(MAKERS[name][0], **MAKERS[name][1])
    state = opt.state_dict()
    state[key] = value
    _refused(opt, state, complaint)


def test_hyperparameters_that_do_not_go_together_are_refused():
    opt = _trained(optim.SGD, lr=0.1, momentum=0.9, nesterov=True)
    state = opt.state_dict()
    state["momentum"] = 0.0
    _refused(opt, state, "nesterov=True needs momentum > 0")


def test_missing_malformed_and_unexpected_keys():
    opt = _trained(optim.Adam, lr=0.1)
    _refused(opt, {}, "missing 'num_params'")
    for key in ("num_params", "params_with_state"):
        state = opt.state_dict()
        del state[key]
        _refused(opt, state, f"missing '{key}'")
    state = opt.state_dict()
    del state["betas"]
    _refused(opt, state, "missing hyperparameter.*'betas'")
    for bad, complaint in [([0, 0], r"hold distinct .*got \[0, 0\]"), ([0, 5], r"hold distinct indices in \[0, 2\)"),
                           ([[0]], "be a list of"), (np.array([0.5]), "be a list of")]:
        state = opt.state_dict()
        state["params_with_state"] = np.array(bad)
        _refused(opt, state, "params_with_state must " + complaint)
    state = opt.state_dict()
    state["params_with_state"] = np.array([0])  # parameter 1's buffers are then unaccounted for
    _refused(opt, state, "parameter 1 has buffers but is not among 'params_with_state'")
    for bad in ["state.x.exp_avg", "state.01.exp_avg", "state.0", "state.-1.exp_avg"]:
        state = opt.state_dict()
        state[bad] = np.zeros(3)
        _refused(opt, state, "malformed key")
    state = opt.state_dict()
    state["momentum"] = 0.5
    _refused(opt, state, "unexpected key.*'momentum'")
    state = opt.state_dict()
    state["state.0.momentum_buffer"] = np.zeros(3)
    _refused(opt, state, "Adam keeps no buffer named 'momentum_buffer'")
    with pytest.raises(TypeError, match="expected a mapping"):
        opt.load_state_dict([("lr", 0.1)])


@pytest.mark.parametrize("name", MAKERS)
def test_a_valid_state_is_adopted_whole(tmp_path, name):
    cls, kw = MAKERS[name]
    src = _trained(cls, **kw)
    nn.save(src, tmp_path / "opt.npz")
    dst = _trained(cls, steps=5, lr=0.5)  # different lr, momentum and buffers
    dst.load_state_dict(nn.load(tmp_path / "opt.npz"))
    assert _unchanged(dst, src.state_dict())
    assert isinstance(dst.lr, float) and dst.lr == kw["lr"]


def test_momentum_state_without_buffers_is_accepted_when_momentum_is_zero():
    opt = _trained(optim.SGD, lr=0.1)  # no momentum: no buffers at all
    other = _trained(optim.SGD, lr=0.2, momentum=0.9)
    other.load_state_dict(opt.state_dict())
    assert other.momentum == 0.0 and other.state == {0: {}, 1: {}}


# ---- constructors and assignment ---------------------------------------------------------------------
@pytest.mark.parametrize("make, error, complaint", [
    (lambda ps: optim.Adam(ps, lr=float("nan")), ValueError, "Adam: lr must be finite"),
    (lambda ps: optim.Adam(ps, lr="0.01"), TypeError, "Adam: lr must be a real number, got str"),
    (lambda ps: optim.Adam(ps, lr=True), TypeError, "Adam: lr must be a real number, got bool"),
    (lambda ps: optim.Adam(ps, lr=None), TypeError, "Adam: lr must be a real number"),
    (lambda ps: optim.Adam(ps, betas=(1.5, 2)), ValueError, r"Adam: betas must be in \[0, 1\), got 1.5"),
    (lambda ps: optim.Adam(ps, betas=(0.9,)), ValueError, "Adam: betas must be two numbers"),
    (lambda ps: optim.Adam(ps, betas="ab"), ValueError, "Adam: betas must be two numbers"),
    (lambda ps: optim.Adam(ps, eps=-1.0), ValueError, "Adam: eps must be >= 0"),
    (lambda ps: optim.SGD(ps, lr=float("inf")), ValueError, "SGD: lr must be finite"),
    (lambda ps: optim.SGD(ps, lr=-5), ValueError, "SGD: lr must be >= 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov="yes"), TypeError, "SGD: nesterov must be True or False"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0, nesterov=True), ValueError, "SGD: nesterov=True needs momentum"),
    (lambda ps: optim.RMSprop(ps, alpha=1.0), ValueError, r"RMSprop: alpha must be in \[0, 1\)"),
    (lambda ps: optim.RMSprop(ps, weight_decay=-1e-4), ValueError, "RMSprop: weight_decay must be >= 0"),
])
def test_constructors_validate_hyperparameters(make, error, complaint):
    with pytest.raises(error, match=complaint):
        make([nn.Parameter(np.zeros(2))])


def test_constructors_store_canonical_values():
    opt = optim.Adam([nn.Parameter(np.zeros(2))], lr=np.float32(0.5), betas=[0.5, np.float64(0.25)], eps=0)
    assert type(opt.lr) is float and opt.betas == (0.5, 0.25) and type(opt.eps) is float
    assert optim.SGD([nn.Parameter(np.zeros(2))], lr=1, nesterov=np.bool_(False)).nesterov is False


def test_assigning_a_hyperparameter_is_checked_too():
    opt = optim.Adam([nn.Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="Adam: lr must be >= 0"):
        opt.lr = -1.0
    with pytest.raises(TypeError, match="Adam: lr must be a real number"):
        opt.lr = "fast"
    assert opt.lr == 0.1
    opt.betas = [0.5, 0.5]
    assert opt.betas == (0.5, 0.5)


# ---- the optimizer protocol --------------------------------------------------------------------------
class _SignDescent(optim.Optimizer):
    """p -= lr * sign(g): declares only lr (no weight decay, no buffers)."""

    hyperparameters = {"lr": optim.optimizer._checks.nonnegative}

    def __init__(self, params, lr=0.1):
        super().__init__(params, lr=lr)

    def _delta(self, g, x, st):
        return self.lr * np.sign(g)


def test_a_new_optimizer_declares_only_what_it_uses():
    p = nn.Parameter(np.array([1.0, -2.0, 0.5]))
    opt = _SignDescent([p], lr=0.25)
    (p * np.array([3.0, -1.0, 0.0])).sum().backward()
    opt.step()
    np.testing.assert_array_equal(p.data, [0.75, -1.75, 0.5])
    state = opt.state_dict()
    assert list(state) == ["num_params", "params_with_state", "lr"] and state["lr"] == 0.25
    assert state["num_params"] == 1 and state["params_with_state"].tolist() == [0]
    _refused(opt, optim.SGD([nn.Parameter(np.zeros(3))], lr=0.1).state_dict(),
             "state of a SGD optimizer, not of _SignDescent")
    with pytest.raises(TypeError, match="must declare an 'lr'"):
        type("NoLR", (optim.Optimizer,), {"hyperparameters": {}})


@pytest.mark.parametrize("name", MAKERS)
def test_every_parameter_write_goes_through_the_tracked_in_place_api(name):
    # Each step bumps each updated parameter's version exactly once (the in-place API counts writes), and
    # the parameter object and its array stay the same ones (updated in place, never rebound).
    opt = _trained(MAKERS[name][0], n_params=3, steps=1, **MAKERS[name][1])
    arrays = [p.data for p in opt.params]
    before = [p._version for p in opt.params]
    for p in opt.params:
        p.grad = ag.tensor(np.ones_like(p.data))
    opt.step()
    assert [p._version for p in opt.params] == [v + 1 for v in before]
    assert all(p.data is a for p, a in zip(opt.params, arrays))


def test_a_step_between_forward_and_backward_is_caught():
    # The optimizer writes through the tracked in-place API, so backward notices a parameter the graph
    # saved was changed under it, instead of computing a wrong gradient.
    w = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * np.array([3.0, 4.0]) * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# ---- zero_grad ---------------------------------------------------------------------------------------
def test_zero_grad_sets_to_none_by_default_and_zeroes_in_place_when_asked():
    w, s, unused = nn.Parameter(np.ones(3)), nn.Parameter(np.float64(2.0)), nn.Parameter(np.ones(2))
    opt = optim.SGD([w, s, unused], lr=0.1)
    (w.sum() * 3.0 + s * s).backward()
    opt.zero_grad()
    assert w.grad is None and s.grad is None and unused.grad is None
    (w.sum() * 3.0 + s * s).backward()
    gw = w.grad
    arr = gw.data
    opt.zero_grad(set_to_none=False)
    assert w.grad is gw and w.grad.data is arr and np.array_equal(arr, np.zeros(3))
    assert s.grad.data == 0.0 and unused.grad is None
    (w.sum() * 3.0 + s * s).backward()  # accumulates onto the zeros: the fresh gradient exactly
    np.testing.assert_array_equal(w.grad.data, [3.0, 3.0, 3.0])
    assert s.grad.data == 4.0


def test_zero_grad_in_place_leaves_a_create_graph_gradient_graph_alone():
    w = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)
    (w * w * w).sum().backward(create_graph=True)
    g = w.grad
    saved = np.array(g.data, copy=True)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.data, 0.0)
    assert w.grad is not g and w.grad.grad_fn is None
    np.testing.assert_array_equal(g.data, saved)  # the second-order graph still holds 3 w^2


# ---- schedules ---------------------------------------------------------------------------------------
def _sched(cls=optim.StepLR, **kw):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    s = cls(opt, **(kw or ({"step_size": 2, "gamma": 0.5} if cls is optim.StepLR else {"gamma": 0.9})))
    for _ in range(3):
        s.step()
    return s


def _sched_refused(s, state, pattern):
    before, lr = s.state_dict(), s.optimizer.lr
    with pytest.raises(ValueError, match=pattern):
        s.load_state_dict(state)
    assert s.state_dict() == before and s.optimizer.lr == lr


def test_step_lr_load_state_dict_of_nothing_is_a_clear_error():
    s = _sched()
    _sched_refused(s, {}, r"StepLR.load_state_dict: missing key\(s\) 'base_lr', 'last_epoch', 'step_size', "
                          r"'gamma'.*nothing was loaded")


@pytest.mark.parametrize("key, value, complaint", [
    ("base_lr", -1.0, "base_lr must be >= 0"), ("base_lr", np.nan, "base_lr must be finite"),
    ("last_epoch", -1, "last_epoch must be >= 0"), ("last_epoch", 2.5, "last_epoch must be an integer"),
    ("step_size", 0, "step_size must be >= 1"), ("gamma", 0.0, "gamma must be > 0"),
    ("gamma", "0.5", "gamma must be a real number"), ("extra", 1, r"unexpected key\(s\) 'extra'"),
])
def test_schedule_state_is_checked(key, value, complaint):
    s = _sched()
    state = s.state_dict()
    state[key] = value
    _sched_refused(s, state, complaint)


def test_a_schedule_state_whose_lr_overflows_is_refused():
    s = _sched(optim.ExponentialLR, gamma=0.9)
    _sched_refused(s, {"base_lr": 1.0, "last_epoch": 10**6, "gamma": 10.0}, "restored lr")


def test_a_step_to_an_invalid_lr_changes_nothing():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1e300)
    s = optim.ExponentialLR(opt, gamma=1e10)
    with pytest.raises(ValueError, match="lr"):
        s.step()
    assert s.last_epoch == 0 and opt.lr == 1e300


def test_schedule_state_round_trips_through_a_file(tmp_path):
    s = _sched(optim.StepLR, step_size=2, gamma=0.5)
    nn.save(s, tmp_path / "sched.npz")
    t = _sched(optim.StepLR, step_size=5, gamma=0.1)
    t.load_state_dict(nn.load(tmp_path / "sched.npz"))
    assert (t.step_size, t.gamma, t.last_epoch, t.base_lr) == (2, 0.5, 3, 1.0)
    assert t.optimizer.lr == 0.5
    t.step()
    assert t.optimizer.lr == 0.25  # epoch 4 of step_size 2: gamma ** 2


@pytest.mark.parametrize("make, error, complaint", [
    (lambda o: optim.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be >= 1"),
    (lambda o: optim.StepLR(o, step_size=2.5), TypeError, "StepLR: step_size must be an integer"),
    (lambda o: optim.StepLR(o, step_size=2, gamma=-0.1), ValueError, "StepLR: gamma must be > 0"),
    (lambda o: optim.ExponentialLR(o, gamma=math.nan), ValueError, "ExponentialLR: gamma must be finite"),
    (lambda o: optim.ExponentialLR("not an optimizer", gamma=0.5), TypeError, "expected an Optimizer"),
])
def test_schedule_constructors_validate(make, error, complaint):
    with pytest.raises(error, match=complaint):
        make(optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0))
