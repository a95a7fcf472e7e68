"""Recurrent cells (`RNNCell`, `LSTMCell`, `GRUCell`) and single-layer `RNN`, `LSTM`, `GRU` over sequences.

A step is made of recorded ops, so backpropagation through time is just `backward()` on the unrolled graph
(the engine's sweep is iterative: a 1,000-step unroll needs no recursion). Truncated BPTT is the user's
`h = h.detach()` between windows.

Parameters follow PyTorch exactly, so its state dicts load here and give the same outputs: `weight_ih`
(gates * hidden, input), `weight_hh` (gates * hidden, hidden), `bias_ih` and `bias_hh` (gates * hidden,),
gate rows in PyTorch's order (LSTM: input, forget, cell, output; GRU: reset, update, new), every one drawn
from U(-k, k) with k = 1 / sqrt(hidden_size). The sequence modules name them with PyTorch's layer suffix
(`weight_ih_l0`, ...). One difference: the state of a sequence module has shape (batch, hidden), not
PyTorch's (num_layers, batch, hidden), since there is only one layer.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import autograd as ag

from . import functional as F
from . import init as _init
from .module import Module, Parameter

_NONLINEARITIES: dict[str, Callable[[ag.Tensor], ag.Tensor]] = {
    "tanh": ag.tanh, "sigmoid": ag.sigmoid, "relu": ag.relu}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _as_tensor(x: Any) -> ag.Tensor:
    return x if isinstance(x, ag.Tensor) else ag.tensor(x)


class _Recurrent(Module):
    """Shared plumbing: the four parameters (named with `suffix`), state checks, and one step of each mode."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, nonlinearity: str,
                 rng: np.random.Generator | None, suffix: str) -> None:
        super().__init__()
        name = type(self).__name__
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"{name}: nonlinearity must be one of {sorted(_NONLINEARITIES)}, got {nonlinearity!r}")
        if mode != "rnn" and nonlinearity != "tanh":
            raise ValueError(f"{name}: nonlinearity applies to plain RNNs only (got {nonlinearity!r} for {mode!r})")
        self.mode, self.nonlinearity = mode, nonlinearity
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        rng = rng or _init.default_rng()  # the library-wide generator that nn.init.seed(n) seeds
        k = 1.0 / math.sqrt(hidden_size)  # keeps pre-activations O(1) whatever the width
        width = _GATES[mode] * self.hidden_size
        self._names = tuple(n + suffix for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        shapes = [(width, self.input_size), (width, self.hidden_size)] + [(width,)] * (2 if bias else 0)
        for n, shape in zip(self._names, shapes):
            self.register_parameter(n, Parameter(rng.uniform(-k, k, size=shape)))

    def _weights(self) -> tuple:
        # (weight_ih, weight_hh, bias_ih, bias_hh); the biases are None without bias.
        p = self._parameters
        return tuple(p.get(n) for n in self._names)

    def _state(self, h: Any, batch: int, what: str = "h") -> ag.Tensor:
        if h is None:
            return ag.zeros(batch, self.hidden_size)
        h = _as_tensor(h)
        if h.shape != (batch, self.hidden_size):
            raise ValueError(f"{type(self).__name__}: {what} must have shape ({batch}, {self.hidden_size}), "
                             f"got {h.shape}")
        return h

    def _initial(self, state: Any, batch: int) -> Any:
        if self.mode != "lstm":
            return self._state(state, batch)
        h, c = (None, None) if state is None else state
        return self._state(h, batch), self._state(c, batch, "c")

    def _step(self, gi: ag.Tensor, state: Any, w_hh: ag.Tensor, b_hh: ag.Tensor | None) -> Any:
        """One time step from gi = x @ weight_ih.T + bias_ih (batch, gates * hidden) and the previous state."""
        h = state[0] if self.mode == "lstm" else state
        gh = F.linear(h, w_hh, b_hh)
        n = self.hidden_size
        if self.mode == "rnn":
            return _NONLINEARITIES[self.nonlinearity](gi + gh)
        if self.mode == "lstm":
            z = gi + gh
            i, f = ag.sigmoid(z[:, :n]), ag.sigmoid(z[:, n:2 * n])
            g, o = ag.tanh(z[:, 2 * n:3 * n]), ag.sigmoid(z[:, 3 * n:])
            c = f * state[1] + i * g
            return o * ag.tanh(c), c
        # GRU: the new gate's recurrent term (bias_hh included) sits inside the reset gate's product.
        r = ag.sigmoid(gi[:, :n] + gh[:, :n])
        u = ag.sigmoid(gi[:, n:2 * n] + gh[:, n:2 * n])
        cand = ag.tanh(gi[:, 2 * n:] + r * gh[:, 2 * n:])
        return (1 - u) * cand + u * h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class _Cell(_Recurrent):
    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(type(self).mode, input_size, hidden_size, bias, nonlinearity, rng, "")

    def forward(self, x: Any, state: Any = None) -> Any:
        """One step: x (batch, input_size), state h (or (h, c) for LSTMCell), None for zeros -> the next state."""
        x = _as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input x must have shape (batch, {self.input_size}), "
                             f"got {x.shape}")
        w_ih, w_hh, b_ih, b_hh = self._weights()
        return self._step(F.linear(x, w_ih, b_ih), self._initial(state, x.shape[0]), w_hh, b_hh)


class RNNCell(_Cell):
    """Elman cell: h' = act(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh), act tanh, sigmoid or relu."""


class LSTMCell(_Cell):
    """LSTM cell (no peepholes), state (h, c); gate rows in PyTorch's order input, forget, cell, output."""

    mode = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, rng=rng)


class GRUCell(_Cell):
    """GRU cell, gate rows reset r, update z, new n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h (PyTorch's formulation)."""

    mode = "gru"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, rng=rng)


class RNN(_Recurrent):
    """One recurrent layer unrolled over a sequence x of shape (T, batch, input_size) (or a list of T
    (batch, input_size) steps); mode 'rnn' (Elman, the default), 'lstm' or 'gru'.

    Returns (outputs, last): outputs stacks the T hidden states, shape (T, batch, hidden_size); last is the
    final state (h, or (h, c) for LSTM), to pass back as `state` (detached, for truncated BPTT).
    """

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", bias: bool = True,
                 mode: str = "rnn", rng: np.random.Generator | None = None) -> None:
        if mode not in _GATES:
            raise ValueError(f"{type(self).__name__}: mode must be one of {sorted(_GATES)}, got {mode!r}")
        super().__init__(mode, input_size, hidden_size, bias, nonlinearity, rng, "_l0")

    def forward(self, x: Any, state: Any = None) -> tuple[ag.Tensor, Any]:
        """Run every step; state is the initial hidden state (None for zeros)."""
        if isinstance(x, (list, tuple)):
            if len(x) == 0:
                raise ValueError(f"{type(self).__name__}: the input sequence is empty (T = 0)")
            x = ag.stack([_as_tensor(s) for s in x], 0)
        x = _as_tensor(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input must have shape (T, batch, {self.input_size}), "
                             f"got {x.shape}")
        if x.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}: the input sequence is empty (T = 0)")
        w_ih, w_hh, b_ih, b_hh = self._weights()
        gi = F.linear(x, w_ih, b_ih)  # every step's input term in one product
        state = self._initial(state, x.shape[1])
        hs = []
        for t in range(x.shape[0]):
            state = self._step(gi[t], state, w_hh, b_hh)
            hs.append(state[0] if self.mode == "lstm" else state)
        return ag.stack(hs, 0), state

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", mode={self.mode!r}" if type(self) is RNN else "")


class LSTM(RNN):
    """`RNN(..., mode='lstm')`: PyTorch's single-layer nn.LSTM; returns (outputs, (h, c))."""

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, bias=bias, mode="lstm", rng=rng)


class GRU(RNN):
    """`RNN(..., mode='gru')`: PyTorch's single-layer nn.GRU; returns (outputs, h)."""

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, bias=bias, mode="gru", rng=rng)
