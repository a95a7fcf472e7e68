"""Draw the graph of a small MLP's loss, forward and backward: the README's picture comes from here.

    python -m examples.draw_graph --out docs

writes DIR/mlp_graph.dot, DIR/mlp_graph.svg and DIR/mlp_backward.svg (the gradients' path, in red), and,
when Graphviz's `dot` program is installed, DIR/mlp_graph.png (without it the SVGs come from the in-process
renderer of the `examples` extra, and with neither only the .dot file is written).
The network is the XOR one of the seed notebooks: 3 inputs (the third a constant 1), 4 sigmoid units, 1 output.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import autograd as ag
import nn
import nn.functional as F


class MLP(nn.Module):
    """Two sigmoid layers; held in `layers` so the drawing's clusters read "layers.0 Linear", ..."""

    def __init__(self, sizes: tuple = (3, 4, 1), rng: np.random.Generator | None = None) -> None:
        super().__init__()
        mods = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            mods += [nn.Linear(n_in, n_out, rng=rng), nn.Sigmoid()]
        self.layers = nn.Sequential(*mods)

    def forward(self, x: ag.Tensor) -> ag.Tensor:
        return self.layers(x)


def xor_loss(seed: int = 0) -> tuple:
    """The model and its mean squared error on the four XOR cases, after one backward pass."""
    x = ag.tensor([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64, name="x")
    y = ag.tensor([[0.0], [1.0], [1.0], [0.0]], name="y")
    model = MLP(rng=np.random.default_rng(seed))
    loss = F.mse_loss(model(x), y)
    loss.backward(retain_graph=True)  # keep the graph's values, which the drawing shows
    return model, loss


def main(argv: list | None = None) -> dict:
    """Write the drawings; returns {kind: path} of the files written."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=".", help="directory for the drawings (default: current directory)")
    p.add_argument("--rankdir", default="TB", choices=("TB", "LR", "BT", "RL"), help="layout direction")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights (default 0)")
    p.add_argument("--html", metavar="PATH", help="also write the interactive explorer page (ag.viz.explore) here")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    model, loss = xor_loss(args.seed)
    opts = {"modules": model, "rankdir": args.rankdir}
    written = {"dot": os.path.join(args.out, "mlp_graph.dot")}
    with open(written["dot"], "w") as f:
        f.write(ag.viz.to_dot(loss, **opts))
    for kind, name, extra in (("svg", "mlp_graph.svg", {}), ("png", "mlp_graph.png", {}),
                              ("backward", "mlp_backward.svg", {"backward": True})):
        try:
            written[kind] = ag.viz.render(loss, os.path.join(args.out, name), **opts, **extra)
        except RuntimeError as e:  # no renderer for this format: the DOT file is there to render elsewhere
            print(f"draw_graph: skipped {name}: {e}", file=sys.stderr)
    if args.html:
        from autograd.viz.explore import explore

        written["html"] = explore(loss, modules=model, path=args.html, title="XOR MLP after backward").path
    for path in written.values():
        print(path)
    return written


if __name__ == "__main__":
    main()
