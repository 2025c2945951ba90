"""Readers: open a CSV, Parquet (file, folder or glob) or DuckDB table as a DuckDB relation.

Nothing is loaded into pandas. Each source becomes a temp view (Parquet, DuckDB table: read in
place on every pass) or a temp table (CSV: parsed once, since a CSV has no stable row address
to read twice) named `<name>_source`, holding the source's own columns plus:

- `_row_key` (BIGINT): a stable order key; the smallest key is the first row of the source;
- `_source_file` (VARCHAR): the file (or `path:table`) the row came from;
- `_source_row` (BIGINT): the 1-based row in a Parquet file or DuckDB table; the line number
  in a text file, header included (blank lines are not counted in a CSV; for a CSV glob,
  lines are counted across the files).

CSV columns are read as text (`all_varchar`), so that casting, and its failures, belong to
validation (rows set aside with a reason) rather than to the CSV sniffer.
"""

from __future__ import annotations

import contextlib
import glob
from dataclasses import dataclass
from pathlib import Path

import duckdb

from siyu.config import SourceConfig
from siyu.contract.errors import SourceError
from siyu.contract.mapping import literal, quote

INTERNAL_COLUMNS = ("_row_key", "_source_file", "_source_row")
_LINE_SEPARATOR = "\x1f"  # ASCII unit separator: never in a whitespace-separated text log


@dataclass(frozen=True)
class SourceTable:
    """An opened source: the relation to select from, its columns (name -> DuckDB type).

    `malformed` (CSV only) names a relation of the lines the CSV reader could not split into
    the header's columns: `_source_file, _source_row` (line), `_raw_line`, `_error`. They are
    not in `relation`; validation rejects them (rule `malformed_line`), so nothing is lost.
    """

    relation: str
    columns: dict[str, str]
    label: str
    malformed: str | None = None


def quiet(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Switch DuckDB's own progress bar off: the CLI shows progress, the bar would garble it.

    Inside Jupyter without ipywidgets DuckDB refuses any progress-bar setting; it prints no
    bar there either, so the refusal is ignored.
    """
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    return con


def open_source(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str) -> SourceTable:
    """Open `source` in `con` as the relation `<name>_source` (see the module docstring)."""
    relation = f"{name}_source"
    if source.format == "parquet":
        label = _open_parquet(con, source, name, relation)
    elif source.format == "duckdb":
        label = _open_duckdb(con, source, name, relation)
    elif source.delimiter == "whitespace":
        label = _open_whitespace(con, source, name, relation)
    else:
        label = _open_csv(con, source, name, relation)
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    columns = {row[0]: row[1] for row in described if row[0] not in INTERNAL_COLUMNS}
    malformed = f"{name}_malformed" if source.format == "csv" and source.delimiter != "whitespace" else None
    return SourceTable(relation, columns, label, malformed)


def parquet_files(path: str) -> tuple[str, list[str]]:
    """The read_parquet() argument for a file, folder (recursive) or glob, and the files it hits."""
    p = Path(path)
    pattern = (p / "**" / "*.parquet").as_posix() if p.is_dir() else p.as_posix()
    return pattern, sorted(glob.glob(pattern, recursive=True))


def _open_parquet(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str) -> str:
    pattern, files = parquet_files(source.path)
    if not files:
        raise SourceError(
            f"{name} source: no Parquet files at '{source.path}' (expected a .parquet file, a "
            f"folder of them or a glob like 'data/events/*.parquet'); fix {name}.path in the "
            "dataset config, or generate the data first (`siyu generate`)")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {relation} AS SELECT *, "
        "(CAST(file_index AS BIGINT) << 40) + file_row_number AS _row_key, "
        "filename AS _source_file, file_row_number + 1 AS _source_row "
        f"FROM read_parquet({literal(pattern)})")
    return source.path


def _open_duckdb(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str) -> str:
    path = Path(source.path)
    if not path.is_file():
        raise SourceError(f"{name} source: no DuckDB database file at '{source.path}'; fix {name}.path")
    alias = f"{name}_db"
    con.execute(f"ATTACH IF NOT EXISTS {literal(path.as_posix())} AS {alias} (READ_ONLY)")
    parts = (source.table or "").split(".")
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [alias]
    ).fetchall() + con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ?", [alias]
    ).fetchall()
    known = {f"{s}.{t}" for s, t in tables} | {t for s, t in tables if s == "main"}
    if source.table not in known:
        raise SourceError(
            f"{name} source: no table '{source.table}' in {source.path}; tables there: "
            f"{', '.join(sorted(known)) or '(none)'}; fix {name}.table")
    target = ".".join([alias] + [quote(p) for p in parts])
    label = f"{source.path}:{source.table}"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {relation} AS SELECT *, rowid AS _row_key, "
        f"{literal(label)} AS _source_file, rowid + 1 AS _source_row FROM {target}")
    return label


def _head(path: str, size: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def _csv_files(source: SourceConfig, name: str) -> None:
    files = glob.glob(source.path, recursive=True)
    if not files:
        raise SourceError(f"{name} source: no CSV file at '{source.path}'; fix {name}.path")
    if all(Path(f).is_file() and not _head(f).strip(b"\xef\xbb\xbf \t\r\n") for f in files):
        raise SourceError(f"{name} source: '{source.path}' is empty (no header, no rows); export the data again")


def _materialize(con: duckdb.DuckDBPyConnection, sql: str, what: str) -> None:
    # Row numbers come from `row_number() OVER ()`, which follows the file order only
    # while insertion order is preserved: switch it on for this one statement.
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        first = " ".join(str(exc).strip().splitlines()[:2])
        raise SourceError(
            f"{what}: cannot read it: {first} (lines with a different number of fields, or a "
            "wrong delimiter? check the file and the source's delimiter / header options)") from exc
    finally:
        con.execute("SET preserve_insertion_order = false")


def _open_csv(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str) -> str:
    _csv_files(source, name)
    errors, scans = f"{name}_csv_errors", f"{name}_csv_scans"
    # skip = 0: never let the sniffer skip leading lines (it would drop rows silently).
    # store_rejects: lines with too many / too few fields are kept aside, not dropped.
    options = ["all_varchar = true", "skip = 0", f"header = {str(source.header).lower()}",
               "store_rejects = true", f"rejects_table = '{errors}'", f"rejects_scan = '{scans}'"]
    if source.delimiter is not None:
        options.append(f"delim = {literal(source.delimiter)}")
    if source.column_names:
        options.append("names = [" + ", ".join(literal(c) for c in source.column_names) + "]")
    header = int(source.header)
    con.execute(f"DROP TABLE IF EXISTS {errors}; DROP TABLE IF EXISTS {scans}")
    _materialize(
        con,
        f"CREATE OR REPLACE TEMP TABLE {name}_rows AS SELECT *, row_number() OVER () AS _row_key, "
        f"filename AS _source_file FROM read_csv({literal(source.path)}, {', '.join(options)})",
        f"{name} source {source.path} (CSV)")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_malformed AS SELECT s.file_path AS _source_file, "
        "e.line AS _source_row, first(e.csv_line) AS _raw_line, "
        "string_agg(DISTINCT e.error_message, '; ') AS _error "
        f"FROM {errors} e JOIN {scans} s USING (scan_id, file_id) GROUP BY ALL")
    # A good row's line number: its rank + the header + the malformed lines before it (an
    # ASOF join on "good rows before each malformed line").
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT r.*, r._row_key + {header} + coalesce(m.i, 0) AS _source_row "
        f"FROM {name}_rows r ASOF LEFT JOIN (SELECT row_number() OVER (ORDER BY _source_row) AS i, "
        f"_source_row - {header} - row_number() OVER (ORDER BY _source_row) AS g FROM {name}_malformed) m "
        "ON r._row_key > m.g")
    con.execute(f"DROP TABLE {name}_rows")
    return source.path


def _open_whitespace(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str) -> str:
    _csv_files(source, name)
    lines = f"{name}_lines"
    _materialize(
        con,
        f"CREATE OR REPLACE TEMP TABLE {lines} AS SELECT row_number() OVER () AS _line_no, "
        f"filename AS _source_file, string_split_regex(trim(_line), '\\s+') AS _fields "
        f"FROM read_csv({literal(source.path)}, columns = {{'_line': 'VARCHAR'}}, header = false, "
        f"delim = {literal(_LINE_SEPARATOR)}, quote = '', escape = '', auto_detect = false)",
        f"{name} source {source.path} (whitespace-separated)")
    con.execute(f"DELETE FROM {lines} WHERE _fields = [''] OR _fields IS NULL")
    first = con.execute(f"SELECT min(_line_no) FROM {lines}").fetchone()
    header_line = first[0] if first and source.header else None
    names = list(source.column_names or ())
    if header_line is not None:
        fields = con.execute(f"SELECT _fields FROM {lines} WHERE _line_no = ?", [header_line]).fetchone()
        names = names or list(fields[0])
    if not names:
        raise SourceError(f"{name} source {source.path}: empty file and no column_names")
    picks = ", ".join(f"_fields[{i + 1}] AS {quote(c)}" for i, c in enumerate(names))
    skip = f"WHERE _line_no > {int(header_line)}" if header_line is not None else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT {picks}, _line_no AS _row_key, "
        f"_source_file, _line_no AS _source_row FROM {lines} {skip}")
    con.execute(f"DROP TABLE {lines}")
    return source.path
