"""The graph model behind `explore`: op nodes (Contexts) and leaf tensors met walking back from the roots,
clusters from the ops' scopes, merging of innermost scopes, and the DOT text Graphviz lays out.

Long edges make Graphviz's layout slow (quadratic for an unrolled loop) and the page unreadable, so a leaf
fed to many ops, or an edge between ops created far apart, is drawn as a copy of one end beside the other.
"""
from __future__ import annotations

import collections
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..function import Context

_SPLIT_USES = 3  # a leaf feeding more ops than this is drawn once per use: no edge spans the whole page
_FAR = 40  # an edge between ops created further apart than this is drawn as a stub (see _Model._copies)

class _Node:
    __slots__ = ("id", "kind", "obj", "cluster", "name", "members")

    def __init__(self, nid: str, kind: str, obj: Any, cluster: str | None, name: str | None = None) -> None:
        self.id, self.kind, self.obj, self.cluster, self.name = nid, kind, obj, cluster, name
        self.members: list = []  # the ops a merged node stands for


class _Model:
    """The engine's graph behind the roots: op nodes (Contexts) and leaf tensors, clusters from scopes."""

    def __init__(self, roots: list, modules: Any) -> None:
        self.params, self.modnames = _names(modules)
        self.nodes: dict = {}  # node id -> _Node, in the order met
        self.keys: dict = {}  # id(Context or leaf Tensor) -> node id
        self.clusters: dict = {}  # scope path (ids of tags) -> [cluster id, label, parent cluster id]
        self.edges: list = []  # [src, dst, gradient flows, uses]
        self.inputs: dict = {}  # op node id -> what each input is
        self.rep: dict = {}  # node id -> id of the merged node standing for it
        todo = [self._node(r.grad_fn if r.grad_fn is not None else r) for r in roots]
        self.roots = set(todo)
        for r in roots:  # a root's own name names its op
            if r.name and r.grad_fn is not None:
                self.nodes[self.node_id(r)].name = r.name
        while todo:
            n = self.nodes[todo.pop()]
            if n.kind != "op":
                continue
            ins = self.inputs[n.id] = []
            for e, needed in zip(n.obj.edges, n.obj.needs_input_grad):
                if type(e) is Context or isinstance(e, Tensor):
                    new = id(e) not in self.keys
                    src = self._node(e)
                    if new:
                        todo.append(src)
                    self.edges.append([src, n.id, bool(needed), 1])
                    ins.append(src)
                else:  # a plain value, or None: a constant let go by backward
                    ins.append("freed by backward" if e is None else _const_text(e))
        self._place_parameters(modules)
        self.n_ops = sum(n.kind == "op" for n in self.nodes.values())

    def node_id(self, t: Tensor) -> str:
        return self.rep.get(i := self.keys[id(t.grad_fn if t.grad_fn is not None else t)], i)

    def _node(self, obj: Any) -> str:
        nid = self.keys.get(id(obj))
        if nid is None:
            nid = self.keys[id(obj)] = f"n{len(self.keys)}"
            if type(obj) is Context:
                retained = obj._retain() if obj._retain is not None else None
                self.nodes[nid] = _Node(nid, "op", obj, self._cluster(obj.scope), getattr(retained, "name", None))
            else:
                self.nodes[nid] = _Node(nid, "tensor", obj, None, self.params.get(id(obj)) or obj.name)
        return nid

    def _cluster(self, scope: tuple) -> str | None:
        path, parent = (), None
        for tag in scope:
            path += (id(tag),)
            if path not in self.clusters:
                name = tag if isinstance(tag, str) else self.modnames.get(id(tag))
                label = name if isinstance(tag, str) else f"{name} {type(tag).__name__}" if name else type(tag).__name__
                self.clusters[path] = [f"k{len(self.clusters)}", label, parent]
            parent = self.clusters[path][0]
        return parent

    def _place_parameters(self, modules: Any) -> None:
        """A parameter sits in the cluster of the module that owns it, when that module recorded ops."""
        if modules is None:
            return
        by_name = {name: mod for name, mod in modules.named_modules()}
        first = {}  # id(module) -> its outermost cluster
        for path, (cid, _, _) in self.clusters.items():
            first.setdefault(path[-1], cid)
        for n in self.nodes.values():
            name = self.params.get(id(n.obj)) if n.kind == "tensor" else None
            if name:
                n.cluster = first.get(id(by_name.get(name.rpartition(".")[0])))

    def merge(self) -> bool:
        """Fold the ops of each innermost cluster (two ops or more) into one node; its leaves move out."""
        info = {cid: (label, parent) for cid, label, parent in self.clusters.values()}
        inner = set(info) - {parent for _, parent in info.values()}
        ops = collections.Counter(n.cluster for n in self.nodes.values() if n.kind == "op")
        folded = {cid for cid in inner if ops[cid] > 1}
        groups: dict = {}
        users: dict = collections.defaultdict(set)
        for s, d, _, _ in self.edges:
            users[s].add(self.nodes[d].cluster)
        for n in list(self.nodes.values()):
            if n.kind == "tensor" and not n.obj.requires_grad and len(users[n.id]) == 1:
                n.cluster = next(iter(users[n.id]))  # an input batch slice, say: folds with its only user
            if n.cluster not in folded:
                continue
            if n.kind == "tensor" and n.obj.requires_grad:
                n.cluster = info[n.cluster][1]
                continue
            g = groups.get(n.cluster)
            if g is None:
                g = groups[n.cluster] = _Node(f"g{len(groups)}", "op", None, info[n.cluster][1], info[n.cluster][0])
                self.nodes[g.id] = g
            g.members.append(n)
            self.rep[n.id] = g.id
            del self.nodes[n.id]
        uses: dict = {}
        for s, d, flows, k in self.edges:
            s, d = self.rep.get(s, s), self.rep.get(d, d)
            if s != d:
                uses[s, d, flows] = uses.get((s, d, flows), 0) + k
        self.edges = [[s, d, flows, k] for (s, d, flows), k in uses.items()]
        self.inputs = {i: [self.rep.get(x, x) for x in v] for i, v in self.inputs.items() if i not in self.rep}
        return bool(groups)

    def cluster_info(self) -> dict:
        """cluster id -> {label, parent}, for the clusters still drawn."""
        return {cid: {"label": label, "parent": parent} for cid, label, parent in self.clusters.values()
                if cid in self._drawn()}

    def _drawn(self) -> set:
        parent = {cid: p for cid, _, p in self.clusters.values()}
        drawn = set()
        for n in self.nodes.values():
            c = n.cluster
            while c is not None and c not in drawn:
                drawn.add(c)
                c = parent[c]
        return drawn

    def dot(self) -> tuple:
        """DOT text, and the data attributes for each element id it gives Graphviz."""
        drawn = self._drawn()
        labels = {cid: label for cid, label, _ in self.clusters.values()}
        children: dict = collections.defaultdict(list)
        for cid, _, parent in self.clusters.values():
            if cid in drawn:
                children[parent].append(cid)
        attrs: dict = {cid: f'data-node-id="{cid}" data-kind="cluster"' for cid in drawn}
        members: dict = collections.defaultdict(list)  # cluster -> node lines
        ends = self._copies()
        for n in self.nodes.values():
            if not ends.get(n.id):  # a leaf drawn beside each use has no node of its own
                members[n.cluster].append(f"{n.id} [id={n.id} {_style(n, root=n.id in self.roots)}]")
                attrs[n.id] = f'data-node-id="{n.id}" data-kind="{n.kind}"'
        edge_lines = []
        for i, (s, d, flows, k) in enumerate(self.edges):
            ends_at, copy = [s, d], ends.get(i)
            if copy:  # draw one end again beside the other, in the other's cluster
                j, near = (0, d) if copy == "src" else (1, s)
                real, where = ends_at[j], self.nodes[near].cluster
                ends_at[j] = f"{real}_e{i}"
                members[where].append(f"{ends_at[j]} [id={ends_at[j]} {_style(self.nodes[real], copy=True)}]")
                attrs[ends_at[j]] = (f'data-node-id="{real}" data-kind="{self.nodes[real].kind}" data-copy="1"'
                                     + (f' data-in="{where}"' if where else ""))
            extra = "" if flows else " style=dashed color=gray55"
            extra += f' label="×{k}"' if k > 1 else ""
            edge_lines.append(f"{ends_at[0]} -> {ends_at[1]} [id=e{i}{extra}]")
            attrs[f"e{i}"] = f'data-src="{s}" data-dst="{d}"' + (f' data-copy="{copy}"' if copy else "")

        def emit(cid: str | None, indent: str) -> list:
            out = [indent + line for line in members[cid]]
            for child in children[cid]:
                out.append(f'{indent}subgraph cluster_{child} {{ id={child} label={_q(labels[child])} '
                           'style="rounded,dashed" color=gray50 fontcolor=gray25')
                out += emit(child, indent + "  ")
                out.append(indent + "}")
            return out
        head = ["digraph explore {", "  graph [rankdir=TB fontname=Helvetica fontsize=11 nodesep=0.2 ranksep=0.3 "
                "outputorder=edgesfirst]", "  node [fontname=Helvetica fontsize=10 height=0.3 margin=\"0.08,0.03\"]",
                "  edge [fontname=Helvetica fontsize=9 arrowsize=0.6 color=gray35]"]
        return "\n".join(head + emit(None, "  ") + ["  " + e for e in edge_lines] + ["}"]) + "\n", attrs


    def _copies(self) -> dict:
        """Which edges Graphviz should not draw end to end, since long edges make its layout slow (quadratic
        for an unrolled loop) and unreadable: edge index -> 'src' (its source is drawn again beside the op
        using it: a leaf fed to many ops or to ops far apart) or 'dst' (its target is drawn again beside
        the source: an op gathering outputs made far apart, as a stack of every step's output does);
        node id -> True for a leaf drawn only beside its uses."""
        seq = {n.id: n.obj.seq for n in self.nodes.values() if n.kind == "op" and not n.members}
        used_at: dict = collections.defaultdict(list)
        for s, d, _, _ in self.edges:
            used_at[s].append(seq.get(d, 0))
        out: dict = {nid: True for nid, at in used_at.items() if self.nodes[nid].kind == "tensor"
                     and (len(at) > _SPLIT_USES or max(at) - min(at) > _FAR)}
        far = [i for i, (s, d, _, _) in enumerate(self.edges) if s in seq and d in seq and seq[d] - seq[s] > _FAR]
        far_out = collections.Counter(self.edges[i][0] for i in far)
        far_in = collections.Counter(self.edges[i][1] for i in far)
        for i, (s, _, _, _) in enumerate(self.edges):
            if out.get(s):
                out[i] = "src"
        for i in far:
            s, d = self.edges[i][:2]
            out[i] = "src" if far_out[s] >= far_in[d] else "dst"
        return out


def _names(modules: Any) -> tuple:
    """id(parameter) -> dotted name and id(module) -> dotted name, from a duck-typed module."""
    if modules is None:
        return {}, {}
    if not (callable(getattr(modules, "named_modules", None)) and callable(getattr(modules, "named_parameters", None))):
        raise TypeError(f"explore: modules= needs an object with named_modules() and named_parameters() "
                        f"(an nn.Module), got {type(modules).__name__}")
    return ({id(p): name for name, p in modules.named_parameters()},
            {id(mod): name for name, mod in modules.named_modules()})


def _q(text: str) -> str:
    """A DOT quoted string (backslashes doubled, so no label escape such as \\l can sneak in)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape_text(a: Any) -> str:
    return "freed" if a is None else f"{'scalar' if np.ndim(a) == 0 else tuple(np.shape(a))} {np.asarray(a).dtype}"


def _style(n: _Node, copy: bool = False, root: bool = False) -> str:
    """Graphviz attributes of a node; a copy (drawn again beside a far use) has a dashed border."""
    dashed = "dashed," if copy else ""
    if n.members:
        ops = collections.Counter(m.obj.name for m in n.members if m.kind == "op")
        text = ", ".join(f"{k} ×{c}" if c > 1 else k for k, c in ops.most_common(3)) + (", …" if len(ops) > 3 else "")
        label, look = f"{n.name}\n{ops.total()} ops: {text}", 'shape=box3d fillcolor="#e6dcf5"'
    elif n.kind == "op":
        label = (n.name + ": " if n.name else "") + n.obj.name + "\n" + _shape_text(n.obj.data)
        look = f'shape=box fillcolor="{"#c8e6c9" if root else "#fff4cc"}"'
    else:
        label = (n.name + "\n" if n.name else "") + _shape_text(n.obj.data)
        look = f'shape=box fillcolor="{"#cfe3fa" if n.obj.requires_grad else "#eeeeee"}"'
    return f'label={_q(label)} {look} style="{dashed}filled"'


def _const_text(x: Any) -> str:
    if isinstance(x, (np.ndarray, np.generic)) and np.ndim(x) > 0:
        return f"constant array {_shape_text(x)}"
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return f"constant {x!r}" if not isinstance(x, np.generic) else f"constant {x.item()!r}"
    return "None" if x is None else f"constant {type(x).__name__}"
