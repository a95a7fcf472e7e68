"""A backward that fails changes nothing (issue 12, point 4): whatever raises (a hook, a rule, a freed
buffer, a version mismatch), no `.grad` anywhere changes, and the graph is still there for a retry."""
import numpy as np
import pytest

import autograd as ag


class Boom(Exception):
    pass


def _leaves():
    """Four leaves: two with a gradient already, two without."""
    a = ag.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = ag.tensor([3.0, -1.0], requires_grad=True, name="b")
    c = ag.tensor([0.5, 4.0], requires_grad=True, name="c")
    d = ag.tensor([-2.0, 1.5], requires_grad=True, name="d")
    b.grad = ag.tensor([10.0, 20.0])
    d.grad = ag.tensor([-1.0, -2.0])
    return a, b, c, d


def _loss(a, b, c, d):
    """sum(a*b + b*c*d + a*d): every leaf's gradient is a closed form of the others."""
    return (a * b + b * c * d + a * d).sum()


def _expected(a, b, c, d):
    A, B, C, D = (t.data for t in (a, b, c, d))
    return {"a": B + D, "b": A + C * D, "c": B * D, "d": B * C + A}


def _snapshot(*ts):
    return [None if t.grad is None else t.grad.data.copy() for t in ts]


def _assert_unchanged(ts, before):
    for t, g in zip(ts, before):
        if g is None:
            assert t.grad is None, f"{t.name}.grad appeared"
        else:
            np.testing.assert_array_equal(t.grad.data, g, err_msg=f"{t.name}.grad changed")


def _assert_correct(ts, before):
    exp = _expected(*ts)
    for t, g in zip(ts, before):
        want = exp[t.name] + (0 if g is None else g)
        np.testing.assert_allclose(t.grad.data, want, rtol=1e-14, err_msg=t.name)


@pytest.mark.parametrize("which", ["a", "b", "c", "d"])
def test_a_raising_leaf_hook_changes_no_grad_and_the_retry_is_right(which):
    leaves = _leaves()
    before = _snapshot(*leaves)
    target = {t.name: t for t in leaves}[which]
    armed = [True]

    def hook(g):
        if armed[0]:
            raise Boom("hook")

    target.register_hook(hook)
    loss = _loss(*leaves)
    with pytest.raises(Boom):
        loss.backward()
    _assert_unchanged(leaves, before)
    armed[0] = False  # the cause removed: the same graph backpropagates (the failed call freed nothing)
    loss.backward()
    _assert_correct(leaves, before)


def test_a_raising_non_leaf_hook_changes_no_grad_nor_retained_grad():
    leaves = _leaves()
    before = _snapshot(*leaves)
    a, b, c, d = leaves
    m = b * c
    m.retain_grad()
    armed = [True]

    def hook(g):
        if armed[0]:
            raise Boom("hook")

    (a * d).register_hook(hook)  # a tensor no one uses: never called
    p = a * b
    p.register_hook(hook)
    loss = (p + m * d + a * d).sum()
    with pytest.raises(Boom):
        loss.backward()
    _assert_unchanged(leaves, before)
    assert m.grad is None
    armed[0] = False
    loss.backward()
    _assert_correct(leaves, before)
    np.testing.assert_array_equal(m.grad.data, d.data)


class Flaky(ag.Function):
    """y = x**2, whose backward raises while `armed`."""

    armed = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        if Flaky.armed:
            raise Boom("rule")
        (x,) = ctx.saved
        return 2 * x * g


def test_a_raising_rule_mid_graph_changes_no_grad_and_the_retry_is_right():
    leaves = _leaves()
    a, b, c, d = leaves
    before = _snapshot(*leaves)
    Flaky.armed = True
    # Leaves on both sides of the failing node: a and d are reached before it, b and c only through it.
    loss = (a * d).sum() + (Flaky.apply(b * c) * a).sum() + (d * d).sum()
    with pytest.raises(Boom):
        loss.backward()
    _assert_unchanged(leaves, before)
    Flaky.armed = False
    try:
        loss.backward()
    finally:
        Flaky.armed = True
    A, B, C, D = (t.data for t in leaves)
    bc = B * C
    want = {"a": D + bc ** 2, "b": 2 * bc * C * A, "c": 2 * bc * B * A, "d": A + 2 * D}
    for t, g in zip(leaves, before):
        np.testing.assert_allclose(t.grad.data, want[t.name] + (0 if g is None else g), rtol=1e-14)


def test_a_rule_returning_a_wrong_shape_changes_no_grad():
    class BadShape(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return np.ones(5)

    leaves = _leaves()
    a, b, c, d = leaves
    before = _snapshot(*leaves)
    loss = (a * b).sum() + BadShape.apply(c).sum() + (d * a).sum()
    with pytest.raises(ValueError):
        loss.backward()
    _assert_unchanged(leaves, before)


def test_a_version_mismatch_changes_no_grad():
    leaves = _leaves()
    a, b, c, d = leaves
    before = _snapshot(*leaves)
    loss = (a * b).sum() + (c.exp() * d).sum()
    with ag.no_grad():
        c.add_(1.0)  # exp saved c (and its output) before this write
    with pytest.raises(RuntimeError):
        loss.backward()
    _assert_unchanged(leaves, before)


def test_a_second_backward_through_a_freed_graph_changes_no_grad():
    leaves = _leaves()
    a, b, c, d = leaves
    shared = (b * c).tanh()
    first = (shared * d).sum()
    first.backward()  # frees the tanh node, which the second loss also goes through
    before = _snapshot(*leaves)
    second = (a * a).sum() + (shared * a).sum() + (d * 2.0).sum()
    with pytest.raises(RuntimeError, match="retain_graph"):
        second.backward()
    _assert_unchanged(leaves, before)


def test_a_failing_backward_leaves_grad_mode_as_it_was():
    x = ag.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: (_ for _ in ()).throw(Boom("hook")))
    with pytest.raises(Boom):
        (x * 2.0).sum().backward()
    assert ag.is_grad_enabled()
    with ag.no_grad():
        with pytest.raises(Boom), ag.enable_grad():
            (x * 2.0).sum().backward()
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_a_grad_of_the_wrong_shape_on_one_leaf_changes_no_other_grad():
    # A user assigned a .grad that cannot hold the leaf's gradient: backward must refuse before storing any.
    leaves = _leaves()
    leaves[1].grad = ag.tensor([1.0, 1.0, 1.0])  # b, whose shape is (2,)
    before = _snapshot(*leaves)
    loss = _loss(*leaves)
    with pytest.raises((ValueError, RuntimeError)):
        loss.backward()
    _assert_unchanged(leaves, before)


def test_ag_grad_that_fails_changes_no_grad_either():
    leaves = _leaves()
    a, b, c, d = leaves
    before = _snapshot(*leaves)
    h = a * b
    h.register_hook(lambda g: (_ for _ in ()).throw(Boom("hook")))
    with pytest.raises(Boom):
        ag.grad((h * c + d).sum(), [a, c])
    _assert_unchanged(leaves, before)
