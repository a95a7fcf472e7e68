"""What the benchmark ran on (CPU, cores, Python, numpy, BLAS, load) and the resident memory of this process."""
from __future__ import annotations

import os
import platform
import sys

import numpy as np

# Set in every worker's environment so each side computes with one BLAS/OpenMP thread.
ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def blas() -> str:
    """The BLAS numpy uses: from threadpoolctl when installed (library, version, architecture, threads in this
    process), else from numpy.show_config."""
    try:
        from threadpoolctl import threadpool_info
        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            return "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture', '?')}, "
                             f"{i.get('threading_layer', '?')}), {i.get('num_threads')} threads" for i in libs)
    except ImportError:
        pass
    try:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
        b = deps.get("blas", {})
        return f"{b.get('name', '?')} {b.get('version', '?')} (from numpy.show_config)"
    except Exception as e:  # show_config's dict mode is numpy >= 1.26; say what failed rather than guess
        return f"unknown ({type(e).__name__}: {e})"


def blas_threads() -> int | None:
    """Threads the BLAS of this process will use (threadpoolctl), or None when it cannot be told."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts) if counts else None


def package_version(name: str) -> str | None:
    """An installed distribution's version, or None."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version(name)
    except PackageNotFoundError:
        return None


def describe() -> list[str]:
    """Lines describing the machine and software, for the report's header."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mg = package_version("micrograd")
    return [f"CPU: {cpu_model()}, {os.cpu_count()} cores ({usable} usable by this process); "
            f"{platform.system()} {platform.release()}",
            f"Python {platform.python_version()} ({platform.python_implementation()}), numpy {np.__version__}"
            + (f", micrograd {mg}" if mg else ", micrograd not installed"),
            f"BLAS: {blas()} in this process; the workers run with "
            + " ".join(f"{k}=1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))]


def load_average() -> str:
    """The 1-minute load average (how busy the machine was), or '?' where the OS does not say."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):
        return "?"


def rss_kb() -> int:
    """This process's resident memory in kB (VmRSS from /proc/self/status)."""
    return _status_kb("VmRSS")


def peak_rss_kb() -> int:
    """This process's peak resident memory in kB since start or the last reset_peak_rss()."""
    return _status_kb("VmHWM")


def reset_peak_rss() -> bool:
    """Reset the peak-RSS counter (Linux: write 5 to /proc/self/clear_refs); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    raise RuntimeError(f"benchmark: cannot read {field} from /proc/self/status (memory is measured on Linux only)"
                       f" on {sys.platform}")
