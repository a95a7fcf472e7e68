"""`explore(loss)`: the graph behind a tensor as one self-contained, interactive HTML page.

The page pans and zooms, shows a node's details on click (value and gradient statistics with a histogram,
what an op saved, where it was created), folds module clusters, searches by name, highlights the path
from a tensor to the output, and replays the backward sweep. Layout is Graphviz's (`render.svg`); the
script and style (explore.js, explore.css beside this file) are inlined, and the page's
Content-Security-Policy forbids every network request.

A node of the page is a node of the engine's graph: an op (standing also for the tensor it produced) or
a leaf tensor. Contract for tests and tools: every node element carries `data-node-id` and `data-kind`
('tensor', 'op' or 'cluster'); clicking a node fills the element with id `details`; clicking a cluster
toggles the visibility of its ops.
"""
from __future__ import annotations

import collections
import html
import json
import math
import os
import re
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..engine import _FREED, grad
from ..function import Context
from ._explore_model import _const_text, _Model, _Node, _shape_text
from .render import svg as render_svg

__all__ = ["explore", "Exploration", "AUTO_MERGE"]

AUTO_MERGE = 2000  # above this many ops, collapse=None merges each innermost scope into one node
_BINS = 16
_HERE = os.path.dirname(os.path.abspath(__file__))


class Exploration:
    """An explorer page: `html` (the whole document) and `path` (the file written, or None).
    Jupyter shows it inline, in an iframe."""

    def __init__(self, page: str, path: str | None, nodes: int, merged: bool, replay_note: str) -> None:
        self.html, self.path, self.nodes, self.merged, self.replay_note = page, path, nodes, merged, replay_note

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                'style="width:100%;height:640px;border:1px solid #ccc"></iframe>')

    def __repr__(self) -> str:
        where = f" at {self.path!r}" if self.path else ""
        return f"<Exploration of {self.nodes} nodes{where}>"


def explore(output: Any, modules: Any = None, path: str | None = None, *, collapse: bool | None = None,
            title: str = "autograd graph") -> Exploration:
    """Write (to `path`, if given) and return an interactive HTML page of the graph behind `output`.

    modules: an nn.Module (anything with named_modules/named_parameters) naming parameters and clusters.
    collapse: True merges the ops of each innermost scope (a module calling no other module) into one
        node; None does so only for graphs of more than AUTO_MERGE ops, which Graphviz lays out slowly.
    The backward replay runs `ag.grad(..., retain_graph=True)` with hooks set aside: no `.grad` changes.
    """
    roots = [output] if isinstance(output, Tensor) else list(output) if isinstance(output, (list, tuple)) else []
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"explore: output must be a Tensor or a non-empty list of Tensors, "
                        f"got {type(output).__name__}")
    if collapse not in (None, True, False):
        raise ValueError(f"explore: collapse must be True, False or None (automatic), got {collapse!r}")
    m = _Model(roots, modules)
    flows, note = _replay(roots, m)
    steps = _steps(m, flows)
    merged = m.merge() if (collapse is None and m.n_ops > AUTO_MERGE) or collapse else False
    dot, attrs = m.dot()
    picture = _tag_svg(render_svg(dot), attrs)
    data = {"title": title, "nodes": {n.id: _describe(n, m, flows) for n in m.nodes.values()},
            "clusters": m.cluster_info(), "edges": [[s, d] for s, d, _, _ in m.edges],
            "roots": [m.node_id(r) for r in roots], "replay": note,
            "steps": [[m.rep.get(i, i), v] for i, v in steps], "merged": merged}
    page = _page(title, picture, data)
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
    return Exploration(page, path, len(m.nodes), merged, note)


def _num(x: Any) -> Any:
    """A float for JSON: 6 significant digits, or 'nan' / 'inf' / '-inf' as text (JSON has no such number)."""
    x = float(x)
    return float(f"{x:.6g}") if math.isfinite(x) else str(x)


def _stats(a: Any) -> dict | None:
    """Shape, dtype, min/mean/max/std, norm and a histogram of an array; {'freed': True} for None."""
    if a is None:
        return {"freed": True}
    a = np.asarray(a)
    out: dict = {"shape": _shape_text(a)}
    if a.size == 0 or a.dtype.kind not in "biufc":
        return out
    v = np.abs(a) if a.dtype.kind == "c" else a
    v = v.astype(np.float64).ravel()
    finite = v[np.isfinite(v)]
    out["nan"], out["inf"] = int(np.isnan(v).sum()), int(np.isinf(v).sum())
    out["norm"] = _num(np.sqrt(np.sum(np.abs(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)) ** 2)))
    if a.dtype.kind == "c":
        out["of"] = "|z|"
    if finite.size:
        out.update(min=_num(finite.min()), mean=_num(finite.mean()), max=_num(finite.max()), std=_num(finite.std()))
        if finite.size > 1 and finite.min() < finite.max():
            counts, edges = np.histogram(finite, bins=_BINS)
            out.update(hist=counts.tolist(), lo=_num(edges[0]), hi=_num(edges[-1]))
    return out


def _saved(ctx: Context) -> Any:
    if ctx.saved is _FREED:
        return "freed by backward"
    return [_shape_text(v) if isinstance(v, (np.ndarray, np.generic)) else
            _shape_text(v.data) if isinstance(v, Tensor) else _const_text(v) for v in ctx.saved]


def _describe(n: _Node, m: _Model, flows: dict) -> dict:
    """What the details panel shows for a node (JSON-ready)."""
    d: dict = {"k": n.kind, "c": n.cluster, "name": n.name}
    if n.members:
        ops = [x.obj for x in n.members if x.kind == "op"]
        d.update(label=n.name, merged=len(ops), ops=collections.Counter(c.name for c in ops).most_common(),
                 inputs=len(n.members) - len(ops))
        return d
    obj = n.obj
    flow = flows.get(id(obj))
    if n.kind == "op":
        retained = obj._retain() if obj._retain is not None else None
        g = retained.grad if retained is not None else None
        d.update(label=obj.name, seq=obj.seq, value=_stats(obj.data), saved=_saved(obj), trace=obj.trace,
                 inputs=m.inputs.get(n.id, []))
    else:
        g = obj.grad
        role = "parameter" if id(obj) in m.params else "leaf, requires grad" if obj.requires_grad else "input"
        d.update(label=n.name or "tensor", role=role, value=_stats(obj.data))
    d["grad"] = _stats(g.data) if g is not None else None
    d["flow"] = _stats(flow) if flow is not None else None
    return d


def _replay(roots: list, m: _Model) -> tuple:
    """The gradient arriving at every node in a backward from the roots (seeded with ones), computed
    again by `grad(..., retain_graph=True)` with hooks set aside: no `.grad`, hook or graph changes.
    Returns ({id(node object): array}, '' or why there is no replay)."""
    outs = [r for r in roots if r.requires_grad]
    if not outs:
        return {}, "nothing requires grad: there is no backward to replay"
    ops = [n.obj for n in m.nodes.values() if n.kind == "op"]
    if any(c.saved is _FREED or c.data is None for c in ops):
        return {}, ("backward() freed this graph's buffers, so the gradient sizes cannot be replayed: call explore "
                    "before backward, or pass retain_graph=True to backward")
    leaves = [n.obj for n in m.nodes.values() if n.kind == "tensor" and n.obj.requires_grad]
    hooked = [(o, o._hooks) for o in ops + leaves if o._hooks]
    try:
        for o, _ in hooked:
            o._hooks = None
        got = grad(outs, [c.tensor() for c in ops] + leaves, [np.ones_like(r.data) for r in outs],
                   retain_graph=True, allow_unused=True)
    except (RuntimeError, ValueError, TypeError, FloatingPointError) as e:
        return {}, f"the backward could not be replayed: {e}"
    finally:
        for o, hooks in hooked:
            o._hooks = hooks
    return {id(o): g.data for o, g in zip(ops + leaves, got) if g is not None}, ""


def _steps(m: _Model, flows: dict) -> list:
    """[node id, norm of the gradient arriving] in the engine's order: ops by decreasing creation number,
    then the leaves, in the order a gradient first reached them."""
    ops = sorted((n for n in m.nodes.values() if n.kind == "op"), key=lambda n: -n.obj.seq)
    first: dict = {}
    for s, d, flows_back, _ in m.edges:
        if flows_back and m.nodes[s].kind == "tensor":
            first[s] = max(first.get(s, -1), m.nodes[d].obj.seq)
    leaves = sorted(first, key=lambda s: -first[s])
    out = []
    for n in ops + [m.nodes[s] for s in leaves]:
        g = flows.get(id(n.obj))
        out.append([n.id, None if g is None else _num(np.linalg.norm(np.abs(g).ravel()))])
    return out


_ELEMENT = re.compile(r'<g id="([^"]+)" class="(node|cluster|edge)"')


def _tag_svg(text: str, attrs: dict) -> str:
    """Graphviz's SVG, ready to inline: prolog and tooltips dropped, data attributes on each element."""
    start = text.find("<svg")
    if start < 0:
        raise RuntimeError("explore: the graph renderer returned no SVG")
    # Tooltips, comments and the attributes the page's style sets for all text only cost loading time.
    body = re.sub(r'<title>[^<]*</title>\s*|<!--.*?-->\s*| font-family="[^"]*"| text-anchor="middle"', "", text[start:])
    body = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg id="graph"', body, count=1)
    found = set()

    def tag(mt: re.Match) -> str:
        extra = attrs.get(mt.group(1))
        if extra is None:
            return mt.group(0)
        found.add(mt.group(1))
        return f"{mt.group(0)} {extra}"
    body = _ELEMENT.sub(tag, body)
    missing = sorted(set(attrs) - found)
    if missing:
        raise RuntimeError(f"explore: the SVG from Graphviz has no element for {len(missing)} graph element(s) "
                           f"({', '.join(missing[:5])}): the renderer did not keep the ids given in the DOT")
    return body


def _page(title: str, picture: str, data: dict) -> str:
    with open(os.path.join(_HERE, "explore.css"), encoding="utf-8") as f:
        css = f.read()
    with open(os.path.join(_HERE, "explore.js"), encoding="utf-8") as f:
        js = f.read()
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False).replace("</", "<\\/")
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head><body>
<header id="bar">
<button id="fit" title="fit the graph to the window">fit</button>
<input id="search" type="search" placeholder="search by name" autocomplete="off"><span id="found"></span>
<button id="path" title="highlight the path from the selected node to the output">path to output</button>
<button id="play" title="play the backward sweep">play backward</button>
<input id="scrub" type="range" min="0" max="0" value="0" title="step of the backward sweep">
<span id="status"></span>
</header>
<main><div id="view">{picture}</div>
<aside id="details"><p class="hint">Click a node for its details; click a module's frame to fold it.</p></aside></main>
<script type="application/json" id="model">{blob}</script>
<script>{js}</script>
</body></html>
"""
