"""Speed and memory of the engine against hand-written references, each side measured in its own process.

Workloads (examples/bench/, float64, one BLAS thread):
  seed-raw   the seed MLP 24-128-64-12 (sigmoid, batch 10, SGD 0.1) with raw tensors  vs numpy   target <= 1.5x
  seed-nn    the same with nn.Sequential + optim.SGD                                  vs numpy   target <= 1.6x
  mnist      MLP 784-256-128-10 ReLU, batch 128, F.cross_entropy, SGD                 vs numpy   target <= 1.15x
  micrograd  micrograd's demo built from 0-d tensors                                  vs micrograd  >= 3x faster
  chain      100,000 scalar ops, forward + backward                                   absolute   <= 1 s
  memory     resident memory of the seed-raw, seed-nn and mnist loops over 10,000 steps: at most 1.3x the numpy
             loop's, and no growth between step 1,000 and 10,000

Each side of a workload runs in a fresh process (`--worker`), one at a time, the order of the sides alternating
from round to round; figures are medians over rounds. `--quick` runs tiny settings (for the smoke test).

    python -m examples.benchmark [--rounds 5] [--only mnist --only memory] [--markdown] [--engine-path DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .bench import WORKLOADS, machine, worker

ROOT = Path(__file__).resolve().parents[1]  # the folder holding the `examples` package the workers import
MEMORY_RATIO = 1.3
MEMORY_GROWTH_KB = 64  # "no growth": RSS moves in pages and allocator arenas; 16 pages of slack


def spawn(spec: str, cfg: dict, engine_path: str | None, memory_steps: int | None = None,
          clock: str = "wall") -> dict:
    """Run one side in a fresh interpreter with one BLAS thread and return its result dict."""
    cmd = [sys.executable, "-m", "examples.benchmark", "--worker", spec, "--cfg", json.dumps(cfg), "--clock", clock]
    if engine_path:
        cmd += ["--engine-path", engine_path]
    if memory_steps:
        cmd += ["--memory-steps", str(memory_steps)]
    env = {**os.environ, **machine.ONE_THREAD}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(worker.RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark: worker {spec} failed (exit status {proc.returncode}):\n"
                           + (proc.stderr or proc.stdout)[-3000:])
    return json.loads(lines[-1][len(worker.RESULT_MARK):])


def parse_sets(items: list[str]) -> dict[str, dict]:
    """--set WORKLOAD.KEY=VALUE items as {workload: {key: number}}."""
    out: dict[str, dict] = {}
    for item in items:
        name, _, rest = item.partition(".")
        key, eq, value = rest.partition("=")
        if not eq or name not in WORKLOADS or key not in WORKLOADS[name].cfg:
            raise SystemExit(f"--set {item!r}: expected WORKLOAD.KEY=VALUE with a workload among "
                             f"{', '.join(WORKLOADS)} and a key of its settings")
        try:
            number: float = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            raise SystemExit(f"--set {item!r}: {value!r} is not a number") from None
        out.setdefault(name, {})[key] = number
    return out


def settings(args: argparse.Namespace) -> dict[str, dict]:
    """Each workload's settings: defaults (or quick ones), then --steps, then --set."""
    sets = parse_sets(args.set)
    cfgs = {}
    for name, w in WORKLOADS.items():
        cfg = dict(w.quick if args.quick else w.cfg)
        if args.steps:
            cfg["steps"] = args.steps
        cfg.update(sets.get(name, {}))
        cfgs[name] = cfg
    return cfgs


def measure_times(names: list[str], cfgs: dict, rounds: int, engine_path: str | None, clock: str) -> dict:
    """{(workload, side): [result per round]}, sides alternating in order from one round to the next."""
    results: dict = {}
    for r in range(rounds):
        for name in names:
            sides = WORKLOADS[name].ordered_sides()
            for s in (sides if r % 2 == 0 else sides[::-1]):
                res = spawn(f"{name}:{s.name}", cfgs[name], engine_path, clock=clock)
                results.setdefault((name, s.name), []).append(res)
                shown = res.get("unavailable") or f"{res['seconds'] * 1e3:.3f} ms/{WORKLOADS[name].unit}"
                print(f"  round {r + 1}/{rounds}  {name}:{s.name}  {shown}", file=sys.stderr, flush=True)
    return results


def measure_memory(names: list[str], cfgs: dict, steps: int, engine_path: str | None) -> dict:
    """{(workload, side): memory result} for the workloads that watch memory."""
    results = {}
    for name in names:
        for s in WORKLOADS[name].ordered_sides():
            res = spawn(f"{name}:{s.name}", cfgs[name], engine_path, memory_steps=steps)
            results[(name, s.name)] = res
            shown = res.get("unavailable") or f"{res['samples'][-1][1] / 1024:.2f} MB"
            print(f"  memory  {name}:{s.name}  {shown}", file=sys.stderr, flush=True)
    return results


def _ms(seconds: float) -> str:
    """A duration with three significant digits: 1.56 s, 842 ms, 14.8 ms, 1.20 ms, 0.596 ms."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    ms = seconds * 1e3
    digits = 0 if ms >= 100 else 1 if ms >= 10 else 2 if ms >= 1 else 3
    return f"{ms:.{digits}f} ms"


def summarize_times(results: dict) -> list[dict]:
    """One row per (workload, side): median time per step, figure against the reference, range over rounds,
    target, met, and the largest relative difference of the final loss from the reference's."""
    rows = []
    for name, w in WORKLOADS.items():
        ref_runs = results.get((name, w.reference)) if w.reference else None
        for s in w.ordered_sides():
            runs = results.get((name, s.name))
            if runs is None:
                continue
            row = {"workload": name, "side": s.name, "title": w.title, "unit": w.unit, "target": s.target,
                   "reference": s.name == w.reference, "ref_name": w.reference}
            bad = next((r["unavailable"] for r in runs if "unavailable" in r), None)
            ref_bad = next((r["unavailable"] for r in ref_runs or [] if "unavailable" in r), None)
            if bad or ref_bad:
                row["unavailable"] = bad or f"reference {w.reference}: {ref_bad}"
                rows.append(row)
                continue
            times = [r["seconds"] for r in runs]
            row["median"] = statistics.median(times)
            row["engine"] = next((r["engine"] for r in runs if r.get("engine")), None)
            row["blas_threads"] = max((r["blas_threads"] or 0 for r in runs), default=0)
            if s.target is not None:
                if s.target.kind == "seconds":
                    figure, per_round = row["median"], times
                else:
                    ref_times = [r["seconds"] for r in ref_runs]
                    ratio = (lambda a, b: b / a) if s.target.kind == "speedup" else (lambda a, b: a / b)
                    figure = ratio(row["median"], statistics.median(ref_times))
                    per_round = [ratio(a, b) for a, b in zip(times, ref_times)]
                    row["loss_diff"] = max(abs(a["loss"] - b["loss"]) / max(abs(b["loss"]), 1e-300)
                                           for a, b in zip(runs, ref_runs))
                row.update(figure=figure, low=min(per_round), high=max(per_round), met=s.target.met(figure))
            rows.append(row)
    return rows


def summarize_memory(results: dict) -> list[dict]:
    """One row per (workload, side): footprint at the end and at the first sample, growth, peak, and for
    engine sides the ratio to the reference's footprint and whether both memory targets are met."""
    rows = []
    for (name, side), res in results.items():
        w = WORKLOADS[name]
        row = {"workload": name, "side": side, "title": w.title, "reference": side == w.reference}
        ref = results.get((name, w.reference))
        if "unavailable" in res or ref is None or "unavailable" in ref:
            row["unavailable"] = res.get("unavailable") or "no reference measured"
            rows.append(row)
            continue
        (first_step, first, first_obj), (last_step, last, last_obj) = res["samples"][0], res["samples"][-1]
        mid_step, mid, _ = res["samples"][len(res["samples"]) // 2]
        row.update(first_step=first_step, last_step=last_step, first_kb=first, last_kb=last, mid_step=mid_step,
                   growth_kb=last - first, late_growth_kb=last - mid, objects=last_obj - first_obj,
                   peak_kb=res["peak_kb"],
                   grew=last - first > MEMORY_GROWTH_KB, samples=res["samples"], engine=res.get("engine"),
                   blas_threads=res.get("blas_threads"))
        if not row["reference"]:
            ref_last = ref["samples"][-1][1]
            row["ratio"] = last / ref_last if ref_last > 0 else float("inf")
            row["met"] = row["ratio"] <= MEMORY_RATIO and not row["grew"]
        rows.append(row)
    return rows


def print_report(header: list[str], time_rows: list[dict], memory_rows: list[dict], cfgs: dict,
                 memory_steps: int) -> None:
    """The plain-text report: header, then one block per workload, then memory."""
    print("\n".join(header))
    current = None
    for row in time_rows:
        if row["workload"] != current:
            current = row["workload"]
            cfg = cfgs[current]
            print(f"\n{current}: {row['title']}  ({cfg['steps']:,} timed {row['unit']}s after {cfg['warmup']:,} "
                  f"warm-up per process)")
        label = f"    {row['side']:<10}"
        if "unavailable" in row:
            print(f"{label} not measured: {row['unavailable']}")
            continue
        line = f"{label} {_ms(row['median']):>11} per {row['unit']}"
        t = row["target"]
        if t is not None:
            fig = _ms(row['figure']) if t.kind == "seconds" else (
                f"{row['figure']:.2f}x " + ("faster than" if t.kind == "speedup" else "of") + f" {row['ref_name']}")
            rng = (f"{_ms(row['low'])}-{_ms(row['high'])}" if t.kind == "seconds"
                   else f"{row['low']:.2f}-{row['high']:.2f}")
            line += f"   {fig} (rounds {rng})   target {t}: {'met' if row['met'] else 'NOT met'}"
            if "loss_diff" in row:
                line += f"   final loss agrees to {row['loss_diff']:.0e}"
        print(line)
    if memory_rows:
        print(f"\nmemory over {memory_steps:,} steps: resident memory (RSS) of the training loop beyond imports and "
              f"data (model, gradients, optimizer state, what a step leaves allocated); target: at most "
              f"{MEMORY_RATIO}x the numpy loop's, and no growth (<= {MEMORY_GROWTH_KB} kB) after step "
              f"{max(memory_steps // 10, 1):,}")
        for row in memory_rows:
            label = f"    {row['workload']:<9} {row['side']:<10}"
            if "unavailable" in row:
                print(f"{label} not measured: {row['unavailable']}")
                continue
            peak = f", peak {row['peak_kb'] / 1024:.2f} MB" if row["peak_kb"] is not None else ""
            line = (f"{label} {row['last_kb'] / 1024:7.2f} MB at step {row['last_step']:,} "
                    f"({row['first_kb'] / 1024:.2f} MB at step {row['first_step']:,}: growth {row['growth_kb']:+} kB, "
                    f"{row['late_growth_kb']:+} kB after step {row['mid_step']:,}; {row['objects']:+} objects tracked "
                    f"by the GC{peak})")
            if "ratio" in row:
                line += (f"   {row['ratio']:.2f}x numpy's   target <= {MEMORY_RATIO}x and no growth: "
                         f"{'met' if row['met'] else 'NOT met'}")
            print(line)
            if row["grew"]:
                print("        RSS by step: " + ", ".join(f"{n:,}: {kb / 1024:.2f} MB" for n, kb, _ in row["samples"]))


def markdown(time_rows: list[dict], memory_rows: list[dict], memory_steps: int) -> str:
    """The README's speed table."""
    out = ["| workload | reference | engine | target |", "|---|---|---|---|"]
    refs = {(r["workload"]): r for r in time_rows if r["reference"]}
    for row in time_rows:
        if row["reference"]:
            continue
        ref = refs.get(row["workload"])
        ref_text = f"{row['ref_name']}: {_ms(ref['median'])} per {row['unit']}" if ref and "median" in ref else "—"
        if "unavailable" in row:
            out.append(f"| {row['title']} ({row['side']}) | {ref_text} | not measured: {row['unavailable']} | "
                       f"{row['target']} |")
            continue
        t = row["target"]
        if t.kind == "seconds":
            fig = f"**{_ms(row['figure'])}** ({_ms(row['low'])}–{_ms(row['high'])})"
        elif t.kind == "speedup":
            fig = f"**{row['figure']:.2f}× faster** ({row['low']:.2f}–{row['high']:.2f})"
        else:
            fig = f"**{row['figure']:.2f}×** ({row['low']:.2f}–{row['high']:.2f}), {_ms(row['median'])} per step"
        target = str(t).replace("<=", "≤").replace(">=", "≥").replace("x", "×")
        out.append(f"| {row['title']} ({row['side']}) | {ref_text} | {fig} | {target} — "
                   f"{'met' if row['met'] else 'NOT met'} |")
    mem_ref = {r["workload"]: r for r in memory_rows if r["reference"] and "unavailable" not in r}
    for row in memory_rows:
        if row["reference"] or "unavailable" in row or row["workload"] not in mem_ref:
            continue
        ref = mem_ref[row["workload"]]
        out.append(f"| memory, {row['workload']} ({row['side']}), {memory_steps:,} steps | numpy loop "
                   f"{ref['last_kb'] / 1024:.2f} MB | **{row['last_kb'] / 1024:.2f} MB = {row['ratio']:.2f}×**, "
                   f"growth {row['growth_kb']:+} kB after step {row['first_step']:,} | ≤ {MEMORY_RATIO}×, "
                   f"no growth — {'met' if row['met'] else 'NOT met'} |")
    return "\n".join(out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = list(WORKLOADS) + ["memory"]
    p.add_argument("--rounds", type=int, default=None, help="rounds (processes per side); default 5, --quick 1")
    p.add_argument("--only", action="append", default=[], choices=names, metavar="NAME",
                   help=f"run only these (repeatable): {', '.join(names)}")
    p.add_argument("--steps", type=int, default=None, help="timed steps per process, for every workload")
    p.add_argument("--memory-steps", type=int, default=None, help="steps of the memory runs (default 10,000)")
    p.add_argument("--set", action="append", default=[], metavar="WORKLOAD.KEY=VALUE",
                   help="override one setting, e.g. mnist.batch=64 or seed-raw.warmup=50")
    p.add_argument("--quick", action="store_true", help="tiny settings: checks that everything runs")
    p.add_argument("--markdown", action="store_true", help="also print the README's table")
    p.add_argument("--clock", choices=sorted(worker.CLOCKS), default="wall",
                   help="time by the wall clock (default) or by each worker's CPU time (user + system), which "
                        "leaves out time spent waiting for a core on a busy machine")
    p.add_argument("--engine-path", default=None, metavar="DIR",
                   help="measure the autograd/nn found in DIR (put first on the workers' sys.path)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--cfg", default=None, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns the summarized rows (as printed)."""
    args = build_parser().parse_args(argv)
    if args.worker:
        worker.main(args.worker, args.cfg, args.engine_path, args.memory_steps, args.clock)
        return {}
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    memory_steps = args.memory_steps if args.memory_steps is not None else (20 if args.quick else 10_000)
    if rounds < 1 or memory_steps < 1:
        raise SystemExit("--rounds and --memory-steps must be at least 1")
    engine_path = os.path.abspath(args.engine_path) if args.engine_path else None
    only = args.only or names_all()
    timed = [n for n in WORKLOADS if n in only]
    mem_names = [n for n in (timed or list(WORKLOADS)) if WORKLOADS[n].memory] if "memory" in only else []
    cfgs = settings(args)

    load_start, t0 = machine.load_average(), time.perf_counter()
    time_rows = summarize_times(measure_times(timed, cfgs, rounds, engine_path, args.clock))
    memory_rows = summarize_memory(measure_memory(mem_names, cfgs, memory_steps, engine_path))
    how = (f"{rounds if timed else 0} round(s) of timings, {'one' if mem_names else 'no'} memory run per side; "
           f"timed by the {'wall clock' if args.clock == 'wall' else 'CPU time of the worker (user + system)'}")
    load = f"{load_start} at the start, {machine.load_average()} at the end; {time.perf_counter() - t0:.0f} s in all"
    header = header_lines(time_rows + memory_rows, args.quick, engine_path, how, load)
    print_report(header, time_rows, memory_rows, cfgs, memory_steps)
    if args.markdown:
        print("\n" + markdown(time_rows, memory_rows, memory_steps))
    return {"time": time_rows, "memory": memory_rows}


def header_lines(rows: list[dict], quick: bool, engine_path: str | None, how: str, load: str) -> list[str]:
    """The report's header: machine, engine, and how the figures were taken."""
    engine = next((r["engine"] for r in rows if r.get("engine")), None) or "autograd (not imported)"
    threads = {r.get("blas_threads") for r in rows if "unavailable" not in r} - {None, 0}
    return ["tensorgrad-np benchmark" + ("  [--quick: tiny settings, figures meaningless]" if quick else ""),
            *machine.describe(),
            f"Engine measured: {engine}" + (f" (--engine-path {engine_path})" if engine_path else ""),
            "How: each side of each workload in a fresh process (python -m examples.benchmark --worker "
            "WORKLOAD:SIDE), one process at a time, the order of the sides alternating between rounds; "
            f"{how}; a process builds its data and model, runs its warm-up steps, collects garbage, then times its "
            "steps with the garbage collector on; figures are medians over rounds, ranges are the rounds' own "
            "ratios; float64; BLAS threads seen in the workers: "
            f"{', '.join(map(str, sorted(threads))) or 'unknown (no threadpoolctl)'}.",
            f"Load average (1 min): {load}."]


def names_all() -> list[str]:
    """Every workload and the memory runs."""
    return list(WORKLOADS) + ["memory"]


if __name__ == "__main__":
    main()
