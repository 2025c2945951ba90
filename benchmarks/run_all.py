"""`make bench`: run every benchmarks/bench_*.py module's `main()` in turn.

Each benchmark prints its own table and writes benchmarks/results/<name>.json. Pass names to
run a subset: `python -m benchmarks.run_all features scoring`. Scale can be lowered with
SIYU_BENCH_SCALE=0.1 for a quick check (the figures in the notes use the full scale).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv]
    failures = 0
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception as exc:  # a failed benchmark must not hide the others' figures
            failures += 1
            print(f"{name} FAILED: {exc!r}", flush=True)
        print(f"--- {name}: {time.perf_counter() - start:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
