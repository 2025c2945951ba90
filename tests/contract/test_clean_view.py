"""The clean EventLog as a view over a canonical Parquet source: the same rows as written ones,
rows conserved, and refused once the source changes."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import duckdb
import pytest
from contract_world import (
    AS_OF,
    MIXED_ROWS,
    csv_config,
    parquet_rows,
    synthetic_dataset,
    world_config,
    write_events,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.contract.profile import profile_sql
from siyu.contract.view import profile_groups_sql, view_columns
from siyu.features import relation_sql
from siyu.io.cleanlog import SourceChanged, events_relation, is_view
from siyu.io.workspace import write_profile
from siyu.jobs.validate import validate_dataset


def _csv_line(row: tuple) -> str:
    return ",".join("" if v is None else str(v) for v in row)


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["event_id"], str(r["ts"])))


def test_a_canonical_parquet_source_becomes_a_view_with_the_rows_a_written_log_holds(tmp_path: Path) -> None:
    cfg = world_config(tmp_path / "view", MIXED_ROWS, max_reject_rate=1.0)
    viewed = validate_dataset(cfg, as_of=AS_OF)
    assert is_view(viewed.clean_events) and not list(viewed.clean_events.rglob("*.parquet"))
    text = csv_config(tmp_path / "csv", [_csv_line(r) for r in MIXED_ROWS], max_reject_rate=1.0)
    written = validate_dataset(text, as_of=AS_OF)  # text times: parsed once, the rows written
    assert not is_view(written.clean_events)
    assert _sorted(parquet_rows(viewed.clean_events)) == _sorted(parquet_rows(written.clean_events))
    got, want = viewed.report.events, written.report.events
    assert (got.rows_in, got.rows_clean, got.rows_rejected) == (want.rows_in, want.rows_clean, want.rows_rejected)
    assert got.rows_in == len(MIXED_ROWS) == got.rows_clean + len(parquet_rows(viewed.rejects_events))
    csv_only = {"malformed_line"}  # a rule of text sources
    assert [(o.rule, o.count) for o in got.outcomes] == [(o.rule, o.count) for o in want.outcomes
                                                         if o.rule not in csv_only]
    assert parquet_rows(viewed.clean_users) == parquet_rows(written.clean_users)


def test_the_view_is_refused_once_its_source_changed(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, MIXED_ROWS[:5], max_reject_rate=1.0)
    clean = validate_dataset(cfg, as_of=AS_OF).clean_events
    assert len(parquet_rows(clean)) == 5
    source = tmp_path / "world" / "events" / "part-0.parquet"
    stat = source.stat()
    write_events(source, MIXED_ROWS[:4])  # rewritten: the rejected rows' keys would point elsewhere
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(SourceChanged, match=r"source changed since validation .*run `siyu validate` again"):
        relation_sql(clean)
    validate_dataset(cfg, as_of=AS_OF)
    write_events(tmp_path / "world" / "events" / "part-1.parquet", MIXED_ROWS[5:6])  # a file added
    with pytest.raises(SourceChanged, match="part-1.parquet"):
        events_relation(clean)


def test_sources_that_need_parsing_are_written(tmp_path: Path) -> None:
    cfg = world_config(tmp_path, MIXED_ROWS[:5])
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/world/events/*.parquet')").fetchall()
    columns = {row[0]: row[1] for row in described}
    assert view_columns(cfg.dataset, columns) is not None
    assert view_columns(cfg.dataset, {**columns, "ts": "VARCHAR"}) is None  # text times
    assert view_columns(cfg.dataset, {**columns, "amount": "VARCHAR"}) is None  # text money
    assert view_columns(cfg.dataset, {**columns, "user_id": "BIGINT"}) is None  # ids not text
    with_ts_format = cfg.dataset.model_copy(update={"events": cfg.dataset.events.model_copy(update={"ts_format": "%Y"})})
    assert view_columns(with_ts_format, columns) is None


TEXT = st.sampled_from(["a", "b", "", None])
PARQUET_ROW = st.tuples(
    st.sampled_from(["e1", "e2", "e3", "", None]),  # event_id: duplicates, empty, none
    st.sampled_from(["u1", "u2", "", None]),  # user_id
    st.sampled_from(["2025-01-06 09:00:00", "2025-02-01 00:00:00", "2031-01-01 00:00:00", None]),  # after as-of, none
    st.sampled_from(["msg_open", "purchase", "refund", "campaign_contact", "teleport", "", None]),
    st.sampled_from(["group", "store", "", None]),  # channel
    st.sampled_from([None, 12.5, -3.0, 0.0, math.nan, math.inf, 2e12]),  # amount: negative, non-finite, too large
    TEXT, TEXT, TEXT, TEXT)  # item_id, category, session_id, campaign_id


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(PARQUET_ROW, min_size=0, max_size=25))
def test_a_view_conserves_rows_and_profiles_them_as_the_clean_rows_do(rows: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = world_config(Path(tmp), rows, max_reject_rate=1.0)
        result = validate_dataset(cfg, as_of=AS_OF)
        assert is_view(result.clean_events)
        clean, rejects = parquet_rows(result.clean_events), parquet_rows(result.rejects_events)
        # The profile validation wrote (the source's groups less the rejected rows') against one
        # computed on the clean rows themselves.
        written = json.loads((cfg.paths.reports_dir / "profile.json").read_text(encoding="utf-8"))
        recomputed = write_profile(cfg)
    report = result.report.events
    assert report.rows_in == len(rows) == len(clean) + len(rejects) == report.rows_clean + report.rows_rejected
    assert all(r["reject_reason"] for r in rejects)
    ids = [r["event_id"] for r in clean if r["event_id"] is not None]
    assert len(ids) == len(set(ids)), "no duplicate event_id survives"
    assert written == json.loads(json.dumps(recomputed.to_dict()))
    assert list(written["event_types"]) == list(recomputed.event_types)
    assert list(written["channels"]) == list(recomputed.channels)
    assert written["events"] == len(clean)


def _mappings() -> list:
    ds = synthetic_dataset()
    cols = ds.columns
    transactions = ds.model_copy(update={
        "columns": cols.model_copy(update={"event_type": None, "channel": None, "session_id": None, "quantity": "qty",
                                           "amount_per_unit": True}),
        "roles": ds.roles.model_copy(update={"default_event_type": "purchase"})})
    one_column_twice = ds.model_copy(update={"columns": cols.model_copy(update={"category": "channel"})})
    return [ds, transactions, one_column_twice]


@pytest.mark.parametrize("ds", _mappings(), ids=["synthetic", "transactions_per_unit", "channel_as_category"])
def test_profile_groups_over_the_source_equal_those_over_its_clean_columns(ds) -> None:  # noqa: ANN001
    con = duckdb.connect()
    con.execute("CREATE TABLE src (event_id VARCHAR, user_id VARCHAR, ts TIMESTAMP, event_type VARCHAR, channel VARCHAR, "
                "amount DOUBLE, qty INTEGER, item_id VARCHAR, category VARCHAR, session_id VARCHAR, campaign_id VARCHAR)")
    con.executemany("INSERT INTO src VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (*row[:6], qty, *row[6:]) for row, qty in zip(MIXED_ROWS * 2, [None, 2, 0, 3] * 5, strict=False)])
    columns = {r[0]: r[1] for r in con.execute("DESCRIBE src").fetchall()}
    clean = ", ".join(f'{c.duckdb} AS "{c.name}"' for c in view_columns(ds, columns))
    want = con.execute(profile_sql(f"(SELECT {clean} FROM src)", count_users=False)["groups"]).fetchall()
    got = con.execute(profile_groups_sql(ds, columns, "src")).fetchall()
    assert sorted(map(repr, got)) == sorted(map(repr, want)) and want
