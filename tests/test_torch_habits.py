"""PyTorch habits (issue 14, section 2): the names people reach for, `dim=`/`keepdim=` with PyTorch's meaning
(`axis=` and positional arguments keep numpy's), and clear answers to numpy calls on tensors.

Expected values are numpy's or closed forms; where PyTorch is installed the same calls are compared with it.
"""
import numpy as np
import pytest

import autograd as ag

A = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])  # no ties along any axis
B = np.arange(24.0).reshape(2, 3, 4) / 7.0 - 1.5


def _leaf(a=A):
    return ag.tensor(a, requires_grad=True)


# ---- names -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_argmax_argmin_methods_and_functions(fn):
    x = _leaf(B)
    ref = getattr(np, fn)
    for got, want in [(getattr(x, fn)(), ref(B)), (getattr(ag, fn)(x), ref(B)),
                      (getattr(x, fn)(1), ref(B, 1)), (getattr(x, fn)(axis=-1), ref(B, -1)),
                      (getattr(x, fn)(dim=2), ref(B, 2)), (getattr(ag, fn)(x, dim=0), ref(B, 0)),
                      (getattr(x, fn)(dim=1, keepdim=True), ref(B, 1, keepdims=True)),
                      (getattr(x, fn)(axis=0, keepdims=True), ref(B, 0, keepdims=True))]:
        assert isinstance(got, ag.Tensor) and not got.requires_grad
        assert got.dtype.kind == "i" and got.shape == np.shape(want)
        np.testing.assert_array_equal(got.data, want)


def test_view_is_reshape_and_passes_the_gradient():
    x = _leaf(B)
    v = x.view(4, 6)
    np.testing.assert_array_equal(v.data, B.reshape(4, 6))
    assert x.view(-1).shape == (24,) and x.view((3, 8)).shape == (3, 8) and x.view(2, -1, 2).shape == (2, 6, 2)
    g = np.arange(24.0).reshape(4, 6)
    v.backward(g)
    np.testing.assert_array_equal(x.grad.data, g.reshape(2, 3, 4))


def test_permute():
    x = _leaf(B)
    for dims in [(2, 0, 1), (1, 2, 0), (-1, 0, 1)]:
        np.testing.assert_array_equal(x.permute(*dims).data, np.transpose(B, dims))
        np.testing.assert_array_equal(x.permute(dims).data, np.transpose(B, dims))
        np.testing.assert_array_equal(ag.permute(x, dims).data, np.transpose(B, dims))
    assert ag.gradcheck(lambda t: t.permute(2, 0, 1), [B])
    g = np.arange(24.0).reshape(4, 2, 3)
    x.permute(2, 0, 1).backward(g)
    np.testing.assert_array_equal(x.grad.data, np.transpose(g, (1, 2, 0)))


def test_unsqueeze():
    x = _leaf()
    for d in (0, 1, 2, -1, -3):
        np.testing.assert_array_equal(x.unsqueeze(d).data, np.expand_dims(A, d))
        np.testing.assert_array_equal(ag.unsqueeze(x, d).data, np.expand_dims(A, d))
    x.unsqueeze(1).backward(np.ones((2, 1, 3)))
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_transpose_with_two_dims_swaps_them_as_in_pytorch():
    x = _leaf(B)
    for d0, d1 in [(0, 2), (2, 0), (1, 2), (-1, 0), (0, 0)]:
        np.testing.assert_array_equal(x.transpose(d0, d1).data, np.swapaxes(B, d0, d1))
        np.testing.assert_array_equal(ag.transpose(x, d0, d1).data, np.swapaxes(B, d0, d1))
    # On a 2-d tensor transpose(0, 1) is PyTorch's swap (a numpy permutation (0, 1) would change nothing).
    np.testing.assert_array_equal(_leaf().transpose(0, 1).data, A.T)
    # numpy's forms stay: no argument reverses, one sequence or three ints permute.
    np.testing.assert_array_equal(x.transpose().data, B.T)
    np.testing.assert_array_equal(x.transpose((1, 2, 0)).data, np.transpose(B, (1, 2, 0)))
    np.testing.assert_array_equal(x.transpose(1, 2, 0).data, np.transpose(B, (1, 2, 0)))
    assert ag.gradcheck(lambda t: t.transpose(0, 2), [B])


def test_clone_is_a_differentiable_copy():
    x = _leaf()
    c = x.clone()
    np.testing.assert_array_equal(c.data, A)
    assert c.requires_grad and c.grad_fn is not None
    assert not np.shares_memory(c.data, x.data)
    c.data[0, 0] = 100.0  # the clone's storage is its own
    assert x.data[0, 0] == 1.0
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    (ag.clone(x) * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w)
    s = ag.tensor(3.0, requires_grad=True)
    cs = s.clone()
    assert cs.shape == () and float(cs) == 3.0
    (cs * cs).backward()
    assert float(s.grad) == 6.0


def test_tolist_and_numel():
    x = _leaf()
    assert x.tolist() == [[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]
    assert type(x.tolist()[0][0]) is float
    assert ag.tensor(2.5).tolist() == 2.5 and type(ag.tensor(2.5).tolist()) is float
    assert ag.tensor([1, 2]).tolist() == [1, 2]
    assert x.numel() == 6 and type(x.numel()) is int
    assert ag.tensor(2.5).numel() == 1 and ag.tensor(np.zeros((3, 0))).numel() == 0


def test_std_numpy_meaning_with_axis_pytorch_meaning_with_dim():
    x = _leaf(B)
    np.testing.assert_allclose(x.std().data, np.std(B), rtol=1e-14)
    np.testing.assert_allclose(ag.std(x, axis=1).data, np.std(B, axis=1), rtol=1e-14)
    np.testing.assert_allclose(x.std(1).data, np.std(B, 1), rtol=1e-14)  # positional: numpy
    np.testing.assert_allclose(x.std(dim=1).data, np.std(B, axis=1, ddof=1), rtol=1e-14)
    np.testing.assert_allclose(x.std(dim=(0, 2), keepdim=True).data, np.std(B, axis=(0, 2), ddof=1, keepdims=True),
                               rtol=1e-14)
    np.testing.assert_allclose(x.std(axis=0, ddof=1).data, np.std(B, axis=0, ddof=1), rtol=1e-14)
    assert ag.gradcheck(lambda t: t.std(dim=1), [B])
    # d std / dx = (x - mean) / ((n - ddof) std), closed form
    v = np.array([1.0, 2.0, 4.0, 7.0])
    y = ag.tensor(v, requires_grad=True)
    y.std(dim=0).backward()
    np.testing.assert_allclose(y.grad.data, (v - v.mean()) / (3 * np.std(v, ddof=1)), rtol=1e-14)


def test_norm_value_gradient_and_zero_subgradient():
    x = _leaf(B)
    np.testing.assert_allclose(x.norm().data, np.linalg.norm(B), rtol=1e-14)
    np.testing.assert_allclose(x.norm(dim=2).data, np.linalg.norm(B, axis=2), rtol=1e-14)
    np.testing.assert_allclose(ag.norm(x, axis=(0, 1), keepdims=True).data,
                               np.sqrt((B * B).sum(axis=(0, 1), keepdims=True)), rtol=1e-14)
    x.norm().backward()
    np.testing.assert_allclose(x.grad.data, B / np.linalg.norm(B), rtol=1e-14)
    assert ag.gradcheck(lambda t: t.norm(dim=1), [B])
    z = ag.tensor(np.zeros(3), requires_grad=True)
    z.norm().backward()
    np.testing.assert_array_equal(z.grad.data, np.zeros(3))
    rows = ag.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    rows.norm(dim=1).sum().backward()
    np.testing.assert_allclose(rows.grad.data, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-15)


def test_float_and_double_casts_as_in_pytorch():
    x = _leaf()
    f = x.float()
    assert f.dtype == np.float32 and f.requires_grad
    np.testing.assert_array_equal(f.data, A.astype(np.float32))
    assert f.double().dtype == np.float64
    assert ag.tensor([1, 2]).float().dtype == np.float32 and ag.tensor([1, 2]).double().dtype == np.float64
    (f * 2.0).sum().backward()
    assert x.grad.dtype == np.float64  # the gradient arrives in the leaf's own dtype
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))


def test_astype():
    x = _leaf()
    assert x.astype(np.float32).dtype == np.float32 and x.astype("float16").dtype == np.float16
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad
    np.testing.assert_array_equal(ag.astype(x, "int32").data, A.astype(np.int32))
    x.astype(np.float32).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_grad_zero_():
    x = _leaf()
    (x * x).sum().backward()
    g = x.grad
    assert x.grad.zero_() is g
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))
    (3.0 * x).sum().backward()  # accumulates onto the zeroed gradient
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 3.0))


def test_random_factories():
    a, b = ag.randn(2, 3, rng=np.random.default_rng(5)), ag.randn((2, 3), rng=np.random.default_rng(5))
    assert a.shape == (2, 3) and a.dtype == np.float64 and not a.requires_grad
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data, np.random.default_rng(5).standard_normal((2, 3)))
    big = ag.randn(20000, rng=np.random.default_rng(0)).data
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1.0) < 0.05
    assert ag.randn(3, requires_grad=True).requires_grad and ag.randn(3).shape == (3,)
    r = ag.rand(4, 5, rng=np.random.default_rng(1))
    assert r.shape == (4, 5) and r.dtype == np.float64
    assert r.data.min() >= 0.0 and r.data.max() < 1.0
    assert ag.rand((2, 2), dtype=np.float32).dtype == np.float32


def test_deterministic_factories():
    np.testing.assert_array_equal(ag.arange(5).data, np.arange(5))
    np.testing.assert_array_equal(ag.arange(1, 4).data, np.arange(1, 4))
    np.testing.assert_array_equal(ag.arange(0.0, 1.0, 0.25).data, np.arange(0.0, 1.0, 0.25))
    assert ag.arange(3, dtype=np.float64).dtype == np.float64
    assert ag.arange(0.0, 2.0, 0.5, requires_grad=True).requires_grad
    np.testing.assert_array_equal(ag.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(ag.eye(2, 4).data, np.eye(2, 4))
    np.testing.assert_array_equal(ag.full((2, 3), 7.5).data, np.full((2, 3), 7.5))
    assert ag.full(3, 1.5).shape == (3,) and ag.full((2,), 1.0, requires_grad=True).requires_grad
    x = _leaf(B)
    for fn, value in [(ag.zeros_like, 0.0), (ag.ones_like, 1.0)]:
        t = fn(x)
        assert t.shape == B.shape and t.dtype == np.float64 and not t.requires_grad
        np.testing.assert_array_equal(t.data, np.full(B.shape, value))
        assert fn(x, requires_grad=True).requires_grad
        assert fn(ag.tensor([1, 2])).dtype.kind == "i"


def test_cat_with_dim():
    x, y = _leaf(), ag.tensor(np.ones((2, 2)), requires_grad=True)
    out = ag.cat([x, y], dim=1)
    np.testing.assert_array_equal(out.data, np.concatenate([A, np.ones((2, 2))], axis=1))
    np.testing.assert_array_equal(ag.cat((x, x)).data, np.concatenate([A, A]))
    np.testing.assert_array_equal(ag.cat([x, x], dim=-2).data, np.concatenate([A, A], axis=0))
    np.testing.assert_array_equal(ag.concatenate([x, x], dim=1).data, np.concatenate([A, A], axis=1))
    g = np.arange(10.0).reshape(2, 5)
    out.backward(g)
    np.testing.assert_array_equal(x.grad.data, g[:, :3])
    np.testing.assert_array_equal(y.grad.data, g[:, 3:])


# ---- dim= and keepdim= with PyTorch's meaning ------------------------------------------------------------

@pytest.mark.parametrize("op,ref", [("sum", np.sum), ("mean", np.mean), ("logsumexp", None), ("norm", None)])
@pytest.mark.parametrize("dim", [0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_accept_dim_and_keepdim(op, ref, dim, keepdim):
    x = _leaf(B)
    if op == "logsumexp":
        want = np.log(np.sum(np.exp(B), axis=dim, keepdims=keepdim))
    elif op == "norm":
        want = np.sqrt(np.sum(B * B, axis=dim, keepdims=keepdim))
    else:
        want = ref(B, axis=dim, keepdims=keepdim)
    for got in (getattr(x, op)(dim=dim, keepdim=keepdim), getattr(ag, op)(x, dim=dim, keepdim=keepdim),
                getattr(x, op)(axis=dim, keepdims=keepdim)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.data, want, rtol=1e-13)


def test_max_min_with_dim_return_values_and_indices():
    x = _leaf()
    out = x.max(dim=1)
    values, indices = out  # unpacks like PyTorch's (values, indices)
    assert out.values is values and out.indices is indices and out[0] is values
    np.testing.assert_array_equal(values.data, [5.0, 6.0])
    np.testing.assert_array_equal(indices.data, [1, 2])
    assert indices.dtype.kind == "i" and not indices.requires_grad
    kept = ag.max(x, dim=0, keepdim=True)
    assert kept.values.shape == (1, 3) and kept.indices.shape == (1, 3)
    np.testing.assert_array_equal(kept.indices.data, [[1, 0, 1]])
    mn = x.min(dim=-1)
    np.testing.assert_array_equal(mn.values.data, [1.0, 2.0])
    np.testing.assert_array_equal(mn.indices.data, [0, 1])
    values.sum().backward()  # the gradient goes to each row's maximum
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # With axis= (or positionally, or with no axis) max is numpy's: one tensor of values.
    for plain in (x.max(axis=1), x.max(1), ag.max(x, 1), x.max()):
        assert isinstance(plain, ag.Tensor)
    np.testing.assert_array_equal(x.max(axis=1).data, [5.0, 6.0])


def test_var_with_dim_is_unbiased_with_axis_biased():
    x = _leaf(B)
    np.testing.assert_allclose(x.var(dim=0).data, np.var(B, axis=0, ddof=1), rtol=1e-14)
    np.testing.assert_allclose(ag.var(x, dim=(1, 2)).data, np.var(B, axis=(1, 2), ddof=1), rtol=1e-14)
    np.testing.assert_allclose(x.var(axis=0).data, np.var(B, axis=0), rtol=1e-14)
    np.testing.assert_allclose(x.var(0).data, np.var(B, axis=0), rtol=1e-14)
    np.testing.assert_allclose(x.var().data, np.var(B), rtol=1e-14)
    np.testing.assert_allclose(x.var(dim=0, unbiased=False).data, np.var(B, axis=0), rtol=1e-14)
    np.testing.assert_allclose(x.var(dim=0, correction=0).data, np.var(B, axis=0), rtol=1e-14)
    np.testing.assert_allclose(x.var(dim=1, keepdim=True).data, np.var(B, axis=1, ddof=1, keepdims=True),
                               rtol=1e-14)


def test_axis_and_dim_together_are_refused():
    x = _leaf()
    for call in (lambda: x.sum(axis=0, dim=0), lambda: x.max(axis=1, dim=1), lambda: x.var(axis=0, dim=0)):
        with pytest.raises(TypeError):
            call()


def test_softmax_and_log_softmax_with_dim():
    x = _leaf(B)
    for d in (0, 1, -1):
        e = np.exp(B - B.max(axis=d, keepdims=True))
        want = e / e.sum(axis=d, keepdims=True)
        np.testing.assert_allclose(x.softmax(dim=d).data, want, rtol=1e-14)
        np.testing.assert_allclose(ag.softmax(x, dim=d).data, want, rtol=1e-14)
        np.testing.assert_allclose(x.log_softmax(dim=d).data, np.log(want), rtol=1e-13)
        np.testing.assert_allclose(ag.log_softmax(x, dim=d).data, np.log(want), rtol=1e-13)


def test_split_with_dim_is_torch_split():
    x = _leaf(np.arange(10.0).reshape(2, 5))
    pieces = x.split(2, dim=1)  # pieces of 2 columns, the last shorter
    assert [p.shape for p in pieces] == [(2, 2), (2, 2), (2, 1)]
    np.testing.assert_array_equal(pieces[2].data, [[4.0], [9.0]])
    assert [p.shape for p in ag.split(x, [1, 4], dim=1)] == [(2, 1), (2, 4)]
    assert [p.shape for p in x.split(1, dim=0)] == [(1, 5), (1, 5)]
    # With axis= (or positionally) it is np.split: a number of equal sections, or cut indices.
    assert [p.shape for p in x.split(5, axis=1)] == [(2, 1)] * 5
    assert [p.shape for p in x.split(5, 1)] == [(2, 1)] * 5
    assert [p.shape for p in ag.split(x, [1, 4], axis=1)] == [(2, 1), (2, 3), (2, 1)]
    (pieces[0].sum() + 2.0 * pieces[2].sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 1.0, 0.0, 0.0, 2.0], [1.0, 1.0, 0.0, 0.0, 2.0]])


def test_other_dim_keywords():
    x = _leaf(np.zeros((1, 3, 1)))
    assert x.squeeze(dim=0).shape == (3, 1) and ag.squeeze(x, dim=-1).shape == (1, 3)
    assert ag.stack([x, x], dim=1).shape == (1, 2, 3, 1)
    assert ag.concatenate([x, x], dim=2).shape == (1, 3, 2)


def test_dim_keywords_match_pytorch():
    torch = pytest.importorskip("torch")
    x, t = _leaf(B), torch.tensor(B)
    for d in (0, 1, -1):
        for k in (False, True):
            for name in ("sum", "mean", "var", "std", "logsumexp", "argmax", "argmin"):
                np.testing.assert_allclose(getattr(x, name)(dim=d, keepdim=k).data,
                                           getattr(t, name)(dim=d, keepdim=k).numpy(), rtol=1e-13, err_msg=name)
            for name in ("max", "min"):
                ours, theirs = getattr(x, name)(dim=d, keepdim=k), getattr(t, name)(dim=d, keepdim=k)
                np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
                np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
            np.testing.assert_allclose(x.norm(dim=d, keepdim=k).data, t.norm(dim=d, keepdim=k).numpy(), rtol=1e-13)
        np.testing.assert_allclose(x.softmax(dim=d).data, t.softmax(dim=d).numpy(), rtol=1e-13)
        np.testing.assert_allclose(x.log_softmax(dim=d).data, t.log_softmax(dim=d).numpy(), rtol=1e-13)
        assert x.unsqueeze(d).shape == tuple(t.unsqueeze(d).shape)
    assert [p.shape for p in x.split(2, dim=2)] == [tuple(p.shape) for p in t.split(2, dim=2)]
    assert [p.shape for p in x.split([1, 2], dim=1)] == [tuple(p.shape) for p in t.split([1, 2], dim=1)]
    np.testing.assert_array_equal(x.transpose(0, 2).data, t.transpose(0, 2).numpy())
    np.testing.assert_array_equal(x.permute(2, 0, 1).data, t.permute(2, 0, 1).numpy())
    np.testing.assert_array_equal(x.view(4, 6).data, t.view(4, 6).numpy())
    assert x.float().dtype == np.dtype(str(t.float().dtype).removeprefix("torch."))
    assert x.size() == tuple(t.size()) and x.size(1) == t.size(1) and x.numel() == t.numel()
    np.testing.assert_allclose(ag.cat([x, x], dim=1).data, torch.cat([t, t], dim=1).numpy())
    z, tz = ag.tensor(np.zeros(3), requires_grad=True), torch.zeros(3, dtype=torch.float64, requires_grad=True)
    z.norm().backward()
    tz.norm().backward()
    np.testing.assert_array_equal(z.grad.data, tz.grad.numpy())


# ---- numpy calls on tensors ------------------------------------------------------------------------------

def test_np_sum_of_a_tensor_is_the_differentiable_sum():
    x = _leaf()
    s = np.sum(x)
    assert isinstance(s, ag.Tensor) and float(s) == A.sum()
    s.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))
    np.testing.assert_array_equal(np.sum(x, axis=0).data, A.sum(axis=0))
    np.testing.assert_array_equal(np.sum(x, axis=1, keepdims=True).data, A.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(np.mean(x).data, A.mean())
    with pytest.raises(TypeError, match="dtype"):  # what the tensor cannot honour is refused, not ignored
        np.sum(x, dtype=np.float32)


def test_array_minus_equals_tensor_says_what_to_do():
    x = _leaf()
    arr = np.ones((2, 3))
    with pytest.raises(TypeError) as info:
        arr -= x
    msg = str(info.value)
    assert "numpy()" in msg and "array - tensor" in msg.replace("result = ", "")
    np.testing.assert_array_equal(arr, np.ones((2, 3)))  # nothing was written
    with pytest.raises(TypeError, match=r"numpy\(\)"):
        np.exp(x, out=np.empty((2, 3)))


def test_size_is_numel_and_callable_as_in_pytorch():
    x = _leaf(B)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple)
    assert x.size(1) == 3 and x.size(-1) == 4 and x.size(dim=0) == 2
    assert x.size == 24 and x.size == x.numel() and int(x.size) == 24
    assert x.size * 2 == 48 and np.zeros(x.size).shape == (24,)
    assert ag.tensor(1.0).size() == () and ag.tensor(1.0).size == 1


def test_np_exp_of_a_tensor_is_differentiable():
    x = _leaf()
    y = np.exp(x)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(A), rtol=1e-15)
    z = _leaf()
    w = np.ones((2, 3)) * 2.0 - np.tanh(z)  # an array on the left, a numpy function in the middle
    w.sum().backward()
    np.testing.assert_allclose(z.grad.data, -(1.0 - np.tanh(A) ** 2), rtol=1e-14)


def test_numpy_ufuncs_without_a_gradient_rule_are_refused_clearly():
    with pytest.raises(TypeError, match=r"np\.log1p.*numpy\(\)"):
        np.log1p(_leaf())


_NUMPY_FUNCTIONS = {
    "dot": lambda w: np.dot(w, np.ones((3, 2))), "matmul": lambda w: np.matmul(w, np.ones((3, 2))),
    "concatenate": lambda w: np.concatenate([w, w], axis=1), "stack": lambda w: np.stack([w, w]),
    "where": lambda w: np.where(w.numpy() > 2.0, w, 0.0), "reshape": lambda w: np.reshape(w, (3, 2)),
    "clip": lambda w: np.clip(w, 0.0, 3.0), "square": lambda w: np.square(w),
}


@pytest.mark.parametrize("name", list(_NUMPY_FUNCTIONS))
def test_numpy_functions_on_tensors_never_silently_drop_the_gradient(name):
    """np.dot(W, x) and friends either give a differentiable Tensor or raise: never a plain array that
    cuts W out of the graph (the model would silently not train)."""
    w = _leaf()
    try:
        out = _NUMPY_FUNCTIONS[name](w)
    except TypeError as e:
        assert "numpy()" in str(e) or "autograd" in str(e), str(e)
        return
    assert isinstance(out, ag.Tensor) and out.requires_grad, f"got a {type(out).__name__} without a gradient"
    out.sum().backward()
    assert w.grad is not None and np.any(w.grad.data != 0)
