"""Shared helpers for benchmarks: peak memory of a child process, medians, result files."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def scale() -> float:
    """SIYU_BENCH_SCALE lowers every benchmark's size for a quick check (default 1.0)."""
    return float(os.environ.get("SIYU_BENCH_SCALE", "1.0"))


def run_measured(code: str) -> tuple[float, float, str]:
    """Run Python `code` in a fresh process: (wall seconds, peak RSS in MB, stdout).

    A child process is used so that the peak memory belongs to that step alone.
    """
    wrapper = (
        "import resource, sys\n"
        f"{code}\n"
        "print('__PEAK_KB__', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    peak_kb = next(
        int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("__PEAK_KB__")
    )
    return wall, peak_kb / 1024, proc.stdout


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def load_average() -> str:
    """The 1-minute load average, printed beside figures so machine noise is visible."""
    return f"{os.getloadavg()[0]:.2f}"


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return path
