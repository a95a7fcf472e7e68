"""A short tour: train the seed's binary-addition MLP, test it on unseen pairs, draw its graph and loss curve.

    python -m examples.demo                 # writes demo_out/graph.svg and demo_out/loss.png
    python -m examples.demo --out /tmp/tour --epochs 1000
"""
from __future__ import annotations

import os
import time

import numpy as np

import autograd as ag
import nn.functional as F

from . import common
from .binary_addition import build_model, evaluate, train
from .data import binary_addition, bits_to_int, drop_seen


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate on held-out pairs, write graph.svg and loss.png into --out; returns the figures."""
    p = common.parser(__doc__.splitlines()[0], epochs=50, lr=0.1, seed=1)
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out/)")
    p.add_argument("--bits", type=int, default=12, help="bits per number (default 12)")
    p.add_argument("--examples", type=int, default=20000,
                   help="training pairs (default 20000: with the seed's 1000 the network memorises instead)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    rs = np.random.RandomState(args.seed)
    x, y = binary_addition(args.bits, args.examples, rs)
    model = build_model(args.bits, rs=rs)
    x_test, y_test = drop_seen(*binary_addition(args.bits, 1000, np.random.RandomState(args.seed + 1000)), x)
    print(f"{args.bits}-bit binary addition: {len(x)} training pairs, {len(x_test)} held-out pairs")
    print(model)

    t0 = time.perf_counter()
    history = train(model, x, y, args.epochs, args.lr, batch_size=10, quiet=args.quiet, desc="training")
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
    graph_path = os.path.join(args.out, "graph.svg")
    with open(graph_path, "wb") as f:
        f.write(ag.viz.draw(loss, modules=model).pipe(format="svg"))
    print("wrote", graph_path)

    fig, ax = common.figure()
    ax.semilogy(np.arange(1, len(history) + 1), history)
    ax.set(xlabel="epoch", ylabel="sum |output delta|", title=f"binary addition: held-out bit accuracy "
           f"{scores['bit_accuracy']:.3f}")
    loss_path = common.save(fig, os.path.join(args.out, "loss.png"))
    print("wrote", loss_path)
    return {"history": history, "seconds": seconds, "test": scores, "graph": graph_path, "loss_plot": loss_path}


if __name__ == "__main__":
    main()
