"""Graph drawings: node/edge counts and labels for known graphs, module names and clusters, the cap and
collapse options, the backward picture, nodes released by backward. Rendering: test_viz_render.py."""
import collections

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import viz
from examples.draw_graph import xor_loss


def kinds(g):
    return collections.Counter(n.kind for n in g.nodes)


def ops(g):
    return collections.Counter(n.fields[0] for n in g.nodes if n.kind == "op")


def one(g, text, kind=None):
    found = g.find(text, kind)
    assert len(found) == 1, f"{text!r}: {found}"
    return found[0]


class FakeModule:
    """Just enough of nn.Module for viz (duck typing): parameters and children, with dotted names."""

    def __init__(self, **members):
        self.members = members

    def named_parameters(self, prefix=""):
        for name, m in self.members.items():
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(m, ag.Tensor):
                yield full, m
            else:
                yield from m.named_parameters(full)

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self.members.items():
            if isinstance(m, FakeModule):
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)


class Linear(FakeModule):
    def __call__(self, x):
        with ag.graph_scope(self):
            return x @ self.members["weight"] + self.members["bias"]


class Net(FakeModule):
    pass


def param(*shape, seed=0, name=None):
    return ag.tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True, name=name)


# ---- shapes of known graphs ---------------------------------------------------------------------

def test_reuse_draws_one_edge_per_use():
    a = ag.tensor([1.0, 2.0], requires_grad=True, name="a")
    y = a + a
    g = viz.build_graph(y)
    assert kinds(g) == {"tensor": 2, "op": 1}
    a_node, add = one(g, "a"), one(g, "add", "op")
    assert len(g.edges_between(a_node.id, add.id)) == 2
    assert len(g.edges) == 3
    src = viz.to_dot(y)
    assert src.count(f"{a_node.id} -> {add.id}") == 2


def test_broadcasting_graph_labels_shapes_values_and_grads():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), name="x")
    b = ag.tensor([10.0, 20.0, 30.0], requires_grad=True, name="b")
    s = (x + b).sum()
    s.backward(retain_graph=True)  # keeps the intermediate values the labels show
    g = viz.build_graph(s)
    assert kinds(g) == {"tensor": 4, "op": 2}
    xn, bn, root = one(g, "x"), one(g, "b"), g.nodes[0]
    assert xn.fields[1:3] == ["(2, 3) float64", "min 0  mean 2.5  max 5"] and xn.style == "constant"
    assert bn.fields[1] == "(3,) float64" and bn.style == "param"
    assert bn.fields[-1] == "grad all 2"  # d sum(x + b) / db = number of rows, broadcast over
    (y,) = [n for n in g.nodes if n.style == "result"]
    assert y.fields == ["(2, 3) float64", "min 10  mean 22.5  max 35"]
    assert root.style == "root" and root.fields == ["scalar float64", "135"]  # 15 + 2 * (10 + 20 + 30)
    add = one(g, "add", "op")
    assert {e.src: e.grad for e in g.edges if e.dst == add.id} == {xn.id: False, bn.id: True}


def mlp_loss():
    rng = np.random.default_rng(1)
    x = ag.tensor(rng.normal(size=(4, 2)), name="x")
    t = ag.tensor(rng.normal(size=(4, 1)), name="target")
    W1, b1, W2, b2 = param(2, 3, name="W1"), param(3, name="b1"), param(3, 1, name="W2"), param(1, name="b2")
    h = ag.sigmoid(x @ W1 + b1)
    out = ag.sigmoid(h @ W2 + b2)
    return ((out - t) ** 2).mean(), (x, t, W1, b1, W2, b2)


def test_two_layer_mlp_counts_and_styles():
    loss, (x, t, W1, b1, W2, b2) = mlp_loss()
    g = viz.build_graph(loss)
    assert ops(g) == {"matmul": 2, "add": 2, "sigmoid": 2, "sub": 1, "pow": 1, "mean": 1}
    # one tensor per op output (the loss included) and the six leaves; the exponent 2 is a constant node
    assert kinds(g) == {"op": 9, "tensor": 15, "const": 1}
    assert one(g, "2", "const")
    # each op: one edge to its output, one per input (2 for binary ops, 1 for sigmoid and mean)
    assert len(g.edges) == 9 + (2 + 2 + 1) * 2 + 2 + 2 + 1
    for name in ("W1", "b1", "W2", "b2"):
        assert one(g, name).style == "param"
    for name in ("x", "target"):
        assert one(g, name).style == "constant"
    assert g.nodes[0].style == "root" and g.nodes[1].fields == ["mean"]
    src = viz.to_dot(loss)
    assert src.count(" -> ") == len(g.edges)
    assert "shape=record" in src and "{W1|(2, 3) float64|" in src


def rnn_loss(steps, cell=None):
    """h <- tanh(x_t @ Wx + h @ Wh + b), unrolled; each step inside cell's scope when a cell is given."""
    rng = np.random.default_rng(2)
    Wx, Wh, b = param(3, 4, seed=3, name="Wx"), param(4, 4, seed=4, name="Wh"), param(4, seed=5, name="b")
    h = ag.zeros(1, 4)
    for k in range(steps):
        xt = ag.tensor(rng.normal(size=(1, 3)), name=f"x{k}")
        if cell is None:
            h = ag.tanh(xt @ Wx + h @ Wh + b)
        else:
            with ag.graph_scope(cell):
                h = ag.tanh(xt @ Wx + h @ Wh + b)
    return h.sum(), (Wx, Wh, b)


def test_unrolled_rnn_shares_weights_across_steps():
    T = 4
    loss, (Wx, Wh, b) = rnn_loss(T)
    g = viz.build_graph(loss)
    assert ops(g) == {"matmul": 2 * T, "add": 2 * T, "tanh": T, "sum": 1}
    # per step 5 ops and their 5 outputs; the loss and its sum; Wx, Wh, b, h0 and one x per step
    assert len(g.nodes) == 11 * T + 6
    assert len(g.edges) == 14 * T + 2
    for name in ("Wx", "Wh", "b"):
        node = one(g, name)  # drawn once, however often it is used
        assert sum(e.src == node.id for e in g.edges) == T


def test_deep_chain_is_walked_without_recursion():
    x = ag.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    g = viz.build_graph(y)
    assert kinds(g) == {"op": 3000, "tensor": 3001, "const": 3000}


# ---- options ----------------------------------------------------------------------------------

def test_max_nodes_keeps_nodes_near_the_root_and_counts_the_rest():
    loss, _ = rnn_loss(4)
    full = viz.build_graph(loss)
    g = viz.build_graph(loss, max_nodes=10)
    assert [n.id for n in g.nodes[:10]] == [n.id for n in full.nodes[:10]]
    assert g.nodes[-1].kind == "more" and g.nodes[-1].fields == [f"… {len(full.nodes) - 10} more"]
    ids = {n.id for n in g.nodes}
    assert all(e.src in ids and e.dst in ids for e in g.edges)
    assert any(e.src == "more" for e in g.edges)
    assert "… 40 more" in viz.to_dot(loss, max_nodes=10)


def test_collapse_merges_a_repeated_cell_into_one_node():
    T = 4
    cell = Net()  # the scope tag of every step, as an nn.RNNCell call would be
    loss, (Wx, Wh, b) = rnn_loss(T, cell)
    cell.members.update(Wx=Wx, Wh=Wh, b=b)
    model = Net(cell=cell)
    g = viz.build_graph(loss, modules=model, collapse=True)
    group = one(g, "cell Net", "group")
    assert group.fields[1] == f"matmul ×{2 * T}, add ×{2 * T}, tanh ×{T}"
    # the loss, its sum, the group, three weights, h0 and the T inputs
    assert kinds(g) == {"tensor": 5 + T, "op": 1, "group": 1}
    for name in ("cell.Wx", "cell.Wh", "cell.b"):
        (e,) = g.edges_between(one(g, name).id, group.id)
        assert e.count == T
    assert len(g.edges) == 2 + 3 + T + 1
    assert "×4" in viz.to_dot(loss, modules=model, collapse=True)


def test_rankdir_and_record_orientation():
    a = ag.tensor([1.0, 2.0], requires_grad=True, name="a")
    tb, lr = viz.to_dot(a.sum()), viz.to_dot(a.sum(), rankdir="LR")
    assert "rankdir=TB" in tb and '"{a|(2,) float64|' in tb
    assert "rankdir=LR" in lr and '"a|(2,) float64|' in lr  # records turn with rankdir: no braces in LR


def test_constants_numbers_and_arrays_get_small_nodes():
    a = ag.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = ag.where(np.array([True, False, True]), a, 0.5)
    g = viz.build_graph(y)
    assert sorted(n.fields[0] for n in g.nodes if n.kind == "const") == ["0.5", "array (3,) bool"]
    assert all(not e.grad for e in g.edges if e.src.startswith("c"))


def test_bad_arguments_are_named():
    a = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="root must be a Tensor"):
        viz.to_dot(3.0)
    with pytest.raises(TypeError, match="root must be a Tensor"):
        viz.to_dot([])
    with pytest.raises(ValueError, match="rankdir"):
        viz.to_dot(a, rankdir="up")
    with pytest.raises(ValueError, match="max_nodes"):
        viz.to_dot(a, max_nodes=0)
    with pytest.raises(TypeError, match="named_modules"):
        viz.to_dot(a, modules=object())


# ---- modules ------------------------------------------------------------------------------------

def two_layer_fake():
    l0 = Linear(weight=param(2, 3, seed=1), bias=param(3, seed=2))
    l1 = Linear(weight=param(3, 1, seed=3), bias=param(1, seed=4))
    layers = Net(**{"0": l0, "1": l1})
    model = Net(layers=layers)
    x = ag.tensor(np.ones((5, 2)), name="x")
    with ag.graph_scope(model):
        with ag.graph_scope(layers):
            out = l1(ag.sigmoid(l0(x)))
    return model, (l0, l1, layers), out.sum()


def brace_depth_at(text, needle):
    i = text.index(needle)
    return text[:i].count("{") - text[:i].count("}")


def test_modules_name_parameters_and_cluster_ops():
    model, (l0, l1, layers), loss = two_layer_fake()
    g = viz.build_graph(loss, modules=model)
    w0 = one(g, "layers.0.weight")
    assert w0.cluster == (id(model), id(layers), id(l0))
    assert g.clusters[(id(model), id(layers), id(l0))] == "layers.0 Linear"
    assert g.clusters[(id(model),)] == "Net" and g.clusters[(id(model), id(layers))] == "layers Net"
    mm = [n for n in g.nodes if n.fields[0] == "matmul"]
    assert sorted(n.cluster[-1] for n in mm) == sorted([id(l0), id(l1)])
    assert one(g, "sigmoid", "op").cluster == (id(model), id(layers))
    assert one(g, "sum", "op").cluster == () and one(g, "x").cluster == ()
    src = viz.to_dot(loss, modules=model)
    assert src.count("subgraph cluster_") == 4
    # nested clusters: digraph { Net { layers { layers.0 Linear { ... } } } }
    assert brace_depth_at(src, "label=Net") == 2
    assert brace_depth_at(src, 'label="layers.0 Linear"') == 4
    assert brace_depth_at(src, '"{layers.0.weight|') == 4


def test_string_scopes_label_clusters():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.graph_scope("encoder"):
        y = ag.exp(a)
    src = viz.to_dot(y.sum())
    assert "label=encoder" in src and "subgraph cluster_0" in src


# ---- the backward picture -----------------------------------------------------------------------

class BlockSecond(ag.Function):
    """x + w forward, but backward gives w no gradient: the bug the backward picture must show."""

    @staticmethod
    def forward(ctx, x, w):
        return x + w

    @staticmethod
    def backward(ctx, g):
        return g, None


def test_backward_picture_marks_leaves_without_gradient():
    w_ok = ag.tensor([1.0, 2.0], requires_grad=True, name="ok")
    w_blocked = ag.tensor([0.5, 0.5], requires_grad=True, name="blocked")
    w_dead = ag.tensor([-1.0, -2.0], requires_grad=True, name="dead")
    w_unused = ag.tensor([3.0], requires_grad=True, name="unused")
    loss = (BlockSecond.apply(w_ok, w_blocked) + ag.relu(w_dead)).sum()
    model = FakeModule(ok=w_ok, blocked=w_blocked, dead=w_dead, unused=w_unused)
    assert one(viz.build_graph(loss, backward=True), "blocked").style == "nograd"  # before backward: none yet
    loss.backward()
    g = viz.build_graph(loss, modules=model, backward=True)
    assert one(g, "ok").style == "param" and one(g, "ok").fields[-1] == "grad all 1"
    assert one(g, "blocked").style == "nograd" and one(g, "blocked").fields[-1] == "no grad"
    assert one(g, "dead").style == "zerograd" and one(g, "dead").fields[-1] == "grad = 0"
    assert one(g, "unused").style == "unused" and one(g, "unused").fields[-1] == "not in graph: no grad"
    src = viz.to_dot(loss, modules=model, backward=True)
    assert src.count("dir=back") == len(g.edges) and "color=red" in src
    # without backward=True nothing is marked and the arrows follow the data
    plain = viz.to_dot(loss, modules=model)
    assert "dir=back" not in plain and "no grad" not in plain and "unused" not in plain


# ---- nodes that backward released -----------------------------------------------------------------

def test_freed_nodes_are_drawn_without_a_value():
    a = ag.tensor([1.0, 2.0], requires_grad=True, name="a")
    y = a * 3.0
    s = y.sum()
    # What backward without retain_graph does to a node's output array; the Tensor y is gone by then.
    y.grad_fn.data = None
    del y
    g = viz.build_graph(s)
    (freed,) = [n for n in g.nodes if n.kind == "tensor" and n.style == "result"]
    assert freed.fields == ["freed"]
    assert one(g, "a").fields == ["a", "(2,) float64", "min 1  mean 1.5  max 2"]
    assert g.nodes[0].fields == ["scalar float64", "9"]  # the root is the user's tensor: its value is kept
    assert '"{freed}"' in viz.to_dot(s)


def test_drawing_after_backward_works_whatever_it_released():
    a = ag.tensor([1.0, 2.0], requires_grad=True, name="a")
    s = ag.exp(a * 3.0).sum()
    s.backward()
    g = viz.build_graph(s, backward=True)
    results = [n for n in g.nodes if n.style == "result"]
    assert len(results) == 2
    for n in results:  # each intermediate shows its value, or says it was freed
        assert n.fields == ["freed"] or n.fields[0] == "(2,) float64"
    e3, e6 = np.exp(3.0), np.exp(6.0)  # d/da sum(exp(3a)) = 3 exp(3a) at a = 1, 2
    assert one(g, "a").fields[-1] == f"grad min {3 * e3:.4g}  mean {1.5 * (e3 + e6):.4g}  max {3 * e6:.4g}"
    assert "digraph" in viz.to_dot(s, backward=True)


# ---- with nn -------------------------------------------------------------------------------------

def test_nn_mlp_clusters_are_named_by_module():
    model, loss = xor_loss(seed=0)
    assert isinstance(model, nn.Module)
    g = viz.build_graph(loss, modules=model)
    assert sorted(g.clusters.values()) == ["MLP", "layers Sequential", "layers.0 Linear", "layers.1 Sigmoid",
                                           "layers.2 Linear", "layers.3 Sigmoid"]
    names = {n.fields[0] for n in g.nodes if n.kind == "tensor" and n.style == "param"}
    assert names == {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"}
    lin0 = model.layers[0]
    assert one(g, "layers.0.weight").cluster[-1] == id(lin0)
    assert [n.cluster[-1] for n in g.nodes if n.fields[0] == "sigmoid"] == [id(model.layers[3]), id(model.layers[1])]


class UnrolledCell(nn.Module):
    """An nn.RNNCell called once per step: each call records its ops in the cell's scope."""

    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(3, 4, rng=np.random.default_rng(0))

    def forward(self, steps):
        h, hs = None, []
        for x in steps:
            h = self.cell(x, h)
            hs.append(h)
        return ag.stack(hs, 0)


def test_nn_cell_unrolled_and_collapsed():
    T = 5
    model = UnrolledCell()
    steps = [ag.tensor(np.random.default_rng(k).normal(size=(1, 3)), name=f"x{k}") for k in range(T)]
    loss = model(steps).sum()
    g = viz.build_graph(loss, modules=model)
    in_cell = collections.Counter(n.fields[0] for n in g.nodes
                                  if n.kind == "op" and n.cluster[-1:] == (id(model.cell),))
    assert in_cell["tanh"] == T and all(k % T == 0 for k in in_cell.values())  # the same ops at every step
    assert ops(g) - in_cell == {"stack(axis=0)": 1, "sum": 1}
    folded = viz.build_graph(loss, modules=model, collapse=True)  # each step's cell call folds into one node
    group = one(folded, "cell RNNCell", "group")
    listed = collections.Counter()
    for item in group.fields[1].split(", "):
        op, _, k = item.partition(" ×")
        listed[op] += int(k or 1)
    assert listed == in_cell
    # the loss and its sum, the stack and its output, the group, 4 parameters, T inputs and h0 (zeros)
    assert kinds(folded) == {"tensor": 2 + 4 + T + 1, "op": 2, "group": 1}
    stack = one(folded, "stack(axis=0)", "op")
    (e,) = folded.edges_between(group.id, stack.id)
    assert e.count == T  # every step's hidden state goes into the stack
    for name in ("cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh"):
        (e,) = folded.edges_between(one(folded, name).id, group.id)
        assert e.count == T


def test_nn_parameter_outside_the_graph_is_shown_in_backward_picture():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(2, 1, rng=np.random.default_rng(0))
            self.forgotten = nn.Linear(2, 1, rng=np.random.default_rng(1))  # a typo'd forward never calls it

        def forward(self, x):
            return self.used(x)

    model = TwoHeads()
    loss = model(ag.tensor(np.ones((3, 2)))).sum()
    loss.backward()
    g = viz.build_graph(loss, modules=model, backward=True)
    for name in ("forgotten.weight", "forgotten.bias"):
        assert one(g, name).style == "unused"
    assert one(g, "used.weight").style == "param" and one(g, "used.bias").fields[-1] == "grad 3"


def test_collapse_true_merges_innermost_scopes_only():
    model, (l0, l1, layers), loss = two_layer_fake()
    g = viz.build_graph(loss, modules=model, collapse=True)
    # the two Linear calls fold; the sigmoid, recorded in "layers" itself, stays an op in that cluster
    groups = sorted((n.fields[0], n.fields[1]) for n in g.nodes if n.kind == "group")
    assert groups == [("layers.0 Linear", "matmul, add"), ("layers.1 Linear", "matmul, add")]
    assert one(g, "sigmoid", "op").cluster == (id(model), id(layers))
    assert one(g, "layers.0.weight").cluster == (id(model), id(layers))
    top = viz.build_graph(loss, modules=model, collapse=1)
    (group,) = [n for n in top.nodes if n.kind == "group"]
    assert group.fields == ["Net", "matmul ×2, add ×2, sigmoid"]
    assert kinds(top) == {"group": 1, "tensor": 6, "op": 1}  # 4 weights, x, the loss; the output feeds sum


def test_same_model_draws_the_same_dot_text():
    # cluster paths are built from object ids, which differ between runs: the output must not depend on them
    texts = {viz.to_dot(loss, modules=model) for model, loss in (xor_loss(0), xor_loss(0), xor_loss(0))}
    assert len(texts) == 1
