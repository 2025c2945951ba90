"""The tag store on every backend: atomic publish, idempotence key, lock, rollback, reading back."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from siyu.io.tagstore import TagStoreError, TagStoreLocked, open_tag_store
from siyu.scoring import TagColumn, build_tag_table

AS_OF = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 1, 0, 0)
USERS = ["00123", "NA", "u2", "u3", "u4", "u5"]  # ids that a CSV reader would love to mangle


def _tags(run_id: str, churn: list[str], as_of: dt.date = AS_OF) -> object:
    n = len(churn)
    cols = [
        TagColumn("churn_risk", np.array(churn, dtype=object), np.linspace(0.1, 0.9, n), "siyu-churn", "1"),
        TagColumn("lifecycle_stage", np.array(["active"] * (n - 1) + [None], dtype=object), None, "rules", ""),
    ]
    return build_tag_table(USERS[:n], cols, run_id=run_id, as_of=as_of, computed_at=T0)


def _publish(store, run_id: str, churn: list[str], *, as_of: dt.date = AS_OF, key: str | None = None,
             at: dt.datetime = T0, **kw) -> int:
    with store.locked(run_id, as_of, at):
        store.begin_run(run_id, as_of, at, run_key=key or run_id, model_versions={"churn": "1"}, forced=False)
        return store.publish(run_id, _tags(run_id, churn, as_of), finished_at=at, counts={"n": len(churn)},
                             timings={"write": 0.1}, **kw)


def _current(store) -> dict[tuple[str, str], str]:
    frame = store.read_current_view()
    return {(u, t): v for u, t, v in zip(frame["user_id"], frame["tag"], frame["value"], strict=True)}


@pytest.fixture
def store(store_url):
    s = open_tag_store(store_url)
    yield s
    s.close()


def test_publish_then_read_back_current_tags_and_wide_rows(store):
    assert store.current_run() is None and store.read_current_view().empty
    written = _publish(store, "r1", ["high", "low", "medium", "low", "high", "low"])
    assert written == 6 + 5  # the user without a lifecycle stage has no row for it
    current = _current(store)
    assert current[("00123", "churn_risk")] == "high" and current[("NA", "churn_risk")] == "low"
    wide = store.read_wide("r1", ["churn_risk", "lifecycle_stage"], scores=["churn_risk"])
    assert list(wide["user_id"]) == sorted(USERS)  # strings stay strings ("00123", "NA")
    row = wide.set_index("user_id").loc["00123"]
    assert row["churn_risk_score"] == pytest.approx(0.1) and row["lifecycle_stage"] == "active"
    run = store.run("r1")
    assert run.status == "published" and run.n_rows == written and run.counts == {"n": 6}
    assert store.run_tags("r1") == ["churn_risk", "lifecycle_stage"]


def test_a_failure_mid_write_leaves_the_previous_tags_current(store):
    _publish(store, "r1", ["low"] * 6)
    before = _current(store)

    def fail_after_first_chunk(index: int, rows: int) -> None:
        if index == 0:
            raise RuntimeError(f"disk full after {rows} rows")

    with pytest.raises(RuntimeError, match="disk full after 4 rows"):
        _publish(store, "r2", ["high"] * 6, key="k2", at=T0 + dt.timedelta(days=1), chunk_rows=4,
                 on_chunk=fail_after_first_chunk)
    assert _current(store) == before
    assert store.read_long("r2").num_rows == 0  # nothing of the failed run was kept
    assert store.run("r2").status == "running"  # the job marks it failed; the store never publishes it
    assert store.lock_holder() is None  # the lock was released on the way out


def test_a_killed_writer_leaves_the_previous_tags_and_its_stale_lock_is_reclaimed(store, tmp_path):
    if store.url.startswith("sqlite"):
        pytest.skip("SQLite shares the SQLAlchemy path of PostgreSQL (killed there); keeps the suite short")
    _publish(store, "r1", ["low"] * 6)
    before = _current(store)
    child = textwrap.dedent(f"""
        import datetime as dt, os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_tagstore import _tags, T0, AS_OF
        from siyu.io.tagstore import open_tag_store
        store = open_tag_store({store.url!r})
        store.acquire_lock("r2", AS_OF, T0)
        store.begin_run("r2", AS_OF, T0, run_key="k2", model_versions={{}}, forced=False)
        def die(index, rows):
            os.kill(os.getpid(), signal.SIGKILL)  # killed mid-transaction, after the first chunk
        store.publish("r2", _tags("r2", ["high"] * 6), finished_at=T0, counts={{}}, timings={{}},
                      chunk_rows=3, on_chunk=die)
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert _current(store) == before
    assert store.read_long("r2").num_rows == 0
    assert store.lock_holder()["run_id"] == "r2"  # the dead run still holds the lock ...
    store.acquire_lock("r3", AS_OF, T0 + dt.timedelta(hours=1))  # ... until the next run reclaims it
    assert store.run("r2").status == "failed" and "abandoned" in store.run("r2").message
    store.release_lock("r3")


def test_two_runs_cannot_hold_the_lock_and_the_error_names_the_holder(store_url):
    first, second = open_tag_store(store_url), open_tag_store(store_url)
    try:
        first.acquire_lock("run-A", AS_OF, T0)
        with pytest.raises(TagStoreLocked, match=r"locked by scoring run run-A .*started 2026-03-02 01:00:00"):
            second.acquire_lock("run-B", AS_OF, T0)
        second.begin_run("run-B", AS_OF, T0, run_key="kB", model_versions={}, forced=False)
        with pytest.raises(TagStoreError, match="run-B does not hold the scoring lock .held by run-A"):
            second.publish("run-B", _tags("run-B", ["low"] * 3), finished_at=T0, counts={}, timings={})
        first.release_lock("run-A")
        second.acquire_lock("run-B", AS_OF, T0)  # free again
        second.release_lock("run-B")
    finally:
        first.close()
        second.close()


def test_rollback_restores_the_run_before_and_only_the_current_run(store):
    _publish(store, "r1", ["low"] * 6, key="k1")
    r1 = _current(store)
    _publish(store, "r2", ["high"] * 6, key="k2", as_of=AS_OF + dt.timedelta(days=7))
    assert _current(store)[("u2", "churn_risk")] == "high"
    with pytest.raises(TagStoreError, match="run r1 is not the current run .r2 is.; roll back r2 first"):
        store.rollback("r1", T0)
    back_to = store.rollback("r2", T0 + dt.timedelta(days=8))
    assert back_to.run_id == "r1" and _current(store) == r1
    assert store.run("r2").status == "rolled_back" and store.run("r2").rolled_back_at is not None
    assert store.find_published("k2") is None and store.find_published("k1").run_id == "r1"
    with pytest.raises(TagStoreError, match="run r2 is rolled_back, only a published run"):
        store.rollback("r2", T0)
    with pytest.raises(TagStoreError, match="no scoring run 'nope'"):
        store.rollback("nope", T0)
    assert store.rollback("r1", T0) is None and store.read_current_view().empty


def test_current_view_follows_the_latest_as_of_not_the_latest_write(store):
    _publish(store, "new", ["high"] * 6, as_of=AS_OF + dt.timedelta(days=7))
    _publish(store, "backfill", ["low"] * 6, as_of=AS_OF, at=T0 + dt.timedelta(days=9))
    assert store.current_run().run_id == "new"
    assert set(store.read_current_view()["run_id"]) == {"new"}


def test_one_users_current_tags_are_read_alone(store):
    _publish(store, "old", ["low"] * 6)
    _publish(store, "new", ["high", "medium", "low", "low", "low", "low"], as_of=AS_OF + dt.timedelta(days=7))
    rows = store.read_user("00123")  # the current run's rows only, the id kept as text
    assert set(zip(rows["tag"], rows["value"], rows["run_id"], strict=True)) == {
        ("churn_risk", "high", "new"), ("lifecycle_stage", "active", "new")}
    assert list(rows.columns) == list(store.read_current_view().columns)
    assert store.read_user("123").empty and store.read_user("nobody").empty


def test_changes_between_two_runs(store):
    _publish(store, "r1", ["low", "low", "high", "medium"], key="k1")
    _publish(store, "r2", ["low", "high", "high", "low", "low"], key="k2", as_of=AS_OF + dt.timedelta(days=1))
    changes = store.changes("r1", "r2", ["churn_risk", "lifecycle_stage"])
    moved = {(u, t): (o, n) for u, t, o, n in changes.itertuples(index=False)}
    assert moved[("NA", "churn_risk")] == ("low", "high")
    assert moved[("u3", "churn_risk")] == ("medium", "low")
    assert moved[("u4", "churn_risk")] == (None, "low")  # a user new in r2
    assert ("u2", "churn_risk") not in moved  # unchanged


def test_finish_run_records_the_reason_and_rejects_publishing_statuses(store):
    with store.locked("r1", AS_OF, T0):
        store.begin_run("r1", AS_OF, T0, run_key="k", model_versions={"churn": "1"}, forced=True)
        store.finish_run("r1", "blocked", T0, message="guard x failed", guards=[{"guard": "x"}])
        with pytest.raises(TagStoreError, match="not a final non-published status"):
            store.finish_run("r1", "published", T0)
    run = store.run("r1")
    assert (run.status, run.message, run.forced, run.guards) == ("blocked", "guard x failed", True, [{"guard": "x"}])
    assert json.dumps(run.model_versions) == '{"churn": "1"}'


def test_bad_urls_and_names_are_rejected(tmp_path):
    with pytest.raises(TagStoreError, match="expected duckdb:///path.duckdb"):
        open_tag_store("tags.duckdb")
    store = open_tag_store(f"duckdb:///{tmp_path / 't.duckdb'}")
    with pytest.raises(TagStoreError, match="tag name 'Churn Risk'"):
        store.read_wide("r1", ["Churn Risk"])
    with pytest.raises(TagStoreError, match="run id \"r1'; drop\""):
        store.read_long("r1'; drop")
