"""Weight initialisation: Glorot (Xavier) uniform and He (Kaiming) normal, drawn from a seedable generator.

Layers draw from the `rng` they are given, or else from this module's global generator, which
`seed(n)` replaces so a whole program's initial weights are reproducible.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

_rng = np.random.default_rng()


def seed(n: int | None) -> np.random.Generator:
    """Reseed the global generator used by layers created without an `rng`; returns it."""
    global _rng
    _rng = np.random.default_rng(n)
    return _rng


def default_rng() -> np.random.Generator:
    """The global generator (the one `seed` last set)."""
    return _rng


def _fans(shape: tuple) -> tuple[int, int]:
    # PyTorch's layout: a weight is (out, in), so fan-in is its second size and fan-out its first; any
    # further axes (a filter's receptive field) multiply both.
    if len(shape) < 2:
        raise ValueError(f"init: fan-in and fan-out need a weight of at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def glorot_uniform(shape: tuple, rng: np.random.Generator | None = None, gain: float = 1.0) -> np.ndarray:
    """Uniform on [-a, a] with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010), for a weight
    of shape (fan_out, fan_in, ...)."""
    fan_in, fan_out = _fans(tuple(shape))
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return (rng or _rng).uniform(-a, a, size=shape)


def he_normal(shape: tuple, rng: np.random.Generator | None = None, gain: float = np.sqrt(2.0)) -> np.ndarray:
    """Normal with std = gain / sqrt(fan_in) (He et al., 2015), fan_in = shape[1] (times any receptive field);
    gain sqrt(2) suits ReLU."""
    fan_in, _ = _fans(tuple(shape))
    return (rng or _rng).normal(0.0, gain / np.sqrt(fan_in), size=shape)


def normal(shape: tuple, rng: np.random.Generator | None = None, std: float = 0.01) -> np.ndarray:
    """Normal with mean 0 and the given std."""
    return (rng or _rng).normal(0.0, std, size=shape)


def zeros(shape: tuple, rng: np.random.Generator | None = None) -> np.ndarray:
    """All zeros (rng is ignored; accepted so every initialiser has the same signature)."""
    return np.zeros(shape)


_BY_NAME: dict[str, Callable] = {
    "glorot": glorot_uniform, "glorot_uniform": glorot_uniform, "xavier": glorot_uniform,
    "xavier_uniform": glorot_uniform, "he": he_normal, "he_normal": he_normal, "kaiming": he_normal,
    "kaiming_normal": he_normal, "normal": normal, "zeros": zeros,
}


def get(init: str | Callable) -> Callable:
    """The initialiser called `init` (e.g. "glorot", "he"), or `init` itself if it is callable(shape, rng)."""
    if callable(init):
        return init
    try:
        return _BY_NAME[init]
    except (KeyError, TypeError):
        raise ValueError(f"init: unknown initialiser {init!r}; choose one of {sorted(_BY_NAME)} "
                         "or pass a function (shape, rng) -> array") from None
