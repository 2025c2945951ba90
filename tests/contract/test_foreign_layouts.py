"""Foreign layouts mapped by config alone: a transactions-only log and a web clickstream."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from contract_world import FIXTURES, ROOT, parquet_rows, project

from siyu.cli._config import load_dataset_config
from siyu.contract.errors import ValidationFailed
from siyu.contract.schema import EVENT_COLUMNS
from siyu.jobs.validate import validate_dataset


def _layout(tmp_path: Path, name: str, fixture: str, **update):
    ds = load_dataset_config(ROOT / "configs" / "datasets" / f"{name}.yaml")
    ds = ds.model_copy(update={"events": ds.events.model_copy(update={"path": str(FIXTURES / fixture)}), **update})
    return project(tmp_path, ds)


def test_transactions_log_every_row_a_purchase(tmp_path: Path) -> None:
    cfg = _layout(tmp_path, "transactions", "transactions.txt", max_reject_rate=0.1)
    result = validate_dataset(cfg, as_of=datetime(2025, 6, 1))
    events = result.report.events
    assert (events.rows_in, events.rows_clean, events.rows_rejected) == (11, 10, 1)
    [bad] = [o for o in events.outcomes if o.count]
    assert bad.rule == "ts_unparseable"
    assert "ts: 1 rows unparseable (e.g. '20241301'; expected format '%Y%m%d')" in bad.message
    [reject] = parquet_rows(result.rejects_events)
    assert (reject["user_id"], reject["ts"], reject["source_row"]) == ("C005", "20241301", 9)  # line 9 of the file
    clean = parquet_rows(result.clean_events)
    assert {r["role"] for r in clean} == {"purchase"} and {r["event_type"] for r in clean} == {"purchase"}
    first = clean[0] if clean[0]["user_id"] == "C001" else next(r for r in clean if r["user_id"] == "C001")
    assert first["ts"] == datetime(2025, 1, 6) and first["amount"] == pytest.approx(59.80)
    assert sum(r["amount"] for r in clean) == pytest.approx(59.8 + 120 + 29.9 + 45 + 88 + 15.5 + 59.8 + 45 + 62 + 99)
    users = parquet_rows(result.clean_users)
    assert {u["user_id"]: u["joined_at"] for u in users}["C004"] == datetime(2025, 1, 21)  # tab-separated line
    assert result.report.users.rows_added == 4


def test_transactions_amount_per_unit_multiplies_quantity(tmp_path: Path) -> None:
    ds = load_dataset_config(ROOT / "configs" / "datasets" / "transactions.yaml")
    cfg = _layout(tmp_path, "transactions", "transactions.txt", max_reject_rate=0.1,
                  columns=ds.columns.model_copy(update={"amount_per_unit": True}))
    clean = parquet_rows(validate_dataset(cfg).clean_events)
    c003 = sorted(r["amount"] for r in clean if r["user_id"] == "C003")
    assert c003 == pytest.approx([45.0, 135.0])  # 1 × 45 and 3 × 45


def test_transactions_bad_date_fails_at_the_default_threshold(tmp_path: Path) -> None:
    cfg = _layout(tmp_path, "transactions", "transactions.txt")
    with pytest.raises(ValidationFailed, match=r"events reject rate 9\.09% is above max_reject_rate 1\.00%") as info:
        validate_dataset(cfg)
    assert "ts: 1 rows unparseable (e.g. '20241301'" in str(info.value)
    assert (tmp_path / "work" / "rejects" / "events.parquet").exists()
    assert (tmp_path / "work" / "reports" / "validation.json").exists()
    assert not (tmp_path / "work" / "clean" / "events").exists()


def test_clickstream_order_completed_is_the_purchase(tmp_path: Path) -> None:
    cfg = _layout(tmp_path, "clickstream", "clickstream.csv")
    result = validate_dataset(cfg, as_of=datetime(2025, 6, 1))
    events = result.report.events
    assert (events.rows_in, events.rows_clean, events.rows_rejected) == (12, 12, 0)
    [warning] = [o for o in events.outcomes if o.count]
    assert warning.rule == "unknown_event_type" and "'wishlist_add'" in warning.message
    clean = parquet_rows(result.clean_events)
    assert [c.name for c in EVENT_COLUMNS] + ["acquisition_channel"] == list(clean[0])
    purchases = [r for r in clean if r["role"] == "purchase"]
    assert sorted(r["amount"] for r in purchases) == [88.5, 249.0]
    [refund] = [r for r in clean if r["role"] == "refund"]
    assert refund["amount"] == -249.0  # refunds are stored negative
    by_time = {(r["user_id"], r["event_type"]): r["ts"] for r in clean}
    assert by_time[("web-17", "order_completed")] == datetime(2025, 3, 1, 10, 5)  # 02:05Z -> +08:00
    assert by_time[("web-23", "page_view")] == datetime(2025, 3, 1, 9, 12)  # +08:00 kept
    assert by_time[("web-31", "page_view")] == datetime(2025, 3, 2, 20, 0)  # naive = local
    assert {r["channel"] for r in clean} == {"web", "ios", "android"}
    assert {r["session_id"] for r in clean if r["user_id"] == "web-17"} == {"sess-001", "sess-004"}
    users = {u["user_id"]: u for u in parquet_rows(result.clean_users)}
    assert users["web-17"]["joined_at"] == datetime(2025, 3, 1, 9, 58, 10)
    assert users["web-17"]["source_channel"] == "web"


def test_clickstream_in_another_time_zone(tmp_path: Path) -> None:
    cfg = _layout(tmp_path, "clickstream", "clickstream.csv", timezone="UTC")
    clean = parquet_rows(validate_dataset(cfg).clean_events)
    by_time = {(r["user_id"], r["event_type"]): r["ts"] for r in clean}
    assert by_time[("web-17", "order_completed")] == datetime(2025, 3, 1, 2, 5)
    assert by_time[("web-23", "page_view")] == datetime(2025, 3, 1, 1, 12)


def test_generated_world_validates_cleanly_with_the_synthetic_config(tmp_path: Path) -> None:
    """The seam with `siyu generate`: its files pass the synthetic mapping with nothing rejected."""
    from contract_world import synthetic_dataset

    from siyu.config import SourceConfig
    from siyu.jobs.generate import generate_world

    world = generate_world(users=150, days=40, seed=1, out=tmp_path / "world", with_truth=False)
    ds = synthetic_dataset()
    ds = ds.model_copy(update={
        "events": SourceConfig(path=str(tmp_path / "world" / "events")),
        "users": ds.users.model_copy(update={
            "source": SourceConfig(path=str(tmp_path / "world" / "users.parquet")),
            "history": ds.users.history.model_copy(update={"source": SourceConfig(
                path=str(tmp_path / "world" / "member_level_history.parquet"))})}),
    })
    result = validate_dataset(project(tmp_path, ds), as_of=datetime.combine(world.end, datetime.min.time()))
    report = result.report
    assert report.passed and report.events.rows_in == world.n_events == report.events.rows_clean
    assert [o.rule for o in report.events.outcomes + report.users.outcomes if o.count] == []
    users = parquet_rows(result.clean_users)
    assert len(users) == 150 and not {"name", "phone"} & set(users[0])


def test_duckdb_table_with_offsets_and_decimals(tmp_path: Path) -> None:
    import duckdb

    from siyu.config import ColumnMap, DatasetConfig, EventRoles, SourceConfig

    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE orders (buyer VARCHAR, paid_at TIMESTAMPTZ, total DECIMAL(10, 2), kind VARCHAR)")
        con.execute("INSERT INTO orders VALUES ('b1', '2025-03-01 16:30:00+00', 10.50, 'sale'), "
                    "('b2', '2025-03-01 15:59:59+00', 7.25, 'sale'), ('b1', '2025-03-02 00:00:00+00', 10.50, 'return')")
    ds = DatasetConfig(
        name="shop", events=SourceConfig(path=str(db), format="duckdb", table="orders"),
        columns=ColumnMap(user_id="buyer", ts="paid_at", event_type="kind", amount="total", channel=None,
                          item_id=None, category=None, session_id=None, event_id=None),
        roles=EventRoles(purchase=("sale",), refund=("return",)))
    result = validate_dataset(project(tmp_path, ds), as_of=datetime(2025, 6, 1))
    clean = sorted(parquet_rows(result.clean_events), key=lambda r: r["ts"])
    assert [(r["user_id"], r["ts"], r["role"], r["amount"]) for r in clean] == [
        ("b2", datetime(2025, 3, 1, 23, 59, 59), "purchase", 7.25),
        ("b1", datetime(2025, 3, 2, 0, 30), "purchase", 10.5),  # 16:30 UTC is the next local day
        ("b1", datetime(2025, 3, 2, 8, 0), "refund", -10.5),
    ]
    assert result.report.events.source == f"{db}:orders"


def test_quantity_is_checked_only_when_it_multiplies_a_unit_price(tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    path.write_text("C1 20250106 two 10.00\nC2 20250107 1 5.00\n", encoding="utf-8")
    ds = load_dataset_config(ROOT / "configs" / "datasets" / "transactions.yaml")
    ds = ds.model_copy(update={"events": ds.events.model_copy(update={"path": str(path)}), "max_reject_rate": 1.0})
    assert validate_dataset(project(tmp_path / "total", ds)).report.events.rows_rejected == 0
    per_unit = ds.model_copy(update={"columns": ds.columns.model_copy(update={"amount_per_unit": True})})
    events = validate_dataset(project(tmp_path / "unit", per_unit)).report.events
    [bad] = [o for o in events.outcomes if o.count]
    assert bad.rule == "quantity_not_numeric" and "quantity: 1 rows not a number (e.g. 'two')" in bad.message
