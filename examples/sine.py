"""sin(x) two ways (seed 004): as 21-class classification of round(sin x, 1) and as regression.

The seed's network read x in [-200, 200] and picked one of 21 classes (-1.0, -0.9, ..., 1.0) with a squared
error; it stayed at chance (48/1000 right). As its answer said: use cross-entropy for the classes, or regress
the value with the squared error. Both are here, on x in [-xmax, xmax] (default one period: a small network
on one input cannot follow the 64 periods of the seed's range).

    python -m examples.sine --plot sine.png
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim

from . import common

N_CLASSES = 21  # round(sin x, 1) in {-1.0, -0.9, ..., 1.0}


def make_data(n: int, xmax: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x uniform in [-xmax, xmax] (column), sin(x), and the class index of round(sin(x), 1)."""
    x = rng.uniform(-xmax, xmax, size=(n, 1))
    y = np.sin(x)
    labels = (np.round(y[:, 0], 1) * 10).round().astype(np.int64) + N_CLASSES // 2
    return x, y, labels


def mlp(n_out: int, hidden: int, rng: np.random.Generator) -> nn.Sequential:
    """1 -> hidden -> hidden -> n_out with tanh hidden layers."""
    return nn.Sequential(nn.Linear(1, hidden, rng=rng), nn.Tanh(), nn.Linear(hidden, hidden, rng=rng), nn.Tanh(),
                         nn.Linear(hidden, n_out, rng=rng))


def fit(model: nn.Module, x: np.ndarray, target: np.ndarray, loss_fn, epochs: int, lr: float, batch_size: int,
        rng: np.random.Generator, quiet: bool, desc: str) -> list[float]:
    """Adam on minibatches; returns the mean loss of each epoch."""
    opt = optim.Adam(model.parameters(), lr=lr)
    # A tenth of the rate for the last 30% of the epochs settles the class boundaries.
    sched = optim.StepLR(opt, step_size=max(1, int(0.7 * epochs)), gamma=0.1)
    history = []
    bar = common.progress(range(epochs), quiet=quiet, desc=desc, unit="epoch")
    for _ in bar:
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(model(ag.tensor(x[idx])), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        history.append(total / len(x))
        bar.set_postfix(loss=f"{history[-1]:.4g}")
    return history


def main(argv: list[str] | None = None) -> dict:
    """Train the classifier and the regressor on the same points; report accuracy and error on new points."""
    p = common.parser(__doc__.splitlines()[0], epochs=300, lr=0.01, seed=0)
    p.add_argument("--xmax", type=float, default=np.pi, help="x range [-xmax, xmax] (default pi)")
    p.add_argument("--train", type=int, default=2000, help="training points (default 2000)")
    p.add_argument("--test", type=int, default=1000, help="test points (default 1000, as the seed)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units per layer (default 64)")
    p.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64)")
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x, y, labels = make_data(args.train, args.xmax, rng)
    x_te, y_te, labels_te = make_data(args.test, args.xmax, rng)
    # Inputs in [-3, 3]: small enough for tanh, large enough that the first layer starts out non-linear.
    scale = 3.0 / args.xmax

    t0 = time.perf_counter()
    clf = mlp(N_CLASSES, args.hidden, rng)
    clf_hist = fit(clf, x * scale, labels, F.cross_entropy, args.epochs, args.lr, args.batch_size, rng,
                   args.quiet, "sin(x) classes")
    reg = mlp(1, args.hidden, rng)
    reg_hist = fit(reg, x * scale, y, F.mse_loss, args.epochs, args.lr, args.batch_size, rng, args.quiet,
                   "sin(x) regression")
    seconds = time.perf_counter() - t0

    with ag.no_grad():
        pred_class = clf(ag.tensor(x_te * scale)).data.argmax(axis=1)
        pred_value = reg(ag.tensor(x_te * scale)).data
    result = {"accuracy": float((pred_class == labels_te).mean()),
              "within_one_class": float((np.abs(pred_class - labels_te) <= 1).mean()),
              "rmse": float(np.sqrt(((pred_value - y_te) ** 2).mean())),
              "max_error": float(np.abs(pred_value - y_te).max()),
              "classifier_history": clf_hist, "regression_history": reg_hist, "seconds": seconds}
    print(f"classification: {int(result['accuracy'] * args.test)}/{args.test} test points in the right class "
          f"(accuracy {result['accuracy']:.3f}, within one class {result['within_one_class']:.3f}); "
          f"chance is about {1 / N_CLASSES:.3f}")
    print(f"regression: test RMSE {result['rmse']:.4f}, max |error| {result['max_error']:.4f}")
    print(f"{seconds:.1f} s")
    if args.plot:
        grid = np.linspace(-args.xmax, args.xmax, 800)[:, None]
        with ag.no_grad():
            cls = (clf(ag.tensor(grid * scale)).data.argmax(axis=1) - N_CLASSES // 2) / 10
            val = reg(ag.tensor(grid * scale)).data[:, 0]
        fig, ax = common.figure(figsize=(9, 4))
        ax.plot(grid, np.sin(grid), color="black", lw=1, label="sin x")
        ax.step(grid[:, 0], cls, where="mid", lw=1, label=f"classifier (acc {result['accuracy']:.3f})")
        ax.plot(grid, val, "--", lw=1, label=f"regression (RMSE {result['rmse']:.3f})")
        ax.set(xlabel="x", ylabel="y", title="sin(x): 21 classes vs regression")
        ax.legend(fontsize=8)
        print("wrote", common.save(fig, args.plot))
    return result


if __name__ == "__main__":
    main()
