"""In-place changes (issue 12, point 1): the PyTorch in-place API on Tensor, its rules for tensors that
require grad, and backward's refusal to use an array that was changed after an op saved it."""
import re

import numpy as np
import pytest

import autograd as ag
import nn

IOPS = [  # (name, apply in place, the same change out of place on numpy)
    ("+=", lambda t, v: t.__iadd__(v), np.add),
    ("-=", lambda t, v: t.__isub__(v), np.subtract),
    ("*=", lambda t, v: t.__imul__(v), np.multiply),
    ("/=", lambda t, v: t.__itruediv__(v), np.true_divide),
]


def _vec(requires_grad=False, name=None):
    return ag.tensor([1.0, 2.0, 4.0], requires_grad=requires_grad, name=name)


# ---- the API changes the tensor's own array ---------------------------------------------------------

@pytest.mark.parametrize("name,iop,ref", IOPS, ids=[o[0] for o in IOPS])
@pytest.mark.parametrize("value", [2.0, np.array([2.0, -1.0, 0.5]), "tensor"])
def test_augmented_assignment_writes_the_own_array(name, iop, ref, value):
    t = _vec()
    v = ag.tensor([2.0, -1.0, 0.5]) if isinstance(value, str) else value
    before_obj, before_arr, before_ver = t, t.data, t._version
    expected = ref(before_arr.copy(), np.asarray(v))
    out = iop(t, v)
    assert out is before_obj
    assert t.data is before_arr  # the same array object, written, not a new one bound in its place
    np.testing.assert_array_equal(t.data, expected)
    assert t._version == before_ver + 1


@pytest.mark.parametrize("name,ref", [(o[0], o[2]) for o in IOPS], ids=[o[0] for o in IOPS])
def test_augmented_assignment_statement_keeps_the_name_bound_to_the_same_tensor(name, ref):
    t = _vec()
    keep, arr = t, t.data
    if name == "+=":
        t += 2.0
    elif name == "-=":
        t -= 2.0
    elif name == "*=":
        t *= 2.0
    else:
        t /= 2.0
    assert t is keep and t.data is arr
    np.testing.assert_array_equal(arr, ref(np.array([1.0, 2.0, 4.0]), 2.0))


def test_setitem_zero_fill_copy_write_in_place_and_bump_the_version():
    t = ag.tensor(np.arange(6.0).reshape(2, 3))
    arr = t.data
    t[0, 1] = 10.0
    assert t.data is arr and t._version == 1 and arr[0, 1] == 10.0
    t[1] = ag.tensor([7.0, 8.0, 9.0])
    np.testing.assert_array_equal(arr, [[0.0, 10.0, 2.0], [7.0, 8.0, 9.0]])
    assert t._version == 2
    t[t.data > 8.0] = -1.0  # a boolean mask
    np.testing.assert_array_equal(arr, [[0.0, -1.0, 2.0], [7.0, 8.0, -1.0]])
    assert t.zero_() is t and t.data is arr and t._version == 4
    np.testing.assert_array_equal(arr, np.zeros((2, 3)))
    assert t.fill_(2.5) is t and t.data is arr and t._version == 5
    np.testing.assert_array_equal(arr, np.full((2, 3), 2.5))
    assert t.copy_(np.arange(6.0).reshape(2, 3)) is t and t.data is arr and t._version == 6
    np.testing.assert_array_equal(arr, np.arange(6.0).reshape(2, 3))


def test_copy_broadcasts_the_source():
    t = ag.zeros(2, 3)
    arr = t.data
    t.copy_(ag.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(arr, [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    t.copy_(ag.tensor(5.0))
    np.testing.assert_array_equal(arr, np.full((2, 3), 5.0))
    assert t.data is arr and t._version == 2


def test_zero_dim_tensors_take_every_in_place_op():
    s = ag.tensor(2.0)
    s.copy_(ag.tensor(5.0))
    assert float(s) == 5.0 and s._version == 1
    s += 1.0
    s *= 2.0
    assert float(s) == 12.0 and s._version == 3
    s.fill_(-1.0)
    assert float(s) == -1.0
    s.zero_()
    assert float(s) == 0.0 and s.shape == () and s._version == 5


def test_copy_refuses_a_float_source_into_an_int_tensor_and_changes_nothing():
    t = ag.tensor([1, 2, 3], dtype=np.int64)
    arr = t.data
    with pytest.raises(TypeError):
        t.copy_(np.array([1.5, 2.0, 3.0]))
    with pytest.raises(TypeError):
        t += 0.5
    assert t.data is arr and t.dtype == np.int64 and t._version == 0
    np.testing.assert_array_equal(arr, [1, 2, 3])


def test_a_failed_write_changes_nothing():
    t = ag.tensor(np.arange(6.0).reshape(2, 3))
    arr = t.data
    with pytest.raises(ValueError):
        t.copy_(np.ones(4))
    with pytest.raises(IndexError):
        t[5] = 1.0
    with pytest.raises(TypeError):
        t[0] = np.array([1.0, 2.0, 3.0], dtype=object)
    assert t._version == 0 and t.data is arr
    np.testing.assert_array_equal(arr, np.arange(6.0).reshape(2, 3))


# ---- tensors that require grad ----------------------------------------------------------------------

WRITES = [
    ("+=", lambda t: t.__iadd__(1.0)),
    ("-=", lambda t: t.__isub__(1.0)),
    ("*=", lambda t: t.__imul__(2.0)),
    ("/=", lambda t: t.__itruediv__(2.0)),
    ("setitem", lambda t: t.__setitem__(0, 9.0)),
    ("zero_", lambda t: t.zero_()),
    ("fill_", lambda t: t.fill_(3.0)),
    ("copy_", lambda t: t.copy_(np.array([5.0, 6.0, 7.0]))),
]


@pytest.mark.parametrize("name,write", WRITES, ids=[w[0] for w in WRITES])
def test_writing_a_leaf_that_requires_grad_raises_outside_no_grad(name, write):
    x = _vec(requires_grad=True)
    arr = x.data
    with pytest.raises(RuntimeError, match="leaf|no_grad"):
        write(x)
    np.testing.assert_array_equal(arr, [1.0, 2.0, 4.0])
    assert x.data is arr and x._version == 0 and x.is_leaf and x.requires_grad


@pytest.mark.parametrize("name,write", WRITES, ids=[w[0] for w in WRITES])
def test_writing_a_leaf_that_requires_grad_works_under_no_grad(name, write):
    x = _vec(requires_grad=True)
    arr = x.data
    plain = ag.tensor(arr)  # the same write on a tensor that needs no grad gives the expected values
    write(plain)
    with ag.no_grad():
        write(x)
    assert x.data is arr and x._version == 1 and x.is_leaf and x.requires_grad
    assert not np.array_equal(arr, [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(arr, plain.data)


def test_augmented_assignment_on_a_leaf_never_rebinds_silently():
    x = _vec(requires_grad=True)
    keep = x
    with pytest.raises(RuntimeError):
        x += 1  # the statement: on the old engine it quietly made x a new non-leaf
    assert x is keep and x.is_leaf and x.grad_fn is None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.0, 2.0, 4.0]))


def test_the_optimizer_loop_pytorch_users_write_updates_in_place():
    x = _vec(requires_grad=True)
    arr = x.data
    for _ in range(3):
        x.grad = None
        (x * x).sum().backward()
        with ag.no_grad():
            x -= 0.25 * x.grad
    np.testing.assert_allclose(arr, np.array([1.0, 2.0, 4.0]) * 0.5 ** 3)  # x <- x - 0.25 * 2x, three times
    assert x.data is arr and x.is_leaf and x._version == 3


@pytest.mark.parametrize("name,write", WRITES, ids=[w[0] for w in WRITES])
def test_writing_a_non_leaf_that_requires_grad_raises_outside_no_grad(name, write):
    x = _vec(requires_grad=True)
    y = x * 2.0
    arr = y.data
    with pytest.raises(RuntimeError, match="requires grad"):
        write(y)
    np.testing.assert_array_equal(arr, [2.0, 4.0, 8.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


VALUE_WRITES = [
    ("+=", lambda t, v: t.__iadd__(v)),
    ("-=", lambda t, v: t.__isub__(v)),
    ("*=", lambda t, v: t.__imul__(v)),
    ("/=", lambda t, v: t.__itruediv__(v)),
    ("setitem", lambda t, v: t.__setitem__(slice(None), v)),
    ("copy_", lambda t, v: t.copy_(v)),
]


@pytest.mark.parametrize("name,write", VALUE_WRITES, ids=[w[0] for w in VALUE_WRITES])
def test_writing_a_value_that_requires_grad_into_a_plain_tensor_never_loses_its_gradient(name, write):
    # `total += loss` with a plain `total`: the old engine rebound total to total + loss (recorded). Now the
    # write is in place, so it must either be recorded or refused, never drop loss's gradient.
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    w = ag.tensor([3.0, 4.0], requires_grad=True)
    acc = ag.tensor([1.0, 1.0])
    v = x * x
    try:
        write(acc, v)
    except RuntimeError:
        return  # refused: right
    (acc * w).sum().backward()
    assert x.grad is not None, f"acc {name} v did not carry v's gradient to x"
    np.testing.assert_allclose(w.grad.data, acc.data)


def test_accumulating_losses_in_place_never_loses_their_gradients():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    w = ag.tensor([3.0, 4.0], requires_grad=True)
    total = ag.tensor(0.0)
    try:
        total += (x * x).sum()
    except RuntimeError:
        return  # refused: right
    (total + (w * w).sum()).backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_writing_a_value_that_requires_grad_is_fine_under_no_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    acc = ag.tensor([1.0, 1.0])
    with ag.no_grad():
        acc += x
    np.testing.assert_array_equal(acc.data, [2.0, 3.0])
    assert not acc.requires_grad


# ---- backward refuses arrays changed after they were saved ------------------------------------------

def _assert_names_mul_and_w(err):
    msg = str(err.value)
    assert "mul" in msg
    assert "'w'" in msg
    assert re.search(r"shape \(3,\)", msg), msg  # the tensor's shape, said in words


@pytest.mark.parametrize("name,write", WRITES, ids=[w[0] for w in WRITES])
def test_issue_bug_write_between_forward_and_backward_raises_naming_op_and_tensor(name, write):
    x = _vec(requires_grad=True, name="x")
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True, name="w")
    z = (x * w).sum()
    with ag.no_grad():
        write(w)
    with pytest.raises(RuntimeError) as err:
        z.backward()
    _assert_names_mul_and_w(err)
    assert x.grad is None and w.grad is None  # nothing was accumulated


def test_issue_bug_multi_loss_with_an_optimizer_step_in_between_raises():
    rng = np.random.default_rng(0)
    model = nn.Linear(3, 2, rng=rng)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    x = ag.tensor(rng.standard_normal((4, 3)))
    h = model(x)
    l1 = (h * h).sum()
    l2 = h.tanh().sum()
    l1.backward(retain_graph=True)
    grads = [p.grad.data.copy() for p in model.parameters()]
    opt.step()
    with pytest.raises(RuntimeError, match="matmul|modified|in place"):
        l2.backward()
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.data, g)


def test_the_multi_loss_pattern_works_when_both_backward_passes_come_before_the_step():
    rng = np.random.default_rng(1)
    X, W0, b0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    W, b = ag.tensor(W0, requires_grad=True), ag.tensor(b0, requires_grad=True)
    h = ag.tensor(X) @ W + b
    l1 = (h * h).sum()
    l2 = h.tanh().sum()
    l1.backward(retain_graph=True)
    l2.backward()
    H = X @ W0 + b0
    dH = 2 * H + (1 - np.tanh(H) ** 2)  # d(l1 + l2)/dH, closed form
    np.testing.assert_allclose(W.grad.data, X.T @ dH, rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, dH.sum(0), rtol=1e-12)
    with ag.no_grad():
        W -= 0.1 * W.grad  # the step, after both passes
    np.testing.assert_allclose(W.data, W0 - 0.1 * X.T @ dH, rtol=1e-12)


def test_a_write_through_a_view_of_the_saved_tensor_is_caught():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    z = (x * w).sum()
    with ag.no_grad():
        w[0] += 1.0  # w[0] is a view of w's array (as in PyTorch); += writes through it
    with pytest.raises(RuntimeError):
        z.backward()

    W = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    A = ag.tensor(np.ones((3, 2)), requires_grad=True)
    z = (A @ W).sum()
    with ag.no_grad():
        wt = W.T
        wt *= 2.0  # the transpose shares W's memory
    with pytest.raises(RuntimeError):
        z.backward()
    assert A.grad is None and W.grad is None


def test_a_write_to_the_base_of_a_saved_view_is_caught():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    z = (x * w[1:]).sum()  # mul saved a view of w's array
    with ag.no_grad():
        w.fill_(0.0)
    with pytest.raises(RuntimeError):
        z.backward()


def test_a_write_through_detach_is_caught():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    z = (x * w).sum()
    w.detach().zero_()  # detach shares the array; the write needs no no_grad (the detached tensor needs no grad)
    with pytest.raises(RuntimeError):
        z.backward()


def test_a_constant_operand_written_after_the_forward_is_caught():
    x = _vec(requires_grad=True)
    c = ag.tensor([4.0, 5.0, 6.0])  # requires no grad: may be written at any time
    z = (x * c).sum()
    c += 1.0
    with pytest.raises(RuntimeError):
        z.backward()
    assert x.grad is None


def test_an_intermediate_written_under_no_grad_is_caught():
    x = _vec(requires_grad=True)
    y = x.exp()  # exp saves its output
    z = (y * 3.0).sum()
    with ag.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError):
        z.backward()


def test_writes_before_the_forward_or_after_the_backward_give_correct_gradients():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    with ag.no_grad():
        w *= 2.0  # before the forward: the graph records the new values
    z = (x * w * w).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad.data, np.array([8.0, 10.0, 12.0]) ** 2)
    np.testing.assert_array_equal(w.grad.data, 2 * np.array([1.0, 2.0, 4.0]) * [8.0, 10.0, 12.0])
    with ag.no_grad():
        w -= 0.5 * w.grad  # after the backward: nothing left to corrupt
    x.grad = w.grad = None
    wv = w.data.copy()
    (x * w * w).sum().backward()
    np.testing.assert_allclose(x.grad.data, wv ** 2, rtol=1e-15)
    np.testing.assert_allclose(w.grad.data, 2 * x.data * wv, rtol=1e-15)


def test_no_false_alarm_for_writes_to_arrays_the_graph_did_not_save():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    c = ag.tensor([1.0, 1.0, 1.0])
    other = ag.tensor(np.ones((2, 2)))
    z = (x * w).sum() + (w + c).sum()  # add saves nothing: its gradient does not depend on c's values
    with ag.no_grad():
        other += 1.0  # a tensor this graph never saw
    c += 5.0
    z.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(w.grad.data, [2.0, 3.0, 5.0])


def test_retained_graph_written_between_two_backward_passes_raises_on_the_second():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True, name="w")
    z = (x * w).sum()
    z.backward(retain_graph=True)
    with ag.no_grad():
        w += 1.0
    with pytest.raises(RuntimeError) as err:
        z.backward()
    _assert_names_mul_and_w(err)
    np.testing.assert_array_equal(x.grad.data, [4.0, 5.0, 6.0])  # the first pass only


def test_a_zero_dim_leaf_written_between_forward_and_backward_never_gives_a_wrong_gradient():
    x = ag.tensor(3.0, requires_grad=True)
    y = x * x
    with ag.no_grad():
        x += 1.0
    try:
        y.backward()
    except RuntimeError:
        return  # refusing is right too (PyTorch refuses)
    assert float(x.grad) == 6.0  # d(x*x)/dx at the value the forward used


# ---- .data bypasses the log; detect_anomaly catches it ----------------------------------------------

def test_data_writes_bypass_the_check_outside_anomaly_mode():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    z = (x * w).sum()
    w.data[...] = -1.0  # the documented escape hatch, as in PyTorch
    z.backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, -1.0, -1.0])


def test_data_writes_are_caught_under_detect_anomaly():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    with ag.detect_anomaly():
        z = (x * w).sum()
        w.data[...] = -1.0
        with pytest.raises(RuntimeError, match="mul"):
            z.backward()
    assert x.grad is None and w.grad is None


def test_data_write_to_a_saved_output_is_caught_under_detect_anomaly():
    x = _vec(requires_grad=True)
    with ag.detect_anomaly():
        y = x.exp()
        z = y.sum() + (y * y).sum()
        y.data[1] = 0.0
        with pytest.raises(RuntimeError):
            z.backward()


def test_detect_anomaly_has_no_false_alarm_without_a_write():
    x = _vec(requires_grad=True)
    w = ag.tensor([4.0, 5.0, 6.0], requires_grad=True)
    with ag.detect_anomaly():
        z = (x * w).tanh().sum()
        z.backward()
    t = np.tanh(x.data * w.data)
    np.testing.assert_allclose(x.grad.data, (1 - t ** 2) * w.data, rtol=1e-14)


# ---- nn writes parameters through the tracked API -----------------------------------------------------

def _model():
    rng = np.random.default_rng(3)
    return nn.Linear(3, 2, rng=rng), ag.tensor(rng.standard_normal((5, 3)))


@pytest.mark.parametrize("make", [lambda ps: nn.optim.SGD(ps, lr=0.1),
                                  lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: nn.optim.Adam(ps, lr=0.1),
                                  lambda ps: nn.optim.RMSprop(ps, lr=0.1)],
                         ids=["sgd", "sgd-momentum", "adam", "rmsprop"])
def test_optimizer_step_writes_parameters_in_place_and_bumps_their_version(make):
    model, x = _model()
    opt = make(model.parameters())
    params = list(model.parameters())
    arrays = [p.data for p in params]
    olds = [p.data.copy() for p in params]
    versions = [p._version for p in params]
    model(x).sum().backward()
    opt.step()
    for p, a, old, v in zip(params, arrays, olds, versions):
        assert p.data is a and p._version == v + 1
        assert not np.array_equal(a, old)


def test_optimizer_step_makes_an_older_graph_refuse_backward():
    model, x = _model()
    opt = nn.optim.Adam(model.parameters(), lr=0.1)
    model(x).sum().backward()
    stale = (model(x) ** 2).sum()
    opt.step()
    with pytest.raises(RuntimeError):
        stale.backward()


def test_optimizer_zero_grad_keeps_the_gradient_tensors_and_zeroes_them_in_place():
    model, x = _model()
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    model(x).sum().backward()
    grads = [p.grad for p in model.parameters()]
    arrays = [g.data for g in grads]
    versions = [g._version for g in grads]
    opt.zero_grad(set_to_none=False)
    for p, g, a, v in zip(model.parameters(), grads, arrays, versions):
        assert p.grad is g and g.data is a and g._version == v + 1
        np.testing.assert_array_equal(a, np.zeros_like(a))


def test_module_zero_grad_keeps_the_gradient_tensors_and_zeroes_them_in_place():
    model, x = _model()
    model(x).sum().backward()
    grads = [p.grad for p in model.parameters()]
    arrays = [g.data for g in grads]
    versions = [g._version for g in grads]
    model.zero_grad(set_to_none=False)
    for p, g, a, v in zip(model.parameters(), grads, arrays, versions):
        assert p.grad is g
        np.testing.assert_array_equal(p.grad.data, np.zeros_like(a))
        assert g.data is a and g._version == v + 1  # zeroed through the tracked API, as the optimizer's does


def test_load_state_dict_writes_parameters_in_place_and_bumps_their_version():
    model, x = _model()
    other, _ = _model()
    with ag.no_grad():
        for p in other.parameters():
            p += 1.0
    state = other.state_dict()
    arrays = [p.data for p in model.parameters()]
    versions = [p._version for p in model.parameters()]
    stale = model(x).sum()
    model.load_state_dict(state)
    for (name, p), a, v in zip(model.named_parameters(), arrays, versions):
        assert p.data is a and p._version == v + 1
        np.testing.assert_array_equal(a, state[name])
    with pytest.raises(RuntimeError):
        stale.backward()


def test_vector_to_parameters_writes_in_place_and_bumps_their_version():
    model, x = _model()
    params = list(model.parameters())
    vec = nn.utils.parameters_to_vector(params) * 2.0 + 1.0
    arrays = [p.data for p in params]
    versions = [p._version for p in params]
    stale = model(x).sum()
    nn.utils.vector_to_parameters(vec, params)
    for p, a, v in zip(params, arrays, versions):
        assert p.data is a and p._version == v + 1
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(params), vec)
    with pytest.raises(RuntimeError):
        stale.backward()
