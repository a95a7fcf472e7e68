"""Modes are per thread (issue 12, point 2): no_grad, enable_grad, detect_anomaly and the backward sweep's
own switching in one thread never change what another thread records or raises."""
import sys
import threading

import numpy as np
import pytest

import autograd as ag
import nn

STEPS = 500
TIMEOUT = 120  # seconds; only a guard against a hung thread, never an assertion on speed


@pytest.fixture(autouse=True)
def frequent_switches():
    """Switch threads often (every ~1e-5 s instead of 5e-3 s), so the threads' ops really interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)
    assert ag.is_grad_enabled()  # no test leaves grad mode off for the main thread


def _run_threads(*targets):
    """Run each target in its own thread; return the exceptions they raised (none expected)."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread hung"
    return errors


def _problem(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 4))
    Y = X @ rng.standard_normal((4, 2)) + 0.1 * rng.standard_normal((16, 2))
    W = rng.standard_normal((4, 2))
    b = np.zeros(2)
    return X, Y, W, b


def _train(seed, steps=STEPS, lr=0.05):
    """Least squares by gradient descent with the in-place update; returns (per-step problems, per-step
    gradients, final parameters). Each step's gradient is checked against the closed form."""
    X, Y, W0, b0 = _problem(seed)
    W = ag.tensor(W0, requires_grad=True)
    b = ag.tensor(b0, requires_grad=True)
    x = ag.tensor(X)
    problems, history = [], []
    for step in range(steps):
        W.grad = b.grad = None
        loss = ((x @ W + b - Y) ** 2).mean()
        if not loss.requires_grad:
            problems.append(f"step {step}: the loss was not recorded")
            continue
        loss.backward()
        if W.grad is None or b.grad is None:
            problems.append(f"step {step}: a gradient is missing")
            continue
        r = X @ W.data + b.data - Y
        dW, db = 2 * X.T @ r / r.size, 2 * r.sum(0) / r.size  # closed form
        if not (np.allclose(W.grad.data, dW, rtol=1e-10, atol=1e-14)
                and np.allclose(b.grad.data, db, rtol=1e-10, atol=1e-14)):
            problems.append(f"step {step}: wrong gradient")
        history.append((W.grad.data.copy(), b.grad.data.copy()))
        with ag.no_grad():
            W -= lr * W.grad
            b -= lr * b.grad
    return problems, history, (W.data.copy(), b.data.copy())


def _assert_same(got, ref):
    problems, history, (W, b) = got
    _, ref_history, (rW, rb) = ref
    assert problems == []
    assert len(history) == len(ref_history) == STEPS
    for (gW, gb), (hW, hb) in zip(history, ref_history):
        np.testing.assert_array_equal(gW, hW)
        np.testing.assert_array_equal(gb, hb)
    np.testing.assert_array_equal(W, rW)  # bit for bit: the same computation, only in another thread
    np.testing.assert_array_equal(b, rb)


def test_training_beside_an_inference_thread_under_no_grad():
    reference = _train(0)
    assert reference[0] == []
    X, _, W0, b0 = _problem(1)
    Wi, bi, xi = ag.tensor(W0, requires_grad=True), ag.tensor(b0, requires_grad=True), ag.tensor(X)
    started, stop = threading.Event(), threading.Event()
    result, inference = {}, {"loops": 0, "recorded": 0}

    def infer():
        while not stop.is_set():
            with ag.no_grad():
                started.set()
                out = (xi @ Wi + bi).tanh().sum()
                inference["recorded"] += out.requires_grad
                inference["loops"] += 1

    def train():
        started.wait(TIMEOUT)
        try:
            result["got"] = _train(0)
        finally:
            stop.set()

    assert _run_threads(infer, train) == []
    _assert_same(result["got"], reference)
    assert inference["loops"] > 0 and inference["recorded"] == 0  # its own no_grad held in its own thread
    assert Wi.grad is None and bi.grad is None


def test_two_threads_each_training_its_own_model_match_single_threaded_training():
    refs = {s: _train(s) for s in (10, 11)}
    barrier = threading.Barrier(2)
    got = {}

    def worker(seed):
        def run():
            barrier.wait(TIMEOUT)
            got[seed] = _train(seed)
        return run

    assert _run_threads(worker(10), worker(11)) == []
    for s in (10, 11):
        _assert_same(got[s], refs[s])


def test_a_forward_in_one_thread_records_while_another_thread_is_inside_its_backward_sweep():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    in_sweep, recorded = threading.Event(), threading.Event()
    seen = {}

    def hold(g):  # runs inside thread A's backward sweep
        in_sweep.set()
        recorded.wait(TIMEOUT)

    def thread_a():
        y = a * 3.0
        y.register_hook(hold)
        y.sum().backward()

    def thread_b():
        in_sweep.wait(TIMEOUT)
        x = ag.tensor([4.0, 5.0], requires_grad=True)
        try:
            z = (x * x).sum()
            seen["recorded"] = z.requires_grad
            z.backward()
            seen["grad"] = x.grad.data.copy()
        finally:
            recorded.set()

    assert _run_threads(thread_a, thread_b) == []
    assert seen["recorded"] is True
    np.testing.assert_array_equal(seen["grad"], [8.0, 10.0])
    np.testing.assert_array_equal(a.grad.data, [3.0, 3.0])


def test_anomaly_mode_in_one_thread_never_raises_in_another():
    entered, finished = threading.Event(), threading.Event()
    outcome = {}

    def watcher():
        with ag.detect_anomaly():
            entered.set()
            finished.wait(TIMEOUT)  # stays in anomaly mode while the other thread makes NaNs
            x = ag.tensor([-1.0], requires_grad=True)
            with pytest.raises(FloatingPointError), np.errstate(invalid="ignore"):
                ag.log(x)  # still on in its own thread
            outcome["watcher"] = "raised"

    def nan_maker():
        entered.wait(TIMEOUT)
        try:
            x = ag.tensor([-1.0, 4.0], requires_grad=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                for _ in range(50):
                    x.grad = None
                    y = ag.sqrt(x)  # NaN at -1, on purpose
                    y.sum().backward()
            outcome["y"] = y.data.copy()
            outcome["grad"] = x.grad.data.copy()
        finally:
            finished.set()

    assert _run_threads(watcher, nan_maker) == []
    assert outcome["watcher"] == "raised"
    assert np.isnan(outcome["y"][0]) and outcome["y"][1] == 2.0
    assert np.isnan(outcome["grad"][0]) and outcome["grad"][1] == 0.25


def test_a_new_thread_records_while_another_thread_is_inside_no_grad():
    inside, checked = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with ag.no_grad():
            seen["holder"] = ag.is_grad_enabled()
            inside.set()
            checked.wait(TIMEOUT)
            seen["holder_after"] = ag.is_grad_enabled()

    def other():
        inside.wait(TIMEOUT)
        try:
            seen["other"] = ag.is_grad_enabled()
            x = ag.tensor([1.0, 2.0], requires_grad=True)
            (x * x).sum().backward()
            seen["grad"] = x.grad.data.copy()
        finally:
            checked.set()

    assert _run_threads(holder, other) == []
    assert seen["holder"] is False and seen["holder_after"] is False
    assert seen["other"] is True
    np.testing.assert_array_equal(seen["grad"], [2.0, 4.0])


def test_interleaved_no_grad_blocks_leave_grad_mode_enabled():
    # A enters, B enters, A leaves, B leaves: with one process-wide flag B would restore A's "off".
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with ag.no_grad():
            a_in.set()
            b_in.wait(TIMEOUT)
        a_out.set()
        seen["a"] = ag.is_grad_enabled()

    def thread_b():
        a_in.wait(TIMEOUT)
        with ag.no_grad():
            b_in.set()
            a_out.wait(TIMEOUT)
        seen["b"] = ag.is_grad_enabled()

    assert _run_threads(thread_a, thread_b) == []
    assert seen == {"a": True, "b": True}
    assert ag.is_grad_enabled()
    after = {}
    assert _run_threads(lambda: after.setdefault("new", ag.is_grad_enabled())) == []
    assert after["new"] is True


def test_enable_grad_inside_no_grad_is_per_thread_too():
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def enabler():
        with ag.no_grad(), ag.enable_grad():
            a_in.set()
            b_in.wait(TIMEOUT)  # the other thread is now inside its own no_grad
            try:
                x = ag.tensor([1.0], requires_grad=True)
                seen["enabler"] = (x * 2.0).requires_grad
            finally:
                a_done.set()

    def plain_no_grad():
        a_in.wait(TIMEOUT)
        with ag.no_grad():
            b_in.set()
            a_done.wait(TIMEOUT)  # the other thread recorded while this one was inside no_grad
            x = ag.tensor([1.0], requires_grad=True)
            seen["no_grad"] = (x * 2.0).requires_grad

    assert _run_threads(enabler, plain_no_grad) == []
    assert seen == {"enabler": True, "no_grad": False}


def test_graph_scope_is_per_thread():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def scoped():
        with ag.graph_scope("A"):
            inside.set()
            done.wait(TIMEOUT)

    def other():
        inside.wait(TIMEOUT)
        try:
            x = ag.tensor([1.0], requires_grad=True)
            seen["scope"] = tuple((x * 2.0).grad_fn.scope)
        finally:
            done.set()

    assert _run_threads(scoped, other) == []
    assert seen["scope"] == ()


def _train_nn(seed, steps=300):
    """An nn model with Adam, as users write it; returns every step's loss and the final parameters."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(4, 8, rng=rng), nn.Tanh(), nn.Linear(8, 1, rng=rng))
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    X = rng.standard_normal((32, 4))
    Y = np.sin(X.sum(axis=1, keepdims=True))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(ag.tensor(X)), Y)
        loss.backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert missing == [], f"no gradient for {missing}"
        opt.step()
        losses.append(float(loss))
    return losses, [p.data.copy() for p in model.parameters()]


def test_two_threads_training_nn_models_with_adam_match_single_threaded_training():
    refs = {s: _train_nn(s) for s in (20, 21)}
    for losses, _ in refs.values():
        assert losses[-1] < 0.5 * losses[0]  # the model learned
    barrier = threading.Barrier(2)
    got = {}

    def worker(seed):
        def run():
            barrier.wait(TIMEOUT)
            got[seed] = _train_nn(seed)
        return run

    assert _run_threads(worker(20), worker(21)) == []
    for s in (20, 21):
        assert got[s][0] == refs[s][0]  # every step's loss, bit for bit
        for p, r in zip(got[s][1], refs[s][1]):
            np.testing.assert_array_equal(p, r)
