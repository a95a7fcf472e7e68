"""Code generation for ag.compile: the steps of a recording become the source of one straight-line Python
function, compiled once and called on every replay.

Ops and backward rules are emitted by autograd/_compile_rules.py: plain numpy calls decided once (broadcast
reductions, dtypes, branches on types), writing into buffers preallocated for this recording (`out=`) unless
the array is handed to the user (a .grad), in which case it is a fresh array as in eager mode. float64 scalars
are Python floats (the same IEEE doubles), so scalar graphs run as plain Python arithmetic. Steps whose inputs
are all constants (the seed gradient 1.0 and what follows from it) are computed here, once.
"""
from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from . import _compile_rules as rules
from . import _compile_writes as writes
from ._compile_ir import (
    Acc,
    Check,
    ClearGrads,
    Copy,
    Effect,
    Live,
    Op,
    ReadArg,
    ReadGrad,
    ReadLeaf,
    Rule,
    Store,
    Val,
    Write,
)
from ._compile_runtime import RUNTIME
from .ops.elementwise import _NP

_NAME = re.compile(r"[A-Za-z_]\w*")
_HOLE = re.compile("\x00([oak])(\\d+)\x00")
_counter = itertools.count()


class Gen:
    """Emits the body of the replay function; rules use the methods below."""

    def __init__(self, owned_consts: set, uses: dict | None = None) -> None:
        self.counting = uses is None  # the first pass only counts how often each Val is read
        self.uses: dict[int, int] = {} if uses is None else uses
        self.inline: dict[int, tuple] = {}  # Val.n -> (expression, reads, depth): read once, so written inline
        self._lets: list = []  # (Val, line index, depth) defined by let() in the current block
        self._depth = 0
        self.ns: dict[str, Any] = dict(RUNTIME, _NP=_NP, _B=[])
        self.lines: list[str] = []
        self.prologue: list[str] = []
        self.known: dict[int, Any] = {}  # Val.n -> value, for Vals computed here (constant folding)
        self.holes: dict[int, Val] = {}  # Vals written into a buffer, or a fresh array if handed out
        self.fresh: set[int] = set()  # ... those handed out
        self.empty_grads: set[str] = set()  # tensors (by name) whose .grad this replay has set to None
        self.handed: dict[int, int] = {}  # Val.n of those -> its index in the list _B of their buffers
        self.owned: set[int] = set()  # Vals that are a new array on every replay
        self.source: dict[int, Val] = {}  # Val.n -> the Val whose memory it shares
        self.same_as: dict[int, Val] = {}  # Val.n -> the Val it is (no code of its own)
        self.compiled: set[int] = set()  # id(Op) of ops emitted by a compiled rule
        self.resets: dict[int, Any] = {}  # const Val.n -> snapshot: a temporary re-made on every replay
        self.owned_consts = owned_consts  # ids of constants the recorder made (foldable)
        self._names: dict[int, str] = {}
        self._block: list[str] = []
        self._reads: list = []
        self._fold = True

    # ---- names and values ---------------------------------------------------------------------------------
    def x(self, v: Any) -> str:
        """The expression for a Val (or any object) in generated code."""
        if not isinstance(v, Val):
            return self.bind(v)
        while v.n in self.same_as:
            v = self.same_as[v.n]
        if self.counting:
            self.uses[v.n] = self.uses.get(v.n, 0) + 1
        else:
            self.uses[v.n] = self.uses.get(v.n, 0) - 1  # reads still to come
        if v.n in self.inline:
            expr, reads, depth = self.inline.pop(v.n)
            self._reads.extend(reads)
            self._depth = max(self._depth, depth)
            return expr
        self._reads.append(v)
        if v.n in self.known:
            return self.bind(self.known[v.n], f"k{v.n}")
        if v.const and v.n not in self.resets:
            return self.bind(v.example, v.name)
        return v.name

    def bind(self, obj: Any, hint: str | None = None) -> str:
        """A name bound to obj in the generated function's namespace (or a literal for plain numbers)."""
        if obj is None or obj is True or obj is False:
            return repr(obj)
        if type(obj) in (int, float) and np.isfinite(obj):
            return repr(obj)  # repr of a float reads back as the same double
        if type(obj) is tuple and all(type(i) is int for i in obj):
            return repr(obj)
        name = self._names.get(id(obj))
        if name is None:
            name = hint or f"o{next(_counter)}"
            self._names[id(obj)] = name
            self.ns[name] = obj
        return name

    def index(self, index: Any) -> str:
        """An index (tuple items may be Vals: arrays of the recording) as an expression."""
        if isinstance(index, tuple):
            return "(" + "".join(self.x(i) + ", " for i in index) + ")"
        return self.x(index)

    def options(self, opts: dict) -> str:
        if not any(isinstance(v, Val) or isinstance(v, tuple) and any(isinstance(i, Val) for i in v)
                   for v in opts.values()):
            return self.bind(opts)
        return "{" + ", ".join(f"{k!r}: {self.index(v)}" for k, v in opts.items()) + "}"

    def scratch(self, shape: tuple, dtype: Any) -> str:
        """A buffer private to the replay (never handed out), for an intermediate that no Val names."""
        name = f"s{next(_counter)}"
        if not self.counting:
            self.ns[name] = np.empty(shape, dtype)
        return name

    def filled(self, shape: tuple, dtype: Any, value: float) -> str:
        """A read-only array of `shape` holding `value` everywhere (a constant operand; one per kind)."""
        key = ("filled", tuple(shape), np.dtype(dtype).str, value)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"c{next(_counter)}"
        if not self.counting and name not in self.ns:
            arr = np.full(shape, value, dtype)
            arr.flags.writeable = False
            self.ns[name] = arr
        return name

    # ---- how a Val's array comes to be ------------------------------------------------------------------
    def out(self, v: Val) -> str:
        """`, out` for a numpy call computing v: v's buffer, or nothing when v must be a fresh array."""
        self.holes[v.n] = v
        return f"\x00o{v.n}\x00"

    def out_kw(self, v: Val) -> str:
        """`, out=...` (np.maximum and np.minimum refuse a positional out)."""
        self.holes[v.n] = v
        return f"\x00k{v.n}\x00"

    def array(self, v: Val) -> str:
        """An array to fill as v: v's buffer, or a new empty array when v must be fresh."""
        self.holes[v.n] = v
        return f"\x00a{v.n}\x00"

    def same(self, v: Val, src: Val) -> None:
        self.same_as[v.n] = src

    def alias(self, v: Val, src: Val) -> None:
        while src.n in self.same_as:
            src = self.same_as[src.n]
        self.source[v.n] = self.source.get(src.n, src)

    def own(self, v: Val) -> None:
        self.owned.add(v.n)

    def root(self, v: Val) -> Val:
        while v.n in self.same_as:
            v = self.same_as[v.n]
        return self.source.get(v.n, v)

    def line(self, s: str) -> None:
        self._block.append(s)

    def let(self, v: Val, expr: str, numpy: bool = False) -> None:
        """v = expr for a scalar (a Python float; numpy=True: expr may give a numpy scalar, converted). Read
        only once, and not within this block, v is written inline where it is read (in parentheses: the
        same operations in the same order)."""
        if numpy:
            expr = f"_float({expr})"
        self._lets.append((v, len(self._block), self._depth + 1))
        self._depth = 0
        self._block.append(f"{v.name} = {expr}")

    def nofold(self) -> None:
        self._fold = False

    # ---- blocks: one step's lines, computed here when every input is a known constant ----------------------
    def begin(self) -> None:
        self._block, self._reads, self._fold, self._lets, self._depth = [], [], True, [], 0

    def end(self, outs: list) -> None:
        block, reads = self._block, self._reads
        if self._fold and block and all(self._foldable(r) for r in reads):
            code = "\n".join(self._resolve(s, fresh=True) for s in block)
            env = dict(self.ns)
            exec(compile(code, "<fold>", "exec"), env)
            for v in outs:
                if v is not None and v.name in env and v.n not in self.same_as:
                    self.known[v.n] = env[v.name]
                    self.source.pop(v.n, None)
            return
        if not self.counting:
            drop = set()
            for v, i, depth in self._lets:
                # Read once, later (not in this block); nesting capped well below the parser's limit.
                if self.uses.get(v.n, 0) == 1 and depth < 60 and v.n not in self.known:
                    self.inline[v.n] = ("(" + block[i].split(" = ", 1)[1] + ")", reads, depth)
                    drop.add(i)
            if drop:
                block = [b for i, b in enumerate(block) if i not in drop]
        self.lines.extend(block)

    def _foldable(self, v: Val) -> bool:
        if v.n in self.known:
            return True
        if not v.const or v.n in self.resets:
            return False
        return not isinstance(v.example, np.ndarray) or id(v.example) in self.owned_consts

    def _resolve(self, s: str, fresh: bool = False) -> str:
        def hole(m: re.Match) -> str:
            n = int(m.group(2))
            v = self.holes[n]
            kind = m.group(1)
            if fresh:
                return f"_empty({v.shape!r}, {self.bind(v.dtype)})" if kind == "a" else ""
            if n in self.fresh:  # handed out (a .grad): reused only when nothing else holds it
                if n not in self.handed:
                    self.handed[n] = len(self.handed)
                    self.ns["_B"].append(np.empty(v.shape, v.dtype))
                # recycled(), inline: the list and getrefcount's argument are its only references
                k = self.handed[n]
                expr = f"(_B[{k}] if _rc(_B[{k}]) == 2 else _recycled(_B, {k}))"
                return {"o": f", {expr}", "k": f", out={expr}", "a": expr}[kind]
            name = f"b{n}"
            if name not in self.ns:
                self.ns[name] = np.empty(v.shape, v.dtype)
            return {"o": f", {name}", "k": f", out={name}", "a": name}[kind]
        return _HOLE.sub(hole, s)

    def source_code(self, out_expr: str) -> str:
        """The source of `make(NS)`, which returns the replay function. The names it uses are bound as
        defaults of its parameters: local variables, the fastest names Python has."""
        body = [self._resolve(s) for s in self.prologue + self.lines]
        used = set(_NAME.findall("\n".join(body) + "\n" + out_expr)) & set(self.ns)
        params = "".join(f", {k}=NS[{k!r}]" for k in sorted(used))
        return "\n".join(["def make(NS):", f"    def replay(A{params}):"] + [f"        {s}" for s in body]
                         + [f"        return {out_expr}", "    return replay"])


def generate(rec: Any, out_spec: Any) -> tuple[Any, str]:
    """The replay function of a finished recording, and its source. Emitted twice: the first pass counts
    how often each value is read, so the second can write values read once inline."""
    counted = Gen(rec.owned)
    _emit(counted, rec, out_spec)
    g = Gen(rec.owned, counted.uses)
    out_expr = _emit(g, rec, out_spec)
    src = g.source_code(out_expr)
    env: dict = {}
    exec(compile(src, f"<ag.compile #{next(_counter)}>", "exec"), env)
    return env["make"](g.ns), src


def _emit(g: Gen, rec: Any, out_spec: Any) -> str:
    for v, snap in rec.resets.items():
        g.resets[v.n] = snap
        g.prologue.append(f"{v.name} = {g.bind(snap)}" + (".copy()" if isinstance(snap, np.ndarray) else ""))
        if v.kind == "f":
            g.prologue.append(f"{v.name} = _float({v.name})")
    stored: dict[int, int] = {}  # root Val.n -> how many .grad hold it already
    for i, step in enumerate(rec.steps):
        g.begin()
        kind = type(step)
        if kind is Op:
            rules.forward(g, step)
            g.end([step.out])
            continue
        if kind is Rule:
            rules.backward(g, step)
            g.end(step.outs)
            continue
        if kind is Acc:
            rules.accumulate(g, step)
            g.end([step.out])
            continue
        if kind is ReadArg:
            _read(g, step.out, f"A[{step.i}]" + (".data" if step.is_tensor else ""))
        elif kind is ReadLeaf:
            if step.out.n not in g.resets:
                _read(g, step.out, f"{_tensor(g, step.ref)}.data")
        elif kind is ReadGrad:
            _read(g, step.out, f"_grad_of({_tensor(g, step.ref)}, {g.bind(step.ref.describe())})")
        elif kind is Live:
            g.line(f"{step.out.name} = {g.bind(step.getter)}()")
        elif kind is Copy:
            if step.out.kind == "a":
                g.line(f"{step.out.name} = _np.array({g.x(step.src)}, dtype={g.bind(step.dtype)})")
                g.own(step.out)
            else:
                g.line(f"{step.out.name} = {g.x(step.src)}")
        elif kind is Store:
            _store(g, step, stored)
        elif kind is Write:
            writes.write(g, step)
        elif kind is Effect:
            g.line(f"{g.bind(step.fn)}()")
            g.empty_grads.clear()  # it may set any .grad
        elif kind is ClearGrads:
            g.line("; ".join(f"{_tensor(g, r)}.grad = None" for r in step.refs))
            g.empty_grads.update(_tensor(g, r) for r in step.refs)
        elif kind is Check:
            g.line(f"if _convert({g.x(step.val)}, {step.how!r}) != {g.bind(step.expected)}: raise _Mismatch({i})")
        g.nofold()
        g.end([])
    return _outputs(g, out_spec)


def _read(g: Gen, v: Val, expr: str) -> None:
    g.line(f"{v.name} = {'_float(' + expr + ')' if v.kind == 'f' else expr}")


def _tensor(g: Gen, ref: Any) -> str:
    return f"A[{ref.arg}]" if ref.arg is not None else g.bind(ref.obj, ref.name)


def _store(g: Gen, step: Store, stored: dict) -> None:
    """t.grad receives the gradient as engine._store_all does; its array is a fresh one whenever the
    gradient's memory is shared with anything else (a buffer, another .grad, a tensor's data, a constant)."""
    t = _tensor(g, step.ref)
    v, name = step.g, step.out.name
    if v.kind == "f":
        value = f"_f64({g.x(v)})"
    elif v.kind == "s":
        value = g.x(v)
    else:
        root = g.root(v)
        first = stored.get(root.n, 0) == 0
        stored[root.n] = stored.get(root.n, 0) + 1
        if first and root.n in g.holes and root.n not in g.known:
            g.fresh.add(root.n)
            value = g.x(v)
        elif first and root.n in g.owned:
            value = g.x(v)
        else:
            value = f"{g.x(v)}.copy()"
    if step.saw_none and not step.cleared:
        g.prologue.append(f"if {t}.grad is not None: raise _GradSet({g.bind(step.ref.describe())})")
    g.line(f"{name} = {value}")
    if t in g.empty_grads:  # cleared earlier in this replay, nothing set it since: the engine's common case
        g.empty_grads.discard(t)
        g.line(f"{t}.grad = _T({name}, False, None)")
    else:
        g.line(f"if {t}.grad is None: {t}.grad = _T({name}, False, None)")
        g.line(f"else: {name} = _accumulate({t}, {name})")
    if v.kind == "f":
        g.line(f"{name} = _float({name})")


def _outputs(g: Gen, spec: Any) -> str:
    """The expression building fn's result: Tensors holding copies of the output values."""
    if spec is None:
        return "None"
    if isinstance(spec, Val):
        if spec.kind == "a":
            return f"_T({g.x(spec)}.copy(), False, None)"
        return f"_T(_f64({g.x(spec)}), False, None)" if spec.kind == "f" else f"_T({g.x(spec)}, False, None)"
    if isinstance(spec, tuple):
        inner = ", ".join(_outputs(g, s) for s in spec)
        return f"({inner},)" if len(spec) == 1 else f"({inner})"
    if isinstance(spec, list):
        return "[" + ", ".join(_outputs(g, s) for s in spec) + "]"
    return "{" + ", ".join(f"{g.bind(k)}: {_outputs(g, s)}" for k, s in spec.items()) + "}"
