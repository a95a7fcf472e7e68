"""A recurrent network adds 8-bit numbers bit by bit (seed 001): operands enter least significant bit first.

As in the seed ("anyone can learn to code an RNN"): 2 inputs (one bit of each operand), a sigmoid hidden
state of 16 units that must learn to hold the carry, one sigmoid output bit per step, the loss
0.5 * sum((out - y)**2) and plain SGD (lr 0.1) on one pair at a time. The operands lie below 128, so there
are 128 * 128 = 16,384 pairs; the network trains on 1,000 of them and is scored on all the others.

--bptt K trains with truncated backpropagation through time: the hidden state still flows forward across
the whole sequence, but it is detached every K steps, so gradients stop at window boundaries.

    python -m examples.rnn_binary_addition --plot rnn.png
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common


class BitAdder(nn.Module):
    """RNN over the bit sequence plus a per-step sigmoid read-out: (T, batch, 2) -> (T, batch, 1)."""

    def __init__(self, hidden: int = 16, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.rnn = nn.RNN(2, hidden, nonlinearity="sigmoid", rng=rng)
        self.out = nn.Linear(hidden, 1, rng=rng)
        # The seed's initialisation, U(-1, 1) for every weight: with the cell's default U(-1/4, 1/4) the
        # sigmoid units start nearly linear around 0.5 and take several times longer to find the carry.
        # Drawn in the seed's (in, out) shapes and order, with one bias per unit (bias_hh starts at zero:
        # the two recurrent biases only ever act through their sum).
        g = rng if rng is not None else nn.init.default_rng()
        r = self.rnn
        with ag.no_grad():
            r.weight_ih_l0.copy_(g.uniform(-1.0, 1.0, size=(2, hidden)).T)
            r.weight_hh_l0.copy_(g.uniform(-1.0, 1.0, size=(hidden, hidden)).T)
            r.bias_ih_l0.copy_(g.uniform(-1.0, 1.0, size=hidden))
            r.bias_hh_l0.zero_()
            self.out.weight.copy_(g.uniform(-1.0, 1.0, size=(hidden, 1)).T)
            self.out.bias.copy_(g.uniform(-1.0, 1.0, size=1))

    def forward(self, x: ag.Tensor, h: ag.Tensor | None = None) -> tuple[ag.Tensor, ag.Tensor]:
        """Bit probabilities for every step, and the last hidden state (to carry on, or to detach)."""
        hs, last = self.rnn(x, h)
        return ag.sigmoid(self.out(hs)), last


def all_pairs(bits: int) -> np.ndarray:
    """Every (a, b) with a, b < 2**(bits-1), so that a + b fits in `bits` bits."""
    n = 2 ** (bits - 1)
    a, b = np.divmod(np.arange(n * n), n)
    return np.stack([a, b], axis=1)


def encode(pairs: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (T, N, 2) and targets (T, N, 1), time step t holding bit t (least significant first)."""
    shifts = np.arange(bits)
    a, b, s = (((v[:, None] >> shifts) & 1).T.astype(np.float64) for v in (pairs[:, 0], pairs[:, 1], pairs.sum(1)))
    return np.stack([a, b], axis=-1), s[..., None]


def train_step(model: BitAdder, opt: optim.Optimizer, x: np.ndarray, y: np.ndarray, bptt: int) -> float:
    """One update on a batch, backpropagating through windows of `bptt` steps; returns the loss."""
    opt.zero_grad()
    h, total = None, 0.0
    for start in range(0, x.shape[0], bptt):
        out, h = model(ag.tensor(x[start:start + bptt]), h)
        loss = 0.5 * F.mse_loss(out, ag.tensor(y[start:start + bptt]), reduction="sum") / x.shape[1]
        loss.backward()  # gradients of every window add up in .grad
        h = h.detach()  # truncation: the next window's gradient stops here
        total += float(loss.data)
    opt.step()
    return total


def evaluate(model: BitAdder, x: np.ndarray, y: np.ndarray) -> dict:
    """Bit accuracy and exact-sum accuracy (every bit of the sum right)."""
    with ag.no_grad():
        out, _ = model(ag.tensor(x))
    right = (out.data > 0.5) == (y > 0.5)
    return {"bit_accuracy": float(right.mean()), "exact_accuracy": float(right.all(axis=(0, 2)).mean())}


def main(argv: list[str] | None = None) -> dict:
    """Train on --train-pairs pairs, score on every other pair; returns the figures."""
    p = common.parser(__doc__.splitlines()[0], epochs=10, lr=0.1, seed=0)
    p.add_argument("--bits", type=int, default=8, help="bits of the sum (default 8)")
    p.add_argument("--hidden", type=int, default=16, help="hidden units (default 16)")
    p.add_argument("--train-pairs", type=int, default=1000, help="training pairs (default 1000)")
    p.add_argument("--batch-size", type=int, default=1, help="pairs per update (default 1, as the seed)")
    p.add_argument("--bptt", type=int, default=0, help="truncated BPTT window in steps (default 0: full)")
    args = p.parse_args(argv)
    if args.bits < 2 or args.hidden < 1 or args.batch_size < 1 or args.bptt < 0:
        p.error("need --bits >= 2, --hidden >= 1, --batch-size >= 1, --bptt >= 0")

    rng = np.random.default_rng(args.seed)
    pairs = rng.permutation(all_pairs(args.bits))
    if not 1 <= args.train_pairs < len(pairs):
        p.error(f"--train-pairs must lie in [1, {len(pairs)})")
    x_tr, y_tr = encode(pairs[:args.train_pairs], args.bits)
    x_te, y_te = encode(pairs[args.train_pairs:], args.bits)  # never seen in training
    model = BitAdder(args.hidden, rng=rng)
    opt = optim.SGD(model.parameters(), lr=args.lr)
    bptt = args.bptt or args.bits

    t0 = time.perf_counter()
    losses, accs = [], []
    bar = common.progress(range(args.epochs), quiet=args.quiet, desc="rnn binary addition", unit="epoch")
    for _ in bar:
        order = rng.permutation(args.train_pairs)
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            total += train_step(model, opt, x_tr[:, idx], y_tr[:, idx], bptt) * len(idx)
        losses.append(total / len(order))
        accs.append(evaluate(model, x_te, y_te)["exact_accuracy"])
        bar.set_postfix(loss=f"{losses[-1]:.4f}", heldout=f"{accs[-1]:.3f}")
    seconds = time.perf_counter() - t0

    result = {"train": evaluate(model, x_tr, y_tr), "heldout": evaluate(model, x_te, y_te),
              "n_heldout": len(pairs) - args.train_pairs, "loss": losses, "heldout_exact": accs,
              "seconds": seconds}
    print(f"{args.epochs} epochs of {args.train_pairs} pairs, {seconds:.1f} s, bptt window {bptt}")
    print(f"held-out pairs ({result['n_heldout']}): exact sums {result['heldout']['exact_accuracy']:.4f}, "
          f"bits {result['heldout']['bit_accuracy']:.4f}")
    if not args.quiet:
        show = pairs[args.train_pairs:args.train_pairs + 3]
        with ag.no_grad():
            out, _ = model(ag.tensor(encode(show, args.bits)[0]))
        for (a, b), bits in zip(show, (out.data[:, :, 0] > 0.5).T):
            print(f"  {a} + {b} = {int(bits @ (1 << np.arange(args.bits)))}")
    if args.plot:
        fig, (ax1, ax2) = common.figure(1, 2, figsize=(9, 3.5))
        epochs = np.arange(1, args.epochs + 1)
        ax1.semilogy(epochs, losses)
        ax1.set(xlabel="epoch", ylabel="training loss per pair", title="loss")
        ax2.plot(epochs, accs)
        ax2.set(xlabel="epoch", ylabel="exact sums", title="held-out pairs", ylim=(0, 1.02))
        print("wrote", common.save(fig, args.plot))
    return result


if __name__ == "__main__":
    main()
