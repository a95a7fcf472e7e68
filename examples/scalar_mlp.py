"""One small classifier written twice: from 0-d tensors, one multiply-add at a time, and as batched matrices.

A 2-16-16-1 ReLU network on 100 points of scikit-learn's two moons, trained with the SVM hinge loss and L2
penalty by full-batch SGD (the classic micrograd demo). Both versions start from the same weights and
compute the same numbers; the scalar one records tens of thousands of graph nodes per step, the batched
one about twenty, and the timings show what that costs.

    python -m examples.scalar_mlp
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common


def init_weights(sizes: tuple[int, ...], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (in, out), bias (out,)) per layer, uniform in [-1, 1] like micrograd's neurons."""
    return [(rng.uniform(-1, 1, (n_in, n_out)), np.zeros(n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


class Neuron(nn.Module):
    """One unit over 0-d parameters: b + w0*x0 + w1*x1 + ..., then ReLU unless it is an output."""

    def __init__(self, weights: np.ndarray, bias: float, relu: bool) -> None:
        super().__init__()
        for i, w in enumerate(weights):
            setattr(self, f"w{i}", nn.Parameter(np.float64(w)))
        self.b = nn.Parameter(np.float64(bias))
        self.n_in, self.relu = len(weights), relu

    def forward(self, xs: list) -> ag.Tensor:
        s = self.b
        for i in range(self.n_in):
            s = s + getattr(self, f"w{i}") * xs[i]  # one multiply and one add per input: two graph nodes
        return s.relu() if self.relu else s


class ScalarMLP(nn.Module):
    """Layers of Neurons; forward takes one point (a list of numbers) and returns a 0-d tensor."""

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(Neuron(w[:, j], b[j], relu=k < len(weights) - 1) for j in range(w.shape[1]))
            for k, (w, b) in enumerate(weights))

    def forward(self, x: list) -> ag.Tensor:
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x[0]


def batched_mlp(weights: list[tuple[np.ndarray, np.ndarray]]) -> nn.Sequential:
    """The same network as Linear layers holding whole weight matrices."""
    layers: list[nn.Module] = []
    for k, (w, b) in enumerate(weights):
        linear = nn.Linear(*w.shape, init=lambda shape, _, w=w: w.T.copy())  # Linear keeps (out, in)
        linear.bias.data = b.copy()
        layers += [linear] + ([nn.ReLU()] if k < len(weights) - 1 else [])
    return nn.Sequential(*layers)


def scalar_loss(model: ScalarMLP, x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[ag.Tensor, float]:
    """Mean hinge loss + alpha * sum of squared parameters, all in 0-d tensors; also the accuracy."""
    scores = [model([float(v) for v in row]) for row in x]
    hinge = [(1.0 - float(yi) * s).relu() for yi, s in zip(y, scores)]
    data_loss = hinge[0]
    for h in hinge[1:]:
        data_loss = data_loss + h
    reg = 0.0
    for p in model.parameters():
        reg = reg + p * p
    acc = float(np.mean([(float(s) > 0) == (yi > 0) for yi, s in zip(y, scores)]))
    return data_loss * (1.0 / len(x)) + alpha * reg, acc


def batched_loss(model: nn.Module, x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[ag.Tensor, float]:
    """The same loss on whole arrays."""
    scores = model(ag.tensor(x))[:, 0]
    data_loss = F.relu(1.0 - ag.tensor(y) * scores).mean()
    reg = sum((p * p).sum() for p in model.parameters())
    acc = float(((scores.data > 0) == (y > 0)).mean())
    return data_loss + alpha * reg, acc


def train(model: nn.Module, loss_fn, x: np.ndarray, y: np.ndarray, steps: int, alpha: float, quiet: bool,
          desc: str, schedule: int | None = None) -> tuple[list[float], list[float], float]:
    """Full-batch SGD with the demo's decaying rate 1 - 0.9 k / schedule (default schedule = steps), for
    `steps` steps; returns losses, accuracies, seconds."""
    schedule = schedule or steps
    opt = optim.SGD(model.parameters(), lr=1.0)
    losses, accs = [], []
    t0 = time.perf_counter()
    bar = common.progress(range(steps), quiet=quiet, desc=desc, unit="step")
    for k in bar:
        loss, acc = loss_fn(model, x, y, alpha)
        opt.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * k / schedule
        opt.step()
        losses.append(float(loss))
        accs.append(acc)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", acc=f"{acc:.2f}")
    return losses, accs, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    """Train both versions from the same start; print their losses, accuracies and times."""
    p = common.parser(__doc__.splitlines()[0], epochs=100, lr=1.0, seed=0)
    p.add_argument("--points", type=int, default=100, help="points of make_moons (default 100)")
    p.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty (default 1e-4)")
    p.add_argument("--scalar-steps", type=int, default=25,
                   help="steps for the slow scalar version (default 25; each takes about a second)")
    args = p.parse_args(argv)
    if args.lr != 1.0:
        p.error("--lr: the demo's schedule 1 - 0.9 k / steps is fixed")
    from sklearn.datasets import make_moons

    x, y01 = make_moons(n_samples=args.points, noise=0.1, random_state=args.seed)
    y = 2.0 * y01 - 1.0
    weights = init_weights((2, 16, 16, 1), np.random.default_rng(args.seed))
    scalar, batched = ScalarMLP(weights), batched_mlp(weights)
    s_steps = min(args.scalar_steps, args.epochs)

    b_loss, b_acc, b_time = train(batched, batched_loss, x, y, args.epochs, args.alpha, args.quiet, "batched")
    s_loss, s_acc, s_time = train(scalar, scalar_loss, x, y, s_steps, args.alpha, args.quiet, "scalar",
                                  schedule=args.epochs)
    nodes = {"scalar": count_ops(scalar_loss(ScalarMLP(weights), x, y, args.alpha)[0]),
             "batched": count_ops(batched_loss(batched_mlp(weights), x, y, args.alpha)[0])}
    result = {"scalar": {"loss": s_loss, "accuracy": s_acc, "seconds": s_time, "steps": s_steps},
              "batched": {"loss": b_loss, "accuracy": b_acc, "seconds": b_time, "steps": args.epochs},
              "parameters": batched.num_parameters(), "ops": nodes}
    per_s, per_b = s_time / max(s_steps, 1), b_time / max(args.epochs, 1)
    print(f"{result['parameters']} parameters, {args.points} points; one loss evaluation records "
          f"{nodes['scalar']} ops as scalars, {nodes['batched']} batched")
    print(f"batched: {args.epochs} steps in {b_time:.2f} s ({per_b * 1e3:.2f} ms/step), final loss {b_loss[-1]:.4f}, "
          f"accuracy {b_acc[-1]:.3f}")
    print(f"scalar:  {s_steps} steps in {s_time:.2f} s ({per_s * 1e3:.1f} ms/step), loss {s_loss[-1]:.4f}, "
          f"accuracy {s_acc[-1]:.3f} (batched after {s_steps} steps: {b_loss[s_steps - 1]:.4f}, "
          f"{b_acc[s_steps - 1]:.3f})")
    print(f"same numbers: largest loss difference over the shared steps "
          f"{max(abs(a - b) for a, b in zip(s_loss, b_loss)):.2e}; the scalar version is "
          f"{per_s / per_b:.0f}x slower per step ({args.epochs} scalar steps would take {per_s * args.epochs:.0f} s)")
    result["speedup"] = per_s / per_b
    if args.plot:
        plot(batched, x, y01, b_loss, s_loss, args.plot)
    return result


def count_ops(root: ag.Tensor) -> int:
    """Number of recorded ops (graph nodes) behind root."""
    seen, stack = set(), [root]
    while stack:
        ctx = stack.pop().grad_fn
        if ctx is None or id(ctx) in seen:
            continue
        seen.add(id(ctx))
        stack.extend(t for t in ctx.inputs if isinstance(t, ag.Tensor))
    return len(seen)


def plot(model: nn.Module, x: np.ndarray, y01: np.ndarray, b_loss: list, s_loss: list, path: str) -> None:
    """Decision regions of the trained batched model, and both loss curves."""
    fig, (ax0, ax1) = common.figure(1, 2, figsize=(10, 4))
    g0, g1 = np.meshgrid(np.linspace(x[:, 0].min() - 0.5, x[:, 0].max() + 0.5, 150),
                         np.linspace(x[:, 1].min() - 0.5, x[:, 1].max() + 0.5, 150))
    with ag.no_grad():
        z = model(ag.tensor(np.stack([g0.ravel(), g1.ravel()], axis=1))).data.reshape(g0.shape)
    ax0.contourf(g0, g1, z > 0, alpha=0.3, cmap="coolwarm")
    ax0.scatter(x[:, 0], x[:, 1], c=y01, cmap="coolwarm", s=15, edgecolors="k")
    ax0.set(title="decision boundary (batched model)")
    ax1.plot(b_loss, label="batched")
    ax1.plot(s_loss, "--", label="scalar")
    ax1.set(xlabel="step", ylabel="loss", yscale="log", title="same training, two implementations")
    ax1.legend()
    print("wrote", common.save(fig, path))


if __name__ == "__main__":
    main()
