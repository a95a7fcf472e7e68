"""A short tour: train the seed's binary-addition MLP, test it on unseen pairs, draw its graph and loss curve.

    python -m examples.demo                 # writes demo_out/graph.svg and demo_out/loss.png
    python -m examples.demo --out /tmp/tour --epochs 10 --plot /tmp/curve.png

The graph is drawn by Graphviz's `dot` when installed, else in-process (the `examples` extra); with
neither, demo_out/graph.dot is written with the command that renders it.
"""
from __future__ import annotations

import contextlib
import os
import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F

from . import common
from .binary_addition import build_model, evaluate, train
from .data import binary_addition, bits_to_int, drop_seen


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate on held-out pairs, write the graph and the loss curve; returns the figures."""
    p = common.parser(__doc__.splitlines()[0], epochs=8, lr=0.4, seed=1)
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out/)")
    p.add_argument("--bits", type=int, default=12, help="bits per number (default 12)")
    p.add_argument("--examples", type=int, default=100000,
                   help="training pairs (default 100000: with the seed's 1000 the network memorises instead)")
    p.add_argument("--batch-size", type=int, default=100, help="minibatch size (default 100)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    rs = np.random.RandomState(args.seed)
    x, y = binary_addition(args.bits, args.examples, rs)
    model = build_model(args.bits, rs=rs)
    x_test, y_test = drop_seen(*binary_addition(args.bits, 1000, np.random.RandomState(args.seed + 1000)), x)
    print(f"{args.bits}-bit binary addition: {len(x)} training pairs, {len(x_test)} held-out pairs")
    print(model)

    t0 = time.perf_counter()
    with one_blas_thread():
        # The last quarter of the epochs at half the rate: the large steps find the carries, the smaller
        # ones settle the last few held-out sums (at a fifth of the rate they freeze a few wrong instead).
        late = args.epochs // 4
        history = train(model, x, y, args.epochs - late, args.lr, args.batch_size, args.quiet, desc="training")
        history += train(model, x, y, late, args.lr / 2, args.batch_size, args.quiet, desc="settling")
        seconds = time.perf_counter() - t0
        scores = evaluate(model, x_test, y_test)
    print(f"trained {args.epochs} epochs in {seconds:.1f} s; final loss {history[-1]:.3f}")
    print(f"held-out pairs: bit accuracy {scores['bit_accuracy']:.4f}, exact sums {scores['exact_accuracy']:.4f}")

    # A worked example from the held-out set, read back as integers.
    with ag.no_grad():
        guess = bits_to_int(model(ag.tensor(x_test[:1])).data > 0.5)[0]
    a, b = bits_to_int(x_test[:1, :args.bits])[0], bits_to_int(x_test[:1, args.bits:])[0]
    print(f"e.g. {a} + {b} = {a + b}; the network says {guess}")

    # The computation graph of one minibatch's loss, grouped by the module that recorded each op.
    loss = 0.5 * F.mse_loss(model(ag.tensor(x[:10])), ag.tensor(y[:10]), reduction="sum")
    graph_path = write_graph(loss, model, args.out)
    loss_path = write_curve(history, scores, args.plot or os.path.join(args.out, "loss.png"))
    return {"history": history, "seconds": seconds, "test": scores, "graph": graph_path, "loss_plot": loss_path}


def one_blas_thread() -> contextlib.AbstractContextManager:
    """numpy's BLAS held to one thread (when threadpoolctl is installed, as the extras do)."""
    # The products here are small (100 x 128): a second BLAS thread only adds synchronisation, and on a busy
    # 2-core machine its spinning made training 10x slower. A fixed thread count also fixes the order of
    # BLAS's sums, so every machine retraces the same run to the same held-out score.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def write_graph(loss: ag.Tensor, model: nn.Module, out: str) -> str:
    """OUT/graph.svg; without any renderer OUT/graph.dot and how to render it. Returns the path written."""
    source = ag.viz.to_dot(loss, modules=model)
    svg_path = os.path.join(out, "graph.svg")
    try:
        svg = ag.viz.svg(source)
    except RuntimeError as e:  # no renderer here: the DOT text is the picture's source, to render anywhere
        path = os.path.join(out, "graph.dot")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        print(f"wrote {path}, not drawn: {e}")
        print(f"  to draw it: dot -Tsvg {path} -o {svg_path}")
        return path
    with open(svg_path, "w", encoding="utf-8") as f:
        f.write(svg)
    by = "Graphviz's dot" if ag.viz.renderer() == "dot" else "the in-process Graphviz"
    print(f"wrote {svg_path} (drawn by {by})")
    return svg_path


def write_curve(history: list, scores: dict, path: str) -> str | None:
    """The loss per epoch as a picture at `path` (None, and a note, without matplotlib)."""
    try:
        fig, ax = common.figure()
    except ImportError:
        print("loss curve not drawn: matplotlib is missing (pip install matplotlib, or the examples extra)")
        return None
    ax.semilogy(np.arange(1, len(history) + 1), history)
    ax.set(xlabel="epoch", ylabel="sum |output delta|",
           title=f"binary addition: held-out bit accuracy {scores['bit_accuracy']:.3f}")
    print("wrote", common.save(fig, path))
    return path


if __name__ == "__main__":
    main()
