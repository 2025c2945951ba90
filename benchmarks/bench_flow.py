"""The whole `make demo` flow, step by step, each step as a whole process (issue 17).

The steps are read from the Makefile's `demo` recipe, so the benchmark times what a newcomer
runs. Each repeat starts from an empty folder with the repo's configs (its own data, work folder
and MLflow store); the feature engine's compiled passes are warmed once first, as `make setup`
does. Median of SIYU_FLOW_REPEATS runs (default 3) per step, with the 1-minute load average
before and after each repeat.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._util import load_average, median, write_result

ROOT = Path(__file__).resolve().parents[1]


def demo_steps(makefile: Path = ROOT / "Makefile") -> list[list[str]]:
    """The `demo` recipe's commands with the Makefile's variables filled in."""
    text = makefile.read_text(encoding="utf-8")
    variables = dict(re.findall(r"^([A-Z_]+)\s*\?=\s*(\S+)", text, flags=re.M))
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", text, flags=re.M).group(1)
    siyu = str(Path(sys.executable).with_name("siyu"))
    steps = []
    for line in recipe.splitlines():
        command = line.strip().replace("$(SIYU)", siyu)
        command = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), command)
        steps.append(command.split())
    return steps


def _label(step: list[str]) -> str:
    words = [w for w in step[1:] if not w.startswith("-") and "/" not in w and not w.isdigit()]
    return " ".join(words[:2]) if words[:1] in (["tags"], ["report"]) else words[0]


def run_once(steps: list[list[str]]) -> dict[str, float]:
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "configs", Path(tmp) / "configs")
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        env.pop("MLFLOW_TRACKING_URI", None)
        for step in steps:
            label = _label(step) if "--kind" not in step else "report operations"
            start = time.perf_counter()
            proc = subprocess.run(step, cwd=tmp, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(step[1:])}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
            times[label] = times.get(label, 0.0) + time.perf_counter() - start
    return times


def main() -> None:
    repeats = int(os.environ.get("SIYU_FLOW_REPEATS", "3"))
    subprocess.run([sys.executable, "-m", "siyu.features.warmup"], check=True, capture_output=True)
    steps = demo_steps()
    runs, loads = [], []
    for _ in range(repeats):
        before = load_average()
        runs.append(run_once(steps))
        loads.append((before, load_average()))
    table = {step: median([r[step] for r in runs]) for step in runs[0]}
    total = median([sum(r.values()) for r in runs])
    print(f"make demo, {repeats} run(s), load before/after: {loads}")
    print(f"{'step':<22}{'median s':>10}")
    for step, seconds in table.items():
        print(f"{step:<22}{seconds:>10.1f}")
    print(f"{'total':<22}{total:>10.1f}")
    write_result("flow", {"repeats": repeats, "loads": loads, "median_seconds": table, "total_median_seconds": total,
                          "runs": runs})


if __name__ == "__main__":
    main()
