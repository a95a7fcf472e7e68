"""Binary addition with a 24-128-64-12 sigmoid MLP (seed 000): learn the bits of a+b from the bits of a and b.

The seed trained this network with hand-written deltas and printed a loss of about 1.92 after 1000 epochs.
Here the same network, data, initialisation and update come from `nn` and `autograd`: the loss
0.5 * sum((out - y)**2) has exactly the seed's gradient, so the run retraces the seed's numbers.

    python -m examples.binary_addition --epochs 1000
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common
from .data import binary_addition, bits_to_int, drop_seen


def build_model(bits: int = 12, hidden: tuple[int, ...] = (128, 64),
                rs: np.random.RandomState | None = None) -> nn.Sequential:
    """Sigmoid MLP (2*bits) -> hidden... -> bits without biases, weights drawn as the seed did:
    randn * 0.2 - 0.1 of shape (in, out), layer by layer from `rs` (each Linear stores it transposed)."""
    rs = rs if rs is not None else np.random.RandomState(0)
    sizes = (2 * bits, *hidden, bits)
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False, init=lambda shape, _: rs.randn(*shape[::-1]).T * 0.2 - 0.1),
                   nn.Sigmoid()]
    return nn.Sequential(*layers)


def seed_loss(out: np.ndarray, y: np.ndarray) -> float:
    """The figure the seed printed: sum of |(out - y) * out * (1 - out)| (its output-layer delta)."""
    return float(np.abs((out - y) * out * (1 - out)).sum())


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float = 0.1,
          batch_size: int = 10, quiet: bool = False, desc: str = "binary addition") -> list[float]:
    """Plain minibatch SGD in the seed's fixed batch order on 0.5*sum((out-y)**2);
    returns the seed's loss figure for every epoch."""
    opt = optim.SGD(model.parameters(), lr=lr)
    history = []
    bar = common.progress(range(epochs), quiet=quiet, desc=desc, unit="epoch")
    for _ in bar:
        total = 0.0
        for start in range(0, len(x) - batch_size + 1, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            out = model(ag.tensor(xb))
            loss = 0.5 * F.mse_loss(out, ag.tensor(yb), reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += seed_loss(out.data, yb)
        history.append(total)
        bar.set_postfix(loss=f"{total:.3f}")
    return history


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> dict:
    """Bit accuracy and exact-sum accuracy (all bits right) of the thresholded outputs."""
    with ag.no_grad():
        out = model(ag.tensor(x)).data
    pred = out > 0.5
    return {"bit_accuracy": float((pred == (y > 0.5)).mean()),
            "exact_accuracy": float((bits_to_int(pred) == bits_to_int(y)).mean())}


def main(argv: list[str] | None = None) -> dict:
    """Train on the seed's 1000 pairs, report the seed's loss and accuracy on held-out pairs."""
    p = common.parser(__doc__.splitlines()[0], epochs=1000, lr=0.1, seed=1)
    p.add_argument("--bits", type=int, default=12, help="bits per number (default 12)")
    p.add_argument("--examples", type=int, default=1000, help="training pairs (default 1000)")
    p.add_argument("--test-examples", type=int, default=1000, help="held-out pairs (default 1000)")
    p.add_argument("--batch-size", type=int, default=10, help="minibatch size (default 10)")
    args = p.parse_args(argv)

    rs = np.random.RandomState(args.seed)  # data first, then weights: the seed's order of draws
    x, y = binary_addition(args.bits, args.examples, rs)
    model = build_model(args.bits, rs=rs)
    x_test, y_test = drop_seen(*binary_addition(args.bits, args.test_examples,
                                                np.random.RandomState(args.seed + 1000)), x)

    t0 = time.perf_counter()
    history = train(model, x, y, args.epochs, args.lr, args.batch_size, args.quiet)
    seconds = time.perf_counter() - t0
    result = {"loss": history[-1], "history": history, "seconds": seconds,
              "train": evaluate(model, x, y), "test": evaluate(model, x_test, y_test)}
    print(f"epoch {args.epochs}: loss {history[-1]:.4f} (seed's figure), {seconds:.1f} s")
    print(f"train pairs:    bit accuracy {result['train']['bit_accuracy']:.4f}, "
          f"exact sums {result['train']['exact_accuracy']:.4f}")
    print(f"held-out pairs: bit accuracy {result['test']['bit_accuracy']:.4f}, "
          f"exact sums {result['test']['exact_accuracy']:.4f}")
    if args.plot:
        fig, ax = common.figure()
        ax.semilogy(np.arange(1, len(history) + 1), history)
        ax.set(xlabel="epoch", ylabel="sum |output delta| (seed's loss)", title="binary addition, 24-128-64-12")
        print("wrote", common.save(fig, args.plot))
    return result


if __name__ == "__main__":
    main()
