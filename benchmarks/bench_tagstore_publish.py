"""What the readers' snapshot costs a publish (issue 18, item 7), on the embedded DuckDB store.

A demo-sized run: 20,000 users x 10 tags = 200,000 tag rows, published the way `siyu score` does
(lock, `running`, one transaction, timings, unlock) into a store that already holds 10 runs.
Median of 5 publishes with the snapshot refreshed after every write (the shipped behaviour) and
with the refresh switched off (the store before this change), beside the 1-minute load; then
how long a reader takes to read the current view from the snapshot. SIYU_BENCH_SCALE scales users.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa

from benchmarks._util import load_average, median, scale, write_result
from siyu.io import tagsnapshot
from siyu.io.tagstore import open_tag_store
from siyu.scoring.tags import TAG_HISTORY_SCHEMA

N_TAGS = 10
HISTORY = 10
REPEATS = 5


def _run_table(run_id: str, n_users: int, as_of: dt.date, rng: np.random.Generator) -> pa.Table:
    users = np.array([f"u{i:07d}" for i in range(n_users)], dtype=object)
    n = n_users * N_TAGS
    return pa.table({
        "user_id": np.tile(users, N_TAGS), "tag": np.repeat([f"tag_{k}" for k in range(N_TAGS)], n_users),
        "value": rng.choice(["high", "medium", "low"], n), "score": rng.random(n), "model": ["siyu-churn"] * n,
        "model_version": ["3"] * n, "run_id": [run_id] * n, "as_of": [as_of] * n,
        "computed_at": [dt.datetime(2026, 3, 2)] * n}, schema=TAG_HISTORY_SCHEMA)


def _publish(store, run_id: str, table: pa.Table, as_of: dt.date, at: dt.datetime) -> float:  # noqa: ANN001
    start = time.perf_counter()
    with store.locked(run_id, as_of, at):
        store.begin_run(run_id, as_of, at, run_key=run_id, model_versions={}, forced=False)
        store.publish(run_id, table, finished_at=at, counts={}, timings={})
        store.record_timings(run_id, {"write": 0.0})
    return time.perf_counter() - start


def _series(folder: Path, n_users: int, *, snapshot: bool) -> list[float]:
    rng = np.random.default_rng(0)
    url = f"duckdb:///{folder / ('with' if snapshot else 'without') / 'tags.duckdb'}"
    day = dt.date(2026, 1, 1)
    with mock.patch.object(tagsnapshot, "refresh", tagsnapshot.refresh if snapshot else lambda *a, **k: None):
        store = open_tag_store(url)
        for i in range(HISTORY):
            _publish(store, f"h{i:02d}", _run_table(f"h{i:02d}", n_users, day, rng), day, dt.datetime(2026, 1, 1))
            day += dt.timedelta(days=1)
        times = []
        for i in range(REPEATS):
            table = _run_table(f"p{i:02d}", n_users, day, rng)  # built outside the clock, as scoring does
            times.append(_publish(store, f"p{i:02d}", table, day, dt.datetime(2026, 2, 1)))
            day += dt.timedelta(days=1)
        store.close()
    return times


def main() -> None:
    n_users = max(1000, int(20_000 * scale()))
    with tempfile.TemporaryDirectory(prefix="siyu-bench-tags-") as tmp:
        folder = Path(tmp)
        without = _series(folder, n_users, snapshot=False)
        with_snap = _series(folder, n_users, snapshot=True)
        reader = open_tag_store(f"duckdb:///{folder / 'with' / 'tags.duckdb'}", read_only=True)
        reads = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            rows = len(reader.read_current_view())
            reads.append(time.perf_counter() - start)
    out = {"users": n_users, "tag_rows_per_run": n_users * N_TAGS, "runs_in_store": HISTORY + REPEATS,
           "publish_s_without_snapshot": median(without), "publish_s_with_snapshot": median(with_snap),
           "read_current_view_s_from_snapshot": median(reads), "rows_read": rows, "load_1min": load_average()}
    out["snapshot_cost_s"] = out["publish_s_with_snapshot"] - out["publish_s_without_snapshot"]
    print(f"{n_users:,} users x {N_TAGS} tags, {HISTORY} runs already in the store, median of {REPEATS} "
          f"(load {out['load_1min']})")
    print(f"publish without snapshot : {out['publish_s_without_snapshot']:.3f} s")
    print(f"publish with snapshot    : {out['publish_s_with_snapshot']:.3f} s "
          f"(+{out['snapshot_cost_s']:.3f} s)")
    print(f"reader, current view     : {out['read_current_view_s_from_snapshot']:.3f} s for {rows:,} rows")
    write_result("tagstore_publish", out)


if __name__ == "__main__":
    main()
