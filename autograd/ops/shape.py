"""Ops that move elements without changing them: their gradients move g back the same way."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._tensor import ArrayLike, Axis, Tensor, data_of
from ..function import Builtin, call


def _ndim(x: Any) -> int:
    return np.ndim(data_of(x))


def _axis(op: str, axis: Any, ndim: int, shape: tuple) -> int:
    """One axis as a non-negative int, or an error naming the op and the shape (ndim: the number of valid axes)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} (tensor of shape {shape})")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of range for a tensor of shape {shape}")
    return int(axis) % ndim


class Reshape(Builtin):
    """x.reshape(shape);  dx = g.reshape(x.shape)."""
    name = "reshape"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.save_for_backward(np.shape(x))
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.saved[0])


class Transpose(Builtin):
    """Permute axes (reverse them when axes is None);  dx = g permuted back."""
    name = "transpose"

    @staticmethod
    def forward(ctx, x, axes=None):
        out = np.transpose(x, axes)
        # Negative axes count from the end: normalise them, or the inverse permutation is wrong.
        ctx.save_for_backward(None if axes is None else tuple(np.argsort([a % max(np.ndim(x), 1) for a in axes])))
        return out

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.saved[0])


class BroadcastTo(Builtin):
    """np.broadcast_to;  dx = g, which the engine sums back to x's shape."""
    name = "broadcast_to"
    forward = staticmethod(lambda ctx, x, shape: np.broadcast_to(x, shape))
    backward = staticmethod(lambda ctx, g: g)


class Clone(Builtin):
    """A copy of x;  dx = g."""
    name = "clone"
    forward = staticmethod(lambda ctx, x: np.array(x, copy=True)[()] if np.ndim(x) == 0 else np.array(x, copy=True))
    backward = staticmethod(lambda ctx, g: g)


class AsType(Builtin):
    """x in another dtype;  dx = g in x's dtype (the engine casts it back)."""
    name = "astype"
    forward = staticmethod(lambda ctx, x, dtype: np.asarray(x).astype(dtype)[()] if np.ndim(x) == 0
                           else np.asarray(x).astype(dtype))
    backward = staticmethod(lambda ctx, g: g)


def _plain_index(index) -> bool:
    """True when the index holds no integer arrays, so no element is selected twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(i, (np.ndarray, list)) or np.asarray(i).dtype == bool for i in items)


class GetItem(Builtin):
    """x[index];  dx = zeros with g added at index (repeated indices accumulate)."""
    name = "getitem"

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(np.shape(x))
        return np.asarray(x)[index]

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, index=ctx.options["index"], shape=ctx.saved[0])


class IndexAdd(Builtin):
    """zeros(shape) with g added at index: the gradient of indexing, and differentiable in turn."""
    name = "index_add"

    @staticmethod
    def forward(ctx, g, index, shape):
        out = np.zeros(shape, dtype=np.result_type(g, np.float32))
        if _plain_index(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.options["index"]]


def _join_axis(op: str, xs: tuple, axis: Any, new: int) -> int:
    """The axis along which concatenate (new=0) or stack (new=1, a new axis) joins xs, checked."""
    if not xs:
        raise ValueError("needs at least one tensor")
    return _axis(op, axis, max(np.ndim(xs[0]) + new, 1), np.shape(xs[0]))


class Concatenate(Builtin):
    """np.concatenate(xs, axis);  each dx is its slice of g."""
    name = "concatenate"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        axis = _join_axis("concatenate", xs, axis, 0)
        out = np.concatenate(xs, axis=axis)
        ctx.save_for_backward(axis, np.cumsum([0] + [np.shape(x)[axis] for x in xs]))
        return out

    @staticmethod
    def backward(ctx, g):
        axis, b = ctx.saved
        lead = (slice(None),) * axis
        return tuple(g[lead + (slice(b[i], b[i + 1]),)] for i in range(len(b) - 1))


class Stack(Builtin):
    """np.stack(xs, axis);  each dx is g at its position along axis."""
    name = "stack"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        axis = _join_axis("stack", xs, axis, 1)
        ctx.save_for_backward(axis, len(xs))
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis, n = ctx.saved
        lead = (slice(None),) * axis
        return tuple(g[lead + (i,)] for i in range(n))


def pad_widths(pad_width: Any, ndim: int) -> np.ndarray:
    """Every form np.pad accepts (n, (n,), (a, b), ((a, b),), one (n,) or (a, b) per axis) as an (ndim, 2) array."""
    w = np.asarray(pad_width)
    if w.dtype.kind not in "iu" or w.ndim > 2 or (w.ndim == 2 and w.shape[0] not in (1, ndim)) or \
            (w.size and w.min() < 0):
        raise ValueError(f"pad_width {pad_width!r} is not a valid np.pad width for {ndim} dimension(s)")
    try:
        return np.broadcast_to(w.reshape((1, -1)) if w.ndim == 1 else w, (ndim, 2)).astype(int)
    except ValueError:
        raise ValueError(f"pad_width {pad_width!r} is not a valid np.pad width for {ndim} dimension(s)") from None


class Pad(Builtin):
    """np.pad with a constant;  dx = the centre of g."""
    name = "pad"

    @staticmethod
    def forward(ctx, x, pad_width, value=0.0):
        if np.ndim(x) == 0:
            ctx.save_for_backward(())
            return np.array(x, copy=True)[()]  # nothing to pad around a single number
        widths = pad_widths(pad_width, np.ndim(x))
        ctx.save_for_backward(tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, np.shape(x))))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.saved[0]]


def getitem(x: ArrayLike, index: Any) -> Tensor:
    """x[index] for ints, slices, None, ..., boolean masks and integer arrays."""
    if isinstance(index, tuple):
        index = tuple(data_of(i) for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    else:
        index = data_of(index)
    return GetItem.apply(x, index=index)


def reshape(x: ArrayLike, *shape: Any) -> Tensor:
    """Same elements, new shape (one entry may be -1)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(x, shape=shape)


def transpose(x: ArrayLike, *axes: Any) -> Tensor:
    """Permute the axes: reverse them (no argument), numpy's permutation (one sequence), or PyTorch's
    `transpose(d0, d1)` (two ints: swap those two axes)."""
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
        return swapaxes(x, *axes)
    if len(axes) == 1:
        axes = axes[0]
    elif not axes:
        axes = None
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def permute(x: ArrayLike, *dims: Any) -> Tensor:
    """PyTorch's permute: `x.permute(2, 0, 1)` or `x.permute((2, 0, 1))`."""
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    return Transpose.apply(x, axes=dims)


def swapaxes(x: ArrayLike, a: int, b: int) -> Tensor:
    """Exchange two axes."""
    shape = np.shape(data_of(x))
    n = len(shape)
    axes = list(range(n))
    a, b = _axis("swapaxes", a, n, shape), _axis("swapaxes", b, n, shape)
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose.apply(x, axes=tuple(axes))


def expand_dims(x: ArrayLike, axis: int) -> Tensor:
    """Insert a size-1 axis at `axis` (PyTorch: unsqueeze)."""
    shape = list(np.shape(data_of(x)))
    shape.insert(_axis("expand_dims", axis, len(shape) + 1, tuple(shape)), 1)
    return reshape(x, tuple(shape))


def squeeze(x: ArrayLike, axis: Axis = None, **kw: Any) -> Tensor:
    """Remove size-1 axes (all of them, or those in `axis`/`dim`)."""
    axis = kw.pop("dim", axis)
    if kw:
        raise TypeError(f"squeeze: unexpected keyword argument(s) {', '.join(map(repr, kw))}")
    shape = np.shape(data_of(x))
    if axis is not None and not isinstance(axis, (int, np.integer, tuple, list)):
        raise TypeError(f"squeeze: axis must be None, an int or a tuple of ints, got {axis!r} (shape {shape})")
    axes = [i for i, s in enumerate(shape) if s == 1] if axis is None else \
        [_axis("squeeze", a, max(len(shape), 1), shape)
         for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)]
    for a in axes:
        if a < len(shape) and shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {shape} has length {shape[a]}, not 1")
    return reshape(x, tuple(s for i, s in enumerate(shape) if i not in axes))


def unsqueeze(x: ArrayLike, dim: int) -> Tensor:
    """Insert a size-1 axis at `dim` (PyTorch's name for expand_dims)."""
    return expand_dims(x, dim)


def flatten(x: ArrayLike) -> Tensor:
    """A 1-d view of all elements."""
    return reshape(x, (-1,))


def broadcast_to(x: ArrayLike, shape: Sequence[int]) -> Tensor:
    """Repeat x along size-1 (or new leading) axes to `shape`, as numpy does."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def concatenate(xs: Sequence[ArrayLike], axis: int = 0, **kw: Any) -> Tensor:
    """Join tensors along an existing axis (`dim=` accepted, as in torch.cat)."""
    return Concatenate.apply(*xs, axis=kw.pop("dim", axis), **kw)


def cat(xs: Sequence[ArrayLike], dim: int = 0) -> Tensor:
    """PyTorch's name for concatenate."""
    return Concatenate.apply(*xs, axis=dim)


def stack(xs: Sequence[ArrayLike], axis: int = 0, **kw: Any) -> Tensor:
    """Join tensors along a new axis (`dim=` accepted)."""
    return Stack.apply(*xs, axis=kw.pop("dim", axis), **kw)


def split(x: ArrayLike, sections: int | Sequence[int], axis: int = 0, **kw: Any) -> list:
    """np.split: `sections` equal parts, or cut at the given indices. With dim= it is torch.split: pieces of
    `sections` elements (the last may be shorter), or of the given sizes."""
    torch = "dim" in kw
    axis = kw.pop("dim", axis)
    if kw:
        raise TypeError(f"split: unexpected keyword argument(s) {', '.join(map(repr, kw))}")
    shape = np.shape(data_of(x))
    ax = _axis("split", axis, len(shape), shape)
    n = shape[ax]
    if not isinstance(sections, (int, np.integer, list, tuple, np.ndarray)):
        raise TypeError(f"split: sections must be an int or a sequence of ints, got {sections!r} (shape {shape})")
    if isinstance(sections, (int, np.integer)):
        if sections <= 0:
            raise ValueError(f"split: the number of {'elements per piece' if torch else 'sections'} must be "
                             f"positive, got {sections} (shape {shape})")
        if torch:
            cuts = list(range(sections, n, sections))
        elif n % sections:
            raise ValueError(f"split: axis {axis} of length {n} (shape {shape}) does not divide into {sections} "
                             "equal sections")
        else:
            cuts = list(range(n // sections, n, n // sections))
    elif torch:
        sizes = list(sections)
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to the length {n} of axis {axis} (shape {shape})")
        cuts = list(np.cumsum(sizes)[:-1])
    else:
        cuts = list(sections)
    lead = (slice(None),) * ax
    edges = [0] + cuts + [n]
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip(edges[:-1], edges[1:])]


def pad(x: ArrayLike, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant; pad_width in any form np.pad accepts."""
    return Pad.apply(x, pad_width=pad_width, value=value)


def clone(x: ArrayLike) -> Tensor:
    """A copy that stays in the graph (the gradient passes through unchanged)."""
    return call(Clone, x)


def astype(x: ArrayLike, dtype: Any) -> Tensor:
    """x cast to dtype; differentiable between floating types (integer results carry no gradient)."""
    return AsType.apply(x, dtype=np.dtype(dtype))
