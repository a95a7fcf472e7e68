"""Handwritten digits with two sigmoid hidden layers and a softmax output (seed 004's MNIST classifier).

The seed's author fought the softmax derivative by hand; here the output layer's softmax and the
cross-entropy are one stable op (`F.cross_entropy` on the logits) and autograd supplies every derivative.
Data: scikit-learn's bundled 8x8 digits (no download), or the real MNIST IDX files with --mnist-dir.
With --optimizer lbfgs the flat parameter vector goes to scipy.optimize.minimize(method='L-BFGS-B').

    python -m examples.digits
    python -m examples.digits --optimizer lbfgs
    python -m examples.digits --mnist-dir ~/mnist      # train-images-idx3-ubyte[.gz] etc.
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
import nn.functional as F
from nn import optim
from nn.utils import grads_to_vector, parameters_to_vector, vector_to_parameters

from . import common
from .data import load_digits, load_mnist


def build_model(n_in: int, hidden: list[int], n_classes: int, rng: np.random.Generator) -> nn.Sequential:
    """n_in -> sigmoid hidden layers -> n_classes logits (the softmax lives in the loss)."""
    layers: list[nn.Module] = []
    for n_prev, n_next in zip([n_in, *hidden[:-1]], hidden):
        layers += [nn.Linear(n_prev, n_next, rng=rng), nn.Sigmoid()]
    layers.append(nn.Linear(hidden[-1], n_classes, rng=rng))
    return nn.Sequential(*layers)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest logit is the label."""
    with ag.no_grad():
        return float((model(ag.tensor(x)).data.argmax(axis=1) == y).mean())


def train_sgd(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, momentum: float,
              batch_size: int, weight_decay: float, rng: np.random.Generator, quiet: bool = False) -> list[float]:
    """Minibatch SGD with momentum (the seed used momentum too) on the mean cross-entropy; loss per epoch."""
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    history = []
    bar = common.progress(range(epochs), quiet=quiet, desc="digits (sgd)", unit="epoch")
    for _ in bar:
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(ag.tensor(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        history.append(total / len(x))
        bar.set_postfix(loss=f"{history[-1]:.4f}")
    return history


def train_lbfgs(model: nn.Module, x: np.ndarray, y: np.ndarray, maxiter: int, weight_decay: float,
                quiet: bool = False) -> list[float]:
    """Full-batch L-BFGS-B from scipy on the flat parameter vector; loss per iteration.

    scipy wants the objective and its gradient as float64 1-d arrays (the seed's 'tnc: invalid gradient
    vector' came from handing it something else): parameters_to_vector gives exactly that."""
    from scipy.optimize import minimize

    params = list(model.parameters())
    xt = ag.tensor(x)
    last = [float("nan")]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        vector_to_parameters(theta, params)
        loss = F.cross_entropy(model(xt), y)
        if weight_decay:
            loss = loss + 0.5 * weight_decay * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        last[0] = float(loss)
        return last[0], grads_to_vector(params)

    history: list[float] = []
    bar = common.progress(range(maxiter), quiet=quiet, desc="digits (L-BFGS-B)", unit="it")
    steps = iter(bar)

    def callback(theta: np.ndarray) -> None:
        history.append(last[0])  # L-BFGS-B's last evaluation is the point it just accepted
        next(steps, None)
        bar.set_postfix(loss=f"{history[-1]:.4f}")

    res = minimize(objective, parameters_to_vector(params), jac=True, method="L-BFGS-B",
                   callback=callback, options={"maxiter": maxiter})
    if hasattr(bar, "close"):
        bar.close()
    vector_to_parameters(res.x, params)
    return history


def main(argv: list[str] | None = None) -> dict:
    """Train the classifier and report train/test accuracy."""
    p = common.parser(__doc__.splitlines()[0], epochs=60, lr=0.1, seed=0)
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 32], help="hidden layer sizes (default 64 32)")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="L2 penalty (default 1e-4)")
    p.add_argument("--optimizer", choices=["sgd", "lbfgs"], default="sgd",
                   help="minibatch SGD, or scipy's L-BFGS-B on the full batch")
    p.add_argument("--maxiter", type=int, default=200, help="L-BFGS-B iterations (default 200)")
    p.add_argument("--mnist-dir", default=None, help="use the MNIST IDX files in this folder instead")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training rows")
    args = p.parse_args(argv)
    if len(args.hidden) != 2:
        p.error("--hidden: the seed's network has exactly two hidden layers")

    if args.mnist_dir:
        x_tr, y_tr, x_te, y_te = load_mnist(args.mnist_dir)
        source = f"MNIST ({args.mnist_dir})"
    else:
        x_tr, y_tr, x_te, y_te = load_digits(seed=args.seed)
        source = "scikit-learn digits"
    if args.train_limit:
        x_tr, y_tr = x_tr[:args.train_limit], y_tr[:args.train_limit]
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    rng = np.random.default_rng(args.seed)
    model = build_model(x_tr.shape[1], args.hidden, n_classes, rng)

    t0 = time.perf_counter()
    if args.optimizer == "sgd":
        history = train_sgd(model, x_tr, y_tr, args.epochs, args.lr, args.momentum, args.batch_size,
                            args.weight_decay, rng, args.quiet)
    else:
        history = train_lbfgs(model, x_tr, y_tr, args.maxiter, args.weight_decay, args.quiet)
    seconds = time.perf_counter() - t0
    result = {"source": source, "history": history, "seconds": seconds, "optimizer": args.optimizer,
              "train_accuracy": accuracy(model, x_tr, y_tr), "test_accuracy": accuracy(model, x_te, y_te),
              "model": model}
    print(f"{source}: {len(x_tr)} train / {len(x_te)} test rows, {model.num_parameters()} parameters, "
          f"{args.optimizer}, {seconds:.1f} s")
    print(f"train accuracy {result['train_accuracy']:.4f}, test accuracy {result['test_accuracy']:.4f}")
    if args.plot:
        fig, ax = common.figure()
        ax.semilogy(np.arange(1, len(history) + 1), history)
        ax.set(xlabel="epoch" if args.optimizer == "sgd" else "L-BFGS-B iteration", ylabel="cross-entropy",
               title=f"{source}: test accuracy {result['test_accuracy']:.3f}")
        print("wrote", common.save(fig, args.plot))
    return result


if __name__ == "__main__":
    main()
