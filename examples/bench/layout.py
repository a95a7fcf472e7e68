"""Load given (in, out) weight matrices into a model's Linear layers, whatever layout the layers use.

nn.Linear may store its weight as (in_features, out_features) or, like PyTorch, as (out_features,
in_features). The benchmark's reference sides hold (in, out) matrices, so both sides start from the same
numbers only if each layer gets the right orientation; each load is verified on a probe input.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def load_linears(model, weights: list[tuple[np.ndarray, np.ndarray | None]]) -> Callable[[], list[np.ndarray]]:
    """Assign weights[k] = (W of shape (in, out), bias or None) to the model's k-th Linear (through
    state_dict/load_state_dict) and return a function giving the current parameters in the same layout:
    [W0 (in, out), b0, W1, ...] (bias entries only where the layer has one)."""
    import autograd as ag
    import nn

    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if len(linears) != len(weights):
        raise ValueError(f"load_linears: the model has {len(linears)} Linear layers, {len(weights)} weights given")
    state = model.state_dict()
    transposed = []
    for (name, layer), (w, b) in zip(linears, weights):
        key = f"{name}.weight" if name else "weight"
        have = state[key].shape
        if (b is None) != (f"{name}.bias" not in state):
            raise ValueError(f"load_linears: layer {name!r} bias={'absent' if b is None else 'given'} does not "
                             "match the layer")
        options = [t for t in (False, True) if (w.T if t else w).shape == have]
        if not options:
            raise ValueError(f"load_linears: layer {name!r} has weight shape {have}, cannot hold a {w.shape} matrix")
        probe = np.random.default_rng(0).standard_normal((3, w.shape[0]))
        expected = probe @ w + (0.0 if b is None else b)
        for t in options:  # a square weight fits both ways: the probe decides
            state[key] = np.array(w.T if t else w, dtype=np.float64)
            if b is not None:
                state[f"{name}.bias"] = np.array(b, dtype=np.float64)
            model.load_state_dict(state)
            with ag.no_grad():
                got = np.asarray(layer(probe).data)
            if np.allclose(got, expected, rtol=1e-12, atol=1e-12):
                transposed.append(t)
                break
        else:
            raise ValueError(f"load_linears: layer {name!r} does not compute x @ W + b with the loaded weight in "
                             "either orientation")
    params = [(layer, t) for (_, layer), t in zip(linears, transposed)]

    def current() -> list[np.ndarray]:
        out = []
        for layer, t in params:
            w = np.asarray(layer.weight.data)
            out.append(np.array(w.T if t else w))
            if layer.bias is not None:
                out.append(np.array(layer.bias.data))
        return out
    return current
