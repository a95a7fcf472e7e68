"""Drawings of computation graphs: `draw(loss)` (shows inline in Jupyter), `to_dot(loss)`, `render(loss, "g.svg")`.

    graph.py   the graph model: `build_graph(loss)` -> Graph of Nodes and Edges
    dot.py     the model as Graphviz DOT: `draw`, `to_dot`, `render`
    explore.py an interactive, self-contained HTML page of the graph: `explore(loss, path="g.html")`
    render.py  DOT -> SVG/PNG: Graphviz's `dot` when on PATH, else in-process SVG (`svg`, `renderer`)

No system Graphviz is needed for SVG: the `examples` and `test` extras install an in-process renderer
(Graphviz compiled to WebAssembly). AUTOGRAD_RENDERER=dot or =wasm forces one renderer.
"""
from .dot import draw, render, to_dot
from .explore import Exploration, explore
from .graph import Edge, Graph, Node, build_graph
from .render import ENV_VAR, INSTALL_HINT, pipe, renderer, svg

__all__ = ["Node", "Edge", "Graph", "build_graph", "to_dot", "draw", "render", "svg", "pipe", "renderer",
           "ENV_VAR", "INSTALL_HINT", "explore", "Exploration"]
