"""Money is finite and bounded, and a further events source is validated with the event rules
into its own rejects file; rows are conserved across every source."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_world import AS_OF, GOOD_CSV_LINES, csv_config, parquet_rows

from siyu.config import ColumnMap, DatasetConfig, EventSource, SourceConfig
from siyu.jobs.validate import validate_dataset

BAD_MONEY = [
    "m1,u1,2025-01-07 10:00:00,purchase,store,NaN,,,,",
    "m2,u1,2025-01-07 11:00:00,purchase,store,inf,,,,",
    "m3,u2,2025-01-07 12:00:00,refund,store,-inf,,,,",
    "m4,u2,2025-01-07 13:00:00,purchase,store,1e12,,,,",
    "m5,u3,2025-01-07 14:00:00,purchase,store,999999999,,,,",  # within the bound: kept
]


def test_non_finite_and_huge_amounts_are_rejected_by_their_own_rules(tmp_path: Path) -> None:
    cfg = csv_config(tmp_path, [*GOOD_CSV_LINES, *BAD_MONEY], max_reject_rate=1.0)
    result = validate_dataset(cfg, as_of=AS_OF)
    found = {o.rule: o for o in result.report.events.outcomes}
    assert found["amount_not_finite"].count == 3
    assert found["amount_out_of_range"].count == 1 and "|amount| <= 1e+09" in found["amount_out_of_range"].message
    rejects = {r["event_id"]: r["reject_reason"] for r in parquet_rows(result.rejects_events)}
    assert rejects == {"m1": "amount_not_finite", "m2": "amount_not_finite", "m3": "amount_not_finite",
                       "m4": "amount_out_of_range"}
    clean = parquet_rows(result.clean_events)
    assert len(clean) + len(rejects) == len(GOOD_CSV_LINES) + len(BAD_MONEY)
    assert max(abs(r["amount"]) for r in clean if r["amount"] is not None) == 999999999


def test_a_further_source_gets_the_event_rules_and_its_own_rejects(tmp_path: Path) -> None:
    cfg = csv_config(tmp_path, GOOD_CSV_LINES, max_reject_rate=1.0)
    coupons = tmp_path / "coupons.csv"
    coupons.write_text("hh,day\nu1,2025-01-08 09:00:00\n,2025-01-09 09:00:00\nu2,not a date\n", encoding="utf-8")
    none = {c: None for c in ("event_type", "channel", "amount", "item_id", "category", "session_id", "event_id")}
    source = EventSource(name="coupons", events=SourceConfig(path=str(coupons), format="csv"),
                         columns=ColumnMap(user_id="hh", ts="day", **none), default_event_type="coupon_redeem")
    ds = cfg.dataset.model_copy(update={"more_events": (source,)})
    result = validate_dataset(cfg.model_copy(update={"dataset": ds}), as_of=AS_OF)
    [extra] = result.report.more_events
    assert (extra.table, extra.rows_in, extra.rows_clean, extra.rows_rejected) == ("events_coupons", 3, 1, 2)
    rejected = parquet_rows(Path(extra.rejects_path))
    assert sorted(r["reject_reason"] for r in rejected) == ["null_user_id", "ts_unparseable"]
    clean = parquet_rows(result.clean_events)
    assert len(clean) == len(GOOD_CSV_LINES) + 1
    [coupon] = [r for r in clean if r["event_type"] == "coupon_redeem"]
    assert (coupon["user_id"], coupon["role"]) == ("u1", "interaction")


def test_sources_need_their_own_names() -> None:
    source = {"name": "events", "events": {"path": "x.csv"}}
    with pytest.raises(ValueError, match="each source needs its own name"):
        DatasetConfig(name="d", events={"path": "y.csv"}, roles={"purchase": ["p"]}, more_events=[source])


def test_an_empty_file_is_named_empty(tmp_path: Path) -> None:
    from siyu.contract.errors import SourceError

    cfg = csv_config(tmp_path, [], max_reject_rate=1.0)
    Path(cfg.dataset.events.path).write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match=r"is empty \(no header, no rows\)"):
        validate_dataset(cfg, as_of=AS_OF)


def test_reject_row_numbers_are_integers(tmp_path: Path) -> None:
    lines = [*GOOD_CSV_LINES, "e9,,2025-01-07 10:00:00,msg_open,group,,,,,", 'bad,"line']
    result = validate_dataset(csv_config(tmp_path, lines, max_reject_rate=1.0), as_of=AS_OF)
    rows = parquet_rows(result.rejects_events)
    assert sorted(r["source_row"] for r in rows) == [len(GOOD_CSV_LINES) + 2, len(GOOD_CSV_LINES) + 3]
    assert all(isinstance(r["source_row"], int) for r in rows)
    assert all(isinstance(o.examples[0]["source_row"], int) for o in result.report.events.outcomes if o.count)
