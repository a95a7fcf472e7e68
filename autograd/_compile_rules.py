"""What each op becomes in replayed code. A compiled rule performs the numpy operations the op's own forward
and backward perform, in the same order (so replays match eager execution bit for bit), but decides once what
eager code decides on every call (branches on types, broadcast reductions) and writes into buffers. Ops without
a rule here, and ops on dtypes other than float64, run their own forward and backward (`_fwd`, `_bwd`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _compile_direct as direct
from ._compile_ir import Acc, Op, Rule, Val
from .ops import arithmetic as ar
from .ops import elementwise as el
from .ops import linalg, reduce, shape

F64 = np.dtype(np.float64)


class Raw:
    """A raw gradient (of shape `shape`, before broadcast axes are summed away): the text of a numpy call
    with `{out}` where its out argument goes."""

    def __init__(self, template: str, shape: tuple) -> None:
        self.template, self.shape = template, shape


def _plain(v: Any) -> bool:
    """A float64 array or scalar, or a Python number: what compiled rules handle."""
    if v.kind == "f":
        return True
    if v.kind == "a":
        return v.dtype == F64
    if v.kind == "c":
        x = v.example
        return type(x) in (int, float, np.float64) or (type(x) is np.ndarray and x.dtype == F64)
    return False


def _array(v: Val) -> bool:
    return v.kind == "a" or (v.kind == "c" and type(v.example) is np.ndarray)


# ---- dispatch ------------------------------------------------------------------------------------------
def _rule(cls: type) -> Any:
    rule = RULES.get(cls)
    if rule is None and issubclass(cls, el.Elementwise):
        rule = ELEMENTWISE
    return rule


def forward(g: Any, op: Op) -> None:
    rule = _rule(op.cls)
    if rule is not None and _plain(op.out) and all(_plain(v) for v in op.ins) and rule.applies(op) and \
            direct.verified(g, rule, op):
        g.compiled.add(id(op))
        rule.forward(g, op)
    else:
        direct.forward(g, op)


def backward(g: Any, step: Rule) -> None:
    if id(step.op) in g.compiled:
        fitted_backward(g, step, _rule(step.op.cls))
    else:
        direct.backward(g, step)


def fitted_backward(g: Any, step: Rule, rule: Any) -> None:
    """The rule's gradients, each given its input's shape."""
    for v, raw, x in zip(step.outs, rule.backward(g, step), step.op.ins):
        if v is not None:
            _fit(g, v, raw, x.shape)


def accumulate(g: Any, step: Acc) -> None:
    a, b = g.x(step.a), g.x(step.b)
    if step.out.kind == "a":
        g.line(f"{step.out.name} = _add({a}, {b}{g.out(step.out)})")
    else:
        g.let(step.out, f"{a} + {b}", numpy=step.out.kind != "f")


def _fit(g: Any, v: Val, raw: Any, target: tuple) -> None:
    """v = raw with the broadcast axes summed away so it has the input's shape (engine._unbroadcast)."""
    if isinstance(raw, Val):
        if raw.shape == target or raw is v:
            if raw is not v:
                g.same(v, raw)
            return
        src, gshape = g.x(raw), raw.shape
    elif isinstance(raw, Raw):
        if raw.shape == target:
            g.line(f"{v.name} = " + raw.template.format(out=g.out(v)))
            return
        src, gshape = g.scratch(raw.shape, F64), raw.shape
        g.line(raw.template.format(out=", " + src))
    else:  # a scalar expression
        g.let(v, raw, numpy=v.kind != "f")
        return
    lead = len(gshape) - len(target)
    axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(target) if n == 1 and gshape[lead + k] != 1)
    if not lead:
        g.line(f"{v.name} = _reduce({src}, {axes!r}, None{g.out(v)}, True)")
        return
    g.line(f"{v.name} = _reduce({src}, {axes!r}, None, None, True).reshape({target!r})")
    g.own(v)
    if v.kind == "f":
        g.line(f"{v.name} = _float({v.name})")


# ---- the rules ---------------------------------------------------------------------------------------
class _Rule:
    """One op's compiled forward, and its backward: per input None, a Val (the gradient is that very
    value), a Raw call, or (scalar graphs) the text of a Python expression."""

    def applies(self, op: Op) -> bool:
        return True


def _times(g: Any, gv: Val, other: Val, shape_: tuple) -> Any:
    if gv.kind == "a" or _array(other):
        return Raw(f"_mul({_operand(g, gv, other)}, {g.x(other)}{{out}})", shape_)
    return f"{g.x(gv)} * {g.x(other)}"


def _operand(g: Any, v: Val, other: Val) -> str:
    """v, or its one value as a numpy scalar when v is a known array of a single repeated value and `other`
    has v's full shape (the seed gradient filled by a sum's backward): the same products, one operand less."""
    known = g.known.get(g.root(v).n) if v.n not in g.same_as else None
    if type(known) is np.ndarray and known.size and known.shape == v.shape == other.shape and \
            known.dtype == np.float64 and (known == known.flat[0]).all():
        return g.bind(known.dtype.type(known.flat[0]))
    return g.x(v)


class _Binary(_Rule):
    ufunc = sym = ""

    def forward(self, g, op):
        a, b = (g.x(v) for v in op.ins)
        if op.out.kind == "a":
            g.line(f"{op.out.name} = {self.ufunc}({a}, {b}{g.out(op.out)})")
        else:  # Python floats and ints give Python floats; a numpy scalar constant gives a numpy scalar
            g.let(op.out, f"{a} {self.sym} {b}", numpy=any(v.kind == "c" and type(v.example) is not float and
                                                          type(v.example) is not int for v in op.ins))


class _Add(_Binary):
    ufunc, sym = "_add", "+"

    def backward(self, g, step):
        return [step.g if n else None for n in step.op.needs]


class _Sub(_Binary):
    ufunc, sym = "_sub", "-"

    def backward(self, g, step):
        na, nb = step.op.needs
        neg = None
        if nb:
            G = g.x(step.g)
            neg = Raw(f"_neg({G}{{out}})", step.g.shape) if step.g.kind == "a" else f"-{G}"
        return [step.g if na else None, neg]


class _Mul(_Binary):
    ufunc, sym = "_mul", "*"

    def backward(self, g, step):
        (a, b), (na, nb) = step.op.ins, step.op.needs
        ga = _times(g, step.g, b, step.op.out.shape) if na else None
        if nb and na and a is b and not isinstance(ga, Raw):
            return [ga, ga]
        if nb and na and a is b:  # x * x: both gradients are g * x; compute it once (into input 0's gradient)
            _fit(g, step.outs[0], ga, a.shape)
            return [step.outs[0], step.outs[0]]
        return [ga, _times(g, step.g, a, step.op.out.shape) if nb else None]


class _Div(_Binary):
    ufunc, sym = "_div", "/"

    def applies(self, op):
        return op.out.kind == "f"  # arrays: the op's own rule (three temporaries, rarely hot)

    def backward(self, g, step):
        (a, b), (na, nb) = step.op.ins, step.op.needs
        # every operand read through g.x, once per place it appears (so read counts are exact)
        ga = f"{g.x(step.g)} / {g.x(b)}" if na else None
        gb = f"-{g.x(step.g)} * {g.x(a)} / ({g.x(b)} * {g.x(b)})" if nb else None
        return [ga, gb]


class _MatMul(_Rule):
    def applies(self, op):
        return all(_array(v) and len(v.shape) == 2 for v in op.ins)

    def forward(self, g, op):
        a, b = (g.x(v) for v in op.ins)
        g.line(f"{op.out.name} = _matmul({a}, {b}{g.out(op.out)})")

    def backward(self, g, step):
        (a, b), (na, nb), G = step.op.ins, step.op.needs, g.x(step.g)
        return [Raw(f"_matmul({G}, {g.x(b)}.T{{out}})", a.shape) if na else None,
                Raw(f"_matmul({g.x(a)}.T, {G}{{out}})", b.shape) if nb else None]


class _View(_Rule):
    """Ops whose output is a view of the input: transpose and reshape; their gradients are views of g."""

    def applies(self, op):
        return op.ins[0].kind == "a"

    def forward(self, g, op):
        x = g.x(op.ins[0])
        if op.cls is shape.Reshape:
            expr = f"_np.reshape({x}, {g.bind(op.options['shape'])})"
        else:
            axes = op.options.get("axes")
            expr = f"{x}.T" if axes is None else f"{x}.transpose({g.bind(tuple(axes))})"
        g.line(f"{op.out.name} = {expr}")
        g.alias(op.out, op.ins[0])

    def backward(self, g, step):
        v, back = step.outs[0], step.op.saved[0]
        G = g.x(step.g)
        if step.op.cls is shape.Reshape:
            expr = f"{G}.reshape({g.bind(tuple(back))})"
        else:
            expr = f"{G}.T" if back is None else f"{G}.transpose({g.bind(tuple(back))})"
        g.line(f"{v.name} = {expr}")
        g.alias(v, step.g)
        return [v]


class _Linear(_Rule):
    """The fused linear op: y = x @ w.T (+ b, added in place); dx = g @ w, dw = g.T @ x, db = g summed over
    the batch (for 2-d x)."""

    def applies(self, op):
        x, w = op.ins[0], op.ins[1]
        return _array(x) and _array(w) and len(x.shape) == 2 and len(w.shape) == 2 and \
            (len(op.ins) == 2 or _array(op.ins[2]) and len(op.ins[2].shape) == 1)

    def forward(self, g, op):
        x, w = g.x(op.ins[0]), g.x(op.ins[1])
        g.line(f"{op.out.name} = _matmul({x}, {w}.T{g.out(op.out)})")
        if len(op.ins) == 3:
            g.line(f"_add({op.out.name}, {g.x(op.ins[2])}, {op.out.name})")

    def backward(self, g, step):
        ins, needs, G = step.op.ins, step.op.needs, g.x(step.g)
        out = [Raw(f"_matmul({G}, {g.x(ins[1])}{{out}})", ins[0].shape) if needs[0] else None,
               Raw(f"_matmul({G}.T, {g.x(ins[0])}{{out}})", ins[1].shape) if needs[1] else None]
        if len(ins) == 3:
            out.append(Raw(f"_reduce({G}, 0, None{{out}})", ins[2].shape) if needs[2] else None)
        return out


def _filled(g: Any, v: Val, value: str) -> Val:
    """v = an array of v's shape filled with value (reduce.py's _broadcast)."""
    g.line(f"{v.name} = {g.array(v)}; {v.name}[...] = {value}")
    return v


class _Reduction(_Rule):
    """sum and mean over axes; their gradients broadcast g back (sum: g, mean: g / n)."""

    def applies(self, op):
        return op.ins[0].kind == "a"

    def forward(self, g, op):
        x, o = g.x(op.ins[0]), op.options
        if op.cls is reduce.Sum and not o:
            expr = f"_reduce({x}, None)"  # what x.sum() calls, without numpy's Python wrapper
        else:
            fn = "_np.sum" if op.cls is reduce.Sum else "_np.mean"
            expr = f"{fn}({x}, axis={g.bind(o.get('axis'))}, keepdims={bool(o.get('keepdims'))})"
        if op.out.kind == "a":
            g.line(f"{op.out.name} = {expr}")
            g.own(op.out)
        else:
            g.let(op.out, expr, numpy=True)

    def backward(self, g, step):
        saved = step.op.saved
        G = g.x(step.g)
        if saved[1] is not None:
            G = f"{G}.reshape({g.bind(tuple(saved[1]))})"
        if step.op.cls is reduce.Mean:
            G = f"{G} / {saved[2]!r}"
        return [_filled(g, step.outs[0], G)]


class _Sigmoid(_Rule):
    """elementwise._sigmoid_array: -x, capped where e^-x would overflow, exp, + 1, 1 / . The same operations,
    passed between two scratch buffers (an in-place numpy call costs a memory-overlap analysis)."""

    def forward(self, g, op):
        x, s = op.ins[0], op.out.name
        if x.kind == "a":
            a, b = g.scratch(x.shape, x.dtype), g.scratch(x.shape, x.dtype)
            # The cap as a full array: np.minimum with a scalar operand takes an unvectorized loop (callgrind:
            # about 2x the instructions of the array-array loop on this MLP's activations).
            cap = g.filled(x.shape, x.dtype, getattr(el, "_EXP_MAX", {}).get(x.dtype, 709.0))
            g.line(f"_neg({g.x(x)}, {a}); _minimum({a}, {cap}, out={b}); _exp({b}, {a}); _add({a}, 1.0, {b}); "
                   f"{s} = _div(1.0, {b}{g.out(op.out)})")  # numpy's reciprocal is 1.0 / x, computed slower
        else:
            g.let(op.out, f"{g.bind(el._sigmoid_array)}(_f64({g.x(x)}))", numpy=True)

    def backward(self, g, step):
        s, gv, v = step.op.out, step.g, step.outs[0]
        if gv.kind == "a" and s.kind == "a":  # the op's in-place branch: ((1 - s) * s) * g
            a, b = g.scratch(s.shape, s.dtype), g.scratch(s.shape, s.dtype)
            g.line(f"_sub(1.0, {g.x(s)}, {a}); _mul({a}, {g.x(s)}, {b}); {v.name} = _mul({b}, {g.x(gv)}{g.out(v)})")
            return [v]
        return [f"{g.x(gv)} * {g.x(s)} * (1.0 - {g.x(s)})"]


class _Elementwise(_Rule):
    """Rows of ops/elementwise.py's table: y = f(x), dx = g * df(x, y); relu, tanh, exp write buffers."""

    def applies(self, op):
        return op.ins[0].kind in ("a", "f")

    def forward(self, g, op):
        x, cls, y = op.ins[0], op.cls, op.out.name
        X = g.x(x)
        if x.kind == "f" and cls is el.Relu:  # np.maximum(x, 0.0) keeps x unless x < 0 (so NaN and -0.0 too)
            g.let(op.out, f"0.0 if {X} < 0.0 else {g.x(x)}")
        elif x.kind == "a" and cls is el.Relu:
            # np.maximum(x, 0.0) with the zero as a full array: the same elementwise result through the
            # vectorized array-array loop (callgrind: a fifth of the scalar loop's instructions at 128x256)
            g.line(f"{y} = _maximum({X}, {g.filled(x.shape, x.dtype, 0.0)}{g.out_kw(op.out)})")
        elif x.kind == "a" and cls in _UFUNC:
            g.line(f"{y} = {_UFUNC[cls]}({X}{g.out(op.out)})")
        elif op.out.kind == "a":
            g.line(f"{y} = {g.bind(cls.f)}({X})")
            g.own(op.out)
        else:
            g.let(op.out, f"{g.bind(cls.f)}({X})", numpy=True)

    def backward(self, g, step):
        x, y, gv, cls = step.op.ins[0], step.op.out, step.g, step.op.cls
        G, X = g.x(gv), g.x(x)
        if x.kind == "f" and gv.kind == "f":
            if cls is el.Relu:
                return [f"{G} * ({X} > 0)"]
            if cls is el.Neg:
                return [f"{G} * -1.0"]
        if x.kind == "a" and gv.kind == "a":
            if cls is el.Relu and gv.shape == x.shape:
                # g * (x > 0) with the mask written as 1.0 / 0.0 in g's dtype: the values the bool mask is cast
                # to, without a casting loop in the multiply (callgrind: a quarter fewer instructions)
                m = g.scratch(x.shape, gv.dtype)
                g.line(f"_greater({X}, {g.filled(x.shape, x.dtype, 0.0)}, {m})")
                return [Raw(f"_mul({G}, {m}{{out}})", x.shape)]
            if cls is el.Tanh:
                v, Y = step.outs[0], g.x(y)
                g.line(f"{v.name} = _mul({Y}, {Y}{g.out(v)}); _sub(1.0, {v.name}, {v.name}); "
                       f"_mul({G}, {v.name}, {v.name})")
                return [v]
            if cls is el.Exp:
                return [Raw(f"_mul({G}, {g.x(y)}{{out}})", x.shape)]
        v = step.outs[0]
        g.line(f"{v.name} = {G} * {g.bind(cls.df)}(_NP, {X}, {g.x(y)})")
        if v.kind == "a":
            g.own(v)
        return [v]


_UFUNC = {el.Tanh: "_tanh", el.Exp: "_exp", el.Log: "_log", el.Neg: "_neg"}


class _GetItem(_Rule):
    def applies(self, op):
        return op.ins[0].kind == "a" and op.out.kind == "a"

    def forward(self, g, op):
        g.line(f"{op.out.name} = {g.x(op.ins[0])}[{g.index(op.options['index'])}]")
        g.alias(op.out, op.ins[0])

    def backward(self, g, step):  # IndexAdd's forward: zeros, then g put (or, for repeated indices, added)
        v, index = step.outs[0], step.op.options["index"]
        g.line(f"{v.name} = {g.array(v)}; {v.name}.fill(0.0)")
        plain = shape._plain_index(_example(index))
        g.line(f"{v.name}[{g.index(index)}] = {g.x(step.g)}" if plain else
               f"_np.add.at({v.name}, {g.index(index)}, {g.x(step.g)})")
        return [v]


def _example(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_example(i) for i in index)
    return index.example if isinstance(index, Val) else index


RULES = {ar.Add: _Add(), ar.Sub: _Sub(), ar.Mul: _Mul(), ar.Div: _Div(), linalg.MatMul: _MatMul(),
         shape.Transpose: _View(), shape.Reshape: _View(), reduce.Sum: _Reduction(), reduce.Mean: _Reduction(),
         shape.GetItem: _GetItem(), el.Sigmoid: _Sigmoid()}
ELEMENTWISE = _Elementwise()
if hasattr(linalg, "Linear"):
    RULES[linalg.Linear] = _Linear()
