"""The README-figures script: its table of commands is well formed, and one cheap row runs end to end."""
from __future__ import annotations

import importlib.util
import re
import shlex

import pytest

from examples import readme_figures as rf


def test_rows_are_well_formed() -> None:
    ids = [r.id for r in rf.ROWS]
    assert len(ids) == len(set(ids)), "row ids must be unique"
    for r in rf.ROWS:
        words = shlex.split(r.command)
        assert words[:2] == ["python", "-m"], r.command
        assert importlib.util.find_spec(words[2]) is not None, f"{r.id}: no module {words[2]}"
        assert r.figures, f"{r.id} quotes no figure"
        labels = [label for label, _ in r.figures]
        assert len(labels) == len(set(labels)), f"{r.id}: duplicate labels"
        for label, pattern in r.figures:
            assert re.compile(pattern).groups == 1, f"{r.id} / {label}: a pattern captures exactly one group"


def test_argv_refuses_a_command_outside_examples() -> None:
    with pytest.raises(ValueError, match="python -m examples"):
        rf.argv_of(rf.Row("bad", "python somewhere.py", (("x", r"(\d)"),)))


def test_extract_reads_the_figures_and_flags_missing_ones() -> None:
    row = next(r for r in rf.ROWS if r.id == "autoencoder_b4")
    out = ("activations ['sigmoid', 'sigmoid'], batch size 4: distance 0.001999 after 6382 epochs (13.1 s)\n"
           "8 distinct binary codes for 8 inputs; 7/8 inputs reconstructed\n")
    assert rf.extract(row, out) == {"distance": "0.001999", "epochs": "6382", "distinct codes": "8",
                                    "reconstructed of 8": "7"}
    assert rf.extract(row, "nothing here")["epochs"] == "MISSING"


def test_a_cheap_row_runs_and_every_figure_is_found() -> None:
    row = next(r for r in rf.ROWS if r.id == "binary_addition")
    out = rf.run_row(row, ["--epochs", "2", "--examples", "40", "--test-examples", "40", "--quiet"], timeout=300)
    figures = rf.extract(row, out)
    assert "MISSING" not in figures.values(), figures
    assert 0.0 <= float(figures["held-out bit accuracy"]) <= 1.0
    assert float(figures["loss (seed's figure)"]) > 0.0


def test_list_and_unknown_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert rf.main(["--list", "--only", "xor"]) == {}
    assert "python -m examples.xor" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        rf.main(["--only", "no_such_row"])
