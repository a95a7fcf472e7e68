"""Data sets of the examples: the seed's binary-addition pairs, real MNIST IDX files, scikit-learn's digits."""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

# ---- binary addition ---------------------------------------------------------------------------


def int_to_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Each integer as a row of `bits` 0/1 floats, most significant bit first (like np.binary_repr)."""
    values = np.asarray(values, dtype=np.int64)
    if np.any(values < 0) or np.any(values >= 2 ** bits):
        raise ValueError(f"int_to_bits: values must lie in [0, 2**{bits}), got {values.min()}..{values.max()}")
    shifts = np.arange(bits - 1, -1, -1)
    return ((values[:, None] >> shifts) & 1).astype(np.float64)


def bits_to_int(rows: np.ndarray) -> np.ndarray:
    """Inverse of int_to_bits: rows of 0/1 (most significant first) -> integers."""
    rows = np.asarray(rows).astype(np.int64)
    return rows @ (1 << np.arange(rows.shape[-1] - 1, -1, -1))


def binary_addition(bits: int = 12, n: int = 1000,
                    rng: np.random.RandomState | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The seed's data set: operands drawn below 2**(bits-1), input = both operands' bits (2*bits),
    target = the bits of their sum. With a RandomState it draws exactly as the seed's
    `np.random.rand(n) * 2**(bits-1)` did (left operands first, then right)."""
    if bits < 2 or n < 1:
        raise ValueError(f"binary_addition: need bits >= 2 and n >= 1, got bits={bits}, n={n}")
    rs = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    left = (rs.rand(n) * 2 ** (bits - 1)).astype(np.int64)
    right = (rs.rand(n) * 2 ** (bits - 1)).astype(np.int64)
    x = np.concatenate([int_to_bits(left, bits), int_to_bits(right, bits)], axis=1)
    return x, int_to_bits(left + right, bits)


def drop_seen(x: np.ndarray, y: np.ndarray, x_seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of (x, y) whose input row does not occur in x_seen: held-out pairs stay unseen."""
    seen = {row.tobytes() for row in np.ascontiguousarray(x_seen)}
    keep = np.array([row.tobytes() not in seen for row in np.ascontiguousarray(x)], dtype=bool)
    return x[keep], y[keep]


# ---- MNIST IDX files ---------------------------------------------------------------------------

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/ file format).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed, by its .gz name) into an ndarray."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise OSError(f"read_idx: cannot read {path}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"read_idx: {path} holds {len(raw) - header} data bytes, its header "
                         f"(shape {shape}, {dtype}) says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray, path: str) -> str:
    """Write an array as an IDX file (uint8 unless it is int8/int16/int32/float32/float64); returns path."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    if array.dtype not in codes:
        raise TypeError(f"write_idx: unsupported dtype {array.dtype}")
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())
    return path


def _find(directory: str, stem: str) -> str:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"load_mnist: no {stem} (or {stem}.gz) in {directory}")


def load_mnist(directory: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) from the four standard MNIST IDX files in directory;
    images flattened to rows of floats in [0, 1], labels as int64."""
    out = []
    for split in ("train", "t10k"):
        images = read_idx(_find(directory, f"{split}-images-idx3-ubyte"))
        labels = read_idx(_find(directory, f"{split}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"load_mnist: {split} images {images.shape} and labels {labels.shape} do not match")
        out += [images.reshape(len(images), -1).astype(np.float64) / 255.0, labels.astype(np.int64)]
    return tuple(out)  # type: ignore[return-value]


# ---- scikit-learn's bundled digits -------------------------------------------------------------


def load_digits(test_fraction: float = 0.2,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): the 1797 8x8 digits shipped with scikit-learn (no download),
    pixels scaled to [0, 1], split at random (stratified) by seed."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    d = _load()
    x_tr, x_te, y_tr, y_te = train_test_split(d.data / 16.0, d.target.astype(np.int64), test_size=test_fraction,
                                              random_state=seed, stratify=d.target)
    return x_tr, y_tr, x_te, y_te
