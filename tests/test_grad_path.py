"""`ag.grad` sweeps only the nodes between the outputs and the requested inputs (issue 12, point 5): hooks
off that path do not fire, nodes off it keep their buffers, and no `.grad` is touched."""
import numpy as np
import pytest

import autograd as ag


def test_issue_example_grad_wrt_an_intermediate_then_backward_to_the_leaves():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = ag.tensor([0.5, -1.0, 2.0], requires_grad=True)
    h = (x * w).tanh()
    (gh,) = ag.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * np.tanh(x.data * w.data), rtol=1e-14)
    assert x.grad is None and w.grad is None
    h.sum().backward()  # the tanh and mul nodes below h were not swept, so their buffers are still there
    t = np.tanh(x.data * w.data)
    np.testing.assert_allclose(x.grad.data, (1 - t ** 2) * w.data, rtol=1e-14)
    np.testing.assert_allclose(w.grad.data, (1 - t ** 2) * x.data, rtol=1e-14)


def test_hooks_off_the_path_do_not_fire():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    fired = []
    a.register_hook(lambda g: fired.append("a"))
    b.register_hook(lambda g: fired.append("b"))
    u = a.exp()
    v = b.sin()
    u.register_hook(lambda g: fired.append("u"))
    v.register_hook(lambda g: fired.append("v"))
    out = (u * v).sum()
    (ga,) = ag.grad(out, a)
    np.testing.assert_allclose(ga.data, np.exp(a.data) * np.sin(b.data), rtol=1e-14)
    assert sorted(fired) == ["a", "u"]


def test_hooks_below_an_intermediate_input_do_not_fire():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    fired = []
    x.register_hook(lambda g: fired.append("x"))
    h = x * 3.0
    h.register_hook(lambda g: fired.append("h"))
    y = h.relu()
    (gh,) = ag.grad((y * y).sum(), h)
    np.testing.assert_array_equal(gh.data, [6.0, 0.0])
    assert fired == ["h"]


def test_nodes_off_the_path_keep_their_buffers():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    v = b.sin()
    out = (a.exp() * v).sum()
    ag.grad(out, a)
    assert v.grad_fn.data is not None
    assert all(s is not None for s in v.grad_fn.saved) and len(v.grad_fn.saved) > 0
    (v * v).sum().backward()  # sin's node is intact
    np.testing.assert_allclose(b.grad.data, 2 * np.sin(b.data) * np.cos(b.data), rtol=1e-14)
    assert a.grad is None


def test_grad_wrt_one_leaf_then_backward_through_the_other_branch():
    a = ag.tensor([0.3, -0.7], requires_grad=True)
    b = ag.tensor([1.1, 0.4], requires_grad=True)
    u = a.sigmoid()
    v = b.tanh()
    out = (u * v).sum()
    (ga,) = ag.grad(out, a)
    s = 1 / (1 + np.exp(-a.data))
    np.testing.assert_allclose(ga.data, s * (1 - s) * np.tanh(b.data), rtol=1e-13)
    v.sum().backward()
    np.testing.assert_allclose(b.grad.data, 1 - np.tanh(b.data) ** 2, rtol=1e-14)
    assert a.grad is None


def test_grad_wrt_several_inputs_at_different_depths():
    x = ag.tensor([0.5, 1.5], requires_grad=True)
    h = x * x
    y = h.exp()
    out = (y * 2.0).sum()
    gx, gh = ag.grad(out, [x, h], retain_graph=True)
    np.testing.assert_allclose(gh.data, 2 * np.exp(x.data ** 2), rtol=1e-14)
    np.testing.assert_allclose(gx.data, 2 * np.exp(x.data ** 2) * 2 * x.data, rtol=1e-14)
    assert x.grad is None
    out.backward()  # retained: the same graph again
    np.testing.assert_allclose(x.grad.data, gx.data, rtol=1e-15)


def test_grad_of_an_unused_input():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([2.0], requires_grad=True)
    out = (a * 3.0).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        ag.grad(out, [a, b], retain_graph=True)
    ga, gb = ag.grad(out, [a, b], allow_unused=True)
    assert gb is None
    np.testing.assert_array_equal(ga.data, [3.0])


def test_grad_sweeps_only_the_path_however_large_the_rest_of_the_graph():
    x = ag.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    side = ag.tensor(np.ones(5), requires_grad=True)
    calls = []

    class Counted(ag.Function):
        @staticmethod
        def forward(ctx, v):
            return v * 1.0

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            return g

    s = side
    for _ in range(50):  # a long chain that leads only to `side`
        s = Counted.apply(s)
    h = x.tanh()
    out = (h * s).sum()
    (gh,) = ag.grad(out, h)
    np.testing.assert_array_equal(gh.data, np.ones(5))
    assert calls == []  # none of the 50 off-path rules ran
