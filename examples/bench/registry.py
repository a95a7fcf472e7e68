"""The benchmark's registry: workloads, the sides that implement them, and the targets they are held to.

A side is a function `setup(cfg, data) -> Trainer` registered under (workload, side name). The reference side
("numpy" or "micrograd") is what the others are compared against; adding a variant of a workload, such as a
compiled training step, is one decorated function:

    @side("seed-nn", "compiled", target=at_most(1.0))
    def seed_nn_compiled(cfg, data): ...
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np


class Unavailable(Exception):
    """Raised by a side's setup when it cannot run here (a package missing, an engine without the feature);
    the benchmark reports the reason instead of a figure."""


class Trainer(NamedTuple):
    """What a side's setup returns: `train(n)` runs n training steps; `state()` returns the numbers that must
    agree between sides (final loss, parameters), as float64 arrays keyed by name."""

    train: Callable[[int], None]
    state: Callable[[], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Target:
    """A pass/fail criterion for one side of a workload: kind is "ratio" (side time / reference time at
    most value), "speedup" (reference time / side time at least value) or "seconds" (at most value)."""

    kind: str
    value: float

    def met(self, figure: float) -> bool:
        """Whether `figure` (a ratio, a speed-up or seconds, according to kind) meets the target."""
        return figure >= self.value if self.kind == "speedup" else figure <= self.value

    def __str__(self) -> str:
        return {"ratio": f"<= {self.value:g}x", "speedup": f">= {self.value:g}x faster",
                "seconds": f"<= {self.value:g} s"}[self.kind]


def at_most(ratio: float) -> Target:
    """Target: this side takes at most `ratio` times the reference's time."""
    return Target("ratio", ratio)


def speedup(factor: float) -> Target:
    """Target: this side is at least `factor` times faster than the reference."""
    return Target("speedup", factor)


def seconds(limit: float) -> Target:
    """Target: this side takes at most `limit` seconds (absolute; no reference)."""
    return Target("seconds", limit)


@dataclass
class Side:
    """One implementation of a workload: its setup, the modules it imports before memory is measured, and the
    target it is held to (None for the reference)."""

    name: str
    setup: Callable[[dict, Any], Trainer]
    needs: tuple[str, ...]
    target: Target | None


@dataclass
class Workload:
    """A benchmark workload: title and reference as printed, data maker, default sizes (cfg) and quick sizes,
    `unit` (what one timed step is), and whether memory over many steps is measured for it."""

    name: str
    title: str
    reference: str | None
    make_data: Callable[[dict], Any]
    cfg: dict
    quick: dict
    unit: str = "step"
    memory: bool = False
    sides: dict[str, Side] = field(default_factory=dict)

    def ordered_sides(self) -> list[Side]:
        """The reference first, then the others in registration order."""
        ref = [self.sides[self.reference]] if self.reference in self.sides else []
        return ref + [s for n, s in self.sides.items() if n != self.reference]


WORKLOADS: dict[str, Workload] = {}

ENGINE = ("autograd", "nn")


def workload(name: str, title: str, reference: str | None, make_data: Callable[[dict], Any], cfg: dict,
             quick: dict, unit: str = "step", memory: bool = False) -> Workload:
    """Declare a workload (once, in its module); sides are added with @side."""
    if name in WORKLOADS:
        raise ValueError(f"benchmark workload {name!r} is declared twice")
    WORKLOADS[name] = w = Workload(name, title, reference, make_data, dict(cfg), dict(quick), unit, memory)
    return w


def side(workload_name: str, side_name: str, target: Target | None = None,
         needs: tuple[str, ...] = ENGINE) -> Callable:
    """Decorator registering `setup(cfg, data) -> Trainer` as `side_name` of the workload. `needs`: modules
    the side imports (imported before the worker measures its baseline memory)."""
    def register(setup: Callable[[dict, Any], Trainer]) -> Callable[[dict, Any], Trainer]:
        w = WORKLOADS.get(workload_name)
        if w is None:
            raise KeyError(f"benchmark side {side_name!r}: no workload {workload_name!r} "
                           f"(declared: {', '.join(WORKLOADS)})")
        if side_name in w.sides:
            raise ValueError(f"benchmark workload {workload_name!r} already has a side {side_name!r}")
        if (target is None) != (side_name == w.reference):
            raise ValueError(f"benchmark side {workload_name}/{side_name}: the reference side has no target "
                             "and every other side needs one")
        w.sides[side_name] = Side(side_name, setup, tuple(needs), target)
        return setup
    return register


def nn_trainer(model: Any, opt: Any, loss_of: Callable, x: np.ndarray, y: np.ndarray, batch: int, batches: int,
               compiled: bool, state: Callable[[float], dict]) -> Trainer:
    """Minibatch training the way the README teaches it: loss, opt.zero_grad(), backward, opt.step(), over
    `batches` batches in order; the step runs eagerly or under ag.compile. `state(last_loss)` gives the state."""
    import autograd as ag

    def step(xb, yb):
        loss = loss_of(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    if compiled:
        step = ag.compile(step)
    pos, last = 0, 0.0

    def train(n: int) -> None:
        nonlocal pos, last
        for _ in range(n):
            i = (pos % batches) * batch
            pos += 1
            last = step(x[i:i + batch], y[i:i + batch]).item()

    return Trainer(train, lambda: state(last))
