"""Recurrent cells (`RNNCell`, `LSTMCell`, `GRUCell`) and `RNN`, which unrolls a cell over a sequence.

A cell computes one time step from recorded ops, so backpropagation through time is just `backward()` on
the unrolled graph (the engine's sweep is iterative: a 1,000-step unroll needs no recursion). Truncated BPTT
is the user's `h = h.detach()` between windows. Weights follow `Linear`'s layout: `x @ weight_ih`, shape
(input_size, gates * hidden_size), so a cell is the same network one would write step by step by hand.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

import autograd as ag

from .module import Module, Parameter

_NONLINEARITIES: dict[str, Callable[[ag.Tensor], ag.Tensor]] = {
    "tanh": ag.tanh, "sigmoid": ag.sigmoid, "relu": ag.relu}


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    if rng is not None:
        return rng
    from . import init  # the library-wide default generator, seeded by nn.init.seed(n)
    return init.default_rng()


def _as_tensor(x: Any) -> ag.Tensor:
    return x if isinstance(x, ag.Tensor) else ag.tensor(x)


class _Cell(Module):
    """Shared plumbing of the cells: parameters drawn from U(-k, k), k = 1/sqrt(hidden_size), and input checks."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        g = _rng(rng)
        k = 1.0 / math.sqrt(hidden_size)  # keeps pre-activations O(1) whatever the width
        width = self.gates * hidden_size
        self.weight_ih = Parameter(g.uniform(-k, k, size=(input_size, width)))
        self.weight_hh = Parameter(g.uniform(-k, k, size=(hidden_size, width)))
        self.bias = Parameter(g.uniform(-k, k, size=(width,))) if bias else None

    def _check(self, x: Any, h: Any, what: str = "h") -> tuple[ag.Tensor, ag.Tensor]:
        x = _as_tensor(x)
        name = type(self).__name__
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{name}: input x must have shape (batch, {self.input_size}), got {x.shape}")
        if h is None:
            return x, ag.zeros(x.shape[0], self.hidden_size)
        h = _as_tensor(h)
        if h.shape != (x.shape[0], self.hidden_size):
            raise ValueError(f"{name}: {what} must have shape ({x.shape[0]}, {self.hidden_size}), got {h.shape}")
        return x, h

    def _affine(self, x: ag.Tensor, h: ag.Tensor) -> ag.Tensor:
        z = x @ self.weight_ih + h @ self.weight_hh
        return z + self.bias if self.bias is not None else z

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias is not None else ", bias=False")


class RNNCell(_Cell):
    """Elman cell: h_next = act(x @ weight_ih + h @ weight_hh + bias), act in {'tanh', 'sigmoid', 'relu'}."""

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", bias: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"RNNCell: nonlinearity must be one of {sorted(_NONLINEARITIES)}, "
                             f"got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, rng)
        self.nonlinearity = nonlinearity
        self._act = _NONLINEARITIES[nonlinearity]

    def forward(self, x: Any, h: Any = None) -> ag.Tensor:
        """One step: x (batch, input_size), h (batch, hidden_size) or None for zeros -> h_next."""
        x, h = self._check(x, h)
        return self._act(self._affine(x, h))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_Cell):
    """LSTM cell; state (h, c). Gates in column order input, forget, cell, output (no peepholes)."""

    gates = 4

    def forward(self, x: Any, state: tuple[Any, Any] | None = None) -> tuple[ag.Tensor, ag.Tensor]:
        """One step: x (batch, input_size), state (h, c) or None for zeros -> (h_next, c_next)."""
        h, c = (None, None) if state is None else state
        x, h = self._check(x, h)
        _, c = self._check(x, c, "c")
        z = self._affine(x, h)
        n = self.hidden_size
        i, f = ag.sigmoid(z[:, :n]), ag.sigmoid(z[:, n:2 * n])
        g, o = ag.tanh(z[:, 2 * n:3 * n]), ag.sigmoid(z[:, 3 * n:])
        c_next = f * c + i * g
        return o * ag.tanh(c_next), c_next


class GRUCell(_Cell):
    """GRU cell: r, u gates; n = tanh(x W_n + r * (h U_n + b_hn)); h_next = (1 - u) * n + u * h."""

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, rng)
        k = 1.0 / math.sqrt(hidden_size)
        # The candidate's recurrent term has its own bias, inside the reset gate's product.
        self.bias_hn = Parameter(_rng(rng).uniform(-k, k, size=(hidden_size,))) if bias else None

    def forward(self, x: Any, h: Any = None) -> ag.Tensor:
        """One step: x (batch, input_size), h (batch, hidden_size) or None for zeros -> h_next."""
        x, h = self._check(x, h)
        n = self.hidden_size
        zx = x @ self.weight_ih
        if self.bias is not None:
            zx = zx + self.bias
        zh = h @ self.weight_hh
        r = ag.sigmoid(zx[:, :n] + zh[:, :n])
        u = ag.sigmoid(zx[:, n:2 * n] + zh[:, n:2 * n])
        hn = zh[:, 2 * n:] + self.bias_hn if self.bias_hn is not None else zh[:, 2 * n:]
        cand = ag.tanh(zx[:, 2 * n:] + r * hn)
        return (1 - u) * cand + u * h


_CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


class RNN(Module):
    """Unrolls one cell over a sequence x of shape (T, batch, input_size) (or a list of T (batch, input_size)).

    Returns (outputs, last): outputs stacks the T hidden states, shape (T, batch, hidden_size); last is the
    final state (h, or (h, c) for mode='lstm'), to be passed back as `state` (detached, for truncated BPTT).
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", bias: bool = True,
                 mode: str = "rnn", rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if mode not in _CELLS:
            raise ValueError(f"RNN: mode must be one of {sorted(_CELLS)}, got {mode!r}")
        if mode != "rnn" and nonlinearity != "tanh":
            raise ValueError(f"RNN: nonlinearity applies to mode='rnn' only (got {nonlinearity!r} with {mode!r})")
        self.mode = mode
        if mode == "rnn":
            self.cell = RNNCell(input_size, hidden_size, nonlinearity, bias, rng)
        else:
            self.cell = _CELLS[mode](input_size, hidden_size, bias, rng)

    def forward(self, x: Any, state: Any = None) -> tuple[ag.Tensor, Any]:
        """Run the cell over every step; state is the initial hidden state (None for zeros)."""
        steps: Sequence[Any]
        if isinstance(x, (list, tuple)):
            steps = x
        else:
            x = _as_tensor(x)
            if x.ndim != 3:
                raise ValueError(f"RNN: input must have shape (T, batch, {self.cell.input_size}), got {x.shape}")
            steps = [x[t] for t in range(x.shape[0])]
        if len(steps) == 0:
            raise ValueError("RNN: the input sequence is empty (T = 0)")
        hs = []
        for xt in steps:
            state = self.cell(xt, state)
            hs.append(state[0] if self.mode == "lstm" else state)
        return ag.stack(hs, 0), state

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
