"""Column mapping: pure SQL from a config and a source's columns, and the schema checks."""

from __future__ import annotations

import duckdb
import pytest
from contract_world import synthetic_dataset

from siyu.config import ColumnMap, DatasetConfig, EventRoles, SourceConfig
from siyu.contract.errors import MissingColumnsError
from siyu.contract.mapping import map_events, pii_issues, role_expr, ts_expr
from siyu.contract.schema import EVENT_COLUMNS

GENERATOR_COLUMNS = {"event_id": "VARCHAR", "user_id": "VARCHAR", "ts": "TIMESTAMP", "event_type": "VARCHAR",
                     "channel": "VARCHAR", "amount": "DOUBLE", "item_id": "VARCHAR", "category": "VARCHAR",
                     "session_id": "VARCHAR", "campaign_id": "VARCHAR"}


def _eval(sql: str):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    return con.execute(f"SELECT {sql}").fetchone()[0]


def test_synthetic_mapping_outputs_the_canonical_columns() -> None:
    mapped = map_events(synthetic_dataset(), GENERATOR_COLUMNS, "src", "x")
    assert mapped.output_columns == tuple(c.name for c in EVENT_COLUMNS)
    assert mapped.issues == ()
    assert {"user_id", "ts", "event_type", "amount", "event_id"} <= mapped.present


def test_missing_required_columns_are_all_named_with_the_available_ones() -> None:
    ds = synthetic_dataset().model_copy(update={"columns": ColumnMap(user_id="uid", ts="when")})
    with pytest.raises(MissingColumnsError) as info:
        map_events(ds, GENERATOR_COLUMNS, "src", "data/demo/events")
    text = str(info.value)
    assert "user_id: required column 'uid' not in the source" in text
    assert "ts: required column 'when' not in the source" in text
    assert "available columns: event_id, user_id, ts, event_type" in text


def test_no_event_type_and_no_default_is_an_error() -> None:
    ds = DatasetConfig(name="x", events=SourceConfig(path="x"), columns=ColumnMap(event_type=None), roles=EventRoles())
    with pytest.raises(MissingColumnsError, match=r"no event_type column mapped and no roles\.default_event_type"):
        map_events(ds, GENERATOR_COLUMNS, "src", "x")


@pytest.mark.parametrize(("value", "duckdb_type", "fmt", "expected"), [
    ("TIMESTAMP '2025-03-01 10:00:00'", "TIMESTAMP", None, "2025-03-01 10:00:00"),
    ("TIMESTAMPTZ '2025-03-01 02:00:00+00'", "TIMESTAMP WITH TIME ZONE", None, "2025-03-01 10:00:00"),
    ("DATE '2025-03-01'", "DATE", None, "2025-03-01 00:00:00"),
    ("'2025-03-01 10:00:00'", "VARCHAR", None, "2025-03-01 10:00:00"),
    ("'2025-03-01T02:00:00Z'", "VARCHAR", None, "2025-03-01 10:00:00"),
    ("'2025-03-01T10:00:00+08:00'", "VARCHAR", None, "2025-03-01 10:00:00"),
    ("'2025-13-01'", "VARCHAR", None, None),
    ("'20250301'", "VARCHAR", "%Y%m%d", "2025-03-01 00:00:00"),
    ("20250301", "BIGINT", "%Y%m%d", "2025-03-01 00:00:00"),
    ("'20251301'", "VARCHAR", "%Y%m%d", None),
    ("'01/03/2025 10:00 +0000'", "VARCHAR", "%d/%m/%Y %H:%M %z", "2025-03-01 18:00:00"),
])
def test_ts_expr_reads_naive_as_local_and_converts_offsets(value, duckdb_type, fmt, expected) -> None:
    sql = ts_expr("v", duckdb_type, fmt, "Asia/Shanghai").replace('"v"', value)
    got = _eval(sql)
    assert (None if got is None else got.isoformat(sep=" ")) == expected


def test_role_expr_gives_other_for_unlisted_types() -> None:
    roles = EventRoles(purchase=("buy",), refund=("return",), interaction=("view",), contact=("push",))
    case = role_expr(roles, "'{t}'")
    assert [_eval(case.replace("{t}", t)) for t in ("buy", "return", "view", "push", "zzz")] == [
        "purchase", "refund", "interaction", "contact", "other"]


def test_pii_issues_name_the_column_and_where_it_is_offered() -> None:
    ds = synthetic_dataset()
    assert pii_issues(ds) == ()
    bad = ds.model_copy(update={"users": ds.users.model_copy(update={"attributes": ("region", "name")})})
    [issue] = pii_issues(bad)
    assert (issue.rule, issue.column, issue.severity) == ("pii_as_feature", "name", "error")
