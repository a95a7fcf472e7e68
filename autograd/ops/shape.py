"""Ops that move elements without changing them: their gradients move g back the same way."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..function import Function
from ..tensor import ArrayLike, Axis, Tensor


class Reshape(Function):
    """x.reshape(shape);  dx = g.reshape(x.shape)."""
    name = "reshape"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = np.shape(x)
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Transpose(Function):
    """Permute axes (reverse them when axes is None);  dx = g permuted back."""
    name = "transpose"

    @staticmethod
    def forward(ctx, x, axes=None):
        out = np.transpose(x, axes)
        # Negative axes count from the end: normalise them, or the inverse permutation is wrong.
        ctx.inverse = None if axes is None else tuple(np.argsort([a % max(np.ndim(x), 1) for a in axes]))
        return out

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class BroadcastTo(Function):
    """np.broadcast_to;  dx = g, which the engine sums back to x's shape."""
    name = "broadcast_to"
    forward = staticmethod(lambda ctx, x, shape: np.broadcast_to(x, shape))
    backward = staticmethod(lambda ctx, g: g)


def _plain_index(index) -> bool:
    """True when the index holds no integer arrays, so no element is selected twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(i, (np.ndarray, list)) or np.asarray(i).dtype == bool for i in items)


class GetItem(Function):
    """x[index];  dx = zeros with g added at index (repeated indices accumulate)."""
    name = "getitem"

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape = np.shape(x)
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, index=ctx.options["index"], shape=ctx.in_shape)


class IndexAdd(Function):
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


class Concatenate(Function):
    """np.concatenate(xs, axis);  each dx is its slice of g."""
    name = "concatenate"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.bounds = np.cumsum([0] + [np.shape(x)[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis = ctx.options["axis"] % g.ndim
        lead = (slice(None),) * axis
        b = ctx.bounds
        return tuple(g[lead + (slice(b[i], b[i + 1]),)] for i in range(len(b) - 1))


class Stack(Function):
    """np.stack(xs, axis);  each dx is g at its position along axis."""
    name = "stack"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.n = len(xs)
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis = ctx.options["axis"] % g.ndim
        lead = (slice(None),) * axis
        return tuple(g[lead + (i,)] for i in range(ctx.n))


class Pad(Function):
    """np.pad with a constant;  dx = the centre of g."""
    name = "pad"

    @staticmethod
    def forward(ctx, x, pad_width, value=0.0):
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int).reshape(-1, 2) if np.ndim(pad_width) else
                                 np.asarray([[pad_width, pad_width]]), (np.ndim(x), 2))
        ctx.centre = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, np.shape(x)))
        return np.pad(x, pad_width, mode="constant", constant_values=value)  # numpy broadcasts it, 0-d included

    @staticmethod
    def backward(ctx, g):
        return g[ctx.centre]


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(x: ArrayLike, index: Any) -> Tensor:
    """x[index] for ints, slices, None, ..., boolean masks and integer arrays."""
    return GetItem.apply(x, index=_unwrap_index(index))


def reshape(x: ArrayLike, *shape: Any) -> Tensor:
    """Same elements, new shape (one entry may be -1)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(x, shape=shape)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them by default)."""
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def swapaxes(x: ArrayLike, a: int, b: int) -> Tensor:
    """Exchange two axes."""
    axes = list(range(np.ndim(x.data if isinstance(x, Tensor) else x)))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def expand_dims(x: ArrayLike, axis: int) -> Tensor:
    """Insert a size-1 axis at `axis`."""
    return reshape(x, np.expand_dims(np.empty(np.shape(_unwrap_index(x)), dtype=bool), axis).shape)


def squeeze(x: ArrayLike, axis: Axis = None) -> Tensor:
    """Remove size-1 axes (all of them, or those in `axis`)."""
    return reshape(x, np.squeeze(np.empty(np.shape(_unwrap_index(x)), dtype=bool), axis).shape)


def flatten(x: ArrayLike) -> Tensor:
    """A 1-d view of all elements."""
    return reshape(x, (-1,))


def broadcast_to(x: ArrayLike, shape: Sequence[int]) -> Tensor:
    """Repeat x along size-1 (or new leading) axes to `shape`, as numpy does."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def concatenate(xs: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return Concatenate.apply(*xs, axis=axis)


def stack(xs: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return Stack.apply(*xs, axis=axis)


def split(x: ArrayLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list:
    """Split into pieces along axis, as np.split does; each piece is an indexing op."""
    n = np.shape(x.data if isinstance(x, Tensor) else x)[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into {indices_or_sections} parts")
        step = n // indices_or_sections
        cuts = list(range(step, n, step))
    else:
        cuts = list(indices_or_sections)
    lead = (slice(None),) * (axis % np.ndim(x.data if isinstance(x, Tensor) else x))
    edges = [0] + cuts + [n]
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip(edges[:-1], edges[1:])]


def pad(x: ArrayLike, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant, pad_width as in np.pad."""
    return Pad.apply(x, pad_width=pad_width, value=value)
