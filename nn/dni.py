"""`DNI`: a Decoupled Neural Interface (Jaderberg et al., 2016), built from a custom op and `backward(grad)`.

A synthesizer M predicts the gradient of the loss at an activation h, from h (and, for cDNI, a context
such as the one-hot label). Placed after a layer, a DNI

1. returns h through an interface op, and predicts g_hat = M(h) at once;
2. when the gradient g of the layers above arrives at that op (in their backward), records g and sends
   g_hat, not g, into the layers below; `dni.backward()` sends g_hat down earlier, right after the forward,
   so the layers below can be updated before the layers above have even run (update unlocking);
3. on `step()`, regresses M(h) onto g (mean squared error) with its own optimizer.

Whichever way g_hat is sent, it lands in the `.grad` of the layers below during a backward, like any
gradient: `opt.zero_grad()` anywhere between the forward and `loss.backward()` leaves it intact.

Stacked DNIs bootstrap: the gradient arriving at a lower DNI is the upper DNI's synthetic gradient
backpropagated through the layers between them, exactly the paper's target for lower modules. Only the
top-most DNI regresses onto gradients of the real loss.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

import autograd as ag

from . import functional as F
from .layers import Linear, ReLU
from .module import Module, Sequential
from .optim import Adam, Optimizer
from .utils import _write


class _Pending:
    """One forward's synthetic gradient, and where it goes (h) until it has been sent."""

    __slots__ = ("h", "g_hat")

    def __init__(self, h: ag.Tensor, g_hat: np.ndarray) -> None:
        self.h: ag.Tensor | None = h
        self.g_hat = g_hat


class _Interface(ag.Function):
    """Identity on h; its backward hands the arriving gradient to the DNI and sends the synthetic one down."""

    name = "dni"

    @staticmethod
    def forward(ctx: Any, h: np.ndarray, dni: "DNI") -> np.ndarray:
        ctx.dni, ctx.pending = dni, dni._pending
        return h.view()

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple:
        return ctx.dni._arrive(grad, ctx.pending), None


class DNI(Module):
    """Synthetic-gradient interface for an activation of shape (batch, hidden_features).

    conditioned_on: width of the optional context (e.g. 10 for one-hot labels: cDNI); 0 for plain DNI.
    hidden: widths of the synthesizer's hidden ReLU layers; () (default) gives the paper's linear synthesizer.
    The synthesizer's output layer starts at zero, so the synthetic gradient is exactly 0 at step 0.
    optimizer: a function params -> Optimizer for the synthesizer; default Adam(params, lr=lr).
    scale: the synthesizer predicts scale * gradient; predictions are divided by scale before use.
    "batch" (default) means the batch size, so with a batch-mean loss M models per-example gradients of order
    1 whatever the batch; use 1.0 for a summed loss. (Raw batch-mean gradients are O(1/batch): Adam's
    fixed-size steps then overshoot the tiny weights M needs, and the regression diverges.)
    """

    def __init__(self, hidden_features: int, conditioned_on: int = 0, hidden: Sequence[int] = (),
                 lr: float = 1e-3, optimizer: Callable[[list], Optimizer] | None = None, scale: float | str = "batch",
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        for name, v, low in (("hidden_features", hidden_features, 1), ("conditioned_on", conditioned_on, 0)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
                raise ValueError(f"DNI: {name} must be an int >= {low}, got {v!r}")
        if scale != "batch" and not (isinstance(scale, (int, float)) and scale > 0):
            raise ValueError(f"DNI: scale must be 'batch' or a positive number, got {scale!r}")
        self.hidden_features, self.conditioned_on, self.scale = int(hidden_features), int(conditioned_on), scale
        layers: list = []
        width = self.hidden_features + self.conditioned_on
        for w in hidden:
            layers += [Linear(width, w, init="he", rng=rng), ReLU()]
            width = w
        out = Linear(width, self.hidden_features, rng=rng)
        _write(out.weight, 0.0)  # the paper's choice: start by predicting no gradient at all
        self.synthesizer = Sequential(*layers, out)
        params = list(self.synthesizer.parameters())
        # Kept out of the module registry (an Optimizer is not a Module): not saved in state_dict.
        self.optimizer = optimizer(params) if optimizer is not None else Adam(params, lr=lr)
        self.last_loss: float | None = None  # the regression loss of the latest step(), for logging
        self._pred: ag.Tensor | None = None
        self._true: np.ndarray | None = None
        self._pending: _Pending | None = None

    # ---- forward: the interface op; the synthetic gradient goes down once, in a backward ---------------------
    def forward(self, h: ag.Tensor, context: Any = None) -> ag.Tensor:
        """h through the interface op, with M's prediction made now; see the module docstring.
        Identity in eval mode, under no_grad, or when h does not require grad."""
        self._check(h, context)
        if not self.training or not ag.is_grad_enabled() or not h.requires_grad:
            return h
        self._pred = self.synthesize(h, context, record=True)
        self._true = None
        g_hat = np.asarray(self._pred.data / self._scale(h), dtype=h.dtype)
        self._pending = _Pending(h, g_hat)
        return _Interface.apply(h, self)

    def backward(self) -> None:
        """Send the last forward's synthetic gradient into the layers below now (update unlocking), instead
        of when the gradient from above arrives; their `.grad` then holds it, ready for their optimizer."""
        p = self._pending
        if p is None or p.h is None:
            raise RuntimeError("DNI.backward: nothing to send; call the DNI in training mode first (each "
                               "forward's synthetic gradient is sent once)")
        h, p.h = p.h, None
        h.backward(p.g_hat)

    def _arrive(self, grad: Any, pending: _Pending) -> np.ndarray | None:
        # Runs inside a backward sweep: record the true gradient, send the synthetic one down (once).
        if pending is not self._pending:
            raise RuntimeError("DNI: a gradient reached the output of an earlier forward of this DNI; each "
                               "forward needs its backward (and step()) before the next forward")
        g = np.array(getattr(grad, "data", grad), copy=True)
        self._true = g if self._true is None else self._true + g  # several sweeps add up, as gradients do
        if pending.h is None:
            return None  # already sent by backward(); the graph below must not be swept again
        pending.h = None
        return pending.g_hat

    def synthesize(self, h: Any, context: Any = None, record: bool = False) -> ag.Tensor:
        """The synthesizer's raw output M([h, context]) (= scale * predicted gradient); recorded if record."""
        x = h.detach() if isinstance(h, ag.Tensor) else ag.tensor(h)
        if self.conditioned_on:
            x = ag.concatenate([x, context if isinstance(context, ag.Tensor) else ag.tensor(context)], axis=1)
        if record:
            return self.synthesizer(x)
        with ag.no_grad():
            return self.synthesizer(x)

    def synthetic_gradient(self, h: Any, context: Any = None) -> np.ndarray:
        """The gradient M predicts at h (what the DNI sends down), as an array; records nothing."""
        self._check(h, context)
        return self.synthesize(h, context).data / self._scale(h)

    # ---- training the synthesizer ----------------------------------------------------------------------------
    def synthesizer_loss(self) -> ag.Tensor:
        """MSE between the last forward's prediction and the (scaled) true gradient that has arrived since."""
        if self._pred is None:
            raise RuntimeError("DNI: no forward pass to learn from (call the DNI in training mode first, "
                               "or step() was already called for it)")
        if self._true is None:
            raise RuntimeError("DNI: no gradient has arrived at the DNI's output yet; call loss.backward() "
                               "(or the backward() of the DNI above) before step()")
        return F.mse_loss(self._pred, self._true * self._scale(self._true))

    def step(self) -> float:
        """One optimizer step of the synthesizer on synthesizer_loss(); returns the loss (also `last_loss`)."""
        loss = self.synthesizer_loss()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()  # so an outer optimizer that also holds these parameters sees no gradient
        self.last_loss = float(loss.data)
        self._pred, self._true, self._pending = None, None, None
        return self.last_loss

    @property
    def true_gradient(self) -> np.ndarray | None:
        """The gradient that arrived at the output since the last forward (None if none yet)."""
        return self._true

    def _scale(self, h: Any) -> float:
        return float(np.shape(getattr(h, "data", h))[0]) if self.scale == "batch" else float(self.scale)

    # ---- checks and display --------------------------------------------------------------------------------
    def _check(self, h: Any, context: Any) -> None:
        shape = np.shape(getattr(h, "data", h))
        if len(shape) != 2 or shape[1] != self.hidden_features:
            raise ValueError(f"DNI: h must have shape (batch, {self.hidden_features}), got {shape}")
        if self.conditioned_on:
            if context is None:
                raise ValueError(f"DNI: this interface is conditioned on a context of width {self.conditioned_on}; "
                                 "pass context=...")
            cshape = np.shape(getattr(context, "data", context))
            if cshape != (shape[0], self.conditioned_on):
                raise ValueError(f"DNI: context must have shape ({shape[0]}, {self.conditioned_on}), got {cshape}")
        elif context is not None:
            raise ValueError("DNI: got a context, but conditioned_on=0; create DNI(..., conditioned_on=width)")

    def extra_repr(self) -> str:
        extra = f", conditioned_on={self.conditioned_on}" if self.conditioned_on else ""
        return f"hidden_features={self.hidden_features}{extra}, scale={self.scale!r}"
