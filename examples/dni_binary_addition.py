"""Synthetic gradients on the seed's binary-addition MLP (seed 000): backprop vs last layer only vs DNI vs cDNI.

The seed's network, 24-128-64-12 with sigmoids everywhere, learns the 12 bits of a + b from the bits of a
and b (operands below 2048; 1,000 training pairs). The seed's own DNI program printed a "loss" (the sum of
|output delta|) that stays low for saturated but wrong outputs, so this example measures bit accuracy
instead, on the training pairs and on 1,000 pairs never seen in training. The output sigmoid is scored
by binary cross-entropy (summed over bits, averaged over the batch): with the seed's squared error the same
network learns several times slower. Adam for the network (lr 0.01 for the output layer) and for the
synthesizers (--synth-lr, default the same); cDNI conditions each synthesizer on the target bits.

The hidden layers' learning rate is each method's own (HIDDEN_LR), the best training bit accuracy on
seeds 0-2 over the grid SWEEP_GRID (`--sweep` reruns that selection). Plain DNI needs a rate hundreds
of times smaller than the others: without the label its linear synthesizer predicts only a small,
mostly wrong part of a gradient that depends on parity-like functions of the input, and larger steps
along it saturate the hidden sigmoids; small steps improve the random features a little.

    python -m examples.dni_binary_addition --repeats 3 --plot dni_binary_addition.png
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common
from .data import binary_addition, drop_seen
from .dni_digits import METHODS, train_decoupled

# Hidden-layer learning rates from `--sweep` on seeds 0-2 (training bit accuracy, 100 epochs).
HIDDEN_LR = {"backprop": 3e-2, "last_layer": None, "dni": 3e-5, "cdni": 1e-2}
SWEEP_GRID = (3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5)

OPTIMIZERS = {"adam": lambda params, lr: optim.Adam(params, lr=lr), "sgd": lambda params, lr: optim.SGD(params, lr=lr)}


def build_blocks(sizes: list[int], rng: np.random.Generator) -> list[nn.Module]:
    """Linear+Sigmoid hidden blocks and a Linear output block whose sigmoid lives in the loss."""
    blocks: list[nn.Module] = [nn.Sequential(nn.Linear(a, b, rng=rng), nn.Sigmoid())
                               for a, b in zip(sizes[:-2], sizes[1:-1])]
    return blocks + [nn.Linear(sizes[-2], sizes[-1], rng=rng)]


def bit_accuracy(blocks: list[nn.Module], x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of output bits on the right side of 0.5."""
    with ag.no_grad():
        h = ag.tensor(x)
        for b in blocks:
            h = b(h)
    return float(((h.data > 0) == (y > 0.5)).mean())  # logit > 0 <=> sigmoid > 0.5


def run(method: str, seed: int, epochs: int, lr: float, batch_size: int, bits: int, examples: int,
        synth_lr: float | None = None, synth_hidden: tuple = (), optimizer: str = "adam",
        quiet: bool = True, hidden_lr: float | None = None) -> dict:
    """Train one network by `method`; bit accuracy per epoch on the training pairs, and at the end held out."""
    x, y = binary_addition(bits, examples, np.random.RandomState(seed))
    x_te, y_te = drop_seen(*binary_addition(bits, 1000, np.random.RandomState(seed + 1000)), x)
    rng = np.random.default_rng(seed)
    blocks = build_blocks([2 * bits, 128, 64, bits], rng)
    hist = train_decoupled(blocks, method, x, y,
                           lambda out, t: F.binary_cross_entropy_with_logits(out, t, reduction="sum") / len(t),
                           lambda t: t, epochs, batch_size, lr, rng, lambda: bit_accuracy(blocks, x, y),
                           synth_lr=synth_lr, synth_hidden=synth_hidden, make_optimizer=OPTIMIZERS[optimizer],
                           quiet=quiet, desc=f"{method} (seed {seed})", hidden_lr=hidden_lr)
    hist["train_bits"] = hist["metric"][-1]
    hist["heldout_bits"] = bit_accuracy(blocks, x_te, y_te)
    return hist


def main(argv: list[str] | None = None) -> dict:
    """Run the four methods for each seed; print and return training and held-out bit accuracies."""
    p = common.parser(__doc__.splitlines()[0], epochs=100, lr=0.01, seed=0)
    p.add_argument("--repeats", type=int, default=1, help="seeds seed, seed+1, ... (default 1)")
    p.add_argument("--batch-size", type=int, default=10, help="minibatch size (default 10, the seed's)")
    p.add_argument("--bits", type=int, default=12, help="bits per number (default 12)")
    p.add_argument("--examples", type=int, default=1000, help="training pairs (default 1000)")
    p.add_argument("--synth-lr", type=float, default=None, help="synthesizers' Adam lr (default: --lr)")
    p.add_argument("--synth-hidden", type=int, nargs="*", default=[], help="synthesizer MLP widths (default: linear)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="the network's optimizer")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="methods to run")
    p.add_argument("--hidden-lr", type=float, default=None,
                   help="hidden layers' lr for every method (default: each method's HIDDEN_LR)")
    p.add_argument("--sweep", action="store_true",
                   help="first pick each method's hidden lr from SWEEP_GRID by mean training bit accuracy")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.epochs < 1 or args.bits < 2:
        p.error("--repeats and --epochs must be >= 1, --bits >= 2")

    seeds = list(range(args.seed, args.seed + args.repeats))
    t0 = time.perf_counter()

    def train(method: str, seed: int, hidden_lr: float | None) -> dict:
        return run(method, seed, args.epochs, args.lr, args.batch_size, args.bits, args.examples, args.synth_lr,
                   tuple(args.synth_hidden), args.optimizer, args.quiet, hidden_lr)

    hidden_lr = {m: args.hidden_lr if args.hidden_lr is not None else HIDDEN_LR[m] for m in METHODS}
    sweep: dict = {}
    if args.sweep:
        for m in args.methods:
            if m == "last_layer":
                continue
            sweep[m] = {r: float(np.mean([train(m, s, r)["train_bits"] for s in seeds])) for r in SWEEP_GRID}
            hidden_lr[m] = max(sweep[m], key=sweep[m].get)
            print(f"  {m:<10}  hidden lr " + "  ".join(f"{r:g}: {a:.4f}" for r, a in sweep[m].items())
                  + f"  -> {hidden_lr[m]:g}")
    curves = {m: [train(m, s, hidden_lr[m]) for s in seeds] for m in args.methods}
    train_bits = {m: [h["train_bits"] for h in hs] for m, hs in curves.items()}
    heldout_bits = {m: [h["heldout_bits"] for h in hs] for m, hs in curves.items()}
    result = {"seeds": seeds, "train_bits": train_bits, "heldout_bits": heldout_bits,
              "mean_train_bits": {m: float(np.mean(a)) for m, a in train_bits.items()},
              "mean_heldout_bits": {m: float(np.mean(a)) for m, a in heldout_bits.items()},
              "hidden_lr": {m: hidden_lr[m] for m in args.methods}, "sweep": sweep,
              "seconds": time.perf_counter() - t0}
    print(f"bit accuracy after {args.epochs} epochs, seeds {seeds} ({result['seconds']:.1f} s):")
    for m in args.methods:
        lr_note = "" if hidden_lr[m] is None or m == "last_layer" else f"   (hidden lr {hidden_lr[m]:g})"
        print(f"  {m:<10}  train {result['mean_train_bits'][m]:.4f}   held-out {result['mean_heldout_bits'][m]:.4f}"
              + lr_note)
    if len(seeds) > 1:  # the per-seed figures behind the means, for the README's table
        for m in args.methods:
            print(f"  {m:<10}  train per seed " + " / ".join(f"{a:.4f}" for a in train_bits[m])
                  + "   held-out per seed " + " / ".join(f"{a:.4f}" for a in heldout_bits[m]))
    if args.plot:
        print("wrote", common.plot_curves(curves, args.methods, args.epochs, "training bit accuracy",
                                          "binary addition, 24-128-64-12 sigmoid", args.plot))
    return result


if __name__ == "__main__":
    main()
