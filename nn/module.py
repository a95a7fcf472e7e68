"""`Module` and `Parameter`: models as trees of modules that own tensors, found by attribute assignment.

`ModuleList` and `Sequential` are the two containers; they are modules whose children are named "0", "1", ...
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np

import autograd as ag

from .utils import _write


class Parameter(ag.Tensor):
    """A Tensor that requires grad and that a Module registers when it is assigned as an attribute."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        arr = np.asarray(data.data if isinstance(data, ag.Tensor) else data)
        if arr.dtype.kind not in "fc":  # integer data would refuse requires_grad; parameters are real numbers
            arr = arr.astype(np.float64)
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class LoadResult(NamedTuple):
    """What `load_state_dict(strict=False)` skipped: keys the module has but the dict lacks, and the reverse."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of layers and models. Assign Parameters and Modules as attributes to register them;
    define `forward`; call the module to run it."""

    training: bool
    _parameters: "OrderedDict[str, Parameter | None]"
    _modules: "OrderedDict[str, Module | None]"
    _buffers: "OrderedDict[str, np.ndarray | None]"

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_modules"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["training"] = True

    # ---- registration ------------------------------------------------------------------------
    # Each parameter, buffer and sub-module lives in exactly one registry, never also in __dict__;
    # attribute reads that miss __dict__ fall through to __getattr__, which looks in the registries.
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            r = d.get(reg)
            if r is not None and name in r:
                return r[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before "
                                     f"Module.__init__() has run in {type(self).__name__}.__init__")
            object.__setattr__(self, name, value)
            return
        mods, bufs = d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._unregister(name)
            params[name] = value
        elif isinstance(value, Module):
            self._unregister(name)
            mods[name] = value
        elif name in params and isinstance(value, ag.Tensor):
            raise TypeError(f"cannot assign a {type(value).__name__} as parameter '{name}' of "
                            f"{type(self).__name__}: wrap it in nn.Parameter, or assign None to remove it")
        elif name in bufs:
            bufs[name] = None if value is None else np.asarray(value)
        elif value is None and (name in params or name in mods):
            (params if name in params else mods)[name] = None  # stays a (now empty) slot, as in PyTorch
        else:
            self._unregister(name)
            object.__setattr__(self, name, value)

    def _unregister(self, name: str) -> None:
        d = self.__dict__
        for reg in ("_parameters", "_modules", "_buffers"):
            d[reg].pop(name, None)
        d.pop(name, None)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if any(name in d.get(reg, ()) for reg in ("_parameters", "_modules", "_buffers")):
            self._unregister(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list:
        d = self.__dict__
        names = [k for reg in ("_parameters", "_modules", "_buffers") for k in d.get(reg, ())]
        return sorted(set(super().__dir__()) | set(names))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` under `name` (same as assigning it as an attribute; None keeps an empty slot)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be an nn.Parameter or None, "
                            f"got {type(param).__name__}")
        if "_parameters" not in self.__dict__:
            raise AttributeError("register_parameter: call Module.__init__() first")
        self._unregister(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, value: Any) -> None:
        """Register an array that is part of the module's state (saved in state_dict) but is not trained."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("register_buffer: call Module.__init__() first")
        self._unregister(name)
        self._buffers[name] = None if value is None else np.asarray(getattr(value, "data", value))

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register a sub-module under `name` (same as assigning it as an attribute; None keeps an empty slot)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        if "_modules" not in self.__dict__:
            raise AttributeError("add_module: call Module.__init__() first")
        self._unregister(name)
        self._modules[name] = module

    # ---- running -----------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The scope tags every recorded op with this module, so graph drawings can group them.
        with ag.graph_scope(self):
            return self.forward(*args, **kwargs)

    # ---- traversal ---------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """(name, module) for each direct sub-module."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator["Module"]:
        """Each direct sub-module."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module ("") and every module below it, each once."""
        seen: set = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator["Module"]:
        """This module and every module below it."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs such as ("layers.0.weight", W); a shared parameter appears once."""
        seen: set = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for pname, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of this module and (by default) its sub-modules, each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every registered buffer."""
        for mname, m in self.named_modules(prefix):
            for bname, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters (only those that require grad if trainable_only)."""
        return int(sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only))

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call fn on every module (children first, then self); returns self."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    # ---- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (affects Dropout) on this module and all below; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (same as train(False)); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient before the next backward: set .grad to None (the default, as
        in PyTorch) or, with set_to_none=False, keep each .grad tensor and fill it with zeros."""
        for p in self.parameters():
            g = p.grad
            if set_to_none or g is None:
                p.grad = None
            else:
                with ag.no_grad():  # in place and tracked, as Optimizer.zero_grad does
                    g.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze (True) every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer as arrays, keyed by dotted name, in registration order."""
        out: OrderedDict = OrderedDict()
        for name, p in self.named_parameters():
            out[name] = np.array(p.data, copy=True)
        for name, b in self.named_buffers():
            out[name] = np.array(b, copy=True)
        return out

    def load_state_dict(self, state: Any, strict: bool = True) -> LoadResult:
        """Copy arrays from `state` into the parameters and buffers of the same names.

        Everything is checked before anything is assigned: unknown or missing keys (when strict), shapes,
        dtypes, and finiteness in the module's own dtype (a float64 1e39 overflows a float32 parameter).
        On any problem a ValueError lists them all and the module is left unchanged.
        """
        if not hasattr(state, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state).__name__}")
        targets: dict = {}
        for name, p in self.named_parameters():
            targets[name] = p
        for mname, m in self.named_modules():
            for bname, b in m._buffers.items():
                if b is not None:
                    targets[f"{mname}.{bname}" if mname else bname] = (m._buffers, bname)
        keys = list(state.keys())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in keys if k not in targets]
        problems = []
        if strict and missing:
            problems.append("missing key(s): " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
        ready = []
        for k in keys:
            if k not in targets:
                continue
            target = targets[k]
            current = np.asarray(target.data if isinstance(target, Parameter) else target[0][target[1]])
            try:
                value = np.asarray(getattr(state[k], "data", state[k]))
            except Exception as e:  # a value numpy cannot even read
                problems.append(f"{k!r}: cannot read the value as an array ({e})")
                continue
            if value.dtype.kind not in "biuf" or not np.can_cast(value.dtype, current.dtype, "same_kind"):
                problems.append(f"{k!r}: dtype {value.dtype} cannot be loaded into dtype {current.dtype}")
                continue
            if value.shape != current.shape:
                problems.append(f"{k!r}: shape {value.shape} in the state dict, the module has {current.shape}")
                continue
            with np.errstate(over="ignore", invalid="ignore"):  # the checks below report what went wrong
                cast = value.astype(current.dtype, copy=True)
            if cast.dtype.kind in "fc" and not np.all(np.isfinite(cast)):
                bad = "contains NaN or inf" if not np.all(np.isfinite(value)) else \
                    f"has values too large for dtype {current.dtype} (they overflow to inf)"
                problems.append(f"{k!r}: {bad}")
                continue
            if cast.dtype.kind in "iub" and not np.array_equal(cast, value):  # integers wrap silently
                problems.append(f"{k!r}: has values out of range for dtype {current.dtype}")
                continue
            ready.append((target, cast))
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems)
                             + " (nothing was loaded)")
        for target, value in ready:
            if isinstance(target, Parameter):
                _write(target, value)
            else:
                target[0][target[1]] = value
        return LoadResult(missing, unexpected)

    # ---- display -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Settings shown inside the parentheses of repr; layers override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        if not self._modules:
            return f"{type(self).__name__}({extra})"
        lines = [f"  {extra}"] if extra else []  # settings first, then the children, as PyTorch prints
        for name, m in self._modules.items():
            lines.append(f"  ({name}): " + repr(m).replace("\n", "\n  "))
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules whose members are registered (named "0", "1", ...)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        """Add a module at the end; returns self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Append each module; returns self."""
        for m in modules:
            self.append(m)
        return self

    def _index(self, i: int) -> int:
        n = len(self._modules)
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__}: index {i} out of range for {n} modules")
        return i % n

    def __getitem__(self, i: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return type(self)(mods[i])
        return mods[self._index(i)]

    def __setitem__(self, i: int, module: Module) -> None:
        self.add_module(str(self._index(i)), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class Sequential(ModuleList):
    """Modules applied one after another: Sequential(a, b, c)(x) == c(b(a(x)))."""

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for k, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {k} is a {type(m).__name__}, not a Module")
        super().__init__(modules)

    def __getitem__(self, i: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        return mods[self._index(i)]

    def forward(self, x: Any) -> Any:
        """Feed x through each module in order."""
        for m in self._modules.values():
            x = m(x)
        return x
