"""The seed's binary-addition MLP (24-128-64-12 sigmoid) trained with a compiled step: `ag.compile` records the
first call of the step (forward, zero_grad, backward, SGD update) and replays it as generated numpy code.

The compiled run and an eager run start from the same weights; after the eager run's epochs the two are compared
bit for bit (losses and weights), then the compiled run goes on alone and reports the seed's figures.

    python -m examples.compiled_training --epochs 1000
"""
from __future__ import annotations

import time

import numpy as np

import nn
import nn.functional as F
from autograd.compile import compile as ag_compile
from nn import optim

from . import common
from .binary_addition import build_model, evaluate, seed_loss
from .data import binary_addition, drop_seen


def make_step(model: nn.Module, opt: optim.Optimizer):
    """One training step on a batch: returns the loss and the network's output (for the seed's figure)."""
    def step(xb: np.ndarray, yb: np.ndarray) -> tuple:
        out = model(xb)
        loss = 0.5 * F.mse_loss(out, yb, reduction="sum")
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, out
    return step


def run_epochs(step, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, quiet: bool,
               desc: str) -> tuple[list[float], list[float], float]:
    """Epochs of minibatch SGD in the seed's fixed batch order: (seed's figure per epoch, every step's loss,
    seconds)."""
    history, losses = [], []
    t0 = time.perf_counter()
    bar = common.progress(range(epochs), quiet=quiet, desc=desc, unit="epoch")
    for _ in bar:
        total = 0.0
        for start in range(0, len(x) - batch_size + 1, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            loss, out = step(xb, yb)
            losses.append(loss.item())
            total += seed_loss(out.data, yb)
        history.append(total)
        bar.set_postfix(loss=f"{total:.3f}")
    return history, losses, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    """Train compiled and eager side by side for a few epochs, check they agree exactly, then go on compiled."""
    p = common.parser(__doc__.splitlines()[0], epochs=1000, lr=0.1, seed=1)
    p.add_argument("--eager-epochs", type=int, default=3, help="epochs also run eagerly, to compare (default 3)")
    p.add_argument("--batch-size", type=int, default=10, help="minibatch size (default 10)")
    args = p.parse_args(argv)
    rs = np.random.RandomState(args.seed)  # data first, then weights: the seed's order of draws
    x, y = binary_addition(12, 1000, rs)
    state = rs.get_state()
    models = []
    for _ in range(2):  # two identical networks: the same draws from the same state
        rs.set_state(state)
        models.append(build_model(12, rs=rs))
    eager_model, model = models
    x_test, y_test = drop_seen(*binary_addition(12, 1000, np.random.RandomState(args.seed + 1000)), x)
    opt = optim.SGD(model.parameters(), lr=args.lr)
    step = ag_compile(make_step(model, opt))
    eager_step = make_step(eager_model, optim.SGD(eager_model.parameters(), lr=args.lr))

    k = min(args.eager_epochs, args.epochs)
    _, eager_losses, eager_s = run_epochs(eager_step, x, y, k, args.batch_size, args.quiet, "eager")
    history, losses, compiled_s = run_epochs(step, x, y, k, args.batch_size, args.quiet, "compiled")
    identical = eager_losses == losses and all(np.array_equal(a.data, b.data) for a, b in
                                               zip(eager_model.parameters(), model.parameters()))
    more, more_losses, more_s = run_epochs(step, x, y, args.epochs - k, args.batch_size, args.quiet, "compiled")
    history, losses, compiled_s = history + more, losses + more_losses, compiled_s + more_s
    n, steps = len(eager_losses), len(losses)
    per_eager = eager_s / max(n, 1)
    per_compiled = compiled_s / max(steps, 1)
    per_epoch = len(losses) // max(args.epochs, 1)
    epoch_loss = [float(np.mean(losses[i:i + per_epoch])) for i in range(0, len(losses), per_epoch)]
    result = {"history": history, "loss": history[-1], "epoch_loss": epoch_loss, "identical": identical,
              "recordings": step.recordings,
              "eager_step_s": per_eager, "compiled_step_s": per_compiled,
              "train": evaluate(model, x, y), "test": evaluate(model, x_test, y_test)}
    print(f"first {k} epochs ({n} steps): compiled and eager runs {'identical' if identical else 'DIFFER'} "
          "(every loss and every weight, bit for bit)")
    print(f"step time: eager {per_eager * 1e6:.0f} us, compiled {per_compiled * 1e6:.0f} us "
          f"({per_eager / per_compiled:.1f}x faster; the first call recorded, {step.recordings} recording)")
    print(f"epoch {args.epochs}: loss {history[-1]:.4f} (seed's figure); exact sums: train "
          f"{result['train']['exact_accuracy']:.3f}, held-out {result['test']['exact_accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main()
