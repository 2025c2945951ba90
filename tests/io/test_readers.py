"""Readers: CSV, whitespace text, Parquet (file, folder, glob) and DuckDB tables as relations."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from siyu.config import SourceConfig
from siyu.contract.errors import SourceError
from siyu.io.readers import open_source, parquet_files


def _rows(con: duckdb.DuckDBPyConnection, relation: str, columns: str = "*") -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM {relation} ORDER BY _row_key").fetchall()


def _parquet(path: Path, values: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(
        f"COPY (SELECT 'u' || v AS user_id, v AS n FROM unnest({values}) t(v)) TO '{path.as_posix()}' (FORMAT parquet)")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def test_parquet_file_folder_and_glob(tmp_path: Path, con) -> None:
    _parquet(tmp_path / "ev" / "part-0.parquet", [1, 2])
    _parquet(tmp_path / "ev" / "sub" / "part-1.parquet", [3])
    for path, expected in ((tmp_path / "ev" / "part-0.parquet", [1, 2]), (tmp_path / "ev", [1, 2, 3]),
                           (tmp_path / "ev" / "*.parquet", [1, 2])):
        source = open_source(con, SourceConfig(path=str(path)), "events")
        assert source.columns == {"user_id": "VARCHAR", "n": "INTEGER"}
        assert [r[0] for r in _rows(con, source.relation, "n")] == expected
    rows = _rows(con, source.relation, "_source_file, _source_row")
    assert rows == [(str(tmp_path / "ev" / "part-0.parquet"), 1), (str(tmp_path / "ev" / "part-0.parquet"), 2)]


def test_parquet_row_keys_follow_files_then_rows(tmp_path: Path, con) -> None:
    _parquet(tmp_path / "ev" / "a.parquet", [1, 2])
    _parquet(tmp_path / "ev" / "b.parquet", [3])
    source = open_source(con, SourceConfig(path=str(tmp_path / "ev")), "events")
    keys = _rows(con, source.relation, "n, _row_key")
    assert [k[0] for k in keys] == [1, 2, 3] and len({k[1] for k in keys}) == 3


def test_parquet_nothing_there_is_a_clear_error(tmp_path: Path, con) -> None:
    with pytest.raises(SourceError, match=r"events source: no Parquet files at '.*nowhere'.*fix events\.path"):
        open_source(con, SourceConfig(path=str(tmp_path / "nowhere")), "events")
    assert parquet_files(str(tmp_path / "nowhere"))[1] == []


def test_csv_with_header_and_delimiter_reads_text(tmp_path: Path, con) -> None:
    path = tmp_path / "e.csv"
    path.write_text("uid;when;amt\nu1;2025-01-01;12.5\nu2;2025-01-02;x\n", encoding="utf-8")
    source = open_source(con, SourceConfig(path=str(path), format="csv", delimiter=";"), "events")
    assert source.columns == {"uid": "VARCHAR", "when": "VARCHAR", "amt": "VARCHAR"}
    assert _rows(con, source.relation, "uid, amt, _source_row") == [("u1", "12.5", 2), ("u2", "x", 3)]


def test_csv_without_header_takes_column_names(tmp_path: Path, con) -> None:
    path = tmp_path / "e.csv"
    path.write_text("u1,2025-01-01\nu2,2025-01-02\n", encoding="utf-8")
    cfg = SourceConfig(path=str(path), format="csv", header=False, column_names=("customer", "day"))
    source = open_source(con, cfg, "events")
    assert list(source.columns) == ["customer", "day"]
    assert _rows(con, source.relation, "customer, _source_row") == [("u1", 1), ("u2", 2)]


def test_whitespace_separated_with_runs_of_spaces_tabs_and_blank_lines(tmp_path: Path, con) -> None:
    path = tmp_path / "t.txt"
    path.write_text("id   day\tqty\n\nC1    20250101  2\n  C2\t20250102\t1  \n", encoding="utf-8")
    source = open_source(con, SourceConfig(path=str(path), format="csv", delimiter="whitespace"), "events")
    assert list(source.columns) == ["id", "day", "qty"]
    assert _rows(con, source.relation, "id, day, qty, _source_row") == [
        ("C1", "20250101", "2", 3), ("C2", "20250102", "1", 4)]


def test_whitespace_without_header(tmp_path: Path, con) -> None:
    path = tmp_path / "t.txt"
    path.write_text("C1 20250101\nC2 20250102 extra\nC3\n", encoding="utf-8")
    cfg = SourceConfig(path=str(path), format="csv", delimiter="whitespace", header=False, column_names=("id", "day"))
    source = open_source(con, cfg, "events")
    assert _rows(con, source.relation, "id, day") == [("C1", "20250101"), ("C2", "20250102"), ("C3", None)]


def test_missing_csv_is_a_clear_error(tmp_path: Path, con) -> None:
    with pytest.raises(SourceError, match=r"events source: no CSV file at '.*missing\.csv'"):
        open_source(con, SourceConfig(path=str(tmp_path / "missing.csv"), format="csv"), "events")


def test_malformed_csv_lines_are_kept_aside_with_their_line(tmp_path: Path, con) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n7,8\n9\n", encoding="utf-8")
    source = open_source(con, SourceConfig(path=str(path), format="csv", delimiter=","), "events")
    assert _rows(con, source.relation, "a, b, _source_row") == [("1", "2", 2), ("7", "8", 4)]
    malformed = con.execute(f"SELECT _source_row, _raw_line FROM {source.malformed} ORDER BY 1").fetchall()
    assert malformed == [(3, "3,4,5,6"), (5, "9")]


def test_unreadable_csv_is_a_clear_error(tmp_path: Path, con) -> None:
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(SourceError, match=r"events source .*folder\.csv \(CSV\): cannot read it"):
        open_source(con, SourceConfig(path=str(tmp_path / "folder.csv"), format="csv"), "events")


def test_duckdb_table(tmp_path: Path, con) -> None:
    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as other:
        other.execute("CREATE TABLE orders AS SELECT 'u' || i AS buyer, i AS n FROM range(3) t(i)")
        other.execute("CREATE SCHEMA shop; CREATE TABLE shop.visits AS SELECT 1 AS n")
    source = open_source(con, SourceConfig(path=str(db), format="duckdb", table="orders"), "events")
    assert source.columns == {"buyer": "VARCHAR", "n": "BIGINT"} and source.label == f"{db}:orders"
    assert _rows(con, source.relation, "buyer, _source_row") == [("u0", 1), ("u1", 2), ("u2", 3)]
    other = open_source(con, SourceConfig(path=str(db), format="duckdb", table="shop.visits"), "users")
    assert other.columns == {"n": "INTEGER"}


def test_duckdb_unknown_table_lists_the_tables(tmp_path: Path, con) -> None:
    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as other:
        other.execute("CREATE TABLE orders AS SELECT 1 AS n")
    with pytest.raises(SourceError, match=r"no table 'order' in .*crm\.duckdb; tables there: main\.orders, orders"):
        open_source(con, SourceConfig(path=str(db), format="duckdb", table="order"), "events")
    with pytest.raises(SourceError, match=r"no DuckDB database file at"):
        open_source(con, SourceConfig(path=str(tmp_path / "no.duckdb"), format="duckdb", table="t"), "events")
