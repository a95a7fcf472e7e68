"""The graph model as Graphviz DOT: `draw(loss)` gives a graphviz.Digraph, `to_dot(loss)` its text, and
`render(loss, "g.svg")` a file.

Tensors are record nodes, ops small ellipses, constants grey text; clusters are graph_scope blocks (every
nn.Module call). The backward picture (backward=True) draws gradients as red arrows against the data.
"""
from __future__ import annotations

import os
from typing import Any

from .graph import Edge, Node, build_graph
from .render import drawing_class, pipe

__all__ = ["draw", "to_dot", "render"]

_RANKDIRS = ("TB", "LR", "BT", "RL")

_FILL = {"root": "#c8e6c9", "result": "white", "param": "#cfe3fa", "constant": "#eeeeee",
         "nograd": "#fddede", "zerograd": "#ffe9c2", "unused": "#fddede"}


def _record(fields: list, rankdir: str) -> str:
    """A record label with one line per field; records turn with rankdir, so braces keep them vertical."""
    esc = ["".join("\\" + ch if ch in '{}|<>"\\' else ch for ch in f) for f in fields]
    body = "|".join(esc)
    return "{" + body + "}" if rankdir in ("TB", "BT") else body


def _node_attrs(n: Node, rankdir: str) -> dict:
    if n.kind == "tensor":
        attrs = {"shape": "record", "style": "filled", "fillcolor": _FILL[n.style],
                 "label": _record(n.fields, rankdir)}
        if n.style in ("nograd", "unused"):
            attrs.update(color="red", fontcolor="red3", penwidth="2")
        elif n.style == "zerograd":
            attrs.update(color="darkorange", penwidth="2")
        return attrs
    if n.kind == "op":
        return {"shape": "ellipse", "style": "filled", "fillcolor": "#fff4cc", "fontsize": "10",
                "height": "0.3", "label": n.fields[0]}
    if n.kind == "const":
        return {"shape": "plaintext", "fontsize": "9", "fontcolor": "gray35", "label": n.fields[0]}
    if n.kind == "group":
        return {"shape": "box3d", "style": "filled", "fillcolor": "#e6dcf5", "label": "\n".join(n.fields)}
    return {"shape": "note", "style": "dashed", "fontcolor": "gray30", "label": n.fields[0]}


def _edge_attrs(e: Edge, backward: bool) -> dict:
    attrs = {"label": f"×{e.count}"} if e.count > 1 else {}
    if not e.grad:
        attrs.update(style="dashed", color="gray60", arrowhead="none" if backward else "normal")
    elif backward:
        # Gradients run against the data: arrows point from each output back to its inputs.
        attrs.update(dir="back", color="#c62828", penwidth="1.5")
    return attrs


def draw(root: Any, *, modules: Any = None, rankdir: str = "TB", backward: bool = False,
         collapse: bool | int = False, max_nodes: int | None = None, name: str = "graph") -> Any:
    """A graphviz.Digraph of the graph behind `root` (a Tensor or list of Tensors); Jupyter shows it inline.

    modules: an nn.Module (anything with named_modules/named_parameters): parameters get their dotted
        names and each module's ops a cluster labelled like "layers.0 Linear".
    rankdir: 'TB' (inputs on top), 'LR', 'BT' or 'RL'.
    backward: draw the backward pass: red arrows where gradients flow, dashed where none can, and in red
        the leaves that got no gradient (call it after .backward()) or, with modules=, are not in the graph.
    collapse: True merges the ops of each innermost scope (a module with no module called inside it, such
        as an RNN cell unrolled 50 times) into one node listing them; an int k merges the scopes at depth k.
    max_nodes: draw at most this many nodes (those nearest the root) and a "… N more" node.
    Rendering (.pipe, .render, Jupyter's inline picture) uses `dot` when present, else makes SVG in-process
    (see viz.renderer); other formats without `dot` raise RuntimeError with install advice.
    """
    import graphviz

    if rankdir not in _RANKDIRS:
        raise ValueError(f"viz: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    g = build_graph(root, modules=modules, backward=backward, collapse=collapse, max_nodes=max_nodes)
    dot = drawing_class()(name=name, graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"})
    if backward:
        dot.attr(label="backward: gradients flow along the red arrows; red boxes got none", labelloc="t")
    # Every cluster holding a node, with its enclosing clusters, gets a subgraph (names must start 'cluster').
    used = {n.cluster[:k] for n in g.nodes for k in range(1, len(n.cluster) + 1)}
    subs = {(): dot}
    first_seen = {p: i for i, p in enumerate(g.clusters)}
    for i, path in enumerate(sorted(used, key=lambda p: (len(p), first_seen[p]))):
        subs[path] = graphviz.Digraph(name=f"cluster_{i}", graph_attr={
            "label": g.clusters[path], "style": "rounded,dashed", "color": "gray50", "fontcolor": "gray25"})
    for n in g.nodes:
        attrs = _node_attrs(n, rankdir)
        subs[n.cluster].node(n.id, graphviz.nohtml(attrs.pop("label")), **attrs)
    # Innermost clusters first: a subgraph is copied into its parent when added, so it must be complete.
    for path in sorted(used, key=lambda p: (-len(p), first_seen[p])):  # a set: sort for a stable output
        subs[path[:-1]].subgraph(subs[path])
    for e in g.edges:
        dot.edge(e.src, e.dst, **_edge_attrs(e, backward))
    return dot


def to_dot(root: Any, **options: Any) -> str:
    """The DOT source of `draw(root, **options)`; needs no renderer."""
    return draw(root, **options).source


def render(root: Any, path: str, format: str | None = None, **options: Any) -> str:
    """Draw `root` and write the picture to `path` (format from its extension, else `format`, else svg;
    an extension is added when missing). Returns the path written. SVG needs no system Graphviz; other
    formats need its `dot` program (RuntimeError saying so, and nothing written, without it)."""
    ext = os.path.splitext(path)[1]
    fmt = format or ext[1:] or "svg"
    if not ext:
        path = f"{path}.{fmt}"
    try:
        data = pipe(to_dot(root, **options), fmt)
    except RuntimeError as e:
        raise RuntimeError(f"viz.render({path!r}): {str(e).removeprefix('viz: ')}") from None
    with open(path, "wb") as f:
        f.write(data)
    return path
