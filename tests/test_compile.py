"""ag.compile: replays give exactly what eager execution gives (the same training, side by side), on the three
workloads it is built for and on the situations a recording must handle or refuse."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd.compile import CompileError, CompileWarning, compile
from nn import optim


def _same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b))


def _run_both(make, batches, steps=None):
    """Train two identical setups, one eagerly and one compiled, on the same batches; return the per-step
    losses of each and the two setups (model, optimizer, step function)."""
    out = []
    for compiled in (False, True):
        model, opt, fn = make()
        step = compile(fn) if compiled else fn
        losses = [step(*b).item() for b in batches]
        out.append((losses, model, opt, step))
    return out


def _assert_same_state(m1, m2):
    for (n, p), q in zip(m1.named_parameters(), m2.parameters()):
        assert _same(p.data, q.data), n
        assert (p.grad is None) == (q.grad is None), n
        if p.grad is not None:
            assert _same(p.grad.data, q.grad.data), n


# ---- the three workloads ----------------------------------------------------------------------------
def _seed_mlp(loss="mse", lr=0.1):
    def make():
        rng = np.random.default_rng(0)
        layers = []
        for a, b in [(24, 128), (128, 64), (64, 12)]:
            layers += [nn.Linear(a, b, bias=False, rng=rng), nn.Sigmoid()]
        model = nn.Sequential(*layers)
        opt = optim.SGD(model.parameters(), lr=lr)

        def step(x, y):
            out = model(x)
            value = 0.5 * F.mse_loss(out, y, reduction="sum") if loss == "mse" else F.binary_cross_entropy(out, y)
            opt.zero_grad()
            value.backward()
            opt.step()
            return value
        return model, opt, step
    return make


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_seed_mlp_replays_bit_for_bit(loss):
    rng = np.random.default_rng(1)
    x, y = rng.random((60, 24)), (rng.random((60, 12)) > 0.5).astype(float)
    batches = [(x[i:i + 10], y[i:i + 10]) for i in range(0, 60, 10)] * 3
    (le, me, _, _), (lc, mc, _, step) = _run_both(_seed_mlp(loss), batches)
    assert le == lc
    assert le[-1] < le[0]  # it trains
    _assert_same_state(me, mc)
    assert step.recordings == 1


def test_mnist_size_mlp_replays_bit_for_bit():
    rng = np.random.default_rng(2)
    x, labels = rng.random((256, 784)), rng.integers(0, 10, 256)

    def make():
        r = np.random.default_rng(3)
        model = nn.Sequential(nn.Linear(784, 256, rng=r), nn.ReLU(), nn.Linear(256, 128, rng=r), nn.ReLU(),
                              nn.Linear(128, 10, rng=r))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(xb, yb):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    batches = [(x[:128], labels[:128]), (x[128:], labels[128:])] * 2
    (le, me, _, _), (lc, mc, _, _) = _run_both(make, batches)
    assert le == lc
    _assert_same_state(me, mc)


def _scalar_demo(points):
    """micrograd's demo from 0-d tensors (2-16-16-1 ReLU, hinge + L2), the whole step compiled."""
    from sklearn.datasets import make_moons
    x, y01 = make_moons(n_samples=points, noise=0.1, random_state=0)
    data = [([float(v) for v in xi], 2.0 * yi - 1.0) for xi, yi in zip(x, y01)]

    def make():
        rng = np.random.default_rng(0)
        layers = [[([ag.tensor(float(w), requires_grad=True) for w in rng.uniform(-1, 1, a)],
                    ag.tensor(0.0, requires_grad=True)) for _ in range(b)] for a, b in [(2, 16), (16, 16), (16, 1)]]
        params = [p for layer in layers for ws, b in layer for p in ws + [b]]
        opt = optim.SGD(params, lr=1.0)

        def step():
            losses = []
            for xi, yi in data:
                act = xi
                for depth, layer in enumerate(layers):
                    nxt = []
                    for ws, b in layer:
                        s = b
                        for w, a in zip(ws, act):
                            s = s + w * a
                        nxt.append(s.relu() if depth < 2 else s)
                    act = nxt
                losses.append((1 + -yi * act[0]).relu())
            total = losses[0]
            for v in losses[1:]:
                total = total + v
            reg = params[0] * params[0]
            for p in params[1:]:
                reg = reg + p * p
            total = total * (1.0 / len(losses)) + reg * 1e-4
            opt.zero_grad()
            total.backward()
            opt.step()
            return total
        return params, opt, step
    return make


def test_scalar_demo_replays_bit_for_bit_with_a_schedule():
    make = _scalar_demo(8)
    results = []
    for compiled in (False, True):
        params, opt, fn = make()
        step = compile(fn) if compiled else fn
        losses = []
        for k in range(5):
            opt.lr = 1.0 - 0.9 * k / 5  # set outside the compiled step: replays read the current value
            losses.append(step().item())
        results.append((losses, [p.data for p in params], [p.grad.data for p in params]))
    assert results[0][0] == results[1][0]
    assert all(_same(a, b) for a, b in zip(results[0][1], results[1][1]))
    assert all(_same(a, b) for a, b in zip(results[0][2], results[1][2]))
    assert results[0][0][-1] < results[0][0][0]


# ---- optimizers with state, schedules, signatures ------------------------------------------------------
@pytest.mark.parametrize("opt_kw", [dict(cls=optim.SGD, lr=0.05, momentum=0.9),
                                    dict(cls=optim.SGD, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                                    dict(cls=optim.SGD, lr=0.05, weight_decay=1e-2),
                                    dict(cls=optim.Adam, lr=1e-2), dict(cls=optim.RMSprop, lr=1e-2)])
def test_optimizers_with_state_replay_exactly(opt_kw):
    kw = dict(opt_kw)
    cls = kw.pop("cls")

    def make():
        model = nn.Sequential(nn.Linear(5, 8, rng=np.random.default_rng(4)), nn.Tanh(),
                              nn.Linear(8, 1, rng=np.random.default_rng(5)))
        opt = cls(model.parameters(), **kw)

        def step(x, y):
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    rng = np.random.default_rng(6)
    batches = [(rng.random((7, 5)), rng.random((7, 1))) for _ in range(6)]
    (le, me, oe, _), (lc, mc, oc, _) = _run_both(make, batches)
    assert le == lc
    _assert_same_state(me, mc)
    se, sc = oe.state_dict(), oc.state_dict()
    assert se.keys() == sc.keys() and all(_same(se[k], sc[k]) for k in se)


def test_a_new_signature_records_again_and_an_old_one_is_replayed():
    (model, opt, fn) = _seed_mlp()()
    step = compile(fn)
    rng = np.random.default_rng(7)
    x, y = rng.random((20, 24)), rng.random((20, 12))
    step(x[:10], y[:10])
    step(x[:10], y[:10])
    step(x[:5], y[:5])
    step(x[:10], y[:10])
    assert step.recordings == 2


def test_outputs_are_new_tensors_every_call():
    (model, opt, fn) = _seed_mlp()()
    step = compile(fn)
    rng = np.random.default_rng(8)
    x, y = rng.random((10, 24)), rng.random((10, 12))
    kept = [step(x, y) for _ in range(4)]
    values = [k.item() for k in kept]
    assert len(set(values)) == 4  # each call's loss, not the last one four times
    assert all(not k.requires_grad for k in kept)


def test_gradients_handed_out_are_not_overwritten_later():
    (model, opt, fn) = _seed_mlp()()
    step = compile(fn)
    rng = np.random.default_rng(9)
    x, y = rng.random((10, 24)), rng.random((10, 12))
    step(x, y)
    step(x, y)
    w = model[0].weight
    g = w.grad
    saved = g.data.copy()
    step(x, y)
    assert _same(g.data, saved) and not _same(w.grad.data, saved)


# ---- what a recording must detect, refuse or handle -------------------------------------------------------
def _tiny():
    w = ag.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, name="w")
    opt = optim.SGD([w], lr=0.1)
    return w, opt


def test_a_value_dependent_branch_is_checked_and_followed():
    w, opt = _tiny()

    def fn(x):
        y = (w * x).sum()
        z = y * 2.0 if y.item() > 0 else y * -3.0  # a branch on a value: checked before each replay
        opt.zero_grad()
        z.backward()
        opt.step()
        return z
    eager_w, eager_opt = _tiny()

    def eager(x):
        y = (eager_w * x).sum()
        z = y * 2.0 if y.item() > 0 else y * -3.0
        eager_opt.zero_grad()
        z.backward()
        eager_opt.step()
        return z
    step = compile(fn)
    for x in [np.ones(3), np.ones(3), -np.ones(3), -np.ones(3), np.ones(3)]:
        assert step(x).item() == eager(x).item()
        assert _same(w.data, eager_w.data)
    assert step.recordings >= 3  # the branch changed twice, each change recorded again


def test_item_after_the_update_runs_eagerly_with_a_warning():
    w, opt = _tiny()

    def fn(x):
        loss = (w * x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()  # too late to check before anything changed
        return loss
    step = compile(fn)
    with pytest.warns(CompileWarning, match="after the function changed state"):
        step(np.ones(3))
    before = w.data.copy()
    step(np.ones(3))
    assert _same(w.data, before - 0.1)  # still right: eager


def test_writing_a_parameter_through_data_is_refused():
    w, _ = _tiny()

    def fn(x):
        loss = (w * x).sum()
        loss.backward()
        w.data -= 0.1 * w.grad.data  # invisible to the recording: a replay would not update w
        w.grad = None
        return loss
    with pytest.raises(CompileError, match="through `.data`"):
        compile(fn)(np.ones(3))


def test_returning_a_python_number_is_refused():
    w, _ = _tiny()
    with pytest.raises(CompileError, match="returns tensors"):
        compile(lambda x: (w * x).sum().data)(np.ones(3))


def test_backward_twice_raises_as_in_eager_and_nothing_is_recorded():
    w, _ = _tiny()

    def fn(x):
        loss = (w * w * x).sum()
        loss.backward()
        loss.backward()
        return loss
    step = compile(fn)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="second time"):
            step(np.ones(3))


def test_backward_twice_with_retain_graph_accumulates_as_in_eager():
    def make():
        w, _ = _tiny()

        def fn(x):
            w.grad = None if False else w.grad
            loss = (w * w * x).sum()
            loss.backward(retain_graph=True)
            loss.backward()
            return loss
        return w, fn
    (we, fe), (wc, fc) = make(), make()
    fc = compile(fc)
    for x in [np.ones(3), np.full(3, 2.0)]:
        we.grad = wc.grad = None  # cleared outside the compiled function
        fe(x), fc(x)
        assert _same(we.grad.data, wc.grad.data) and _same(we.grad.data, 4 * we.data * x)


def test_setting_a_hyperparameter_inside_is_refused():
    w, opt = _tiny()

    def fn(x):
        opt.lr = 0.5
        loss = (w * x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    with pytest.raises(CompileError, match="set it outside"):
        compile(fn)(np.ones(3))


def test_gradients_cleared_behind_the_recording_are_detected():
    w, opt = _tiny()

    def fn(x):
        loss = (w * x).sum()
        loss.backward()
        w.grad = None  # after the backward: the recording cannot see this, a replay would leave the gradient
        return loss
    with pytest.raises(CompileError, match="cleared by code the recording cannot see"):
        compile(fn)(np.ones(3))

    def fn2(x):
        w.grad = None  # before anything touches w: found when the first replay starts, before it changes anything
        loss = (w * x).sum()
        loss.backward()
        opt.step()
        return loss
    step = compile(fn2)
    step(np.ones(3))
    before = w.data.copy()
    with pytest.raises(CompileError, match="Nothing was changed"):
        step(np.ones(3))
    assert _same(w.data, before)


def test_gradients_left_from_the_last_call_stop_a_replay_before_it_changes_anything():
    w, opt = _tiny()

    def fn(x):  # no zero_grad: eager code would accumulate into the last call's gradient
        loss = (w * x).sum()
        loss.backward()
        return loss
    step = compile(fn)
    step(np.ones(3))
    before = w.grad.data.copy()
    with pytest.raises(CompileError, match="Nothing was changed"):
        step(np.ones(3))
    assert _same(w.grad.data, before)
    w.grad = None
    step(np.full(3, 2.0))  # cleared outside: replays fine
    assert _same(w.grad.data, np.full(3, 2.0))


def test_hooks_make_the_signature_run_eagerly_with_a_warning():
    w, opt = _tiny()
    seen = []
    w.register_hook(lambda g: seen.append(g.data.copy()))

    def fn(x):
        loss = (w * x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    step = compile(fn)
    with pytest.warns(CompileWarning, match="hook"):
        step(np.ones(3))
    step(np.full(3, 2.0))
    assert len(seen) == 2 and _same(seen[1], np.full(3, 2.0))


def test_a_temporary_modified_in_place_starts_afresh_each_call():
    w, _ = _tiny()

    def fn(x):
        acc = ag.zeros(3)
        with ag.no_grad():
            acc += x
            acc *= 2.0
        return (w * acc).sum()
    step = compile(fn)
    for v in [1.0, 2.0, 3.0]:
        assert step(np.full(3, v)).item() == pytest.approx(2 * v * 1.5)


def test_a_persistent_buffer_modified_in_place_accumulates_as_in_eager():
    w, _ = _tiny()
    running = ag.zeros(3)

    def fn(x):
        with ag.no_grad():
            running.mul_(0.5)
            running.add_(x)
        return (w * running).sum()
    step = compile(fn)
    expected = np.zeros(3)
    for v in [1.0, 2.0, 3.0, 4.0]:
        expected = expected * 0.5 + v
        out = step(np.full(3, v))
        assert _same(running.data, expected) and out.item() == (w.data * expected).sum()


def test_an_input_that_requires_grad_gets_its_gradient():
    w = np.array([0.5, -1.0, 2.0])
    step = compile(lambda x: (x * x * w).sum().backward())
    for v in [1.0, 2.0, 3.0]:
        x = ag.tensor(np.full(3, v), requires_grad=True)
        step(x)
        assert _same(x.grad.data, (x.data + x.data) * w)


def test_nested_compiled_functions_record_as_one():
    w, opt = _tiny()
    inner = compile(lambda x: (w * x).sum())

    def fn(x):
        loss = inner(x) * 2.0
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    step = compile(fn)
    ref = w.data.copy()
    for v in [1.0, 2.0]:
        step(np.full(3, v))
        ref = ref - 0.1 * np.full(3, 2 * v)
    assert np.allclose(w.data, ref, rtol=0, atol=1e-15) and inner.recordings == 0


def test_ag_grad_inside_runs_eagerly_with_a_warning():
    w, _ = _tiny()
    step = compile(lambda x: ag.grad((w * x).sum(), w)[0])
    with pytest.warns(CompileWarning, match="ag.grad"):
        step(np.ones(3))
    assert _same(step(np.full(3, 2.0)).data, np.full(3, 2.0))


def test_arguments_of_other_kinds_are_refused():
    with pytest.raises(TypeError, match="arguments must be"):
        compile(lambda x: x)(object())


def test_example_compiled_training_matches_eager_and_learns():
    from examples import compiled_training
    result = compiled_training.main(["--epochs", "4", "--eager-epochs", "2", "--quiet"])
    assert result["identical"] and result["recordings"] == 1
    assert result["epoch_loss"][-1] < result["epoch_loss"][0]  # the mean squared error falls


def test_a_tensor_made_from_an_argument_follows_the_argument():
    w, opt = _tiny()
    plain_init = ag.Tensor.__init__

    def fn(x):
        loss = (w * ag.tensor(x)).sum()  # ag.tensor copies x with numpy: the recording must still follow x
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    step = compile(fn)
    for v in [1.0, 2.0, 3.0]:
        before = w.data.copy()
        assert step(np.full(3, v)).item() == pytest.approx((before * v).sum())
        assert _same(w.grad.data, np.full(3, v))
    assert ag.Tensor.__init__ is plain_init  # the recording's watch on Tensor.__init__ is gone


def test_a_tensor_made_from_a_list_of_traced_tensors_runs_eagerly():
    w, _ = _tiny()
    step = compile(lambda x: ag.tensor([(w * x).sum(), (w * x).sum() * 2.0]).sum())
    with pytest.warns(CompileWarning, match="ag.stack"):
        step(np.ones(3))
    assert step(np.full(3, 2.0)).item() == pytest.approx(3 * (w.data * 2.0).sum())


def test_under_detect_anomaly_calls_run_eagerly_and_are_checked():
    w, _ = _tiny()
    step = compile(lambda x: (w * ag.log(x)).sum())
    step(np.ones(3))
    step(np.ones(3))
    with ag.detect_anomaly(), pytest.raises(FloatingPointError), np.errstate(invalid="ignore"):
        step(np.full(3, -1.0))  # log of a negative number: NaN, caught by the eager checks


def test_an_item_of_an_argument_is_checked_like_one_of_a_result():
    w, _ = _tiny()
    step = compile(lambda x, s: w.sum() * (2.0 if s.item() > 0 else -2.0) + (w * x).sum())
    for sv in [1.0, 1.0, -1.0]:
        out = step(np.ones(3), np.array(sv))
        assert out.item() == pytest.approx(w.data.sum() * (2.0 if sv > 0 else -2.0) + w.data.sum())


def test_threads_training_their_own_compiled_steps_match_eager():
    import threading
    rng = np.random.default_rng(11)
    x, y = rng.random((40, 24)), rng.random((40, 12))
    batches = [(x[i:i + 10], y[i:i + 10]) for i in range(0, 40, 10)] * 2
    (le, me, _, _) = _run_both(_seed_mlp(), batches)[0]
    results = []

    def train():
        model, opt, fn = _seed_mlp()()
        step = compile(fn)
        results.append(([step(*b).item() for b in batches], model))
    threads = [threading.Thread(target=train) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    for losses, model in results:
        assert losses == le
        _assert_same_state(me, model)


def test_changing_how_the_optimizer_updates_records_again_and_matches_eager():
    def make():
        model = nn.Sequential(nn.Linear(4, 3, rng=np.random.default_rng(12)))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            loss = (model(x) * model(x)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    (me, oe, fe), (mc, oc, fc) = make(), make()
    fc = compile(fc)
    x = np.random.default_rng(13).random((5, 4))
    for settings in [{}, {}, {"weight_decay": 0.01}, {"weight_decay": 0.01}, {"momentum": 0.9}, {"momentum": 0.9},
                     {"weight_decay": 0.0, "momentum": 0.0}, {"lr": 0.05}]:
        for opt in (oe, oc):
            for k, v in settings.items():
                setattr(opt, k, v)
        assert fe(x).item() == fc(x).item()
        _assert_same_state(me, mc)
