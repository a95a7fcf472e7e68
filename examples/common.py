"""Shared plumbing of the examples: standard flags, a progress bar that stays quiet off a terminal, plots."""
from __future__ import annotations

import argparse
import sys
from typing import Iterable


def parser(description: str, epochs: int, lr: float | None, seed: int = 0) -> argparse.ArgumentParser:
    """An ArgumentParser with --epochs, --lr, --seed, --quiet and --plot already added (lr=None: no default)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    p.add_argument("--lr", type=float, default=lr,
                   help="learning rate" + (f" (default {lr})" if lr is not None else ""))
    p.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--plot", metavar="PATH", default=None, help="write a matplotlib figure to PATH")
    return p


def progress(iterable: Iterable, quiet: bool = False, **kwargs):
    """A tqdm bar over iterable; silent with quiet=True or when stderr is not a terminal."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an optional extra: fall back to no bar
        return _NoBar(iterable)
    return tqdm(iterable, disable=quiet or not sys.stderr.isatty(), **kwargs)


class _NoBar:
    def __init__(self, iterable: Iterable) -> None:
        self._it = iterable

    def __iter__(self):
        return iter(self._it)

    def set_postfix(self, *args, **kwargs) -> None:
        pass


def figure(*args, **kwargs):
    """A matplotlib (fig, axes) pair drawn with the Agg backend, so no display is needed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(*args, **kwargs)


def save(fig, path: str) -> str:
    """Write the figure to path and close it; returns path."""
    import matplotlib.pyplot as plt
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_curves(curves: dict, methods: list, epochs: int, ylabel: str, title: str, path: str) -> str:
    """One line per method: the metric per epoch, averaged over the runs in curves[method]."""
    import numpy as np
    fig, ax = figure(figsize=(6, 4))
    for m in methods:
        ax.plot(np.arange(1, epochs + 1), np.mean([h["metric"] for h in curves[m]], axis=0), label=m)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.legend()
    return save(fig, path)
