"""The benchmark (examples/benchmark.py, examples/bench/): every workload's sides compute the same numbers, and
the script runs end to end with tiny settings. No timing is asserted anywhere: speed is reported, not tested."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from examples import benchmark
from examples.bench import WORKLOADS, registry
from examples.bench.layout import load_linears

ROOT = Path(__file__).resolve().parents[1]

PAIRS = [(name, s) for name, w in WORKLOADS.items() if w.reference
         for s in w.sides if s != w.reference]


def _run(name: str, side: str, steps: int) -> dict:
    w = WORKLOADS[name]
    cfg = dict(w.quick)
    trainer = w.sides[side].setup(cfg, w.make_data(cfg))
    trainer.train(steps)
    return trainer.state()


@pytest.mark.parametrize("name,side", PAIRS)
def test_each_side_computes_the_references_numbers(name, side):
    w = WORKLOADS[name]
    if w.reference == "micrograd":
        pytest.importorskip("micrograd")
        pytest.importorskip("sklearn")
    ref, got = _run(name, w.reference, 3), _run(name, side, 3)
    start = WORKLOADS[name].sides[w.reference].setup(dict(w.quick), w.make_data(dict(w.quick))).state()
    assert set(ref) == set(got)
    for key in ref:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-12, atol=1e-12, err_msg=f"{name}/{side}: {key}")
        if key != "loss":  # the steps really trained: parameters moved away from where they started
            assert not np.allclose(ref[key], start[key], rtol=0, atol=1e-9), f"{name}: {key} did not change"


def test_chain_matches_the_recurrence_in_plain_floats():
    cfg = dict(WORKLOADS["chain"].quick)
    trainer = WORKLOADS["chain"].sides["eager"].setup(cfg, None)
    trainer.train(1)
    state = trainer.state()
    y = 0.5
    for _ in range(cfg["ops"] // 2):
        y = y * 0.999999 + 1e-7
    assert state["loss"] == pytest.approx(y, rel=1e-14)
    assert state["grad"] == pytest.approx(0.999999 ** (cfg["ops"] // 2), rel=1e-12)


@pytest.mark.parametrize("sizes", [[(3, 3), (3, 2)], [(4, 5), (5, 5)]])
def test_load_linears_gives_the_layers_the_given_matrices(sizes):
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal(s), rng.standard_normal(s[1])) for s in sizes]  # square ones are not symmetric
    model = nn.Sequential(*[nn.Linear(*s) for s in sizes])
    current = load_linears(model, weights)
    x = rng.standard_normal((2, sizes[0][0]))
    expected = x
    for w, b in weights:
        expected = expected @ w + b
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-12)
    for got, want in zip(current(), [a for pair in weights for a in pair]):
        assert np.array_equal(got, want)


def test_load_linears_rejects_a_mismatch():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="cannot hold"):
        load_linears(model, [(np.zeros((4, 2)), np.zeros(2))])
    with pytest.raises(ValueError, match="2 weights given"):
        load_linears(model, [(np.zeros((3, 2)), np.zeros(2))] * 2)


def test_registry_refuses_bad_registrations():
    with pytest.raises(KeyError, match="no workload"):
        registry.side("no-such-workload", "eager", target=registry.at_most(1.0))(lambda cfg, data: None)
    with pytest.raises(ValueError, match="already has"):
        registry.side("seed-raw", "eager", target=registry.at_most(1.0))(lambda cfg, data: None)
    with pytest.raises(ValueError, match="needs one"):
        registry.side("seed-raw", "untargeted")(lambda cfg, data: None)
    assert "untargeted" not in WORKLOADS["seed-raw"].sides


def test_targets_read_the_right_way():
    assert registry.at_most(1.5).met(1.4) and not registry.at_most(1.5).met(1.6)
    assert registry.speedup(3.0).met(3.1) and not registry.speedup(3.0).met(2.9)
    assert registry.seconds(1.0).met(0.5) and not registry.seconds(1.0).met(1.5)


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "examples.benchmark", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_script_runs_every_workload_in_workers_and_reports_each_target(capsys):
    rows = benchmark.main(["--quick", "--memory-steps", "4", "--markdown"])
    out = capsys.readouterr().out
    report, _, table = out.partition("| workload | reference | engine | target |")
    assert table, "no markdown table"
    for name in WORKLOADS:
        assert f"\n{name}: " in report
    assert "CPU: " in report and "numpy " in report and "BLAS: " in report
    assert "BLAS threads seen in the workers: 1" in report
    judged = {(r["workload"], r["side"]) for r in rows["time"] if "met" in r}
    for name, w in WORKLOADS.items():
        for s in w.sides.values():
            if s.target is None:
                continue
            row = next(r for r in rows["time"] if (r["workload"], r["side"]) == (name, s.name))
            if "unavailable" in row:  # only an optional package may be missing, and the report says so
                assert name == "micrograd" and "not measured" in report
                assert importlib.util.find_spec("micrograd") is None, row["unavailable"]
            else:
                assert (name, s.name) in judged
    memory_judged = [r for r in rows["memory"] if "met" in r]
    assert len(memory_judged) == sum(1 for w in WORKLOADS.values() if w.memory for s in w.sides if s != w.reference)
    verdicts = len(judged) + len(memory_judged)
    assert report.count(": met") + report.count(": NOT met") == verdicts
    assert table.count("— met |") + table.count("— NOT met |") == verdicts


def test_engine_path_that_does_not_hold_the_engine_is_an_error(tmp_path):
    proc = _script("--quick", "--only", "chain", "--engine-path", str(tmp_path))
    assert proc.returncode != 0
    assert "asked for the engine in" in proc.stderr
