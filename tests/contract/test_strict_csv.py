"""CSV read as configured (RFC 4180 by default), never guessed: quotes anywhere, line breaks in
fields, unbalanced quotes, encodings and oversized fields, with every row accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_world import AS_OF, CSV_HEADER, csv_config, parquet_rows

from siyu.config import SourceConfig
from siyu.contract.errors import SourceError
from siyu.jobs.validate import validate_dataset


def _lines(n: int) -> list[str]:
    return [f"e{i},u{i % 3 + 1},2025-01-06 09:{i % 60:02d}:00,msg_open,group,,,,s1," for i in range(n)]


def _validate(tmp_path: Path, lines: list[str], **source):
    cfg = csv_config(tmp_path, lines, max_reject_rate=1.0)
    if source:
        events = cfg.dataset.events.model_copy(update=source)
        cfg = cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"events": events})})
    report = validate_dataset(cfg, as_of=AS_OF).report
    assert report.events.rows_in == report.events.rows_clean + report.events.rows_rejected  # nothing lost
    return cfg, report


def test_a_quoted_field_deep_in_the_file_is_read_as_quoted(tmp_path: Path) -> None:
    lines = _lines(3000)
    lines[2500] = 'e2500,u1,2025-01-06 09:00:00,msg_open,"group, vip",,,,s1,'
    cfg, report = _validate(tmp_path, lines)
    assert report.events.rows_rejected == 0 and report.events.rows_clean == 3000
    rows = {r["event_id"]: r for r in parquet_rows(cfg.paths.clean_events)}
    assert rows["e2500"]["channel"] == "group, vip"


def test_a_line_break_inside_quotes_is_one_row(tmp_path: Path) -> None:
    lines = _lines(20)
    lines[5] = 'e5,u1,2025-01-06 09:00:00,msg_open,"gro\nup",,,,s1,'
    cfg, report = _validate(tmp_path, lines)
    assert (report.events.rows_in, report.events.rows_rejected) == (20, 0)
    assert {r["event_id"]: r["channel"] for r in parquet_rows(cfg.paths.clean_events)}["e5"] == "gro\nup"


def test_an_unbalanced_quote_makes_no_phantom_user_and_names_its_line(tmp_path: Path) -> None:
    lines = _lines(20)
    lines[2] = 'e2,"u0000002,2025-01-06 09:00:00,msg_open,group,,,,s1,'
    cfg, report = _validate(tmp_path, lines)
    users = {r["user_id"] for r in parquet_rows(cfg.paths.clean_events)}
    assert not any(u.startswith('"') for u in users)
    rejects = parquet_rows(cfg.paths.rejects_dir / "events.parquet")
    assert [r["source_row"] for r in rejects] == [4]  # header is line 1
    assert isinstance(rejects[0]["source_row"], int) and "e19," in rejects[0]["raw_line"]  # the rest of the file is kept


def test_a_gbk_file_is_named_and_readable_by_config(tmp_path: Path) -> None:
    lines = _lines(10)
    lines[3] = "e3,用户3,2025-01-06 09:00:00,msg_open,群聊,,,,s1,"
    cfg = csv_config(tmp_path, lines)
    path = Path(cfg.dataset.events.path)
    path.write_bytes(("\n".join([CSV_HEADER, *lines]) + "\n").encode("gbk"))
    with pytest.raises(SourceError, match=r"not UTF-8 .*line 5.*encoding: gbk"):
        validate_dataset(cfg, as_of=AS_OF)
    events = cfg.dataset.events.model_copy(update={"encoding": "gbk"})
    cfg = cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"events": events})})
    report = validate_dataset(cfg, as_of=AS_OF).report
    assert report.events.rows_clean == 10
    rows = {r["event_id"]: r for r in parquet_rows(cfg.paths.clean_events)}
    assert (rows["e3"]["user_id"], rows["e3"]["channel"]) == ("用户3", "群聊")
    assert rows["e3"]["user_id"] in {r["user_id"] for r in parquet_rows(cfg.paths.clean_users)}


def test_an_oversized_field_rejects_its_row_not_the_file(tmp_path: Path) -> None:
    lines = _lines(10)
    lines[4] = "e4,u1,2025-01-06 09:00:00,msg_open," + "x" * 3_000_000 + ",,,,s1,"
    cfg, report = _validate(tmp_path, lines)
    assert (report.events.rows_clean, report.events.rows_rejected) == (9, 1)
    (reject,) = parquet_rows(cfg.paths.rejects_dir / "events.parquet")
    assert reject["source_row"] == 6 and len(reject["raw_line"]) < 400 and "3000000 characters" in reject["raw_line"]


def test_a_dialect_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="encoding: 'klingon'"):
        SourceConfig(path="x.csv", format="csv", encoding="klingon")
    with pytest.raises(ValueError, match="quote: one character"):
        SourceConfig(path="x.csv", format="csv", quote="''")


def test_a_long_example_is_cut_short_with_its_length_on_screen() -> None:
    from siyu.contract.report import EXAMPLE_CHARS, example_text

    long = "q1,\"u2,2025-03-05\n" * 300
    shown = example_text(long)
    assert shown.startswith(repr(long[:EXAMPLE_CHARS])) and f"({len(long):,} characters)" in shown
    assert example_text("inf") == "'inf'" and example_text(None) == "NULL"
