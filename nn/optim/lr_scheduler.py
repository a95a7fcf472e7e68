"""Learning-rate schedules: each sets its optimizer's lr from a base lr and an epoch count."""
from __future__ import annotations

import copy
from typing import Any, ClassVar, Mapping

from . import _checks
from .optimizer import Optimizer


class LRScheduler:
    """Base class: `step()` advances one epoch and sets optimizer.lr = _lr(epoch). A subclass declares its
    settings in `settings` (name -> rule); they are saved and restored with the epoch and base lr."""

    settings: ClassVar[dict[str, _checks.Rule]] = {}

    def __init__(self, optimizer: Optimizer, **settings: Any) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        for k, v in settings.items():
            setattr(self, k, _checks.check(name, k, self.settings[k], v))
        self.optimizer = optimizer
        self.base_lr: float = optimizer.lr
        self.last_epoch = 0

    def _lr(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's lr for it (an lr that is not valid changes nothing)."""
        epoch = self.last_epoch + 1
        try:
            lr = self._lr(epoch)
        except OverflowError:
            raise ValueError(f"{type(self).__name__}: the lr for epoch {epoch} overflows") from None
        self.optimizer.lr = lr  # checked by the optimizer: finite and >= 0
        self.last_epoch = epoch

    def get_last_lr(self) -> float:
        """The learning rate currently set."""
        return self.optimizer.lr

    def state_dict(self) -> dict:
        """base_lr, last_epoch and the schedule's settings, as a flat dict nn.save can write."""
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch, **{k: getattr(self, k) for k in self.settings}}

    def load_state_dict(self, state: Mapping) -> None:
        """Restore what state_dict() returned and set the optimizer's lr for the restored epoch. Everything is
        checked first; on any problem a ValueError lists them all and nothing changes."""
        name = type(self).__name__
        if not hasattr(state, "keys"):
            raise TypeError(f"{name}.load_state_dict: expected a mapping, got {type(state).__name__}")
        rules = {"base_lr": _checks.nonnegative, "last_epoch": _checks.count(0), **self.settings}
        problems, values = [], {}
        missing = [k for k in rules if k not in state]
        if missing:
            problems.append("missing key(s) " + ", ".join(repr(k) for k in missing))
        unexpected = [k for k in state.keys() if k not in rules]
        if unexpected:
            problems.append("unexpected key(s) " + ", ".join(repr(k) for k in unexpected))
        for k in rules:
            if k in state:
                try:
                    values[k] = rules[k](state[k])
                except (TypeError, ValueError) as e:
                    problems.append(f"{k} {e}")
        lr = None
        if not problems:  # the lr these settings give must itself be a valid lr (gamma ** epoch can overflow)
            trial = copy.copy(self)  # evaluated on a copy, so that self changes only once all is known good
            trial.__dict__.update(values)
            try:
                lr = _checks.nonnegative(trial._lr(values["last_epoch"]))
            except (TypeError, ValueError, OverflowError) as e:
                problems.append(f"the restored lr {e}")
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems) + " (nothing was loaded)")
        self.__dict__.update(values)
        self.optimizer.lr = lr


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): decay by gamma every step_size calls to step()."""

    settings = {"step_size": _checks.count(1), "gamma": _checks.positive}

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    def _lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch."""

    settings = {"gamma": _checks.positive}

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, gamma=gamma)

    def _lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch
