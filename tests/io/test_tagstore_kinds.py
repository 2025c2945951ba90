"""Run kinds in the tag store: a contact plan and the scores are both current, each rolls back on
its own, a failed plan run leaves every tag as it was, and a store from before kinds migrates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from siyu.io.publishing import publish_once
from siyu.io.tagstore import TagStoreError, open_tag_store
from siyu.scoring import GuardFailed, GuardResult, TagColumn, build_tag_table

AS_OF = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 1, 0, 0)
USERS = ["u1", "u2", "u3"]


def _score_table(run_id, churn, as_of=AS_OF):
    col = TagColumn("churn_risk", np.array(churn, dtype=object), np.array([0.9, 0.1, 0.5]), "siyu-churn", "1")
    return build_tag_table(USERS, [col], run_id=run_id, as_of=as_of, computed_at=T0)


def _plan_table(run_id, actions, as_of=AS_OF):
    cols = [TagColumn("next_action", np.array(actions, dtype=object), None, "siyu-uplift_purchase", "2"),
            TagColumn("expected_gain", np.array(["1.5", "0.0", "2.5"], dtype=object), np.array([1.5, 0.0, 2.5]),
                      "siyu-uplift_purchase", "2"),
            TagColumn("holdout", np.array(["false", "false", "true"], dtype=object), None, "siyu-uplift_purchase", "2")]
    return build_tag_table(USERS, cols, run_id=run_id, as_of=as_of, computed_at=T0)


def _run(store, run_id, table, *, kind, at=T0, key=None, on_chunk=None, work=None):
    def publish():
        if work is not None:
            work()
        return store.publish(run_id, table, finished_at=at, counts={}, timings={}, on_chunk=on_chunk)

    return publish_once(store, run_id=run_id, as_of=AS_OF, started=at, run_key=key or run_id,
                        model_versions={}, forced=False, kind=kind, work=publish, unchanged=lambda done: done)


def _current(store):
    frame = store.read_current_view()
    return {(u, t): v for u, t, v in zip(frame["user_id"], frame["tag"], frame["value"], strict=True)}


@pytest.fixture
def store(store_url):
    s = open_tag_store(store_url)
    yield s
    s.close()


def test_a_plan_and_the_scores_are_both_current_and_roll_back_on_their_own(store):
    _run(store, "s1", _score_table("s1", ["high", "low", "medium"]), kind="score")
    _run(store, "p1", _plan_table("p1", ["coupon_push", "none", "campaign_contact"]), kind="plan",
         at=T0 + dt.timedelta(hours=1))
    current = _current(store)
    assert current[("u1", "churn_risk")] == "high" and current[("u1", "next_action")] == "coupon_push"
    assert current[("u3", "holdout")] == "true"
    assert store.current_run().run_id == "s1" and store.current_run("plan").run_id == "p1"
    assert [r.run_id for r in store.published_runs()] == ["s1"]  # exports and hysteresis read scoring runs only

    # a newer scoring run replaces the scores and leaves the plan current
    _run(store, "s2", _score_table("s2", ["low", "low", "low"]), kind="score", at=T0 + dt.timedelta(hours=2))
    current = _current(store)
    assert current[("u1", "churn_risk")] == "low" and current[("u1", "next_action")] == "coupon_push"
    _run(store, "p2", _plan_table("p2", ["none", "none", "none"]), kind="plan", at=T0 + dt.timedelta(hours=3))

    # rolling back the scores is judged among scoring runs (the plan is newer, and that is fine)
    assert store.rollback("s2", T0 + dt.timedelta(hours=4)).run_id == "s1"
    with pytest.raises(TagStoreError, match="roll back p2 first"):
        store.rollback("p1", T0)
    assert store.rollback("p2", T0 + dt.timedelta(hours=5)).run_id == "p1"
    current = _current(store)
    assert current[("u1", "churn_risk")] == "high" and current[("u1", "next_action")] == "coupon_push"
    assert {r.kind for r in store.runs()} == {"score", "plan"}


def test_a_failed_or_blocked_plan_run_leaves_every_tag_as_it_was(store):
    _run(store, "s1", _score_table("s1", ["high", "low", "medium"]), kind="score")
    _run(store, "p1", _plan_table("p1", ["coupon_push", "none", "campaign_contact"]), kind="plan")
    before = _current(store)

    def die(i, rows):
        raise RuntimeError("disk full mid-write")

    with pytest.raises(RuntimeError, match="disk full"):
        _run(store, "p2", _plan_table("p2", ["none", "none", "none"]), kind="plan", on_chunk=die,
             at=T0 + dt.timedelta(hours=1))

    def guard():
        raise GuardFailed([GuardResult("min_users", "fail", 0.0, 1.0)])

    with pytest.raises(GuardFailed, match="p3 stopped"):
        _run(store, "p3", _plan_table("p3", ["none", "none", "none"]), kind="plan", work=guard,
             at=T0 + dt.timedelta(hours=2))
    assert _current(store) == before
    status = {r.run_id: (r.kind, r.status) for r in store.runs()}
    assert status["p2"] == ("plan", "failed") and status["p3"] == ("plan", "blocked")
    assert store.lock_holder() is None


def test_the_same_key_is_unchanged_only_within_its_kind(store):
    _run(store, "s1", _score_table("s1", ["high", "low", "medium"]), kind="score", key="k")
    outcome = _run(store, "p1", _plan_table("p1", ["none", "none", "none"]), kind="plan", key="k")
    assert outcome == 3 * 3  # published: a scoring run with that key is no plan
    again = _run(store, "p2", _plan_table("p2", ["none", "none", "none"]), kind="plan", key="k")
    assert again.run_id == "p1"
    with pytest.raises(TagStoreError, match="run kind"):
        store.begin_run("x", AS_OF, T0, run_key="x", model_versions={}, forced=False, kind="nope")


_OLD_DDL = (
    """CREATE TABLE scoring_runs (
        run_id VARCHAR(64) PRIMARY KEY, as_of DATE NOT NULL, status VARCHAR(16) NOT NULL,
        started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, counts TEXT, model_versions TEXT,
        timings TEXT, guards TEXT, forced BOOLEAN NOT NULL, message TEXT, run_key VARCHAR(128),
        n_rows BIGINT, pid INTEGER, host VARCHAR(255), rolled_back_at TIMESTAMP)""",
    """CREATE TABLE tag_history (
        user_id VARCHAR(128) NOT NULL, tag VARCHAR(64) NOT NULL, value TEXT NOT NULL,
        score DOUBLE PRECISION, model VARCHAR(128), model_version VARCHAR(64),
        run_id VARCHAR(64) NOT NULL, as_of DATE NOT NULL, computed_at TIMESTAMP NOT NULL)""",
    """CREATE VIEW current_tags AS SELECT h.* FROM tag_history h
        WHERE h.run_id = (SELECT r.run_id FROM scoring_runs r WHERE r.status = 'published'
                          ORDER BY r.as_of DESC, r.finished_at DESC, r.run_id DESC LIMIT 1)""",
    "INSERT INTO scoring_runs (run_id, as_of, status, started_at, finished_at, forced) "
    "VALUES ('old', '2026-03-02', 'published', '2026-03-02 01:00:00', '2026-03-02 01:00:00', false)",
    "INSERT INTO tag_history VALUES ('u1', 'churn_risk', 'high', 0.9, 'siyu-churn', '1', 'old', '2026-03-02', "
    "'2026-03-02 01:00:00')",
)


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_a_store_from_before_run_kinds_is_migrated(tmp_path, engine):
    if engine == "duckdb":
        import duckdb

        path = tmp_path / "tags.duckdb"
        con = duckdb.connect(str(path))
        for stmt in _OLD_DDL:
            con.execute(stmt)
        con.close()
        url = f"duckdb:///{path}"
    else:
        import sqlite3

        path = tmp_path / "tags.db"
        con = sqlite3.connect(path)
        for stmt in _OLD_DDL:
            con.execute(stmt.replace(" BOOLEAN", " INTEGER").replace("false)", "0)"))
        con.commit()
        con.close()
        url = f"sqlite:///{path}"
    store = open_tag_store(url)
    try:
        assert store.current_run().run_id == "old" and store.current_run().kind == "score"
        _run(store, "p1", _plan_table("p1", ["coupon_push", "none", "none"]), kind="plan")
        current = _current(store)
        assert current[("u1", "churn_risk")] == "high" and current[("u1", "next_action")] == "coupon_push"
    finally:
        store.close()
    open_tag_store(url).close()  # opening again is a no-op
