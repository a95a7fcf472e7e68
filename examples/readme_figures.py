"""Regenerate every figure README.md quotes: run each README command and pull its figures from the output.

    python -m examples.readme_figures            # every row (slow: the DNI rows take a long time)
    python -m examples.readme_figures --list     # the rows and their commands, without running them
    python -m examples.readme_figures --only xor autoencoder_b4

Each row of ROWS holds the command exactly as the README writes it and, for each figure the README quotes,
a label and a regular expression whose one group captures that figure in the command's standard output.
Timings are never quoted, so none is extracted here. `--save DIR` keeps each command's output in DIR/ROW.txt
and `--from DIR` re-reads those files instead of running the commands again.
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_NUM = r"([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"  # one decimal or scientific number, captured
_ROOT = Path(__file__).resolve().parent.parent
_DNI_METHODS = ("backprop", "last_layer", "dni", "cdni")


@dataclass(frozen=True)
class Row:
    """One README row: its id, the command as the README writes it, and (label, regex) for each figure."""

    id: str
    command: str
    figures: tuple[tuple[str, str], ...]


def _dni_digits_figures() -> tuple[tuple[str, str], ...]:
    # The example prints "  method  mean M   s0  s1  s2" per method.
    out = []
    for m in _DNI_METHODS:
        out.append((f"{m} mean", rf"^\s*{m}\s+mean {_NUM}"))
        for k in range(3):  # seed k's accuracy: skip the mean and the k earlier seeds
            out.append((f"{m} seed {k}", rf"^\s*{m}\s+mean [^\s]+" + r"\s+[^\s]+" * k + rf"\s+{_NUM}"))
    return tuple(out)


def _dni_binary_figures(sweep: bool) -> tuple[tuple[str, str], ...]:
    out = []
    for m in _DNI_METHODS:
        out.append((f"{m} train mean", rf"^\s*{m}\s+train {_NUM}"))
        out.append((f"{m} held-out mean", rf"^\s*{m}\s+train \S+\s+held-out {_NUM}"))
        out.append((f"{m} train per seed", rf"^\s*{m}\s+train per seed (\S+ / \S+ / \S+)"))
        if m != "last_layer":
            out.append((f"{m} hidden lr", rf"^\s*{m}\s+train .*\(hidden lr {_NUM}\)"))
            if sweep:  # the sweep line: "  method  hidden lr 0.03: a  0.01: b ... -> best"
                out.append((f"{m} sweep", rf"^\s*{m}\s+hidden lr (.*)$"))
    return tuple(out)


_RNN_FIGURES = (
    ("held-out pairs", rf"held-out pairs \({_NUM}\)"),
    ("held-out exact sums", rf"held-out pairs \(\d+\): exact sums {_NUM}"),
)
_AUTOENCODER_FIGURES = (
    ("distance", rf"distance {_NUM} after"),
    ("epochs", rf"after {_NUM} epochs"),
    ("distinct codes", rf"{_NUM} distinct binary codes"),
    ("reconstructed of 8", rf"{_NUM}/8 inputs reconstructed"),
)

ROWS: tuple[Row, ...] = (
    Row("binary_addition", "python -m examples.binary_addition", (
        ("loss (seed's figure)", rf"loss {_NUM} \(seed's figure\)"),
        ("train bit accuracy", rf"train pairs:\s+bit accuracy {_NUM}"),
        ("held-out bit accuracy", rf"held-out pairs: bit accuracy {_NUM}"),
        ("held-out exact sums", rf"held-out pairs: bit accuracy \S+ exact sums {_NUM}"),
    )),
    Row("binary_addition_20000", "python -m examples.binary_addition --examples 20000 --epochs 50", (
        ("held-out bit accuracy", rf"held-out pairs: bit accuracy {_NUM}"),
        ("held-out exact sums", rf"held-out pairs: bit accuracy \S+ exact sums {_NUM}"),
    )),
    Row("demo", "python -m examples.demo", (
        ("held-out pairs", rf"training pairs, {_NUM} held-out pairs"),
        ("held-out exact sums", rf"held-out pairs: bit accuracy \S+ exact sums {_NUM}"),
    )),
    Row("xor", "python -m examples.xor", (
        ("steps", rf"mean \|error\| after {_NUM} iterations"),
        ("error at alpha 0.1, hidden 4", rf"^\s*0\.1\s+{_NUM}"),
        ("direction changes at alpha 0.1, hidden 4", r"^alpha 0\.1: (.*)$"),
    )),
    Row("xor_seed_point", "python -m examples.xor --lr 0.1 --sizes 4 --epochs 50000", (
        ("steps", rf"mean \|error\| after {_NUM} iterations"),
        ("error at alpha 0.1, hidden 4", rf"^\s*0\.1\s+{_NUM}"),
    )),
    Row("autoencoder", "python -m examples.autoencoder", _AUTOENCODER_FIGURES),
    Row("autoencoder_tanh", "python -m examples.autoencoder --activations tanh sigmoid", _AUTOENCODER_FIGURES),
    Row("autoencoder_b4", "python -m examples.autoencoder --batch-size 4", _AUTOENCODER_FIGURES),
    Row("digits", "python -m examples.digits", (
        ("test accuracy", rf"test accuracy {_NUM}"),
    )),
    Row("digits_lbfgs", "python -m examples.digits --optimizer lbfgs", (
        ("test accuracy", rf"test accuracy {_NUM}"),
    )),
    Row("sine", "python -m examples.sine", (
        ("right class of 1000", rf"classification: {_NUM}/"),
        ("within one class", rf"within one class {_NUM}"),
        ("chance", rf"chance is about {_NUM}"),
        ("regression RMSE", rf"test RMSE {_NUM}"),
    )),
    Row("input_optimization", "python -m examples.input_optimization", (
        ("sigmoid x", r"^\s*sigmoid: x = (\[[^\]]*\])"),
        ("clip x", r"^\s*clip: x = (\[[^\]]*\])"),
        ("free x", r"^\s*free: x = (\[[^\]]*\])"),
    )),
    Row("scalar_mlp", "python -m examples.scalar_mlp", (
        ("largest loss difference", rf"largest loss difference over the shared steps {_NUM}"),
    )),
    Row("rnn_binary_addition", "python -m examples.rnn_binary_addition", _RNN_FIGURES),
    Row("rnn_binary_addition_seed1", "python -m examples.rnn_binary_addition --seed 1", _RNN_FIGURES),
    Row("rnn_binary_addition_seed2", "python -m examples.rnn_binary_addition --seed 2", _RNN_FIGURES),
    Row("dni_digits", "python -m examples.dni_digits", _dni_digits_figures()),
    Row("dni_binary_addition", "python -m examples.dni_binary_addition --repeats 3",
        _dni_binary_figures(sweep=False)),
    Row("dni_binary_addition_dni_lr_0.01",
        "python -m examples.dni_binary_addition --repeats 3 --methods dni --hidden-lr 0.01",
        (("dni train mean", rf"^\s*dni\s+train {_NUM}"),
         ("dni held-out mean", rf"^\s*dni\s+train \S+\s+held-out {_NUM}"),
         ("dni train per seed", r"^\s*dni\s+train per seed (\S+ / \S+ / \S+)"))),
    Row("dni_binary_addition_sweep", "python -m examples.dni_binary_addition --repeats 3 --sweep",
        _dni_binary_figures(sweep=True)),
)


def argv_of(row: Row, extra: list[str] | None = None) -> list[str]:
    """The command's argv, run with this interpreter (the README's `python` may name another one)."""
    words = shlex.split(row.command)
    if words[:2] != ["python", "-m"] or not words[2].startswith("examples."):
        raise ValueError(f"row {row.id!r}: command must start with 'python -m examples.', got {row.command!r}")
    return [sys.executable] + words[1:] + list(extra or [])


def run_row(row: Row, extra: list[str] | None = None, timeout: float | None = None) -> str:
    """Run one row's command from the repository root and return its standard output; raise if it fails."""
    proc = subprocess.run(argv_of(row, extra), cwd=_ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"row {row.id!r}: {row.command!r} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return proc.stdout


def extract(row: Row, output: str) -> dict[str, str]:
    """Each figure of `row` as the command printed it; a figure the output lacks is reported as MISSING."""
    found = {}
    for label, pattern in row.figures:
        m = re.search(pattern, output, flags=re.MULTILINE)
        found[label] = m.group(1).strip() if m else "MISSING"
    return found


def main(argv: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Run the selected rows and print, for each, its command and its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", metavar="ROW", help="run only these rows (see --list)")
    p.add_argument("--list", action="store_true", help="list the rows and their commands, run nothing")
    p.add_argument("--save", metavar="DIR", help="also write each command's output to DIR/ROW.txt")
    p.add_argument("--from", dest="from_dir", metavar="DIR", help="read DIR/ROW.txt instead of running")
    args = p.parse_args(argv)
    ids = [r.id for r in ROWS]
    unknown = sorted(set(args.only or []) - set(ids))
    if unknown:
        p.error(f"unknown row(s) {unknown}; rows are {ids}")
    rows = [r for r in ROWS if not args.only or r.id in args.only]
    if args.list:
        for r in rows:
            print(f"{r.id:<28} {r.command}")
        return {}

    results: dict[str, dict[str, str]] = {}
    failed = []
    for r in rows:
        t0 = time.perf_counter()
        try:
            if args.from_dir:
                out = (Path(args.from_dir) / f"{r.id}.txt").read_text()
            else:
                out = run_row(r)
        except (OSError, RuntimeError) as e:
            print(f"## {r.id}: FAILED: {e}\n", flush=True)
            failed.append(r.id)
            continue
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            (Path(args.save) / f"{r.id}.txt").write_text(out)
        results[r.id] = extract(r, out)
        # The run time goes to stderr: it is for the person waiting, not a figure for the README.
        print(f"[{r.id}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
        print(f"## {r.id}\n`{r.command}`", flush=True)
        for label, value in results[r.id].items():
            print(f"- {label}: {value}", flush=True)
        print(flush=True)
    missing = [f"{rid}: {k}" for rid, figs in results.items() for k, v in figs.items() if v == "MISSING"]
    if failed or missing:
        print(f"failed rows: {failed}; missing figures: {missing}", file=sys.stderr)
        sys.exit(1)
    return results


if __name__ == "__main__":
    main()
