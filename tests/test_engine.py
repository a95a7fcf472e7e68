"""The backward sweep: seeds, ordering, accumulation, freeing, grad modes, hooks, errors, aliasing, memory."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

import autograd as ag

rng = np.random.default_rng(0)


def leaf(*shape):
    return ag.tensor(rng.standard_normal(shape), requires_grad=True)


# ---- the seed gradient ------------------------------------------------------------------------

def test_non_scalar_output_needs_an_explicit_grad():
    x = leaf(2, 3)
    with pytest.raises(RuntimeError, match="non-scalar"):
        (x * x).backward()
    assert x.grad is None


def test_any_upstream_grad_of_the_output_shape_is_accepted():
    x = leaf(2, 3)
    g = rng.standard_normal((2, 3))
    (x * x * 3.0).backward(g)
    np.testing.assert_allclose(x.grad.data, 6.0 * x.data * g)
    x.grad = None
    (x * x * 3.0).backward(ag.tensor(g))  # a Tensor works too
    np.testing.assert_allclose(x.grad.data, 6.0 * x.data * g)


def test_upstream_grad_of_the_wrong_shape_is_rejected():
    x = leaf(2, 3)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        (x * 2.0).backward(np.ones((3, 2)))
    assert x.grad is None


def test_one_element_output_needs_no_grad():
    x = leaf(1, 1)
    (x * 5.0).backward()
    np.testing.assert_allclose(x.grad.data, [[5.0]])


def test_backward_of_a_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor(1.0).backward()


# ---- deep graphs: no recursion --------------------------------------------------------------------

N = 100_000


def test_chain_of_100000_array_ops_backprops():
    x = ag.tensor([0.5, -1.0], requires_grad=True)
    y = x
    for _ in range(N):
        y = y * 1.00001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.00001 ** N] * 2, rtol=1e-9)
    del y
    gc.collect()  # dropping the deep graph must not recurse either


def test_chain_of_100000_scalar_ops_backprops():
    x = ag.tensor(0.3, requires_grad=True)
    y = x
    for _ in range(N):
        y = y + x * 1e-5  # x used at every level: y = x (1 + N 1e-5)
    y.backward()
    np.testing.assert_allclose(float(x.grad), 1.0 + N * 1e-5, rtol=1e-9)
    np.testing.assert_allclose(float(y), 0.3 * (1.0 + N * 1e-5), rtol=1e-9)


# ---- order and accumulation -------------------------------------------------------------------------

class CountingDouble(ag.Function):
    """2x, counting how many times its backward runs."""
    calls = 0

    @staticmethod
    def forward(ctx, x):
        return 2.0 * x

    @staticmethod
    def backward(ctx, g):
        CountingDouble.calls += 1
        return 2.0 * g


def test_reused_node_is_visited_once_with_all_its_gradient():
    a = leaf(3)
    b = a + a
    c = b * b
    c.sum().backward()
    np.testing.assert_allclose(a.grad.data, 8.0 * a.data)  # c = 4 a^2

    CountingDouble.calls = 0
    a.grad = None
    d = CountingDouble.apply(a)
    e = (d * d + d * 3.0 + ag.sin(d)).sum()  # d feeds three ops
    e.backward()
    assert CountingDouble.calls == 1
    dd = 2.0 * a.data
    np.testing.assert_allclose(a.grad.data, 2.0 * (2.0 * dd + 3.0 + np.cos(dd)))


def test_diamond_and_skip_connections():
    x = leaf(4)
    h = ag.tanh(x)
    y = (h * x + ag.exp(h) - h / (x * x + 1.0)).sum()
    y.backward()
    t = np.tanh(x.data)
    dt = 1 - t ** 2
    q = x.data ** 2 + 1
    closed = dt * x.data + t + np.exp(t) * dt - (dt * q - t * 2 * x.data) / q ** 2
    np.testing.assert_allclose(x.grad.data, closed, rtol=1e-10)


def test_leaf_grads_accumulate_and_none_clears():
    x = leaf(3)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0] * 3)
    x.grad = None
    (x * 7.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [7.0] * 3)


def test_intermediates_keep_no_grad_unless_retained():
    x = leaf(3)
    h = x * 2.0
    k = h + 1.0
    k.retain_grad()
    (k * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad.data, 2.0 * k.data)
    np.testing.assert_allclose(x.grad.data, 4.0 * k.data)


def test_grad_of_a_leaf_has_its_shape_and_is_a_tensor():
    x = leaf(2, 3)
    (x.sum(axis=0) * 2.0).sum().backward()
    assert isinstance(x.grad, ag.Tensor) and not x.grad.requires_grad
    assert x.grad.shape == x.shape


# ---- freeing the graph ------------------------------------------------------------------------------

class SavesTemp(ag.Function):
    """x * t with a temporary t made in forward and kept only by ctx: shows whether ctx lets go."""
    temp = None

    @staticmethod
    def forward(ctx, x):
        t = np.full(np.shape(x), 3.0)
        SavesTemp.temp = weakref.ref(t)
        ctx.save_for_backward(t)
        return x * t

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved
        return g * t


def test_saved_buffers_are_released_by_backward():
    x = leaf(5)
    y = SavesTemp.apply(x).sum()
    gc.collect()
    assert SavesTemp.temp() is not None
    y.backward()
    gc.collect()
    assert SavesTemp.temp() is None  # freed although y (and the graph) still exist
    np.testing.assert_allclose(x.grad.data, [3.0] * 5)


def test_second_backward_through_a_freed_graph_says_so():
    x = leaf(3)
    y = (ag.exp(x) * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(3)
    y = (ag.exp(x) * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * np.exp(x.data) * (1.0 + x.data))


# ---- grad modes -----------------------------------------------------------------------------------

def test_no_grad_records_nothing():
    x = leaf(3)
    with ag.no_grad():
        y = ag.exp(x * 2.0).sum()
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    with pytest.raises(RuntimeError):
        y.backward()


def test_no_grad_as_a_decorator_and_enable_grad_inside():
    x = leaf(3)

    @ag.no_grad()
    def f(t):
        inner = t * 2.0
        with ag.enable_grad():
            kept = t * 3.0
        return inner, kept

    inner, kept = f(x)
    assert inner.grad_fn is None and not inner.requires_grad
    assert kept.requires_grad and kept.grad_fn is not None
    assert ag.is_grad_enabled()
    kept.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0] * 3)


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with ag.no_grad():
            1 / 0
    assert ag.is_grad_enabled()


def test_tensors_without_requires_grad_never_build_a_graph():
    a = ag.tensor([1.0, 2.0])
    b = ag.tensor([3.0, 4.0])
    for y in (a * b, ag.exp(a) + b, (a @ b), a[0], ag.concatenate([a, b])):
        assert y.grad_fn is None and not y.requires_grad


# ---- hooks ----------------------------------------------------------------------------------------

def test_hook_sees_the_arriving_gradient():
    x = leaf(3)
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(np.array(g.data)))
    (h * h).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2.0 * h.data)


def test_hook_may_replace_the_gradient_and_remover_works():
    x = leaf(3)
    h = x * 2.0
    remove = h.register_hook(lambda g: g * 10.0)
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * 10.0 * 2.0 * h.data)
    remove()
    x.grad = None
    h = x * 2.0
    h.register_hook(lambda g: None)  # None keeps the gradient
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * 2.0 * h.data)


def test_removed_hook_is_not_called():
    x = leaf(3)
    calls = []
    remove = x.register_hook(lambda g: calls.append(1))
    remove()
    (x * 1.0).sum().backward()
    assert calls == []


def test_hook_on_a_leaf_changes_its_grad():
    x = leaf(3)
    x.register_hook(lambda g: -g)
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [-4.0] * 3)


def test_hook_returning_the_wrong_shape_is_an_error():
    x = leaf(3)
    h = x * 1.0
    h.register_hook(lambda g: np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        h.sum().backward()


# ---- errors -----------------------------------------------------------------------------------------

def test_matmul_shape_error_names_the_op_and_both_shapes_and_records_nothing():
    a, b = leaf(2, 3), leaf(4, 5)
    with pytest.raises(ValueError) as err:
        a @ b
    msg = str(err.value)
    assert "matmul" in msg and "(2, 3)" in msg and "(4, 5)" in msg
    assert a.grad is None and a.grad_fn is None and not a._hooks
    (a * 2.0).sum().backward()  # the tensors are as good as before
    np.testing.assert_allclose(a.grad.data, np.full((2, 3), 2.0))


def test_broadcast_error_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        leaf(2, 3) + leaf(4)


# ---- broadcasting: grad has the input's shape -------------------------------------------------------

@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_grad_shape_matches_input_shape_under_broadcasting(shapes):
    sa, sb = shapes.input_shapes
    a = ag.tensor(rng.standard_normal(sa), requires_grad=True)
    b = ag.tensor(rng.standard_normal(sb), requires_grad=True)
    g = rng.standard_normal(shapes.result_shape)
    (a * b + a).backward(g)
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    # closed form: sum the broadcast gradient over the axes each operand was stretched along
    full_a = np.broadcast_to(g * (b.data + 1.0), shapes.result_shape)
    full_b = np.broadcast_to(g * a.data, shapes.result_shape)
    np.testing.assert_allclose(a.grad.data, _sum_to(full_a, sa))
    np.testing.assert_allclose(b.grad.data, _sum_to(full_b, sb))


def _sum_to(x, shape):
    x = x.sum(axis=tuple(range(x.ndim - len(shape)))) if x.ndim > len(shape) else x
    return x.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


# ---- aliasing ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda a, b: a + b,
    lambda a, b: a - b * 1.0 + 0.0,
    lambda a, b: (a + b) * 2.0,
    lambda a, b: ag.concatenate([a, b]).reshape(2, 3)[0] + ag.concatenate([a, b])[3:],
])
def test_two_leaves_never_share_a_gradient_array(make):
    a, b = leaf(3), leaf(3)
    make(a, b).sum().backward()
    before = b.grad.data.copy()
    a.grad.data[...] += 100.0
    np.testing.assert_array_equal(b.grad.data, before)
    assert not np.shares_memory(a.grad.data, b.grad.data)


def test_retained_intermediate_and_leaf_do_not_share_a_gradient_array():
    a = leaf(3)
    h = a + 1.0  # add hands its incoming gradient straight to a
    h.retain_grad()
    (h * 2.0).sum().backward()
    assert not np.shares_memory(a.grad.data, h.grad.data)
    y = a * 3.0
    y.retain_grad()
    g = np.ones(3)
    y.backward(g)
    assert not np.shares_memory(y.grad.data, g)


@pytest.mark.parametrize("make", [
    lambda a, b: a + b,
    lambda a, b: a.reshape(2, 3) + b.reshape(2, 3),
    lambda a, b: a.T + b,
    lambda a, b: a[...] - b,
    lambda a, b: ag.broadcast_to(a, (6,)) + b,
])
def test_leaf_grads_do_not_alias_the_users_upstream_array(make):
    a, b = leaf(6), leaf(6)
    y = make(a, b)
    g = rng.standard_normal(y.shape)
    g0 = g.copy()
    y.backward(g)
    for t in (a, b):
        assert not np.shares_memory(t.grad.data, g)
        t.grad.data[...] = 0.0
    np.testing.assert_array_equal(g, g0)


def test_grad_function_results_do_not_alias_each_other_or_upstream():
    a, b = leaf(3), leaf(3)
    g = np.ones(3)
    ga, gb = ag.grad(a + b, [a, b], g)
    assert not np.shares_memory(ga.data, gb.data)
    assert not np.shares_memory(ga.data, g) and not np.shares_memory(gb.data, g)


# ---- ag.grad ---------------------------------------------------------------------------------------

def test_grad_returns_without_touching_dot_grad():
    x, w = leaf(3), leaf(3)
    (gx, gw) = ag.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.data, w.data)
    np.testing.assert_allclose(gw.data, x.data)
    assert x.grad is None and w.grad is None


def test_grad_of_an_unused_input():
    x, z = leaf(3), leaf(3)
    with pytest.raises(RuntimeError, match="allow_unused"):
        ag.grad((x * 2.0).sum(), [x, z])
    gx, gz = ag.grad((x * 2.0).sum(), [x, z], allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.data, [2.0] * 3)


# ---- memory ----------------------------------------------------------------------------------------

def test_training_loop_does_not_grow_memory():
    """10,000 small steps: if any part of a step's graph outlived it, memory would grow by megabytes."""
    r = np.random.default_rng(1)
    w = ag.tensor(r.standard_normal((4, 3)) * 0.1, requires_grad=True)
    b = ag.tensor(np.zeros(3), requires_grad=True)
    x = ag.tensor(r.standard_normal((8, 4)))
    target = ag.tensor(r.standard_normal((8, 3)))

    def step():
        loss = ((ag.tanh(x @ w + b) - target) ** 2).mean()
        loss.backward()
        for p in (w, b):
            p.data -= 0.01 * p.grad.data
            p.grad = None
        return float(loss)

    first = step()
    tracemalloc.start()
    try:
        for _ in range(1_000):
            step()
        gc.collect()
        early = tracemalloc.get_traced_memory()[0]
        for _ in range(9_000):
            last = step()
        gc.collect()
        late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert late - early < 200_000, f"memory grew by {late - early} bytes over 9,000 steps"
    assert last < first  # and it was really training


# ---- the graph holds nodes, not tensors ------------------------------------------------------

def test_dropped_intermediate_tensor_is_freed_and_backward_still_works():
    x = ag.tensor(2.0, requires_grad=True)
    h = x * 3.0
    ref = weakref.ref(h)
    y = (h + 1.0).exp()
    del h
    assert ref() is None  # only the node that made h stays, inside y's graph
    y.backward()
    np.testing.assert_allclose(float(x.grad), 3.0 * np.exp(7.0))


def test_hook_and_retain_grad_on_a_dropped_intermediate():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(np.asarray(g).copy()))
    kept = h * 1.0
    kept.retain_grad()
    loss = (kept * 2.0).sum()
    del h
    loss.backward()
    np.testing.assert_array_equal(seen[0], [2.0, 2.0])  # d loss / d h
    np.testing.assert_array_equal(kept.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])


def test_ctx_inputs_are_tensors_of_the_input_nodes():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = h * x
    a, b = y.grad_fn.inputs
    assert b is x  # a leaf is its own node
    assert a.grad_fn is h.grad_fn and a.data is h.data  # an intermediate: a handle on its node


def test_a_live_graph_costs_one_tracked_object_per_op():
    x = ag.tensor(0.5, requires_grad=True)
    gc.collect()
    before = len(gc.get_objects())
    y = x
    for _ in range(1000):
        y = y * 1.0001
    gc.collect()
    grown = len(gc.get_objects()) - before
    assert grown <= 1100, grown  # the node only: no Tensor, no inputs tuple per op
    y.backward()
    np.testing.assert_allclose(float(x.grad), 1.0001 ** 1000)
