"""The graph model that the drawings are made from: `build_graph(root)` walks the graph behind a tensor.

Tensors become 'tensor' nodes (name, shape and dtype, value summary, gradient summary), ops 'op' nodes
named by op (`matmul`, `sum(axis=1)`) with one edge per use of an input, and Python numbers and arrays
given to an op small 'const' nodes, one per use (they have no identity to share). Ops recorded inside
`ag.graph_scope(tag)` blocks (every nn.Module call) are grouped in clusters.
This module knows nothing of nn: `modules=` is any object with `named_modules()` and `named_parameters()`.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._tensor import Tensor

__all__ = ["Node", "Edge", "Graph", "build_graph"]


@dataclass
class Node:
    """A node to draw. kind: 'tensor', 'op', 'const', 'group' (a collapsed scope) or 'more' (the cap).
    style (tensors): 'root', 'result', 'param', 'constant', 'nograd', 'zerograd' or 'unused'."""

    id: str
    kind: str
    fields: list
    style: str = ""
    cluster: tuple = ()  # ids of the enclosing graph_scope tags, outermost first

    @property
    def label(self) -> str:
        """The label's lines joined by ' | ' (for reading; the DOT label is escaped separately)."""
        return " | ".join(self.fields)


@dataclass
class Edge:
    """src feeds dst. grad: a gradient flows back along it; count: uses merged into it (collapse)."""

    src: str
    dst: str
    grad: bool = True
    count: int = 1


@dataclass
class Graph:
    """What `draw` draws: nodes (closest to the root first), edges, and cluster path -> label."""

    nodes: list
    edges: list
    clusters: dict = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if none)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def find(self, text: str, kind: str | None = None) -> list:
        """Nodes (of `kind`, if given) with a label line equal to `text`."""
        return [n for n in self.nodes if text in n.fields and (kind is None or n.kind == kind)]

    def edges_between(self, src: str, dst: str) -> list:
        """The edges from src to dst (one per use of src by dst)."""
        return [e for e in self.edges if e.src == src and e.dst == dst]


# ---- building the graph model --------------------------------------------------------------------

def build_graph(root: Any, *, modules: Any = None, backward: bool = False, collapse: bool | int = False,
                max_nodes: int | None = None) -> Graph:
    """Walk the graph behind `root` (a Tensor or a sequence of Tensors) into a `Graph` (see `draw`)."""
    roots = _as_roots(root)
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"viz: max_nodes must be a positive int or None, got {max_nodes!r}")
    if not isinstance(collapse, (bool, int)) or collapse < 0:
        raise ValueError(f"viz: collapse must be a bool or a scope depth >= 1, got {collapse!r}")
    param_names, module_names = _names(modules)
    root_ids = {_key(r) for r in roots}
    nodes: list = []
    edges: list = []
    clusters: dict = {}
    seen: dict = {}  # _key(tensor) -> node id
    kept: list = []  # (tensor, node) pairs: holding the tensors keeps their ids valid during the walk
    path_of_tag: dict = {}  # id(tag) -> first cluster path ending in it (to place a module's parameters)
    queue: collections.deque = collections.deque()

    def visit(t: Tensor) -> str:
        key = _key(t)
        nid = seen.get(key)
        if nid is None:
            nid = seen[key] = f"t{len(seen)}"
            f = t.grad_fn
            if f is not None and f._retain is not None and f._retain() is not None:
                t = f._retain()  # the user's tensor, which holds the retained .grad
            nodes.append(_tensor_node(nid, t, param_names.get(id(t)), key in root_ids, backward))
            kept.append((t, nodes[-1]))
            queue.append((t, nodes[-1]))
        return nid

    for r in roots:
        visit(r)
    n_ops = n_consts = 0
    while queue:  # breadth first: nodes nearest the root come first, which is what a cap should keep
        t, tnode = queue.popleft()
        ctx = t.grad_fn
        if ctx is None:
            continue
        path = _register_scope(ctx.scope, clusters, module_names, path_of_tag)
        op = f"op{n_ops}"
        n_ops += 1
        nodes.append(Node(op, "op", [ctx.name], cluster=path))
        tnode.cluster = path
        edges.append(Edge(op, tnode.id))
        for x in ctx.inputs:
            if isinstance(x, Tensor):
                edges.append(Edge(visit(x), op, grad=x.requires_grad))
            else:
                c = f"c{n_consts}"
                n_consts += 1
                nodes.append(Node(c, "const", [_const_text(x)], style="constant", cluster=path))
                edges.append(Edge(c, op, grad=False))
    # A parameter sits in the cluster of the module that owns it, when that module recorded ops.
    owners = {name: mid for mid, name in module_names.items()}
    for t, n in kept:
        name = param_names.get(id(t))
        if t.grad_fn is None and name:
            n.cluster = path_of_tag.get(owners.get(name.rpartition(".")[0]), ())
    g = Graph(nodes, edges, clusters)
    if collapse:
        g = _collapse(g, collapse)
    if max_nodes is not None and len(g.nodes) > max_nodes:
        g = _cap(g, max_nodes)
    if backward and modules is not None:
        _add_unused(g, modules, seen, owners, path_of_tag)
    return g


def _key(t: Tensor) -> int:
    # An intermediate tensor is known by the node that made it (the graph holds nodes, and the
    # Tensors met on the walk are fresh handles); a leaf by itself.
    return id(t) if t.grad_fn is None else id(t.grad_fn)


def _as_roots(root: Any) -> list:
    roots = [root] if isinstance(root, Tensor) else list(root) if isinstance(root, (list, tuple)) else None
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"viz: root must be a Tensor or a non-empty list of Tensors, got {type(root).__name__}")
    return roots


def _names(modules: Any) -> tuple:
    """id(parameter) -> dotted name and id(module) -> dotted name, from a duck-typed module."""
    if modules is None:
        return {}, {}
    if not (callable(getattr(modules, "named_modules", None)) and callable(getattr(modules, "named_parameters", None))):
        raise TypeError(f"viz: modules= needs an object with named_modules() and named_parameters() "
                        f"(an nn.Module), got {type(modules).__name__}")
    params = {id(p): name for name, p in modules.named_parameters()}
    mods = {id(m): name for name, m in modules.named_modules()}
    return params, mods


def _register_scope(scope: tuple, clusters: dict, module_names: dict, path_of_tag: dict) -> tuple:
    """The cluster path of an op's scope, registering the label of each of its prefixes."""
    path = tuple(id(tag) for tag in scope)
    for k in range(1, len(path) + 1):
        if path[:k] not in clusters:
            clusters[path[:k]] = _tag_label(scope[k - 1], module_names)
            path_of_tag.setdefault(path[k - 1], path[:k])
    return path


def _tag_label(tag: Any, module_names: dict) -> str:
    if isinstance(tag, str):
        return tag
    name = module_names.get(id(tag))
    cls = type(tag).__name__
    return f"{name} {cls}" if name else cls


def _tensor_node(nid: str, t: Tensor, param_name: str | None, is_root: bool, backward: bool) -> Node:
    name = param_name or t.name
    fields = [name] if name else []
    if t.data is None:
        # A node that backward released (no retain_graph): its value, and with it the shape, is gone.
        fields.append("freed")
    else:
        fields += [f"{_shape_text(t.data)} {t.data.dtype}", _summary(t.data)]
    leaf = t.grad_fn is None
    style = "root" if is_root else "result" if not leaf else "param" if t.requires_grad else "constant"
    if t.grad is not None:
        fields.append("grad " + _summary(t.grad.data))
    if backward and leaf and t.requires_grad:
        # The two reasons a weight does not learn: no gradient reached it, or only zeros did.
        if t.grad is None:
            style = "nograd"
            fields.append("no grad")
        elif not np.any(t.grad.data):
            style = "zerograd"
            fields.append("grad = 0")
    return Node(nid, "tensor", fields, style)


def _shape_text(a: Any) -> str:
    return "scalar" if np.ndim(a) == 0 else str(tuple(np.shape(a)))


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.4g}"


def _summary(a: Any) -> str:
    """The value of a one-element array; min/mean/max of a larger one."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return _fmt(a.reshape(-1)[0])
    if a.dtype == bool:
        return f"{int(a.sum())} of {a.size} true"
    if a.dtype.kind == "c":
        return f"max |z| {_fmt(np.abs(a).max())}"
    with np.errstate(all="ignore"):
        lo, mean, hi = a.min(), a.mean(), a.max()
    return f"all {_fmt(lo)}" if lo == hi else f"min {_fmt(lo)}  mean {_fmt(mean)}  max {_fmt(hi)}"


def _const_text(x: Any) -> str:
    if isinstance(x, (np.ndarray, np.generic)) and np.ndim(x) > 0:
        return f"array {_shape_text(x)} {x.dtype}"
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return _fmt(x)
    return "None" if x is None else type(x).__name__


def _collapse(g: Graph, level: bool | int) -> Graph:
    """Merge the ops of each innermost scope (level True: one with no scope inside it) or of each scope
    at depth `level` into one node; the tensors and constants inside disappear, parallel edges merge
    with a count. Merged scopes never nest, so each group sits in a cluster that is still drawn."""
    inner = {p[:-1] for p in g.clusters}
    groups: dict = {}  # scope path -> (group node, names of its ops in walk order)
    rep: dict = {}  # node id -> id of the node that stands for it
    for n in g.nodes:
        if n.kind != "op" or not n.cluster:
            continue
        if level is True:
            key = n.cluster if n.cluster not in inner else None
        else:
            key = n.cluster[:level] if len(n.cluster) >= level else None
        if key is None:
            continue
        if key not in groups:
            groups[key] = (Node(f"g{len(groups)}", "group", [g.clusters[key]], cluster=key[:-1]), [])
        groups[key][1].append(n.fields[0])
        rep[n.id] = groups[key][0].id
    kind = {n.id: n.kind for n in g.nodes}
    producer = {e.dst: e.src for e in g.edges if kind[e.src] == "op"}
    consumer = {e.src: e.dst for e in g.edges if kind[e.src] == "const"}  # a constant feeds one op
    for n in g.nodes:
        by = producer.get(n.id) if n.kind == "tensor" and n.style != "root" else consumer.get(n.id)
        if n.kind in ("tensor", "const") and by in rep:
            rep[n.id] = rep[by]
    nodes, placed = [], set()
    for n in g.nodes:
        r = rep.get(n.id)
        if r is None:
            for key in groups:  # a parameter left in a merged scope moves next to its group
                if n.cluster[:len(key)] == key:
                    n.cluster = key[:-1]
                    break
            nodes.append(n)
        elif r not in placed:
            placed.add(r)
            nodes.append(next(gn for gn, _ in groups.values() if gn.id == r))
    for gn, names in groups.values():
        # The walk met the ops from the root backwards: reversed, the first of each name is where data
        # reaches it first, so the list reads in the order data flows.
        counts = collections.Counter(reversed(names))
        gn.fields.append(", ".join(f"{op} ×{k}" if k > 1 else op for op, k in counts.items()))
    merged: dict = {}
    for e in g.edges:
        s, d = rep.get(e.src, e.src), rep.get(e.dst, e.dst)
        if s == d:
            continue
        if (s, d, e.grad) in merged:
            merged[s, d, e.grad].count += 1
        else:
            merged[s, d, e.grad] = Edge(s, d, e.grad)
    return Graph(nodes, list(merged.values()), g.clusters)


def _cap(g: Graph, max_nodes: int) -> Graph:
    """Keep the first max_nodes nodes (nearest the root) and one '… N more' node for the rest."""
    nodes = g.nodes[:max_nodes]
    ids = {n.id for n in nodes}
    more = Node("more", "more", [f"… {len(g.nodes) - max_nodes} more"])
    edges, linked = [], set()
    for e in g.edges:
        s, d = e.src if e.src in ids else more.id, e.dst if e.dst in ids else more.id
        if s == d or (more.id in (s, d) and (s, d) in linked):
            continue
        if more.id in (s, d):
            linked.add((s, d))
            e = Edge(s, d, e.grad)
        edges.append(e)
    return Graph(nodes + [more], edges, g.clusters)


def _add_unused(g: Graph, modules: Any, seen: dict, owners: dict, path_of_tag: dict) -> None:
    """Parameters of `modules` that the graph never reached: nothing can make them learn."""
    for name, p in modules.named_parameters():
        if id(p) in seen:
            continue
        seen[id(p)] = nid = f"t{len(seen)}"
        g.nodes.append(Node(nid, "tensor", [name, f"{_shape_text(p.data)} {p.data.dtype}",
                                            "not in graph: no grad"], "unused",
                            path_of_tag.get(owners.get(name.rpartition(".")[0]), ())))
