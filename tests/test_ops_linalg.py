"""matmul and dot: every operand layout numpy allows (1-d, 2-d, batches that broadcast, 1-d with n-d),
values against numpy and gradients against finite differences."""
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import floats, op_test

_side = st.integers(1, 3)


@st.composite
def _matmul_shapes(draw, left_1d=None, right_1d=None):
    """Operand shapes for a @ b: batch axes that broadcast against each other, 1-d operands optional."""
    m, k, n = draw(_side), draw(_side), draw(_side)
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    a1 = draw(st.booleans()) if left_1d is None else left_1d
    b1 = draw(st.booleans()) if right_1d is None else right_1d
    return ((k,) if a1 else batch_a + (m, k)), ((k,) if b1 else batch_b + (k, n))


test_matmul = op_test(ag.matmul, np.matmul, n=2, shapes=_matmul_shapes())
test_matmul_batched = op_test(ag.matmul, np.matmul, n=2, shapes=_matmul_shapes(False, False), name="matmul_batched")
test_matmul_vector_left = op_test(ag.matmul, np.matmul, n=2, shapes=_matmul_shapes(True, False),
                                  name="matmul_vector_left")
test_matmul_vector_right = op_test(ag.matmul, np.matmul, n=2, shapes=_matmul_shapes(False, True),
                                   name="matmul_vector_right")
test_matmul_operator = op_test(lambda a, b: a @ b, np.matmul, n=2, shapes=_matmul_shapes(), name="matmul_operator")
test_matmul_method = op_test(lambda a, b: a.matmul(b), np.matmul, n=2, shapes=_matmul_shapes(), name="matmul_method")


def _left_array(shs):
    """A plain ndarray (no gradient) to multiply the tensor from the left: ndarray @ Tensor."""
    k = shs[0][-2]
    return hnp.arrays(np.float64, (2, k), elements=floats()).map(lambda a: {"a": a})


test_array_matmul_tensor = op_test(lambda b, a: a @ b, lambda b, a: a @ b, min_dims=2, max_side=3,
                                   options=_left_array, name="array_matmul_tensor")


@st.composite
def _dot_shapes(draw):
    """Operands of np.dot with at most 2 axes, 0-d ones included (dot then multiplies)."""
    m, k, n = draw(_side), draw(_side), draw(_side)
    kind = draw(st.sampled_from(["vv", "mv", "vm", "mm", "0d"]))
    if kind == "0d":
        other = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
        return ((), other) if draw(st.booleans()) else (other, ())
    return {"vv": ((k,), (k,)), "mv": ((m, k), (k,)), "vm": ((k,), (k, n)), "mm": ((m, k), (k, n))}[kind]


test_dot = op_test(ag.dot, np.dot, n=2, shapes=_dot_shapes())
test_dot_method = op_test(lambda a, b: a.dot(b), np.dot, n=2, shapes=_dot_shapes(), name="dot_method")


def test_matmul_gradient_closed_form():
    """d/dA sum(A @ B) = 1 @ B^T and d/dB = A^T @ 1, batched with a broadcast B."""
    a = ag.tensor(np.arange(12.0).reshape(2, 2, 3), requires_grad=True)
    b = ag.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    (a @ b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.broadcast_to(b.data.sum(axis=1), (2, 2, 3)))
    np.testing.assert_array_equal(b.grad.data, np.repeat(a.data.sum(axis=(0, 1))[:, None], 2, axis=1))


def test_matmul_rejects_0d_operands_and_mismatched_sides():
    with pytest.raises(ValueError, match="matmul"):
        ag.matmul(ag.tensor(2.0), ag.tensor([1.0]))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\)"):
        ag.matmul(ag.ones(2, 3), ag.ones(2, 3))


# ---- dot for any number of dimensions (issue 13): np.dot's rule, a's last axis with b's second-to-last ----

@st.composite
def _dot_any_rank_shapes(draw):
    """(a, b) shapes of ranks 0-3 and 0-4 that np.dot accepts."""
    rank_a, rank_b = draw(st.integers(0, 3)), draw(st.integers(0, 4))
    a = draw(hnp.array_shapes(min_dims=rank_a, max_dims=rank_a, max_side=3)) if rank_a else ()
    b = list(draw(hnp.array_shapes(min_dims=rank_b, max_dims=rank_b, max_side=3))) if rank_b else []
    if a and b:
        b[-2 if len(b) >= 2 else 0] = a[-1]
    return a, tuple(b)


test_dot_any_rank = op_test(ag.dot, np.dot, n=2, shapes=_dot_any_rank_shapes(), name="dot_any_rank")
