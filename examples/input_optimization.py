"""Optimize a trained network's input (seed 004): which x in [0, 1]^2 makes the output 1?

The seed trained a 2-3-1 sigmoid network so that only [0, 1] gives 1, then ran gradient descent on the input
itself with the weights fixed, and watched x drift to [-0.11, 2.0]: nothing kept it inside [0, 1]. Here the
weights are frozen (requires_grad off) and the input is x = sigmoid(u) with u the free variable, so x can
never leave (0, 1); it ends near [0, 1]. --method clip (projected steps) and --method free (the seed's
unconstrained descent) are there to compare.

    python -m examples.input_optimization
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common

X = np.array([[0, 1], [1, 0], [1, 1], [0, 0]], dtype=np.float64)
Y = np.array([[1], [0], [0], [0]], dtype=np.float64)  # only [0, 1] should give 1


def build_model(rng: np.random.Generator) -> nn.Sequential:
    """2 -> 3 -> 1 with sigmoids, weights and biases uniform in [0, 1) like the seed's theano.shared(rand)."""
    layers: list[nn.Module] = []
    for n_in, n_out in ((2, 3), (3, 1)):
        # the seed's (in, out) draws, stored in PyTorch's (out, in) layout
        linear = nn.Linear(n_in, n_out, init=lambda shape, _: rng.random(shape[::-1]).T)
        linear.bias.data = rng.random(n_out)
        layers += [linear, nn.Sigmoid()]
    return nn.Sequential(*layers)


def train(model: nn.Module, epochs: int, lr: float, quiet: bool) -> list[float]:
    """The seed's training: one example at a time, SGD on (out - y)**2; returns the loss of each epoch."""
    opt = optim.SGD(model.parameters(), lr=lr)
    history = []
    bar = common.progress(range(epochs), quiet=quiet, desc="train 2-3-1", unit="epoch", miniters=200)
    for _ in bar:
        total = 0.0
        for xi, yi in zip(X, Y):
            loss = F.mse_loss(model(ag.tensor(xi[None])), ag.tensor(yi[None]), reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss)
        history.append(total)
        bar.set_postfix(loss=f"{total:.4f}", refresh=False)
    return history


def optimize_input(model: nn.Module, x0: np.ndarray, method: str, steps: int, lr: float,
                   quiet: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """Gradient descent on (f(x) - 1)**2 over the input x with the weights frozen; returns x and its path.

    method: "sigmoid" (x = sigmoid(u), descend on u), "clip" (step on x, then clip to [0, 1]),
    "free" (step on x, no constraint: the seed's version)."""
    if method not in ("sigmoid", "clip", "free"):
        raise ValueError(f"optimize_input: unknown method {method!r}")
    model.requires_grad_(False)  # frozen weights: gradients flow only to the input
    x0 = np.clip(x0, 1e-6, 1 - 1e-6)
    var = ag.tensor(np.log(x0 / (1 - x0)) if method == "sigmoid" else x0, requires_grad=True)
    opt = optim.SGD([var], lr=lr)
    path = []
    bar = common.progress(range(steps), quiet=quiet, desc=f"input ({method})", unit="step", miniters=200)
    for _ in bar:
        x = var.sigmoid() if method == "sigmoid" else var
        path.append(np.array(x.data))  # before the step changes var in place
        out = model(x[None])
        cost = ((out - 1.0) ** 2).sum()
        opt.zero_grad()
        cost.backward()
        opt.step()
        if method == "clip":
            var.data = np.clip(var.data, 0.0, 1.0)
        bar.set_postfix(cost=f"{float(cost):.2e}", refresh=False)
    x_final = np.asarray(var.sigmoid().data if method == "sigmoid" else var.data)
    path.append(x_final.copy())
    return x_final, path


def main(argv: list[str] | None = None) -> dict:
    """Train the 2-3-1 network, then optimize its input by each method; report where x ends."""
    p = common.parser(__doc__.splitlines()[0], epochs=5000, lr=0.1, seed=0)
    p.add_argument("--steps", type=int, default=3000, help="input optimization steps (default 3000)")
    p.add_argument("--input-lr", type=float, default=5.0, help="step size on the input (default 5)")
    p.add_argument("--methods", nargs="+", default=["sigmoid", "clip", "free"],
                   choices=["sigmoid", "clip", "free"], help="ways to keep x in [0, 1] (default: all three)")
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    model = build_model(rng)
    t0 = time.perf_counter()
    history = train(model, args.epochs, args.lr, args.quiet)
    with ag.no_grad():
        outputs = model(ag.tensor(X)).data[:, 0]
    print(f"trained {args.epochs} epochs: loss {history[-1]:.5f}; outputs for {X.astype(int).tolist()}: "
          f"{np.round(outputs, 4).tolist()}")
    # A random start inside the square (the seed pinned x[0] = 1, a corner where sigmoid(u) has no slope).
    x0 = rng.uniform(0.1, 0.9, size=2)
    result: dict = {"history": history, "outputs": outputs, "x0": x0, "runs": {}}
    for method in args.methods:
        x, path = optimize_input(model, x0.copy(), method, args.steps, args.input_lr, args.quiet)
        with ag.no_grad():
            f = float(model(ag.tensor(x[None])).data[0, 0])
        dist = float(np.linalg.norm(x - np.array([0.0, 1.0])))
        result["runs"][method] = {"x": x, "output": f, "distance": dist, "path": np.array(path)}
        print(f"{method:>8}: x = {np.round(x, 4).tolist()}  f(x) = {f:.4f}  |x - [0, 1]| = {dist:.4f}")
    result["seconds"] = time.perf_counter() - t0
    print(f"{result['seconds']:.1f} s")
    if args.plot:
        plot(model, result, args.plot)
    return result


def plot(model: nn.Module, result: dict, path: str) -> None:
    """The network's output over the input plane, with each method's path from the same start."""
    g = np.linspace(-0.5, 2.0, 120)
    gx, gy = np.meshgrid(g, g)
    with ag.no_grad():
        z = model(ag.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))).data.reshape(gx.shape)
    fig, ax = common.figure(figsize=(6, 5))
    cs = ax.contourf(gx, gy, z, levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="network output")
    ax.plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], color="white", lw=1, ls=":")
    for method, run in result["runs"].items():
        ax.plot(run["path"][:, 0], run["path"][:, 1], lw=2, label=f"{method}: ends at {np.round(run['x'], 2)}")
    ax.plot(*result["x0"], "wo")
    ax.set(xlabel="x[0]", ylabel="x[1]", title="gradient descent on the input (dotted: [0, 1]^2)",
           xlim=(g[0], g[-1]), ylim=(g[0], g[-1]))  # the free path may run far off this frame
    ax.legend(fontsize=8)
    print("wrote", common.save(fig, path))


if __name__ == "__main__":
    main()
