"""Ops that move elements: property tests over drawn shapes and arguments (values vs numpy, gradients vs
finite differences), then indexing with repeated indices in closed form."""
import itertools

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import op_test, shapes


def _signed(axis, ndim):
    """The axis as given or counted from the end."""
    return st.sampled_from([axis, axis - ndim])


# ---- reshape family ----------------------------------------------------------------------------------------

def _targets(size):
    """Every shape of up to 3 axes holding `size` elements, also with one side written as -1."""
    sides = [d for d in range(1, size + 1) if size % d == 0]
    found = [()] if size == 1 else []
    for ndim in (1, 2, 3):
        found += [s for s in itertools.product(sides, repeat=ndim) if int(np.prod(s)) == size]
    with_minus = [s[:i] + (-1,) + s[i + 1:] for s in found for i in range(len(s))]
    return found + with_minus


def _reshape_options(shs):
    return st.sampled_from(_targets(int(np.prod(shs[0])))).map(lambda s: {"shape": s})


test_reshape = op_test(lambda x, shape: ag.reshape(x, shape), np.reshape, options=_reshape_options, name="reshape")
test_reshape_method = op_test(lambda x, shape: x.reshape(*shape), np.reshape, options=_reshape_options,
                              name="reshape_method")
test_flatten = op_test(ag.flatten, np.ravel)


def _transpose_options(shs):
    ndim = len(shs[0])
    perm = st.permutations(range(ndim)).flatmap(lambda p: st.tuples(*[_signed(a, ndim) for a in p]))
    return st.fixed_dictionaries({"axes": st.none() | perm})


test_transpose = op_test(lambda x, axes: ag.transpose(x, axes), lambda x, axes: np.transpose(x, axes),
                         options=_transpose_options, name="transpose")


def _mixed_sign_permutation(shs):
    """Every other axis counted from the end, so sorting the raw numbers would not invert the permutation."""
    ndim = len(shs[0])
    return st.permutations(range(ndim)).map(
        lambda p: {"axes": tuple(a - ndim if i % 2 == 0 else a for i, a in enumerate(p))})


test_transpose_mixed_sign_axes = op_test(lambda x, axes: ag.transpose(x, axes),
                                         lambda x, axes: np.transpose(x, axes), min_dims=2,
                                         options=_mixed_sign_permutation, name="transpose_mixed_sign_axes")
test_T = op_test(lambda x: x.T, np.transpose, name="T")


def _swap_options(shs):
    ndim = len(shs[0])
    axis = st.integers(-ndim, ndim - 1)
    return st.fixed_dictionaries({"a": axis, "b": axis})


test_swapaxes = op_test(ag.swapaxes, lambda x, a, b: np.swapaxes(x, a, b), options=_swap_options, min_dims=1)


def _expand_options(shs):
    ndim = len(shs[0])
    return st.integers(-ndim - 1, ndim).map(lambda a: {"axis": a})


test_expand_dims = op_test(ag.expand_dims, np.expand_dims, options=_expand_options)


def _squeeze_options(shs):
    ones = [i for i, n in enumerate(shs[0]) if n == 1]
    subsets = st.lists(st.sampled_from(ones), unique=True).flatmap(
        lambda ax: st.tuples(*[_signed(a, len(shs[0])) for a in ax])) if ones else st.just(())
    single = [st.sampled_from(ones)] if ones else []
    return st.one_of([st.none(), subsets] + single).map(lambda a: {"axis": a})


test_squeeze = op_test(ag.squeeze, np.squeeze, options=_squeeze_options)


@st.composite
def _broadcast_target(draw, shape):
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    return {"shape": lead + tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)}


test_broadcast_to = op_test(ag.broadcast_to, np.broadcast_to, options=lambda shs: _broadcast_target(shs[0]))


# ---- joining and splitting ---------------------------------------------------------------------------------

@st.composite
def _joinable(draw, n, same):
    """n shapes that agree except along one axis (or everywhere when `same`)."""
    base = draw(shapes(min_dims=1, max_dims=3, max_side=3))
    if same:
        return (base,) * n
    axis = draw(st.integers(0, len(base) - 1))
    return tuple(base[:axis] + (draw(st.integers(1, 3)),) + base[axis + 1:] for _ in range(n))


def _concat_axis(shs):
    """Axes along which the drawn shapes may be joined (all of them when the shapes are equal)."""
    ndim = len(shs[0])
    ok = [a for a in range(ndim) if all(s[:a] + s[a + 1:] == shs[0][:a] + shs[0][a + 1:] for s in shs)]
    return st.sampled_from(ok).flatmap(lambda a: _signed(a, ndim)).map(lambda a: {"axis": a})


test_concatenate_two = op_test(lambda a, b, axis: ag.concatenate([a, b], axis=axis),
                               lambda a, b, axis: np.concatenate([a, b], axis=axis),
                               n=2, shapes=_joinable(2, False), options=_concat_axis, name="concatenate_two")
test_concatenate_three = op_test(lambda *xs, axis: ag.concatenate(xs, axis=axis),
                                 lambda *xs, axis: np.concatenate(xs, axis=axis),
                                 n=3, shapes=_joinable(3, False), options=_concat_axis, name="concatenate_three")
test_concatenate_one = op_test(lambda x: ag.concatenate([x]), lambda x: np.concatenate([x]), min_dims=1,
                               name="concatenate_one")


def _stack_axis(shs):
    ndim = len(shs[0]) + 1
    return st.integers(-ndim, ndim - 1).map(lambda a: {"axis": a})


test_stack_two = op_test(lambda a, b, axis: ag.stack([a, b], axis=axis), lambda a, b, axis: np.stack([a, b], axis),
                         n=2, shapes=_joinable(2, True), options=_stack_axis, name="stack_two")
test_stack_three_0d = op_test(lambda *xs, axis: ag.stack(xs, axis=axis), lambda *xs, axis: np.stack(xs, axis),
                              n=3, shapes=st.just(((), (), ())), options=_stack_axis, name="stack_three_0d")


@st.composite
def _split_options(draw, shape):
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    n = shape[axis]
    if draw(st.booleans()):
        return {"sections": draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0])), "axis": axis}
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))  # repeated cuts give empty pieces
    return {"sections": cuts, "axis": axis}


test_split = op_test(lambda x, sections, axis: ag.split(x, sections, axis=axis),
                     lambda x, sections, axis: np.split(x, sections, axis=axis),
                     min_dims=1, options=lambda shs: _split_options(shs[0]), name="split")
test_split_method = op_test(lambda x, sections, axis: x.split(sections, axis=axis),
                            lambda x, sections, axis: np.split(x, sections, axis=axis),
                            min_dims=1, options=lambda shs: _split_options(shs[0]), name="split_method")


@st.composite
def _pad_options(draw, shape):
    width = st.integers(0, 2)
    kind = draw(st.sampled_from(["int", "pair", "per_axis"] if shape else ["int", "pair"]))
    if kind == "int":
        pad_width = draw(width)
    elif kind == "pair":
        pad_width = (draw(width), draw(width))
    else:
        pad_width = tuple((draw(width), draw(width)) for _ in shape)
    return {"pad_width": pad_width, "value": draw(st.sampled_from([0.0, -1.5, 2.0]))}


test_pad = op_test(ag.pad, lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value),
                   options=lambda shs: _pad_options(shs[0]))


# ---- indexing ------------------------------------------------------------------------------------------------

def _getitem(x, index):
    return x[index]


test_getitem_basic = op_test(_getitem, _getitem, name="getitem_basic", options=lambda shs: hnp.basic_indices(
    shs[0], allow_newaxis=True, allow_ellipsis=True).map(lambda i: {"index": i}))


@st.composite
def _mask(draw, shape):
    """A boolean mask of the whole shape or of its leading axes."""
    k = draw(st.integers(1, len(shape))) if shape else 0
    return {"index": draw(hnp.arrays(bool, shape[:k]))}


test_getitem_mask = op_test(_getitem, _getitem, name="getitem_mask", options=lambda shs: _mask(shs[0]))


@st.composite
def _repeating_indices(draw, shape):
    """Integer arrays (negative ones too) for every axis, with the first position repeated on purpose."""
    idx = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=3)))
    return {"index": tuple(np.concatenate([i.reshape(-1), i.reshape(-1)[:1]]) for i in idx)}


test_getitem_int_arrays = op_test(_getitem, _getitem, name="getitem_int_arrays", min_dims=1,
                                  options=lambda shs: _repeating_indices(shs[0]))


@st.composite
def _mixed_index(draw, shape):
    """An integer array with repeats on one axis, slices, None or ... elsewhere."""
    axis = draw(st.integers(0, len(shape) - 1))
    rows = draw(st.lists(st.integers(-shape[axis], shape[axis] - 1), min_size=1, max_size=5))
    rows = np.array(rows + rows[:1])
    if draw(st.booleans()):
        return {"index": (Ellipsis,) + (rows,) + (slice(None),) * (len(shape) - axis - 1)}
    return {"index": (slice(None, None, -1),) * axis + (rows, None)}


test_getitem_mixed = op_test(_getitem, _getitem, name="getitem_mixed", min_dims=1,
                             options=lambda shs: _mixed_index(shs[0]))
test_getitem_list = op_test(lambda x: x[[0, -1, 0, 0]], lambda x: x[[0, -1, 0, 0]], min_dims=1,
                            name="getitem_list")


def test_repeated_indices_accumulate():
    """x[[0, 2, 0, 0]] sends three upstream entries to x[0] (closed form)."""
    x = ag.tensor([10.0, 20.0, 30.0], requires_grad=True)
    y = x[np.array([0, 2, 0, 0])]
    np.testing.assert_array_equal(y.data, [10.0, 30.0, 10.0, 10.0])
    y.backward(np.array([1.0, 2.0, 4.0, 8.0]))
    np.testing.assert_array_equal(x.grad.data, [13.0, 0.0, 2.0])


def test_repeated_index_pairs_and_tensor_index():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows, cols = ag.tensor([1, 1, 0]), np.array([2, 2, 0])  # an integer Tensor works as an index too
    y = x[rows, cols]
    np.testing.assert_array_equal(y.data, [5.0, 5.0, 0.0])
    y.backward(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad.data, [[100.0, 0.0, 0.0], [0.0, 0.0, 11.0]])


def test_split_pieces_receive_their_own_gradients():
    x = ag.tensor(np.arange(5.0), requires_grad=True)
    a, b, c = ag.split(x, [1, 3])
    (a.sum() * 1.0 + b.sum() * 2.0 + c.sum() * 3.0).backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 2.0, 3.0, 3.0])


# ---- pad: every pad_width form np.pad accepts (issue 13) ---------------------------------------------------

@st.composite
def _every_pad_form(draw, shape):
    """n, (n,), (a, b), ((a, b),), ((n,),), one (a, b) or one (n,) per axis; as tuples, lists or an ndarray."""
    w, ndim = st.integers(0, 2), len(shape)
    forms = ["n", "(n,)", "(a, b)", "((a, b),)", "((n,),)"] + (["pairs", "singles"] if ndim else [])
    kind = draw(st.sampled_from(forms))
    width = {"n": lambda: draw(w), "(n,)": lambda: (draw(w),), "(a, b)": lambda: (draw(w), draw(w)),
             "((a, b),)": lambda: ((draw(w), draw(w)),), "((n,),)": lambda: ((draw(w),),),
             "pairs": lambda: tuple((draw(w), draw(w)) for _ in range(ndim)),
             "singles": lambda: tuple((draw(w),) for _ in range(ndim))}[kind]()
    if not isinstance(width, int) and draw(st.booleans()):
        width = np.array(width)
    return {"pad_width": width, "value": draw(st.sampled_from([0.0, 0.5, -2.0]))}


test_pad_every_form = op_test(ag.pad, lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value),
                              min_dims=1, options=lambda shs: _every_pad_form(shs[0]), name="pad_every_form")
test_pad_method_every_form = op_test(lambda x, pad_width, value: x.pad(pad_width, value),
                                     lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value),
                                     min_dims=1, options=lambda shs: _every_pad_form(shs[0]),
                                     name="pad_method_every_form")
