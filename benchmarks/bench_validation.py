"""Benchmark: `validate_dataset` over 10M and 50M events (events/s, peak memory).

The input is written once per size with DuckDB `range()` SQL into /tmp (not committed): the
generator's layout, ~1M users, with ~0.13 % bad rows (duplicate event ids, null user ids,
events after the as-of time, purchases without amount, negative amounts, unknown types).
Validation runs in a child process (`run_measured`) with DuckDB memory_limit 1GB and 2
threads, users derived from the events. Targets (issue 17): >= 4M events/s, peak RSS <= 2 GB
at 50M. A plain DuckDB copy of the same input (read + write Parquet, same settings) is measured
in the same run as a reference, so "validation / copy" is the machine-independent figure. The
input is canonical Parquet, so the clean EventLog is a view over it (`siyu.io.cleanlog`): no
row is rewritten, and validation can be faster than the copy. SIYU_BENCH_SCALE scales the
sizes down for a quick check.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from benchmarks._util import load_average, run_measured, scale, write_result

DATA = Path(os.environ.get("SIYU_BENCH_DATA", "/tmp/siyu_bench"))
SIZES = (10_000_000, 50_000_000)
MEMORY_LIMIT = "1GB"

_EVENTS_SQL = """
COPY (
  SELECT
    'e' || CASE WHEN i % 2000 = 7 THEN i - 1 ELSE i END AS event_id,
    CASE WHEN i % 5000 = 11 THEN NULL ELSE 'u' || (hash(i) % 1000000) END AS user_id,
    CASE WHEN i % 5000 = 13 THEN TIMESTAMP '2030-01-01'
         ELSE TIMESTAMP '2025-01-06' + to_seconds((i * 7919) % (400 * 86400)) END AS ts,
    CASE WHEN i % 10000 = 19 THEN 'mystery_event'
         ELSE (['msg_open', 'article_read', 'group_msg', 'purchase', 'refund', 'check_in', 'share',
                'campaign_contact'])[1 + i % 8] END AS event_type,
    (['official_account', 'group', 'mini_program', 'wecom', 'live', 'store'])[1 + i % 6] AS channel,
    CAST(CASE WHEN i % 8 = 3 AND i % 5000 <> 3 THEN 10.0 + (i % 300)
              WHEN i % 8 = 4 THEN -5.0 WHEN i % 5000 = 17 THEN -3.0 END AS DOUBLE) AS amount,
    CASE WHEN i % 8 IN (3, 4) THEN 'item' || (i % 5000) END AS item_id,
    CASE WHEN i % 8 IN (3, 4) THEN 'cat' || (i % 20) END AS category,
    's' || (i // 7) AS session_id,
    CASE WHEN i % 8 = 7 THEN 'c' || (i % 50) END AS campaign_id
  FROM range({n}) t(i)
) TO '{out}' (FORMAT parquet, PER_THREAD_OUTPUT true)
"""

_CHILD = """
import json, time
from datetime import datetime
from siyu.config import DatasetConfig, EventRoles, PathsConfig, SiyuConfig, SourceConfig
from siyu.jobs.validate import validate_dataset
roles = EventRoles(purchase=('purchase',), refund=('refund',), contact=('campaign_contact',),
                   interaction=('msg_open', 'article_read', 'group_msg', 'check_in', 'share'))
ds = DatasetConfig(name='bench', events=SourceConfig(path={events!r}), roles=roles, max_reject_rate=0.01)
cfg = SiyuConfig(dataset=ds, paths=PathsConfig(work={work!r}), memory_limit={mem!r}, threads=2)
start = time.perf_counter()
result = validate_dataset(cfg, as_of=datetime(2026, 6, 1))
elapsed = time.perf_counter() - start
ev = result.report.events
print(json.dumps({{'seconds': elapsed, 'rows_in': ev.rows_in, 'rows_clean': ev.rows_clean,
                  'rows_rejected': ev.rows_rejected, 'users': result.report.users.rows_clean
                  + result.report.users.rows_added}}))
"""


# The reference, measured in the same run: a plain DuckDB Parquet -> Parquet copy of the same
# input with the same settings. Validation's time over this copy's is the figure that stays
# comparable on a shared machine.
_REFERENCE = """
import json, time, duckdb
con = duckdb.connect()
con.execute("SET threads = 2; SET memory_limit = {mem!r}; SET preserve_insertion_order = false")
con.execute("SET enable_progress_bar = false")
start = time.perf_counter()
con.execute("COPY (SELECT * FROM read_parquet('{events}/*.parquet')) TO '{out}' "
            "(FORMAT parquet, PER_THREAD_OUTPUT true, OVERWRITE true)")
print(json.dumps({{'seconds': time.perf_counter() - start}}))
"""


def _input(n: int) -> Path:
    import duckdb

    out = DATA / f"events_{n}"
    if not any(out.glob("*.parquet")):
        out.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute("SET preserve_insertion_order = false")
        start = time.perf_counter()
        con.execute(_EVENTS_SQL.format(n=n, out=out.as_posix()))
        con.close()
        print(f"  wrote {n:,} input events in {time.perf_counter() - start:.1f} s -> {out}", flush=True)
    return out


def _reference(events: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of the plain copy of `events`."""
    target = DATA / "reference_copy"
    _, peak_mb, stdout = run_measured(_REFERENCE.format(events=events.as_posix(), out=target.as_posix(), mem=MEMORY_LIMIT))
    shutil.rmtree(target, ignore_errors=True)
    return json.loads(stdout.strip().splitlines()[-1])["seconds"], peak_mb


def main() -> None:
    rows = []
    for size in SIZES:
        n = max(10_000, int(size * scale()))
        events = _input(n)
        work = DATA / f"work_{n}"
        shutil.rmtree(work, ignore_errors=True)
        load = load_average()
        ref_before, ref_peak_mb = _reference(events)
        wall, peak_mb, stdout = run_measured(
            _CHILD.format(events=events.as_posix(), work=work.as_posix(), mem=MEMORY_LIMIT))
        out = json.loads(stdout.strip().splitlines()[-1])
        assert out["rows_clean"] + out["rows_rejected"] == out["rows_in"] == n
        shutil.rmtree(work, ignore_errors=True)
        ref_after, _ = _reference(events)
        ref_seconds = (ref_before + ref_after) / 2  # the copy runs before and after: load drifts
        rate = n / out["seconds"]
        rows.append({"events": n, "seconds": round(out["seconds"], 2), "events_per_s": round(rate),
                     "peak_rss_mb": round(peak_mb), "rejected": out["rows_rejected"],
                     "users": out["users"], "process_wall_s": round(wall, 2),
                     "reference_copy_s": round(ref_seconds, 2), "reference_peak_rss_mb": round(ref_peak_mb),
                     "ratio_to_copy": round(out["seconds"] / ref_seconds, 2), "load_avg_1m": load,
                     "memory_limit": MEMORY_LIMIT})
        print(f"  {n:>12,} events  {out['seconds']:7.2f} s  {rate / 1e6:6.2f} M events/s  "
              f"peak {peak_mb:7.0f} MB  rejected {out['rows_rejected']:,}  | plain copy "
              f"{ref_seconds:6.2f} s ({n / ref_seconds / 1e6:.2f} M rows/s), validation / copy "
              f"{out['seconds'] / ref_seconds:.2f}x  | load {load}", flush=True)
    path = write_result("validation", {"rows": rows, "targets": {"events_per_s": 4e6, "peak_rss_mb_at_50m": 2048}})
    print(f"  -> {path}")


if __name__ == "__main__":
    main()
