"""`Optimizer`: the base class. It keeps the parameters, their validated hyperparameters and per-parameter
state, runs the update loop, and saves and restores all of it as a flat dict of numbers and arrays.

A subclass declares everything it owns: `hyperparameters` (name -> rule from `_checks`), `buffers` (the
per-parameter arrays it may keep, name -> kind), and defines `_delta` (the step for one parameter).
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable, Mapping

import numpy as np

import autograd as ag
from autograd.compile import CompileError, clear_grads, effect, recording

from . import _checks


def _zero_(t: ag.Tensor) -> None:
    """Set a gradient tensor's values to zero in place."""
    with ag.no_grad():
        t.zero_()


def with_weight_decay(g: np.ndarray, x: np.ndarray, weight_decay: float) -> np.ndarray:
    """The gradient plus the L2 penalty's gradient weight_decay * x (PyTorch's coupled weight decay)."""
    return g + weight_decay * x if weight_decay else g


# What each kind of buffer must hold: "array" (finite, the parameter's shape), "nonnegative" (the same, >= 0,
# for running averages of g^2, whose square roots are taken), "count" (an integer >= 0).
BUFFER_KINDS = ("array", "nonnegative", "count")


class Optimizer:
    """Base class: keeps the parameters, hyperparameters (attributes such as `opt.lr`, checked on every
    assignment) and per-parameter state (`opt.state[i]`, a dict of buffers)."""

    hyperparameters: ClassVar[dict[str, _checks.Rule]] = {}
    buffers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "lr" not in cls.hyperparameters:  # schedules read and set opt.lr
            raise TypeError(f"{cls.__name__}: an optimizer must declare an 'lr' hyperparameter")
        bad = {k: v for k, v in cls.buffers.items() if v not in BUFFER_KINDS}
        if bad:
            raise TypeError(f"{cls.__name__}: buffer kinds must be among {BUFFER_KINDS}, got {bad}")

    def __init__(self, params: Iterable[ag.Tensor], **hyperparameters: Any) -> None:
        name = type(self).__name__
        if isinstance(params, ag.Tensor):
            raise TypeError(f"{name}: params must be an iterable of tensors, got a single Tensor "
                            "(wrap it in a list)")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen = set()
        for k, p in enumerate(params):
            if not isinstance(p, ag.Tensor):
                raise TypeError(f"{name}: parameter {k} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {k} is not a leaf tensor (it was computed "
                                 "by an op); optimize the leaf it came from")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {k} appears more than once")
            seen.add(id(p))
        if set(hyperparameters) != set(self.hyperparameters):
            raise TypeError(f"{name}: got hyperparameters {sorted(hyperparameters)}, "
                            f"declared {sorted(self.hyperparameters)}")
        values = {k: _checks.check(name, k, self.hyperparameters[k], v) for k, v in hyperparameters.items()}
        try:
            self._check_together(values)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        self.params: list = params
        self.defaults = dict(values)  # the values given to the constructor (PyTorch keeps them under this name)
        for k, v in values.items():
            object.__setattr__(self, k, v)
        self.state: dict[int, dict] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        # opt.lr = ... (by the user or a schedule) is held to the same rule as the constructor's argument.
        rule = self.hyperparameters.get(name)
        if rule is not None:
            value = _checks.check(type(self).__name__, name, rule, value)
            if recording() is not None:
                # Replays do not run the function's Python code: the new value would hold only this once.
                raise CompileError(f"{type(self).__name__}.{name} is set inside a compiled function; set it "
                                   "outside, before calling it (replays read the optimizer's current value)")
        object.__setattr__(self, name, value)

    # ---- what subclasses define --------------------------------------------------------------
    def _check_together(self, hyper: dict) -> None:
        """Raise ValueError if hyperparameters that are each valid do not go together."""

    def _required_buffers(self, hyper: dict) -> set[str]:
        """The buffers a parameter's state must hold once it has taken a step, under these hyperparameters."""
        return set(self.buffers)

    def _init_state(self, x: np.ndarray) -> dict:
        """The state of a parameter (current value x) before its first step."""
        return {}

    def _delta(self, g: np.ndarray, x: np.ndarray, st: dict) -> Any:
        """The amount to subtract from a parameter whose value is x and gradient g; updates its state st."""
        raise NotImplementedError

    # ---- updating ----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: set .grad to None (the default, as in PyTorch) or, with
        set_to_none=False, set the gradient arrays to zero in place."""
        rec = recording()
        if rec is None:
            self._zero_grad(set_to_none)
        elif set_to_none:  # inside ag.compile: replays clear them here too
            clear_grads(self.params)
            object.__setattr__(self, "_cleared_in", rec.serial)
        else:
            effect(lambda: self._zero_grad(False))
            object.__setattr__(self, "_cleared_in", None)

    def _zero_grad(self, set_to_none: bool) -> None:
        for p in self.params:
            g = p.grad
            if set_to_none or g is None:
                p.grad = None
            elif g.grad_fn is not None:
                # A gradient built with create_graph=True belongs to a graph that may have saved its array:
                # replace it rather than overwrite what that graph holds.
                p.grad = ag.Tensor(np.zeros_like(g.data))
            else:
                _zero_(g)

    def step(self) -> None:
        """Update every parameter that has a gradient (in place, through the tracked in-place API, so a graph
        that saved a parameter's array before the step refuses to backpropagate through it)."""
        rec = recording()
        if rec is None:
            self._step()
        elif getattr(self, "_cleared_in", None) == rec.serial and self._traceable():
            # Inside ag.compile, after this optimizer's own zero_grad: exactly the parameters this call's
            # backward gave a gradient have one, so the update can be recorded as tensor ops.
            self._traced_step()
        else:
            effect(self._step)  # replays run this very method on the live parameters and state

    def _traceable(self) -> bool:
        """Whether _traced_step can record the update under the current hyperparameters."""
        return False

    def _traced_step(self) -> None:
        """The update as tensor ops under no_grad: the same numpy operations as _step, in the same order, with
        hyperparameters read through autograd.compile.live (replays read their current values) and guards
        (autograd.compile.guard) on those that decide which ops run."""
        raise NotImplementedError

    def _step(self) -> None:
        with ag.no_grad():  # one block for the whole loop: entering it costs about as much as a small update
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                x = np.asarray(p.data)
                st = self.state.get(i)
                if st is None:
                    st = self.state[i] = self._init_state(x)
                p -= self._delta(np.asarray(p.grad.data), x, st)

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The parameter count, which parameters have state, the hyperparameters and the per-parameter
        buffers ("state.<index>.<buffer>") as a flat dict of numbers and arrays, which nn.save can write."""
        out: dict = {"num_params": len(self.params), "params_with_state": np.array(sorted(self.state), dtype=np.int64)}
        for k in self.hyperparameters:
            v = getattr(self, k)
            out[k] = np.array(v, dtype=np.float64) if isinstance(v, tuple) else v
        for i, st in sorted(self.state.items()):
            for name, v in st.items():
                out[f"state.{i}.{name}"] = np.array(v, copy=True)
        return out

    def load_state_dict(self, state: Mapping) -> None:
        """Restore what state_dict() returned (possibly via nn.save/nn.load). Everything is checked first:
        the parameter count, the optimizer it came from, each hyperparameter, each buffer's presence, shape
        and values. On any problem a ValueError lists them all and nothing changes."""
        name = type(self).__name__
        if not hasattr(state, "keys"):
            raise TypeError(f"{name}.load_state_dict: expected a mapping, got {type(state).__name__}")
        counted = self._count_problem(state)
        if counted:  # state for other parameters: everything else it says would only repeat that
            raise ValueError(f"{name}.load_state_dict: {counted} (nothing was loaded)")
        problems: list[str] = []
        hyper: dict = {}
        raw: dict[int, dict] = {}
        others: list[str] = []
        for k in state.keys():
            v = state[k]
            if not isinstance(k, str):
                problems.append(f"key {k!r} is not a string")
            elif k in ("num_params", "params_with_state"):
                continue  # checked below
            elif k.startswith("state."):
                i, _, buf = k[len("state."):].partition(".")
                if not (i.isdecimal() and str(int(i)) == i and buf):
                    problems.append(f"malformed key {k!r} (expected 'state.<parameter index>.<buffer>')")
                elif int(i) >= len(self.params):
                    problems.append(f"{k!r} refers to parameter {i}, the optimizer has {len(self.params)}")
                else:
                    raw.setdefault(int(i), {})[buf] = v
            elif k in self.hyperparameters:
                try:
                    hyper[k] = self.hyperparameters[k](v)
                except (TypeError, ValueError) as e:
                    problems.append(f"{k} {e}")
            else:
                others.append(k)
        with_state = self._check_indices(state, problems)
        missing = [k for k in self.hyperparameters if k not in state]
        loaded: dict[int, dict] = {}
        if missing or others:
            problems.append(self._describe_foreign(missing, others))
        elif len(hyper) == len(self.hyperparameters) and with_state is not None:
            try:
                self._check_together(hyper)
            except ValueError as e:
                problems.append(str(e))
            # Buffers are judged against the hyperparameters being loaded (momentum decides SGD's buffer).
            required = self._required_buffers(hyper)
            for i in sorted(set(raw) - with_state):
                problems.append(f"parameter {i} has buffers but is not among 'params_with_state'")
            for i in sorted(with_state):
                loaded[i] = self._check_buffers(i, raw.get(i, {}), required, problems)
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems) + " (nothing was loaded)")
        for k, v in hyper.items():
            object.__setattr__(self, k, v)
        self.state = loaded

    def _count_problem(self, state: Mapping) -> str | None:
        """What is wrong with the state's 'num_params', if anything."""
        if "num_params" not in state:
            return "missing 'num_params' (the number of parameters the state is for)"
        try:
            got = _checks.count(0)(state["num_params"])
        except (TypeError, ValueError) as e:
            return f"num_params {e}"
        n = len(self.params)
        return f"the state is for {got} parameters, this optimizer has {n}" if got != n else None

    def _check_indices(self, state: Mapping, problems: list) -> set[int] | None:
        """The parameters that 'params_with_state' says have state (None, with a problem, if it is bad)."""
        if "params_with_state" not in state:
            problems.append("missing 'params_with_state'")
            return None
        idx = np.asarray(state["params_with_state"])
        n = len(self.params)
        if idx.ndim != 1 or (idx.dtype.kind not in "iu" and idx.size):
            problems.append(f"params_with_state must be a list of parameter indices, got {idx.dtype} of shape "
                            f"{idx.shape}")
            return None
        found = [int(i) for i in idx]
        if len(set(found)) != len(found) or not all(0 <= i < n for i in found):
            problems.append(f"params_with_state must hold distinct indices in [0, {n}), got {found}")
            return None
        return set(found)

    def _check_buffers(self, i: int, bufs: dict, required: set, problems: list) -> dict:
        """Parameter i's loaded buffers converted to their kind, appending to `problems` what is wrong."""
        p, out = self.params[i], {}
        absent = sorted(required - set(bufs))
        if absent:
            problems.append(f"parameter {i}: missing buffer(s) " + ", ".join(repr(b) for b in absent))
        for buf, v in bufs.items():
            kind, where = self.buffers.get(buf), f"'state.{i}.{buf}'"
            if kind is None:
                problems.append(f"{where}: {type(self).__name__} keeps no buffer named {buf!r}")
            elif kind == "count":
                try:
                    out[buf] = _checks.count(0)(v)
                except (TypeError, ValueError) as e:
                    problems.append(f"{where} {e}")
            else:
                arr = _checks.buffer_array(where, v, p.data, kind == "nonnegative", problems)
                if arr is not None:
                    out[buf] = arr
        return out

    def _describe_foreign(self, missing: list, others: list) -> str:
        keys = set(self.hyperparameters) - set(missing) | set(others)
        owners = [c.__name__ for c in _subclasses(Optimizer) if set(c.hyperparameters) == keys]
        if owners:
            return f"this is the state of a {owners[0]} optimizer, not of {type(self).__name__}"
        parts = []
        if missing:
            parts.append("missing hyperparameter(s) " + ", ".join(repr(k) for k in missing))
        if others:
            parts.append("unexpected key(s) " + ", ".join(repr(k) for k in others))
        return "; ".join(parts)

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {hp})"


def _subclasses(cls: type) -> list[type]:
    out = []
    for c in cls.__subclasses__():
        out += [c] + _subclasses(c)
    return out
