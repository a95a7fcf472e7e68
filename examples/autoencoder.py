"""The 8-3-8 autoencoder of seed 003: squeeze eight one-hot inputs through three hidden units and back.

The seed trained one example at a time (learning rate 1, weights and biases drawn uniform in [0, 1)) until the
summed squared distance of an epoch fell below 0.002, and printed the hidden code of each input: close to a
3-bit binary code. Its two exercises are options here: a different activation per layer (--activations) and
minibatch training (--batch-size).

    python -m examples.autoencoder
    python -m examples.autoencoder --activations tanh sigmoid
    python -m examples.autoencoder --batch-size 4

Learning rate: 10 (5 with a tanh or relu hidden layer) instead of the seed's 1, which needs ~40000 epochs.
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
X = np.eye(8)


def build_model(activations: tuple[str, str], rng: np.random.Generator, sizes: tuple[int, ...] = (8, 3, 8)
                ) -> nn.Sequential:
    """Linear + activation per layer, weights and biases uniform in [0, 1) as in the seed."""
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"build_model: {len(sizes) - 1} layers need {len(sizes) - 1} activations, "
                         f"got {list(activations)}")
    layers: list[nn.Module] = []
    for (n_in, n_out), act in zip(zip(sizes[:-1], sizes[1:]), activations):
        # the seed's (in, out) draws, stored in PyTorch's (out, in) layout
        linear = nn.Linear(n_in, n_out, init=lambda shape, _: rng.random(shape[::-1]).T)
        linear.bias.data = rng.random(n_out)
        layers += [linear, ACTIVATIONS[act]()]
    return nn.Sequential(*layers)


def hidden_codes(model: nn.Sequential) -> np.ndarray:
    """The hidden layer's output for each one-hot input (rows)."""
    with ag.no_grad():
        return model[1](model[0](ag.tensor(X))).data


def binarize(codes: np.ndarray, activation: str) -> np.ndarray:
    """Threshold codes at the middle of the activation's range (0.5 for sigmoid, 0 for tanh, 0.5 for relu)."""
    return (codes > (0.0 if activation == "tanh" else 0.5)).astype(int)


def train(model: nn.Module, lr: float, batch_size: int, target: float, max_epochs: int,
          quiet: bool = False) -> list[float]:
    """SGD on 0.5 * squared distance (the seed's update), examples in the seed's fixed order, until an epoch's
    summed squared distance (measured before each update, as the seed did) is <= target."""
    opt = optim.SGD(model.parameters(), lr=lr)
    history: list[float] = []
    bar = common.progress(range(max_epochs), quiet=quiet, desc="8-3-8 autoencoder", unit="epoch", miniters=100)
    for _ in bar:
        dist = 0.0
        for start in range(0, len(X), batch_size):
            xb = ag.tensor(X[start:start + batch_size])
            sq = F.mse_loss(model(xb), xb, reduction="sum")
            opt.zero_grad()
            (0.5 * sq).backward()  # summed over the batch: the seed's online updates, accumulated
            opt.step()
            dist += float(sq)
        history.append(dist)
        bar.set_postfix(distance=f"{dist:.4f}", refresh=False)
        if dist <= target:
            break
    return history


def main(argv: list[str] | None = None) -> dict:
    """Train until the distance target, print the hidden code of every input."""
    p = common.parser(__doc__.splitlines()[0], epochs=20000, lr=None, seed=0)
    p.add_argument("--activations", nargs=2, default=["sigmoid", "sigmoid"], choices=sorted(ACTIVATIONS),
                   metavar="ACT", help=f"hidden and output activations, from {sorted(ACTIVATIONS)} "
                                       "(default sigmoid sigmoid)")
    p.add_argument("--batch-size", type=int, default=1, help="examples per update (default 1, the seed's)")
    p.add_argument("--target", type=float, default=0.002, help="stop at this summed squared distance")
    args = p.parse_args(argv)
    if args.lr is None:  # the seed's rate 1 gets there too, in ~40000 epochs; tanh saturates at 10
        args.lr = 10.0 if args.activations[0] == "sigmoid" else 5.0

    model = build_model(tuple(args.activations), np.random.default_rng(args.seed))
    t0 = time.perf_counter()
    history = train(model, args.lr, args.batch_size, args.target, args.epochs, args.quiet)
    seconds = time.perf_counter() - t0
    codes = hidden_codes(model)
    bits = binarize(codes, args.activations[0])
    with ag.no_grad():
        out = model(ag.tensor(X)).data
    result = {"history": history, "epochs": len(history), "distance": history[-1], "codes": codes,
              "bits": bits, "distinct_codes": len({tuple(b) for b in bits}), "seconds": seconds,
              "reconstruction_correct": int((out.argmax(axis=1) == np.arange(8)).sum())}
    print(f"activations {args.activations}, batch size {args.batch_size}: distance {history[-1]:.6f} after "
          f"{len(history)} epochs ({seconds:.1f} s)")
    with np.printoptions(precision=2, suppress=True):
        for i in range(8):
            print(f"input {X[i].astype(int).tolist()} hidden {codes[i]} -> code {''.join(map(str, bits[i]))}")
    print(f"{result['distinct_codes']} distinct binary codes for 8 inputs; "
          f"{result['reconstruction_correct']}/8 inputs reconstructed")
    if args.plot:
        fig, ax = common.figure()
        ax.semilogy(np.arange(1, len(history) + 1), history)
        ax.axhline(args.target, color="gray", linestyle="--", label="target")
        ax.set(xlabel="epoch", ylabel="summed squared distance", title="8-3-8 autoencoder")
        ax.legend()
        print("wrote", common.save(fig, args.plot))
    return result


if __name__ == "__main__":
    main()
