"""Tensor as a value: construction, dtypes, attributes, conversions, repr and operators."""
import numpy as np
import pytest

import autograd as ag

# ---- construction and dtypes -----------------------------------------------------------------

def test_float64_is_the_default_for_python_numbers_and_lists():
    assert ag.tensor(1.5).dtype == np.float64
    assert ag.tensor([1.0, 2.0]).dtype == np.float64
    assert ag.zeros(2, 3).dtype == np.float64 and ag.ones((2, 3)).shape == (2, 3)


def test_float32_data_stays_float32_through_ops_and_backward():
    x = ag.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    assert x.dtype == np.float32
    y = (x * x).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_int_and_bool_data_are_allowed_without_requires_grad():
    i = ag.tensor([1, 2, 3])
    b = ag.tensor([True, False])
    assert i.dtype.kind == "i" and b.dtype == np.bool_
    assert not i.requires_grad and not b.requires_grad


@pytest.mark.parametrize("data", [[1, 2, 3], [True, False], 3])
def test_int_or_bool_data_with_requires_grad_is_a_clear_type_error(data):
    with pytest.raises(TypeError, match="floating"):
        ag.tensor(data, requires_grad=True)
    t = ag.tensor(data)
    with pytest.raises(TypeError, match="floating"):
        t.requires_grad_()
    assert not t.requires_grad  # the failed call changed nothing


def test_data_is_copied_from_the_source_array():
    a = np.array([1.0, 2.0])
    t = ag.tensor(a)
    a[0] = 100.0
    assert t.data[0] == 1.0


def test_object_data_is_rejected():
    with pytest.raises(TypeError, match="object"):
        ag.tensor([object()])


# ---- attributes and conversions -------------------------------------------------------------------

def test_shape_ndim_size_dtype_len_and_T():
    data = np.arange(6.0).reshape(2, 3)
    t = ag.tensor(data)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert len(t) == 2
    np.testing.assert_array_equal(t.T.data, data.T)
    np.testing.assert_array_equal(t.data, data)


def test_len_of_a_0d_tensor_is_a_type_error():
    with pytest.raises(TypeError):
        len(ag.tensor(3.0))


def test_numpy_item_float_and_asarray():
    t = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    s = ag.tensor(2.5)
    assert s.item() == 2.5 and isinstance(s.item(), float)
    assert float(s) == 2.5
    with pytest.raises(TypeError):
        float(t)


def test_repr_shows_values_requires_grad_and_the_op():
    x = ag.tensor([1.25, -3.5], requires_grad=True)
    r = repr(x)
    assert "1.25" in r and "-3.5" in r and "requires_grad=True" in r
    y = x * 2.0
    assert "mul" in repr(y) and "2.5" in repr(y) and "-7" in repr(y)
    assert "requires_grad" not in repr(ag.tensor([1.0]))  # plain data: nothing extra
    assert "float32" in repr(ag.tensor(np.ones(2, dtype=np.float32)))


# ---- graph attributes ----------------------------------------------------------------------------

def test_leaf_attributes():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert x.is_leaf and x.grad is None and x.grad_fn is None and x.requires_grad
    y = x + 1.0
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    assert y.grad_fn.inputs[0] is x


def test_detach_shares_data_but_leaves_the_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.0).detach()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    z = x.detach()
    assert np.shares_memory(z.data, x.data)
    (x * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 6.0])  # y acted as a constant


def test_requires_grad_in_place_returns_self():
    x = ag.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = ag.tensor([1.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


# ---- operators -------------------------------------------------------------------------------------

A = np.array([[1.0, -2.0], [3.0, 0.5]])
B = np.array([[0.5, 4.0], [-1.0, 2.0]])

BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("matmul", lambda a, b: a @ b),
]


@pytest.mark.parametrize("name,op", BINARY)
def test_binary_operators_match_numpy_in_every_operand_combination(name, op):
    expected = op(A, B)
    ta, tb = ag.tensor(A), ag.tensor(B)
    for got in (op(ta, tb), op(ta, B), op(A, tb)):  # ndarray on the left uses the reflected operator
        assert isinstance(got, ag.Tensor), name
        np.testing.assert_allclose(got.data, expected)


@pytest.mark.parametrize("name,op", BINARY[:4] + [("pow", lambda a, b: a ** b)])
def test_operators_with_python_numbers_on_either_side(name, op):
    x = np.array([1.5, 2.0, 3.0])
    t = ag.tensor(x)
    for got, want in ((op(t, 2.0), op(x, 2.0)), (op(2.0, t), op(2.0, x)), (op(t, 3), op(x, 3))):
        assert isinstance(got, ag.Tensor)
        np.testing.assert_allclose(got.data, want)


def test_unary_minus_and_abs():
    t = ag.tensor([-1.5, 0.0, 2.0])
    np.testing.assert_array_equal((-t).data, [1.5, 0.0, -2.0])
    np.testing.assert_array_equal(abs(t).data, [1.5, 0.0, 2.0])
    np.testing.assert_array_equal(t.abs().data, [1.5, 0.0, 2.0])


def test_reflected_operators_are_differentiable():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    w = np.array([1.0, -2.0])
    y = ((10.0 - x) + (2.0 / x) + (3.0 * x) + (2.0 ** x) + (w - x) * (w @ x)).sum()
    y.backward()
    d = x.data
    # d/dx of sum(w - x) * (w . x) is -(w . x) + sum(w - x) * w
    closed = -1.0 - 2.0 / d ** 2 + 3.0 + np.log(2.0) * 2.0 ** d - (w @ d) + np.sum(w - d) * w
    np.testing.assert_allclose(x.grad.data, closed)


@pytest.mark.parametrize("op,want", [
    (lambda t: t < 2.0, [True, False, False]),
    (lambda t: t <= 2.0, [True, True, False]),
    (lambda t: t > 2.0, [False, False, True]),
    (lambda t: t >= 2.0, [False, True, True]),
    (lambda t: t == 2.0, [False, True, False]),
    (lambda t: t != 2.0, [True, False, True]),
    (lambda t: 2.0 < t, [False, False, True]),
])
def test_comparisons_return_bool_tensors_without_grad(op, want):
    t = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = op(t)
    assert isinstance(c, ag.Tensor) and c.dtype == np.bool_
    assert not c.requires_grad and c.grad_fn is None
    np.testing.assert_array_equal(c.data, want)


def test_comparison_between_tensors_and_masking():
    a, b = ag.tensor([1.0, 5.0]), ag.tensor([2.0, 2.0])
    np.testing.assert_array_equal((a > b).data, [False, True])
    np.testing.assert_array_equal(a[a > b].data, [5.0])
