"""Runs whose rows say how big the run is, so a reader can tell one whole run from part of one or
a mix of two (`r07-n20007`: 20,007 users, each with both tags). Imported by the reader tests and
by the processes they start."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from siyu.scoring.tags import TAG_HISTORY_SCHEMA

TAGS = ("churn_risk", "lifecycle_stage")


def users_of(run_id: str) -> int:
    """How many users run `run_id` tagged (the number after `-n`)."""
    return int(run_id.rsplit("-n", 1)[1])


def run_table(run_id: str, n_users: int, as_of: dt.date) -> pa.Table:
    """The tag rows of a run: every user gets each of TAGS, with the run id as the value."""
    users = [f"u{i:06d}" for i in range(n_users)]
    n = n_users * len(TAGS)
    return pa.table({"user_id": users * len(TAGS), "tag": [t for t in TAGS for _ in users], "value": [run_id] * n,
                     "score": [0.5] * n, "model": ["m"] * n, "model_version": ["1"] * n, "run_id": [run_id] * n,
                     "as_of": [as_of] * n, "computed_at": [dt.datetime(2026, 3, 2)] * n}, schema=TAG_HISTORY_SCHEMA)


def publish(store, run_id: str, n_users: int, as_of: dt.date, at: dt.datetime) -> int:  # noqa: ANN001 - a TagStore
    """Publish a run of `n_users` the way `siyu score` does: lock, running, one transaction."""
    with store.locked(run_id, as_of, at):
        store.begin_run(run_id, as_of, at, run_key=run_id, model_versions={}, forced=False)
        return store.publish(run_id, run_table(run_id, n_users, as_of), finished_at=at,
                             counts={t: {run_id: n_users} for t in TAGS}, timings={}, chunk_rows=5_000)
