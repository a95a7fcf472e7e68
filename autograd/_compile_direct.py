"""Ops replayed through their own forward and backward functions, and the check that compiled rules agree
with them.

A built-in op without a compiled rule (or whose rule does not agree) is called directly: `cls.forward(ctx, ...)`
and `cls.backward(ctx, g)` on a node made once per call site and reused, with no Tensor, no graph and no checks
at replay. What the engine does to each returned gradient (engine._check_grad: give it the input's shape and
dtype, take a Tensor's array) is found once by probing the rule on the recorded values, and only the conversions
actually needed are emitted. Ops that are not built-in (custom Functions) keep every check: they run through
`_fwd`/`_bwd`, which apply engine._check_grad at every replay, and get a fresh node each time.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _compile_runtime as rt
from . import engine
from ._compile_ir import Op, Rule, Val

try:
    from .function import Builtin
except ImportError:  # an engine without the Builtin marker: every op takes the careful path
    Builtin = None

_verdicts: dict = {}  # (rule, op signature) -> whether the compiled rule matched the op's own code


def _probe_g(v: Val, seed: int) -> Any:
    """A gradient with v's kind, shape and dtype (deterministic, no zeros: rules see ordinary numbers)."""
    rng = np.random.default_rng(seed)
    if v.kind == "a":
        return rng.uniform(0.5, 1.5, v.shape).astype(v.dtype)
    return v.example.dtype.type(rng.uniform(0.5, 1.5)) if isinstance(v.example, np.generic) else 0.75


def _plain_options(opts: dict) -> dict:
    def conv(o: Any) -> Any:
        if isinstance(o, tuple):
            return tuple(conv(i) for i in o)
        return o.example if isinstance(o, Val) else o
    return {k: conv(v) for k, v in opts.items()}


def _arg(v: Val) -> Any:
    x = v.example
    return x.copy() if isinstance(x, np.ndarray) else x


class Probe:
    """The op's own forward and backward run once on the recorded values: `out`, the backward's raw return,
    the gradients after engine._check_grad (`fitted`), and the probe gradient `g` it was given."""

    __slots__ = ("out", "raw", "fitted", "g")

    def __init__(self, out: Any, raw: Any, fitted: list | None, g: Any) -> None:
        self.out, self.raw, self.fitted, self.g = out, raw, fitted, g


def own_results(op: Op) -> Probe | None:
    """The op's own code on the recorded values (computed once per op), or None if it cannot run here."""
    if op.probe is None:
        op.probe = _run_own(op) or False
    return op.probe or None


def _run_own(op: Op) -> Probe | None:
    if any(v.example is None for v in op.ins):
        return None
    ctx = rt.make_ctx(op.cls, _plain_options(op.options), op.needs)
    raw = tuple(_arg(v) for v in op.ins)
    try:
        out = op.cls.forward(ctx, *raw, **ctx.options)
        ctx.data = out
        if op.node is None:
            return Probe(out, None, None, None)
        g = _probe_g(op.out, op.out.n)
        back = op.cls.backward(ctx, g)
        grads = engine._check_count(back, ctx)
        fitted = [engine._check_grad(gi, rt.Stub(v.example), ctx, i, False) if need and gi is not None else gi
                  for i, (gi, need, v) in enumerate(zip(grads, op.needs, op.ins))]
    except Exception:  # noqa: BLE001  (a probe that fails only means: run the op the careful way)
        return None
    return Probe(out, back, fitted, g)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a2, b2 = np.asarray(a), np.asarray(b)
    return a2.shape == b2.shape and a2.dtype == b2.dtype and bool(np.array_equal(a2, b2, equal_nan=True))


def verified(g: Any, rule: Any, op: Op) -> bool:
    """Whether `rule` computes what the op's own forward and backward compute, bit for bit, on this op's
    recorded values (once per kind of call: op class, input kinds, shapes, dtypes, options)."""
    key = (type(rule), op.cls, op.needs, tuple((v.kind, v.shape, v.dtype, type(v.example)) for v in op.ins),
           repr(sorted((k, _shape_of(o)) for k, o in op.options.items())) if op.options else None)
    verdict = _verdicts.get(key)
    if verdict is None:
        verdict = _verdicts[key] = _check(g, rule, op)
    return verdict


def _shape_of(o: Any) -> Any:
    if isinstance(o, tuple):
        return tuple(_shape_of(i) for i in o)
    return ("array", o.shape, str(o.dtype)) if isinstance(o, Val) else o


def _check(g: Any, rule: Any, op: Op) -> bool:
    own = own_results(op)
    if own is None:
        return False
    from ._compile_rules import fitted_backward
    mini = type(g)(set(), {})  # a scratch generator whose inputs are all known: its rules run right away
    ins = []
    for i, v in enumerate(op.ins):
        c = _like(v, _N + 10 + i)
        mini.known[c.n] = _arg(v)
        ins.append(c)
    out = _like(op.out, _N + 1)
    fake = Op(op.cls, ins, _plain_options(op.options), out, op.needs, op.node, op.saved, op.extra)
    try:
        mini.begin()
        rule.forward(mini, fake)
        mini.end([out])
        if not _same(mini.known.get(_N + 1), own.out):
            return False
        if op.node is None:
            return True
        gv = _like(op.out, _N + 2)
        mini.known[_N + 2] = own.g
        outs = [_like(v, _N + 3 + i) if n else None for i, (v, n) in enumerate(zip(op.ins, op.needs))]
        mini.begin()
        fitted_backward(mini, Rule(fake, gv, outs), rule)
        mini.end(outs)
        return all(o is None or _same(mini.known.get(mini.root(o).n), f) for o, f in zip(outs, own.fitted))
    except Exception:  # noqa: BLE001  (a rule that cannot even run on these values does not apply)
        return False


def _like(v: Val, n: int) -> Val:
    """A Val of v's kind, shape and dtype (a gradient, or an input of a verification)."""
    w = Val(n, v.example if v.kind == "c" else None)
    w.kind, w.shape, w.dtype = v.kind, v.shape, v.dtype
    w.name = f"q{n}"
    return w


_N = 10 ** 9  # numbers of the scratch Vals of a verification (apart from any recording's)


# ---- emitting direct and generic calls --------------------------------------------------------------------
def _pass(g: Any, v: Any) -> str:
    """An input as the op's own code saw it (float64 scalars as numpy scalars)."""
    return f"_f64({g.x(v)})" if isinstance(v, Val) and v.kind == "f" else g.x(v)


def forward(g: Any, op: Op) -> None:
    """Emit the op's own forward (direct for built-ins, with a node made once; generic otherwise)."""
    direct = Builtin is not None and issubclass(op.cls, Builtin) and all(v.example is not None for v in op.ins)
    own = own_results(op) if direct else None
    cls, opts = g.bind(op.cls), g.options(op.options)
    args = "".join(_pass(g, v) + ", " for v in op.ins)
    ctx = f"x{op.out.n}"
    if own is not None:
        g.ns[ctx] = rt.make_ctx(op.cls, _plain_options(op.options), op.needs)
        if opts != g.bind(op.options):  # options holding arrays of this call: set on the node each time
            g.line(f"{ctx}.options = {opts}")
        call = f"{g.bind(op.cls.forward)}({ctx}, {args}**{ctx}.options)"
        if not isinstance(own.out, (np.ndarray, np.generic)):
            call = f"_np.asarray({call})"
    else:
        g.line(f"{ctx} = _ctx({cls}, {opts}, {op.needs!r})")
        call = f"_fwd({cls}, {ctx}, ({args}), {opts})"
    if op.out.kind == "f":
        call = f"_float({call})"
    g.line(f"{op.out.name} = {call}")
    if op.out.kind == "a":
        g.own(op.out)
    g.nofold()  # its node is needed by its backward; and an op may draw random numbers


def backward(g: Any, step: Rule) -> None:
    """Emit the op's own backward, with the engine's conversions of its gradients (only those needed)."""
    op, res = step.op, f"r{step.g.n}"
    direct = Builtin is not None and issubclass(op.cls, Builtin)
    own = own_results(op) if direct else None
    ctx = f"x{op.out.n}"
    if own is None:
        stubs = tuple(rt.Stub(x.example) if v is not None else None for v, x in zip(step.outs, op.ins))
        g.line(f"{res} = _bwd({ctx}, {_pass(g, step.g)}, {g.bind(stubs)})")
        picks = [f"{res}[{i}]" for i in range(len(op.ins))]
    else:
        g.line(f"{res} = {g.bind(op.cls.backward)}({ctx}, {_pass(g, step.g)})")
        raw = own.raw
        picks = [f"{res}[{i}]" for i in range(len(op.ins))] if isinstance(raw, (tuple, list)) else [res]
        for i, v in enumerate(step.outs):
            gi = raw[i] if isinstance(raw, (tuple, list)) else raw
            if v is not None and not _as_is(gi, own.fitted[i]):
                stub = g.bind(rt.Stub(op.ins[i].example))
                picks[i] = f"_fit({picks[i]}, {stub}, {ctx}, {i})"
    for v, pick in zip(step.outs, picks):
        if v is not None:
            g.line(f"{v.name} = {'_float(' + pick + ')' if v.kind == 'f' else pick}")
    g.nofold()


def _as_is(raw: Any, fitted: Any) -> bool:
    """engine._check_grad returns the rule's gradient unchanged (same type, shape and dtype)."""
    return type(raw) is type(fitted) and np.shape(raw) == np.shape(fitted) and \
        getattr(raw, "dtype", None) == getattr(fitted, "dtype", None)
