"""Optimizers (SGD, Adam, RMSprop) that update parameters in place, and learning-rate schedules.

Each optimizer holds a list of parameters, its hyperparameters as attributes (`opt.lr`, ...), and per-parameter
state. `state_dict()` is a flat dict of numbers and arrays ("lr", "state.0.exp_avg", ...), so nn.save can write it.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

import autograd as ag


class Optimizer:
    """Base class: keeps the parameters, their state, and the hyperparameters named in `defaults`."""

    def __init__(self, params: Iterable[ag.Tensor], defaults: dict) -> None:
        if isinstance(params, ag.Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors, got a single Tensor "
                            "(wrap it in a list)")
        self.params: list = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        seen = set()
        for k, p in enumerate(self.params):
            if not isinstance(p, ag.Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {k} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: parameter {k} is not a leaf tensor (it was computed "
                                 "by an op); optimize the leaf it came from")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {k} appears more than once")
            seen.add(id(p))
        self.defaults = dict(defaults)
        for k, v in defaults.items():
            setattr(self, k, v)
        self.state: dict[int, dict] = {}

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets .grad to None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = np.asarray(p.grad.data)
            wd = getattr(self, "weight_decay", 0.0)
            if wd:
                g = g + wd * np.asarray(p.data)
            st = self.state.get(i)
            if st is None:
                st = self.state[i] = self._init_state(p)
            delta = self._update(g, st, p)
            d = p.data
            if isinstance(d, np.ndarray):
                d -= delta  # in place: anything sharing the array sees the update
            else:  # a 0-d parameter's data is a numpy scalar: rebind it, keeping its dtype
                p.data = d.dtype.type(d - delta)

    def _init_state(self, p: ag.Tensor) -> dict:
        return {}

    def _update(self, g: np.ndarray, st: dict, p: ag.Tensor) -> Any:
        raise NotImplementedError

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Hyperparameters and per-parameter state (keyed "state.<param index>.<name>") as a flat dict."""
        out: dict = {}
        for k in self.defaults:
            v = getattr(self, k)
            out[k] = np.array(v, dtype=np.float64) if isinstance(v, tuple) else v
        for i, st in sorted(self.state.items()):
            for name, v in st.items():
                out[f"state.{i}.{name}"] = np.array(v, copy=True)
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() returned (possibly via nn.save/nn.load). Checked first: on an error
        nothing changes."""
        hyper, per = {}, {}
        problems = []
        for k, v in state.items():
            if k.startswith("state."):
                try:
                    _, i, name = k.split(".", 2)
                    i = int(i)
                except ValueError:
                    problems.append(f"malformed key {k!r}")
                    continue
                if not 0 <= i < len(self.params):
                    problems.append(f"{k!r} refers to parameter {i}, the optimizer has {len(self.params)}")
                    continue
                arr = np.asarray(v)
                if name != "step" and arr.shape != np.shape(self.params[i].data):
                    problems.append(f"{k!r}: shape {arr.shape}, parameter {i} has shape "
                                    f"{np.shape(self.params[i].data)}")
                    continue
                per.setdefault(i, {})[name] = int(arr) if name == "step" else arr.astype(np.float64, copy=True)
            elif k in self.defaults:
                cur = self.defaults[k]
                try:
                    if isinstance(cur, tuple):
                        val: Any = tuple(float(x) for x in np.asarray(v).reshape(-1))
                        if len(val) != len(cur):
                            raise ValueError(f"expected {len(cur)} numbers")
                    elif isinstance(cur, bool):
                        val = bool(np.asarray(v))
                    else:
                        val = float(np.asarray(v))
                except (TypeError, ValueError) as e:
                    problems.append(f"hyperparameter {k!r}: {e}")
                    continue
                hyper[k] = val
            else:
                problems.append(f"unexpected key {k!r}")
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems)
                             + " (nothing was loaded)")
        for k, v in hyper.items():
            setattr(self, k, v)
        self.state = per

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.defaults)
        return f"{type(self).__name__}({len(self.params)} parameters, {hp})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay (PyTorch's rule):
    b = momentum b + g;  p -= lr (g + momentum b if nesterov else b)."""

    def __init__(self, params: Iterable[ag.Tensor], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    def _update(self, g, st, p):
        if self.momentum:
            buf = st.get("momentum_buffer")
            # The first step starts the buffer at g itself, as PyTorch does.
            st["momentum_buffer"] = buf = g.copy() if buf is None else self.momentum * buf + g
            g = g + self.momentum * buf if self.nesterov else buf
        return self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected running means of g and g^2;
    p -= lr m_hat / (sqrt(v_hat) + eps). weight_decay adds an L2 term to g."""

    def __init__(self, params: Iterable[ag.Tensor], lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        betas = tuple(float(b) for b in betas)
        if lr < 0 or eps < 0 or weight_decay < 0 or len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: need lr, eps, weight_decay >= 0 and 0 <= betas < 1, got lr={lr}, "
                             f"betas={betas}, eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _init_state(self, p):
        z = np.zeros(np.shape(p.data))
        return {"step": 0, "exp_avg": z, "exp_avg_sq": z.copy()}

    def _update(self, g, st, p):
        b1, b2 = self.betas
        st["step"] = t = st["step"] + 1
        m = st["exp_avg"] = b1 * st["exp_avg"] + (1 - b1) * g
        v = st["exp_avg_sq"] = b2 * st["exp_avg_sq"] + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class RMSprop(Optimizer):
    """RMSprop (Hinton): v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps), optionally with momentum."""

    def __init__(self, params: Iterable[ag.Tensor], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        if lr < 0 or eps < 0 or momentum < 0 or weight_decay < 0 or not 0 <= alpha < 1:
            raise ValueError(f"RMSprop: need lr, eps, momentum, weight_decay >= 0 and 0 <= alpha < 1, got "
                             f"lr={lr}, alpha={alpha}, eps={eps}, momentum={momentum}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay))

    def _init_state(self, p):
        return {"square_avg": np.zeros(np.shape(p.data))}

    def _update(self, g, st, p):
        v = st["square_avg"] = self.alpha * st["square_avg"] + (1 - self.alpha) * g * g
        step = g / (np.sqrt(v) + self.eps)
        if self.momentum:
            buf = st.get("momentum_buffer")
            step = st["momentum_buffer"] = step if buf is None else self.momentum * buf + step
        return self.lr * step


# ---- learning-rate schedules -------------------------------------------------------------------
class _Schedule:
    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def _lr(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's lr for it."""
        self.last_epoch += 1
        self.optimizer.lr = self._lr(self.last_epoch)

    def get_last_lr(self) -> float:
        """The learning rate currently set."""
        return self.optimizer.lr

    def state_dict(self) -> dict:
        """base_lr and last_epoch."""
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() returned."""
        self.base_lr, self.last_epoch = float(state["base_lr"]), int(state["last_epoch"])
        self.optimizer.lr = self._lr(self.last_epoch)


class StepLR(_Schedule):
    """lr = base_lr * gamma ** (epoch // step_size): decay by gamma every step_size calls to step()."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        super().__init__(optimizer)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def _lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(_Schedule):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = float(gamma)

    def _lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch
