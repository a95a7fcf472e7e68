"""Decoupled neural interfaces on handwritten digits: backprop vs last layer only vs DNI vs cDNI.

A 64-64-64-10 ReLU MLP on scikit-learn's bundled 8x8 digits (80/20 split), batch 32, Adam 1e-3 for the
network and for the synthesizers, 30 epochs. With DNI or cDNI a synthetic-gradient module sits after each
hidden layer: that layer is updated at once from the prediction (`dni.backward()` sends it down before the
layers above have even run),
and the module then learns from the gradient that arrives at its output (the true one for the top module,
the next module's prediction backpropagated for the lower one). cDNI also sees the one-hot label.
"Last layer only" trains the output layer on frozen random features: DNI must do better than that.

    python -m examples.dni_digits --plot dni_digits.png
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common
from .data import load_digits

METHODS = ("backprop", "last_layer", "dni", "cdni")


def train_decoupled(blocks: list[nn.Module], method: str, x: np.ndarray, y: np.ndarray,
                    loss_fn: Callable[[ag.Tensor, np.ndarray], ag.Tensor], context: Callable[[np.ndarray], np.ndarray],
                    epochs: int, batch_size: int, lr: float, rng: np.random.Generator,
                    evaluate: Callable[[], float], synth_lr: float | None = None, synth_hidden: tuple = (),
                    make_optimizer: Callable[[list, float], optim.Optimizer] = optim.Adam,
                    quiet: bool = False, desc: str = "", hidden_lr: float | None = None) -> dict:
    """Train blocks[0] -> ... -> blocks[-1] (hidden blocks, then the output block) by `method`, one Adam per
    block; a DNI follows each hidden block for 'dni'/'cdni' (cDNI conditioned on context(y_batch)), its
    synthesizer linear or an MLP with hidden widths synth_hidden, trained by Adam(synth_lr or lr).
    make_optimizer(params, lr) builds each block's optimizer (Adam by default); the hidden blocks use
    hidden_lr when it is given, the output block always lr.
    Returns {'loss': per epoch, 'metric': evaluate() per epoch, 'synth_loss': per epoch per DNI}."""
    if method not in METHODS:
        raise ValueError(f"train_decoupled: method must be one of {METHODS}, got {method!r}")
    lrs = [lr if hidden_lr is None else hidden_lr] * (len(blocks) - 1) + [lr]
    opts = [make_optimizer(list(b.parameters()), r) for b, r in zip(blocks, lrs)]
    dnis: list[nn.DNI] = []
    if method in ("dni", "cdni"):
        with ag.no_grad():  # the widths of the hidden activations, from a forward pass on one example
            h, widths = ag.tensor(x[:1]), []
            for b in blocks[:-1]:
                h = b(h)
                widths.append(h.shape[1])
        n_ctx = context(y[:1]).shape[1] if method == "cdni" else 0
        dnis = [nn.DNI(w, conditioned_on=n_ctx, hidden=synth_hidden, lr=synth_lr or lr, rng=rng) for w in widths]
    history: dict = {"loss": [], "metric": [], "synth_loss": []}
    bar = common.progress(range(epochs), quiet=quiet, desc=desc or method, unit="epoch")
    for _ in bar:
        order = rng.permutation(len(x))
        total, synth = 0.0, np.zeros(len(dnis))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            ctx = context(y[idx]) if method == "cdni" else None
            h = ag.tensor(x[idx])
            for k, block in enumerate(blocks[:-1]):
                h = block(h)
                if dnis:
                    h = dnis[k](h, ctx)
                    dnis[k].backward()  # synthetic gradient into `block` now ...
                    opts[k].step()  # ... so it updates before the layers above run (update unlocking)
                    opts[k].zero_grad()
            if method == "last_layer":
                h = h.detach()  # the hidden layers keep their random initial weights
            loss = loss_fn(blocks[-1](h), y[idx])
            loss.backward()  # true gradient: into the output block, and to the top DNI's output
            opts[-1].step()
            opts[-1].zero_grad()
            if method == "backprop":
                for o in opts[:-1]:
                    o.step()
                    o.zero_grad()
            synth += [d.step() for d in dnis]  # each synthesizer regresses onto the gradient it received
            total += float(loss.data) * len(idx)
        history["loss"].append(total / len(x))
        history["synth_loss"].append((synth * batch_size / len(x)).tolist())
        history["metric"].append(evaluate())
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", metric=f"{history['metric'][-1]:.3f}")
    return history


def build_blocks(sizes: list[int], rng: np.random.Generator) -> list[nn.Module]:
    """Linear+ReLU blocks for the hidden layers and a final Linear producing logits."""
    blocks: list[nn.Module] = [nn.Sequential(nn.Linear(a, b, rng=rng), nn.ReLU())
                               for a, b in zip(sizes[:-2], sizes[1:-1])]
    return blocks + [nn.Linear(sizes[-2], sizes[-1], rng=rng)]


def run(method: str, seed: int, epochs: int, lr: float, batch_size: int, hidden: list[int],
        quiet: bool = True) -> dict:
    """Train one network by `method` with `seed` (initial weights and batch order); test accuracy per epoch."""
    x_tr, y_tr, x_te, y_te = load_digits(0.2, seed=0)  # one fixed split: methods and seeds see the same data
    rng = np.random.default_rng(seed)
    blocks = build_blocks([x_tr.shape[1], *hidden, 10], rng)

    def test_accuracy() -> float:
        with ag.no_grad():
            h = ag.tensor(x_te)
            for b in blocks:
                h = b(h)
        return float((h.data.argmax(1) == y_te).mean())

    return train_decoupled(blocks, method, x_tr, y_tr, lambda out, t: F.cross_entropy(out, t),
                           lambda t: F.one_hot(t, 10), epochs, batch_size, lr, rng, test_accuracy,
                           quiet=quiet, desc=f"{method} (seed {seed})")


def main(argv: list[str] | None = None) -> dict:
    """Run the four methods for each seed; print and return the test accuracies."""
    p = common.parser(__doc__.splitlines()[0], epochs=30, lr=1e-3, seed=0)
    p.add_argument("--repeats", type=int, default=3, help="seeds seed, seed+1, ... (default 3)")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64], help="hidden widths (default 64 64)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="methods to run")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.epochs < 1:
        p.error("--repeats and --epochs must be >= 1")

    seeds = list(range(args.seed, args.seed + args.repeats))
    t0 = time.perf_counter()
    curves = {m: [run(m, s, args.epochs, args.lr, args.batch_size, args.hidden, args.quiet)
                  for s in seeds] for m in args.methods}
    accuracy = {m: [h["metric"][-1] for h in hs] for m, hs in curves.items()}
    result = {"seeds": seeds, "accuracy": accuracy, "mean": {m: float(np.mean(a)) for m, a in accuracy.items()},
              "synth_loss": {m: [h["synth_loss"][-1] for h in hs] for m, hs in curves.items()},
              "seconds": time.perf_counter() - t0}
    print(f"test accuracy after {args.epochs} epochs, seeds {seeds} ({result['seconds']:.1f} s):")
    for m in args.methods:
        print(f"  {m:<10}  mean {result['mean'][m]:.4f}   " + "  ".join(f"{a:.4f}" for a in accuracy[m]))
    if args.plot:
        print("wrote", common.plot_curves(curves, args.methods, args.epochs, "test accuracy (mean over seeds)",
                                          "digits: 64-64-64-10 ReLU MLP", args.plot))
    return result


if __name__ == "__main__":
    main()
