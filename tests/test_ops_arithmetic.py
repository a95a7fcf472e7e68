"""Property tests of + - * / ** neg abs: values against numpy, gradients against finite differences.

Shapes are drawn broadcastable (0-d, size-1 axes, missing leading axes), so un-broadcasting is exercised.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import floats, op_test

test_add = op_test(ag.add, np.add, n=2)
test_sub = op_test(ag.sub, np.subtract, n=2)
test_mul = op_test(ag.mul, np.multiply, n=2)
test_div = op_test(ag.div, np.divide, n=2, avoid=[0.0], margin=0.25)
test_neg = op_test(ag.neg, np.negative)
test_abs = op_test(ag.abs, np.abs, avoid=[0.0])

# The same ops through Python's operators, including the reflected forms with plain numbers.
test_add_operator = op_test(lambda a, b: a + b, np.add, n=2, name="add_operator")
test_sub_operator = op_test(lambda a, b: a - b, np.subtract, n=2, name="sub_operator")
test_mul_operator = op_test(lambda a, b: a * b, np.multiply, n=2, name="mul_operator")
test_div_operator = op_test(lambda a, b: a / b, np.divide, n=2, avoid=[0.0], margin=0.25, name="div_operator")
test_unary_operators = op_test(lambda x: abs(-x), lambda x: np.abs(-x), avoid=[0.0], name="unary_operators")
test_reflected_scalars = op_test(lambda x: (2.5 - x) * 3.0 / (1.5 + x * x) + 1.0 / x - 0.5,
                                 lambda x: (2.5 - x) * 3.0 / (1.5 + x * x) + 1.0 / x - 0.5,
                                 avoid=[0.0], margin=0.25, name="reflected_scalars")


def _constant_like(shapes):
    """A plain ndarray operand (no gradient) of a shape that broadcasts with the tensor's."""
    return hnp.broadcastable_shapes(shapes[0], min_dims=0, max_side=4).flatmap(
        lambda s: hnp.arrays(np.float64, s, elements=floats(avoid=[0.0], margin=0.25))).map(lambda c: {"c": c})


# Tensor (op) ndarray: only one side needs a gradient, so each rule's needs_input_grad branch is taken.
test_mul_by_array = op_test(lambda x, c: x * c, lambda x, c: x * c, options=_constant_like, name="mul_by_array")
test_array_minus_tensor = op_test(lambda x, c: c - x, lambda x, c: c - x, options=_constant_like,
                                  name="array_minus_tensor")
test_array_divided_by_tensor = op_test(lambda x, c: c / x, lambda x, c: c / x, avoid=[0.0], margin=0.25,
                                       options=_constant_like, name="array_divided_by_tensor")


# pow with a number as exponent: integer exponents for any non-zero base, real ones for positive bases.
test_pow_integer_exponent = op_test(lambda x, p: x ** p, lambda x, p: x ** float(p), avoid=[0.0], margin=0.25,
                                    options=st.fixed_dictionaries({"p": st.sampled_from([0, 1, 2, 3, -1, -2])}),
                                    name="pow_integer_exponent")
test_pow_real_exponent = op_test(lambda x, p: ag.pow(x, p), lambda x, p: x ** p, domain=(0.2, 2.0),
                                 options=st.fixed_dictionaries({"p": st.sampled_from([0.5, 1.5, -0.5, 2.5, 1 / 3])}),
                                 name="pow_real_exponent")
# pow with a Tensor exponent (and positive base): both gradients, broadcasting both ways.
test_pow_tensor_exponent = op_test(ag.pow, np.power, n=2, domain=[(0.2, 2.0), (-2.0, 2.0)],
                                   name="pow_tensor_exponent")
test_pow_operator = op_test(lambda a, b: a ** b, np.power, n=2, domain=[(0.2, 2.0), (-2.0, 2.0)],
                            name="pow_operator")
# A number or an array raised to a Tensor power (__rpow__).
test_rpow_number = op_test(lambda x: 1.7 ** x, lambda x: 1.7 ** x, name="rpow_number")
test_rpow_array = op_test(lambda x, c: np.abs(c) ** x, lambda x, c: np.abs(c) ** x, options=_constant_like,
                          name="rpow_array")


def test_mixed_ops_accumulate_into_one_leaf():
    """A leaf used by several ops gets the sum of their gradients (closed form of d/dx of x*x + 3x - x/2)."""
    x = ag.tensor([[-1.5, 0.5], [2.0, 3.0]], requires_grad=True)
    (x * x + 3.0 * x - x / 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 2.5, rtol=1e-12)


def test_broadcast_gradient_sums_over_stretched_axes():
    """d/db sum(a + b) for b of shape (1, 3) and a of shape (4, 2, 3) is 8 everywhere (closed form)."""
    a = ag.tensor(np.ones((4, 2, 3)), requires_grad=True)
    b = ag.tensor(np.zeros((1, 3)), requires_grad=True)
    (a * 2.0 + b).sum().backward()
    assert b.grad.shape == (1, 3)
    np.testing.assert_array_equal(b.grad.data, np.full((1, 3), 8.0))
    np.testing.assert_array_equal(a.grad.data, np.full((4, 2, 3), 2.0))
