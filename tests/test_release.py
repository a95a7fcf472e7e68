"""A loss kept after backward holds almost nothing (issue 12, point 6): a backward without retain_graph
releases every node's saved arrays, scratch attributes and output array, unless a hook or retain_grad
needs it; retain_graph=True keeps everything."""
import contextlib
import gc
import tracemalloc

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F


def _nodes(t):
    """Every Context reachable from t's grad_fn."""
    Context = ag.Context
    seen, stack, out = set(), [t.grad_fn], []
    while stack:
        n = stack.pop()
        if type(n) is not Context or id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
        stack.extend(e for e in n.edges if type(e) is Context)
    return out


def _arrays_held(ctx, params):
    """ndarrays a released node still references (parameters, which the graph must keep, excluded)."""
    held = []
    keep = {id(p) for p in params}

    def visit(v, where):
        if isinstance(v, np.ndarray) and v.size > 1:
            held.append(where)
        elif isinstance(v, ag.Tensor) and id(v) not in keep:
            visit(v.data, where + ".data")
        elif isinstance(v, (tuple, list)):
            for k, e in enumerate(v):
                visit(e, f"{where}[{k}]")
        elif isinstance(v, dict):
            for k, e in v.items():
                visit(e, f"{where}[{k!r}]")

    visit(ctx.saved, "saved")
    visit(ctx.data, "data")
    visit(ctx.edges, "edges")
    visit(getattr(ctx, "__dict__", {}), "__dict__")
    visit(ctx.options, "options")
    return held


def _mlp_loss(X, Ws):
    h = ag.tensor(X)
    for W in Ws:
        h = (h @ W).tanh()
    return (h * h).mean()


def _one_blas_thread():
    """Run BLAS on one thread: on a busy 2-core machine a multi-threaded BLAS spends most of its time waiting."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up only
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def test_issue_measure_twenty_kept_losses_hold_under_one_megabyte():
    rng = np.random.default_rng(0)
    Ws = [ag.tensor(rng.standard_normal((1000, 1000)) * 0.03, requires_grad=True) for _ in range(4)]
    X = rng.standard_normal((64, 1000))
    values = []
    losses = []
    gc.collect()
    with _one_blas_thread():
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(20):
                loss = _mlp_loss(X, Ws)
                loss.backward()
                losses.append(loss)  # the logging habit: the loss tensor is kept
                values.append(float(loss))
            del loss
            for W in Ws:
                W.grad = None  # the parameters' gradients are not what is measured
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert held < 1_000_000, f"20 kept losses hold {held / 1e6:.1f} MB after their backward passes"
    assert [float(loss) for loss in losses] == values  # each kept loss still has its own value
    assert len(set(values)) == 1  # and the same graph gave the same value each time (nothing was stepped)


def _assorted_loss(X, Y, W, V):
    """A graph through many kinds of op, with constants of the size of the batch."""
    h = (ag.tensor(X) @ W).relu()
    z = ag.concatenate([h.sigmoid(), (h * 0.5).exp().log()], axis=1) @ V
    z = ag.where(X[:, :2] > 0, z, -z).clip(-5, 5).softplus()
    sm = z.log_softmax(axis=1)
    picked = sm[np.arange(len(X)), Y]
    extra = ((z - z.mean(axis=0)) ** 2).sum(axis=1).sqrt() + z.std(axis=0).sum() + z.norm()
    return -picked.mean() + extra.mean() + F.linear(z, ag.tensor(np.ones((3, 2)))).abs().max()


def test_every_node_of_a_swept_graph_lets_go_of_its_arrays():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((50, 6)), rng.integers(0, 2, 50)
    W = ag.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    V = ag.tensor(rng.standard_normal((8, 2)), requires_grad=True)
    loss = _assorted_loss(X, Y, W, V)
    nodes = _nodes(loss)
    assert len(nodes) > 20
    loss.backward()
    for n in nodes:
        assert n.data is None, n.name
        assert _arrays_held(n, [W, V]) == [], (n.name, _arrays_held(n, [W, V]))


def test_a_kept_loss_of_an_nn_model_holds_almost_nothing():
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(200, 100, rng=rng), nn.Tanh(), nn.Linear(100, 10, rng=rng))
    loss_fn = nn.CrossEntropyLoss()
    X, Y = rng.standard_normal((400, 200)), rng.integers(0, 10, 400)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss = loss_fn(model(ag.tensor(X)), Y)
        loss.backward()
        model.zero_grad()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 40_000, f"a kept loss holds {held} bytes (the batch alone is {X.nbytes})"


def test_a_boolean_mask_index_is_let_go_too():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 500))
    W = ag.tensor(rng.standard_normal((500, 50)), requires_grad=True)
    mask = np.ones((400, 50), dtype=bool)
    mask[::3] = False
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss = (ag.tensor(X) @ W)[mask.copy()].sum()  # the index is an array as large as the output
        loss.backward()
        W.grad = None
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < mask.nbytes // 4, f"a kept loss holds {held} bytes (the mask is {mask.nbytes})"


def test_a_custom_functions_scratch_attributes_are_released():
    class Scratch(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.big = np.ones(10_000)
            ctx.save_for_backward(x)
            return x * 2.0

        @staticmethod
        def backward(ctx, g):
            assert ctx.big.shape == (10_000,)  # still there during the sweep
            return g * 2.0

    x = ag.tensor(np.arange(3.0), requires_grad=True)
    y = Scratch.apply(x)
    loss = (y * y).sum()
    node = y.grad_fn
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 8.0 * x.data)
    assert not hasattr(node, "big")
    assert node.data is None and _arrays_held(node, [x]) == []


def test_a_second_backward_after_release_raises_a_clear_error():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward()
    g = x.grad.data.copy()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()
    np.testing.assert_array_equal(x.grad.data, g)


def test_hooks_and_retain_grad_still_get_their_values():
    x = ag.tensor([0.5, -1.0, 2.0], requires_grad=True)
    h = x.tanh()
    m = h * 3.0
    h.retain_grad()
    seen = []
    m.register_hook(lambda g: seen.append(g.data.copy()))
    loss = (m * m).sum()
    loss.backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(seen[0], 2 * 3 * t, rtol=1e-14)  # dL/dm = 2m
    np.testing.assert_allclose(h.grad.data, 18 * t, rtol=1e-14)  # dL/dh = 2 * 3 * 3h
    np.testing.assert_allclose(x.grad.data, 18 * t * (1 - t ** 2), rtol=1e-14)
    np.testing.assert_array_equal(h.data, t)  # the tensors themselves keep their data
    np.testing.assert_array_equal(m.data, 3 * t)
    np.testing.assert_array_equal(loss.data, np.sum((3 * t) ** 2))


def test_retain_graph_keeps_everything_and_a_second_backward_adds_the_same_gradient():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((10, 6)), rng.integers(0, 2, 10)
    W = ag.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    V = ag.tensor(rng.standard_normal((8, 2)), requires_grad=True)
    loss = _assorted_loss(X, Y, W, V)
    nodes = _nodes(loss)
    loss.backward(retain_graph=True)
    gW, gV = W.grad.data.copy(), V.grad.data.copy()
    assert all(n.data is not None for n in nodes)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(W.grad.data, 2 * gW, rtol=1e-13)
    np.testing.assert_allclose(V.grad.data, 2 * gV, rtol=1e-13)
    loss.backward()  # the last pass releases
    np.testing.assert_allclose(W.grad.data, 3 * gW, rtol=1e-13)
    assert all(n.data is None for n in nodes)


def test_create_graph_keeps_the_graph_for_a_second_derivative():
    x = ag.tensor([0.3, 1.2], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = ag.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2, rtol=1e-14)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data, rtol=1e-14)
