"""XOR with the seed's two-layer sigmoid network (seed 002): sweep learning rates and hidden sizes.

The seed trained one network per (learning rate, hidden size) pair for 60000 full-batch steps and printed
the mean absolute error; it also counted how often each weight's update changed direction. All 49 networks
here train at once: their weights are stacked on a leading axis and the smaller hidden layers are padded
with masked units, which receive no gradient, so each network follows exactly its own trajectory.

    python -m examples.xor --plot xor.png
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag

from . import common

# The seed's data: a constant third input plays the role of a bias.
X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
Y = np.array([[0], [1], [1], [0]], dtype=np.float64)
ALPHAS = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
SIZES = (4, 8, 16, 32, 64, 128, 256)


def init_weights(sizes: list[int], seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked, zero-padded weights for one network per entry of `sizes`, each drawn as the seed did after
    np.random.seed(seed): 2*random((3, h)) - 1, then 2*random((h, 1)) - 1. Also returns the hidden-unit mask."""
    width = max(sizes)
    w0 = np.zeros((len(sizes), 3, width))
    w1 = np.zeros((len(sizes), width, 1))
    mask = np.zeros((len(sizes), 1, width))
    for i, h in enumerate(sizes):
        rs = np.random.RandomState(seed)
        w0[i, :, :h] = 2 * rs.random_sample((3, h)) - 1
        w1[i, :h] = 2 * rs.random_sample((h, 1)) - 1
        mask[i, :, :h] = 1.0
    return w0, w1, mask


def sweep(alphas: list[float], sizes: list[int], iterations: int, seed: int = 1, record_every: int = 100,
          quiet: bool = False) -> dict:
    """Train one network per (alpha, size) pair together; returns the error curves (mean |out - y| per
    network every `record_every` steps), final outputs and the seed's counts of update direction changes."""
    pairs = [(a, h) for a in alphas for h in sizes]
    w0_np, w1_np, mask_np = init_weights([h for _, h in pairs], seed)
    w0 = ag.tensor(w0_np, requires_grad=True, name="synapse_0")
    w1 = ag.tensor(w1_np, requires_grad=True, name="synapse_1")
    mask = ag.tensor(mask_np)
    lr = np.array([a for a, _ in pairs])[:, None, None]
    x, y = ag.tensor(X), ag.tensor(Y)
    changes0, changes1 = np.zeros(w0.shape), np.zeros(w1.shape)
    # The seed compared each update's sign with the previous one, starting from an all-zero "previous".
    prev0, prev1 = np.zeros(w0.shape, bool), np.zeros(w1.shape, bool)
    steps, curves = [], []
    bar = common.progress(range(iterations), quiet=quiet, desc="xor sweep", unit="step", miniters=500)
    for it in bar:
        hidden = (x @ w0).sigmoid() * mask  # masked units output 0, so they get and pass no gradient
        out = (hidden @ w1).sigmoid()
        err = np.abs(out.data - Y).mean(axis=(1, 2))
        if it % record_every == 0:
            steps.append(it)
            curves.append(err)
            bar.set_postfix(best=f"{err.min():.2e}", worst=f"{err.max():.2e}", refresh=False)
        loss = 0.5 * ((out - y) ** 2).sum()  # its gradient is the seed's layer deltas
        w0.grad = w1.grad = None
        loss.backward()
        up0, up1 = w0.grad.data < 0, w1.grad.data < 0  # the update -alpha*grad is positive
        if it < iterations - 1:  # the seed's counting loop skipped one of its 60000 updates
            changes0 += up0 != prev0
            changes1 += up1 != prev1
        prev0, prev1 = up0, up1
        w0.data -= lr * w0.grad.data
        w1.data -= lr * w1.grad.data
    with ag.no_grad():
        out = ((x @ w0).sigmoid() * mask @ w1).sigmoid().data
    final = np.abs(out - Y).mean(axis=(1, 2))
    return {"pairs": pairs, "steps": np.array(steps), "curves": np.array(curves), "final": final,
            "outputs": out[:, :, 0], "changes0": changes0, "changes1": changes1, "sizes": [h for _, h in pairs]}


def print_table(alphas: list[float], sizes: list[int], final: np.ndarray, iterations: int) -> None:
    """The seed's table: mean absolute error after training, learning rate down, hidden size across."""
    print(f"mean |error| after {iterations} iterations")
    print("alpha \\ hidden " + "".join(f"{h:>10d}" for h in sizes))
    for i, a in enumerate(alphas):
        row = final[i * len(sizes):(i + 1) * len(sizes)]
        print(f"{a:>14g} " + "".join(f"{e:>10.5f}" for e in row))


def main(argv: list[str] | None = None) -> dict:
    """Run the sweep, print the error table and the direction-change counts of the smallest networks."""
    p = common.parser(__doc__.splitlines()[0], epochs=60000, lr=None, seed=1)
    p.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS), help="learning rates to sweep")
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="hidden sizes to sweep")
    p.add_argument("--record-every", type=int, default=100, help="error curve resolution (steps)")
    args = p.parse_args(argv)
    alphas = [args.lr] if args.lr is not None else args.alphas  # --lr picks a single learning rate

    t0 = time.perf_counter()
    res = sweep(alphas, args.sizes, args.epochs, args.seed, args.record_every, args.quiet)
    res["seconds"] = time.perf_counter() - t0
    print_table(alphas, args.sizes, res["final"], args.epochs)
    h = min(args.sizes)
    print(f"\nupdate direction changes per weight, hidden size {h} (synapse_0 rows = inputs, synapse_1 column)")
    for i, (a, size) in enumerate(res["pairs"]):
        if size == h:
            c0, c1 = res["changes0"][i][:, :h].astype(int), res["changes1"][i][:h, 0].astype(int)
            print(f"alpha {a:g}: synapse_0 {c0.tolist()}  synapse_1 {c1.tolist()}")
    print(f"\n{len(res['pairs'])} networks, {res['seconds']:.1f} s")
    res["alphas"], res["sizes_swept"] = alphas, args.sizes
    if args.plot:
        plot(res, alphas, args.sizes, args.plot)
    return res


def plot(res: dict, alphas: list[float], sizes: list[int], path: str) -> None:
    """One panel per learning rate, one error curve per hidden size."""
    cols = min(4, len(alphas))
    rows = -(-len(alphas) // cols)
    fig, axes = common.figure(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False, sharey=True,
                              constrained_layout=True)
    steps = np.maximum(res["steps"], 1)
    for i, a in enumerate(alphas):
        ax = axes.flat[i]
        for j, h in enumerate(sizes):
            ax.loglog(steps, res["curves"][:, i * len(sizes) + j], label=f"h={h}")
        ax.set(title=f"alpha={a:g}", xlabel="iteration", ylabel="mean |error|")
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(alphas):]:
        ax.axis("off")
    print("wrote", common.save(fig, path))


if __name__ == "__main__":
    main()
