"""One side of one workload, run in a process of its own: time it, or watch its resident memory over many steps.
The parent (examples/benchmark.py) starts it as `python -m examples.benchmark --worker WORKLOAD:SIDE ...` and
reads the one result line it prints."""
from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import time

from . import machine
from .registry import ENGINE, WORKLOADS, Unavailable

RESULT_MARK = "BENCH-RESULT "


def _import_engine(needs: tuple[str, ...], engine_path: str | None) -> str | None:
    """Import what the side needs, the engine from engine_path when given; return autograd's file, if loaded."""
    if engine_path:
        sys.path.insert(0, os.path.abspath(engine_path))
    for name in needs:
        if name.split(".")[0] in ENGINE:
            importlib.import_module(name)  # the engine failing to import is an error, not a missing extra
            continue
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise Unavailable(f"cannot import {name}: {e}") from e
    ag = sys.modules.get("autograd")
    where = getattr(ag, "__file__", None)
    if where and engine_path and not os.path.abspath(where).startswith(os.path.abspath(engine_path) + os.sep):
        raise RuntimeError(f"benchmark worker: asked for the engine in {engine_path} but autograd was imported "
                           f"from {where}")
    return where


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(workload: str, side: str, cfg: dict, engine_path: str | None, clock: str = "wall") -> dict:
    """Set up, run cfg['warmup'] steps, collect garbage, then time cfg['steps'] steps (collector on) by the
    wall clock or by this process's CPU time (user + system: page faults count; time spent descheduled
    on a busy machine does not)."""
    now = CLOCKS[clock]
    w = WORKLOADS[workload]
    s = w.sides[side]
    engine = _import_engine(s.needs, engine_path)
    trainer = s.setup(cfg, w.make_data(cfg))
    trainer.train(cfg["warmup"])
    gc.collect()
    t0 = now()
    trainer.train(cfg["steps"])
    elapsed = now() - t0
    return {"seconds": elapsed / cfg["steps"], "loss": float(trainer.state()["loss"]), "engine": engine,
            "blas_threads": machine.blas_threads()}


def memory(workload: str, side: str, cfg: dict, engine_path: str | None, steps: int) -> dict:
    """Resident memory of the training loop: RSS sampled every steps/10 steps, minus the RSS once imports and
    data exist (so what is counted is the model, its gradients and optimizer state, and what each step leaves
    allocated), with the number of objects the garbage collector tracks (a leak of Python objects shows
    there); also the peak RSS over the loop."""
    w = WORKLOADS[workload]
    s = w.sides[side]
    engine = _import_engine(s.needs, engine_path)
    data = w.make_data(cfg)
    gc.collect()
    base = machine.rss_kb()
    peak_reset = machine.reset_peak_rss()
    trainer = s.setup(cfg, data)
    every = max(steps // 10, 1)
    at, rss, objects = [], [], []  # lists of ints only: sampling adds no object the collector tracks
    while len(at) * every < steps:
        n = min(every, steps - len(at) * every)
        trainer.train(n)
        objects.append(len(gc.get_objects()))
        rss.append(machine.rss_kb() - base)
        at.append(len(at) * every + n)
    return {"base_kb": base, "samples": list(zip(at, rss, objects)),
            "peak_kb": machine.peak_rss_kb() - base if peak_reset else None,
            "loss": float(trainer.state()["loss"]), "engine": engine, "blas_threads": machine.blas_threads()}


def main(spec: str, cfg_json: str, engine_path: str | None, memory_steps: int | None, clock: str = "wall") -> None:
    """Run one worker and print its result line (RESULT_MARK + JSON) on stdout."""
    workload, _, side = spec.partition(":")
    if workload not in WORKLOADS or side not in WORKLOADS[workload].sides:
        raise SystemExit(f"benchmark worker: no side {side!r} of workload {workload!r}")
    cfg = json.loads(cfg_json)
    try:
        if memory_steps:
            result = memory(workload, side, cfg, engine_path, memory_steps)
        else:
            result = timed(workload, side, cfg, engine_path, clock)
    except Unavailable as e:
        result = {"unavailable": str(e)}
    print(RESULT_MARK + json.dumps(result), flush=True)
