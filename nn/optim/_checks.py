"""Rules that hyperparameters (of optimizers and schedules) and saved optimizer buffers must satisfy.

Each rule takes a value as a user passes it (a Python number) or as nn.load returns it (a 0-d or 1-d array)
and returns it in canonical form (float, int, bool or tuple), or raises TypeError / ValueError with a message
that completes the sentence "<name> ...". Constructors, attribute assignment and load_state_dict all use them.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np

Rule = Callable[[Any], Any]


def _scalar(v: Any) -> Any:
    # nn.load hands back 0-d arrays; a Python number is what a user writes.
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    return v


def real(v: Any) -> float:
    """v as a finite float; bools, strings, arrays and NaN/inf are refused."""
    x = _scalar(v)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"must be a real number, got {type(x).__name__} {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"must be finite, got {x}")
    return x


def nonnegative(v: Any) -> float:
    """A finite number >= 0 (learning rates, eps, momentum, weight decay)."""
    x = real(v)
    if x < 0:
        raise ValueError(f"must be >= 0, got {x}")
    return x


def positive(v: Any) -> float:
    """A finite number > 0 (decay factors of schedules)."""
    x = real(v)
    if x <= 0:
        raise ValueError(f"must be > 0, got {x}")
    return x


def fraction(v: Any) -> float:
    """A number in [0, 1) (averaging coefficients such as RMSprop's alpha)."""
    x = real(v)
    if not 0 <= x < 1:
        raise ValueError(f"must be in [0, 1), got {x}")
    return x


def fraction_pair(v: Any) -> tuple[float, float]:
    """Two numbers in [0, 1) (Adam's betas)."""
    seq = np.asarray(v, dtype=object).reshape(-1) if not isinstance(v, (str, bytes)) else None
    if seq is None or len(seq) != 2:
        raise ValueError(f"must be two numbers in [0, 1), got {v!r}")
    return fraction(seq[0]), fraction(seq[1])


def flag(v: Any) -> bool:
    """True or False (numpy bools included)."""
    x = _scalar(v)
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def count(least: int) -> Rule:
    """A rule for integers >= least (epochs, step counts, step sizes)."""

    def rule(v: Any) -> int:
        x = _scalar(v)
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
            raise TypeError(f"must be an integer, got {type(x).__name__} {x!r}")
        if x < least:
            raise ValueError(f"must be >= {least}, got {x}")
        return int(x)

    rule.__doc__ = f"An integer >= {least}."
    return rule


def check(owner: str, name: str, rule: Rule, v: Any) -> Any:
    """rule(v), with errors prefixed by who is checking what: "Adam: lr must be >= 0, got -5.0"."""
    try:
        return rule(v)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{owner}: {name} {e}") from None


def buffer_array(where: str, v: Any, like: Any, nonnegative: bool, problems: list) -> np.ndarray | None:
    """v as a float64 copy with the shape of the parameter data `like`, finite and, if asked, >= 0;
    otherwise None, with what is wrong appended to `problems`."""
    try:
        arr = np.asarray(v)
    except Exception as e:  # a value numpy cannot even read
        problems.append(f"{where}: cannot be read as an array ({e})")
        return None
    like = np.asarray(like)
    if arr.dtype.kind not in "iuf":
        problems.append(f"{where}: dtype {arr.dtype} is not a real number type")
    elif arr.shape != like.shape:
        problems.append(f"{where}: shape {arr.shape}, the parameter has shape {like.shape}")
    elif not np.all(np.isfinite(arr)):
        problems.append(f"{where}: contains NaN or inf")
    elif nonnegative and np.any(arr < 0):
        problems.append(f"{where}: contains negative values (it is a running average of squares)")
    else:
        return arr.astype(np.float64, copy=True)
    return None
