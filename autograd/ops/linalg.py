"""Matrix products with numpy's semantics: 1-d operands, 2-d, and batches that broadcast."""
from __future__ import annotations

import numpy as np

from ..function import Function, binary
from ..tensor import ArrayLike, Tensor


class MatMul(Function):
    """a @ b;  da = g @ b^T, db = a^T @ g (1-d operands promoted to matrices and back)."""
    name = "matmul"

    @staticmethod
    def forward(ctx, a, b):
        out = np.matmul(a, b)  # numpy itself rejects 0-d operands and mismatched inner sizes
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the promotions below
            return (g @ b.T if na else None), (a.T @ g if nb else None)
        if a.ndim == 1 and b.ndim == 1:  # inner product: g is a scalar
            return (g * b if na else None), (g * a if nb else None)
        a1, b1 = a.ndim == 1, b.ndim == 1
        if a1:
            a, g = a.reshape((1, -1)), g[..., None, :]
        if b1:
            b, g = b.reshape((-1, 1)), g[..., None]
        ga = g @ b.swapaxes(-1, -2) if na else None
        gb = a.swapaxes(-1, -2) @ g if nb else None
        # The engine sums broadcast batch axes; only the promoted axes are removed here.
        if ga is not None and a1:
            ga = ga[..., 0, :]
        if gb is not None and b1:
            gb = gb[..., 0]
        return ga, gb


def matmul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Matrix product with numpy's rules for 1-d and batched operands."""
    return binary(MatMul, a, b)


def dot(a: ArrayLike, b: ArrayLike) -> Tensor:
    """np.dot for operands of up to 2 dimensions (0-d operands multiply)."""
    na, nb = np.ndim(getattr(a, "data", a)), np.ndim(getattr(b, "data", b))
    if na == 0 or nb == 0:
        return a * b
    if na > 2 or nb > 2:
        raise ValueError(f"dot: operands of shapes {np.shape(getattr(a, 'data', a))} and "
                         f"{np.shape(getattr(b, 'data', b))}: use matmul for more than 2 dimensions")
    return binary(MatMul, a, b)
