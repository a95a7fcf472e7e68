"""Only real numbers flow (issue 12, point 3): object arrays are refused where they enter, complex tensors
cannot require grad, and a hook's replacement gradient is checked like a rule's."""
import numpy as np
import pytest

import autograd as ag
import nn


def _obj(values=(3.0, 4.0)):
    return np.array(values, dtype=object)


# ---- object arrays ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,fn", [
    ("mul", lambda x, o: x * o),
    ("mul", lambda x, o: o * x),
    ("add", lambda x, o: x + o),
    ("sub", lambda x, o: x - o),
    ("div", lambda x, o: x / o),
    ("matmul", lambda x, o: x @ o),  # 1-d @ 1-d: numpy gives a plain Python number, not an object array
    ("matmul", lambda x, o: x @ np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object)),
    ("maximum", lambda x, o: ag.maximum(x, o)),
    ("where", lambda x, o: ag.where(np.array([True, False]), x, o)),
    ("stack", lambda x, o: ag.stack([x, o])),
])
def test_an_object_array_operand_is_refused_naming_the_op(name, fn):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=name):
        fn(x, _obj())
    assert x.grad is None


def test_issue_example_object_operand_no_longer_drops_out_of_the_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="mul") as err:
        x * np.array([3.0, 4.0], dtype=object)
    assert "object" in str(err.value)


@pytest.mark.parametrize("data", [_obj(), _obj([[1.0], [2.0]]), {"a": 1}, object()],
                         ids=["1d", "2d", "dict", "object"])
def test_a_tensor_cannot_be_made_from_an_object_array(data):
    with pytest.raises(TypeError, match="object"):
        ag.tensor(data)
    with pytest.raises(TypeError):
        ag.tensor(data, requires_grad=True)


@pytest.mark.parametrize("data", [[1.0, "a"], np.array(["1.0"]), np.datetime64("2020-01-01")],
                         ids=["mixed-list", "str", "datetime"])
def test_only_real_floats_can_require_grad(data):
    with pytest.raises(TypeError):
        ag.tensor(data, requires_grad=True)


def test_a_list_operand_holding_a_tensor_that_requires_grad_never_loses_its_gradient():
    x = ag.tensor([2.0, -3.0], requires_grad=True)
    a = ag.tensor(5.0, requires_grad=True)
    try:
        y = x * [a, 2.0]
    except TypeError:
        return  # refused: fine
    y.sum().backward()
    assert a.grad is not None and float(a.grad) == 2.0  # or the gradient reaches a


@pytest.mark.parametrize("shape", [(2,), (3, 2)])
def test_linear_refuses_an_object_array_input(shape):
    rng = np.random.default_rng(0)
    layer = nn.Linear(2, 3, rng=rng)
    X = np.ones(shape, dtype=object)
    with pytest.raises(TypeError):
        layer(X)
    assert layer.weight.grad is None


def test_linear_fed_object_array_never_trains_on_wrong_gradients():
    rng = np.random.default_rng(1)
    layer = nn.Linear(2, 1, rng=rng)
    X = rng.standard_normal((8, 2))
    with pytest.raises(TypeError):
        ((layer(X.astype(object)) - 1.0) ** 2).mean().backward()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_in_place_writes_refuse_object_values():
    t = ag.tensor([1.0, 2.0])
    with pytest.raises(TypeError):
        t.copy_(_obj())
    with pytest.raises(TypeError):
        t += _obj()
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


# ---- complex numbers --------------------------------------------------------------------------------

def test_a_complex_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="complex"):
        ag.tensor([1 + 1j, 2.0], requires_grad=True)
    c = ag.tensor([1 + 1j, 2.0])
    with pytest.raises(TypeError, match="complex"):
        c.requires_grad_()
    assert not c.requires_grad
    with pytest.raises(TypeError):
        ag.zeros(2, dtype=np.complex128, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError):
        ag.tensor([1, 0], dtype=dtype, requires_grad=True)


def test_complex_values_reached_from_a_real_leaf_never_give_a_silently_wrong_gradient():
    # |x (1+1j)| = sqrt(2) |x|: the true derivative is sqrt(2) sign(x). Either the complex intermediate is
    # refused (complex gradients are not supported), or the gradient is right; never a dropped imaginary part.
    x = ag.tensor([2.0, -3.0], requires_grad=True)
    try:
        y = x * np.array([1 + 1j, 1 + 1j])
        loss = abs(y).sum()
        loss.backward()
    except TypeError:
        assert x.grad is None
        return
    np.testing.assert_allclose(x.grad.data, np.sqrt(2) * np.sign(x.data), rtol=1e-12)


def test_complex_constants_in_no_grad_computations_are_fine():
    c = ag.tensor([1 + 1j, 2.0])
    np.testing.assert_array_equal((c * 2).data, [2 + 2j, 4.0])


# ---- hooks' return values ---------------------------------------------------------------------------

BAD_HOOKS = [
    ("string array", lambda g: np.array(["a", "b"]), TypeError),
    ("string", lambda g: "abc", TypeError),
    ("int array", lambda g: np.array([1, 2]), TypeError),
    ("bool array", lambda g: np.array([True, False]), TypeError),
    ("complex array", lambda g: np.array([1j, 2j]), TypeError),
    ("object array", lambda g: np.array([1.0, 2.0], dtype=object), TypeError),
    ("wrong length", lambda g: np.ones(3), ValueError),
    ("extra axis", lambda g: np.ones((2, 1)), ValueError),
    ("scalar for a vector", lambda g: 1.0, ValueError),
    ("int tensor", lambda g: ag.tensor([1, 2]), TypeError),
]


@pytest.mark.parametrize("what,hook,err", BAD_HOOKS, ids=[b[0] for b in BAD_HOOKS])
def test_a_leaf_hook_returning_a_bad_gradient_is_refused_and_grad_is_unchanged(what, hook, err):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.tensor([3.0, 4.0], requires_grad=True)
    y.grad = ag.tensor([10.0, 10.0])
    x.register_hook(hook)
    with pytest.raises(err):
        (x * y).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(y.grad.data, [10.0, 10.0])


@pytest.mark.parametrize("what,hook,err", BAD_HOOKS, ids=[b[0] for b in BAD_HOOKS])
def test_a_non_leaf_hook_returning_a_bad_gradient_is_refused(what, hook, err):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    y.register_hook(hook)
    with pytest.raises(err):
        (y * y).sum().backward()
    assert x.grad is None


def test_a_hook_message_names_the_dtype_it_returned():
    x = ag.tensor([1.0, 2.0], requires_grad=True)

    def to_text(g):
        return "float64"  # text, not a gradient (a dtype-like string must not be mistaken for a dtype)

    x.register_hook(to_text)
    with pytest.raises(TypeError, match="to_text") as err:
        (x * x).sum().backward()
    assert "<U" in str(err.value) or "str" in str(err.value)


def test_a_hook_returning_a_valid_replacement_is_used():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 3.0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    z = x * 1.0
    z.register_hook(lambda g: np.array([1.0, -1.0]))
    (z * z).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0])


def test_a_hook_returning_another_float_dtype_leaves_grad_in_the_leaf_dtype():
    x = ag.tensor([1.0, 2.0], requires_grad=True)  # float64
    x.register_hook(lambda g: np.asarray(g, dtype=np.float32))
    try:
        (x * x).sum().backward()
    except TypeError:
        assert x.grad is None  # refused, as PyTorch does
        return
    assert x.grad.dtype == np.float64  # or cast to the leaf's dtype, as a rule's gradient is
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
