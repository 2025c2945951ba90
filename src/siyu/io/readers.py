"""Readers: open a CSV, Parquet (file, folder or glob) or DuckDB table as a DuckDB relation.

Nothing is loaded into pandas. Each source becomes a temp view (Parquet, DuckDB table: read in
place on every pass) or a temp table (CSV: parsed once, since a CSV has no stable row address
to read twice) named `<name>_source`, holding the source's own columns plus:

- `_row_key` (BIGINT): a stable order key; the smallest key is the first row of the source;
- `_source_file` (VARCHAR): the file (or `path:table`) the row came from;
- `_source_row` (BIGINT): the 1-based row in a Parquet file or DuckDB table; the line number
  in a text file, header included (blank lines are not counted in a CSV; for a CSV glob,
  lines are counted across the files).

CSV columns are read as text, so that casting, and its failures, belong to validation (rows set
aside with a reason). The dialect is the config's (`delimiter`, `quote`, `escape`, `encoding`;
RFC 4180 by default), never guessed from a sample: a quoted field may hold delimiters and line
breaks anywhere in the file. A file in another encoding (`encoding: gbk`) is read through a UTF-8
copy; a UTF-8 source with bytes that are not UTF-8 is refused naming the setting. A field longer
than `max_field_chars` sets its line aside with a truncated copy, and a quote left open takes the
rest of the file with it (as RFC 4180 reads it): both are malformed lines, never a failed file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import shutil
import tempfile
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
    files: tuple[str, ...] = ()  # Parquet only: the files read, in the order their row keys number them


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
    files: tuple[str, ...] = ()
    if source.format == "parquet":
        label, files = _open_parquet(con, source, name, relation)
    elif source.format == "duckdb":
        label = _open_duckdb(con, source, name, relation)
    elif source.delimiter == "whitespace":
        label = _open_whitespace(con, source, name, relation)
    else:
        label = _open_csv(con, source, name, relation)
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    columns = {row[0]: row[1] for row in described if row[0] not in INTERNAL_COLUMNS}
    malformed = f"{name}_malformed" if source.format == "csv" and source.delimiter != "whitespace" else None
    return SourceTable(relation, columns, label, malformed, files)


def parquet_files(path: str) -> tuple[str, list[str]]:
    """The read_parquet() argument for a file, folder (recursive) or glob, and the files it hits."""
    p = Path(path)
    pattern = (p / "**" / "*.parquet").as_posix() if p.is_dir() else p.as_posix()
    return pattern, sorted(glob.glob(pattern, recursive=True))


def _open_parquet(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str,
                  relation: str) -> tuple[str, tuple[str, ...]]:
    pattern, files = parquet_files(source.path)
    if not files:
        raise SourceError(
            f"{name} source: no Parquet files at '{source.path}' (expected a .parquet file, a "
            f"folder of them or a glob like 'data/events/*.parquet'); fix {name}.path in the "
            "dataset config, or generate the data first (`siyu generate`)")
    # The files are listed (in this order) rather than globbed again by DuckDB: a row's key
    # holds its file's index, and a clean-events view (`siyu.io.cleanlog`) lists the same files.
    listed = ", ".join(literal(f) for f in files)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {relation} AS SELECT *, "
        "(CAST(file_index AS BIGINT) << 40) + file_row_number AS _row_key, "
        "filename AS _source_file, file_row_number + 1 AS _source_row "
        f"FROM read_parquet([{listed}])")
    return source.path, tuple(files)


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


_MAX_LINE_BYTES = 256 * 2**20  # DuckDB's line buffer: long fields are set aside by our own rule
_EXAMPLE_CHARS = 200  # what a rejects file keeps of an oversized line


def _utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def _utf8_copies(source: SourceConfig, files: list[str], name: str, into: Path) -> dict[str, str]:
    """{original: UTF-8 copy} of each file in `source.encoding` (decoded strictly: a byte the
    encoding does not have is named, with its offset, rather than replaced)."""
    copies = {}
    for i, path in enumerate(files):
        target = into / f"{i:05d}.csv"
        try:
            with open(path, encoding=source.encoding, newline="") as src, \
                    open(target, "w", encoding="utf-8", newline="") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{name} source {path}: not valid {source.encoding} (byte {exc.start} of a block: "
                              f"{exc.reason}); check {name}.encoding (e.g. utf-8, gbk, gb18030)") from None
        copies[path] = target.as_posix()
    return copies


def _header(path: str, source: SourceConfig, name: str) -> list[str]:
    """The column names: `column_names`, or the first record of the file in the configured dialect."""
    if source.column_names:
        return list(source.column_names)
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.reader(handle, delimiter=source.delimiter or ",", quotechar=source.quote or None,
                                doublequote=source.escape == source.quote, escapechar=(
                                    source.escape if source.escape and source.escape != source.quote else None))
            first = next(reader, [])
    except (OSError, csv.Error) as exc:
        raise SourceError(f"{name} source {path} (CSV): cannot read it: {exc}") from None
    names = [n.strip() for n in first]
    if not names or all(not n for n in names):
        raise SourceError(f"{name} source {path}: empty header line; give header: false and column_names")
    blank = [i + 1 for i, n in enumerate(names) if not n]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if blank or twice:
        raise SourceError(f"{name} source {path}: header {'has empty column(s) at position ' + str(blank) if blank else ''}"
                          f"{'; ' if blank and twice else ''}{'repeats ' + str(twice) if twice else ''}; "
                          "fix the header or give header: false and column_names")
    return names


def _open_csv(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str) -> str:
    files = sorted(glob.glob(source.path, recursive=True))
    _csv_files(source, name)
    # UTF-8 copies go where the connection spills (the project's work/tmp), not to the system /tmp.
    spill = str(con.execute("SELECT current_setting('temp_directory')").fetchone()[0] or "")
    if spill:
        Path(spill).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"siyu-{name}-", dir=spill or None))
    try:
        copies = {} if _utf8(source.encoding) else _utf8_copies(source, files, name, workdir)
        _read_csv(con, source, name, relation, files, copies)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the rows are in a temp table now
    return source.path


def _original_file(column: str, copies: dict[str, str]) -> str:
    """SQL naming the source file a row came from when `column` holds a UTF-8 copy's path."""
    if not copies:
        return column
    return f"CASE {column} " + " ".join(f"WHEN {literal(c)} THEN {literal(f)}" for f, c in copies.items()) + \
        f" ELSE {column} END"


def _read_csv(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str,
              files: list[str], copies: dict[str, str]) -> None:
    errors, scans = f"{name}_csv_errors", f"{name}_csv_scans"
    read = [copies.get(f, f) for f in files]
    names = _header(read[0], source, name)
    columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    # No sniffing: the dialect and the columns are the config's and the header's, so a quote deep in
    # the file is read like one on the first line. store_rejects keeps bad lines aside, not dropped.
    options = ["auto_detect = false", f"columns = {columns}", "skip = 0", f"header = {str(source.header).lower()}",
               f"delim = {literal(source.delimiter or ',')}", f"quote = {literal(source.quote)}",
               f"escape = {literal(source.escape)}", f"max_line_size = {_MAX_LINE_BYTES}",
               "store_rejects = true", f"rejects_table = '{errors}'", f"rejects_scan = '{scans}'"]
    header = int(source.header)
    original = _original_file("filename", copies)
    con.execute(f"DROP TABLE IF EXISTS {errors}; DROP TABLE IF EXISTS {scans}")
    _materialize(
        con,
        f"CREATE OR REPLACE TEMP TABLE {name}_rows AS SELECT *, row_number() OVER () AS _row_key, "
        f"{original} AS _source_file FROM read_csv([{', '.join(literal(f) for f in read)}], {', '.join(options)})",
        f"{name} source {source.path} (CSV)")
    bad = con.execute(f"SELECT min(line) FROM {errors} WHERE error_type = 'INVALID ENCODING'").fetchone()[0]
    if bad is not None:
        raise SourceError(
            f"{name} source {source.path}: the file is not UTF-8 (first bad bytes on line {bad}); set "
            f"{name}.encoding in the dataset config, e.g. encoding: gbk (or gb18030)")
    scan_file = _original_file("s.file_path", copies)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_malformed AS SELECT {scan_file} AS _source_file, "
        "CAST(e.line AS BIGINT) AS _source_row, first(e.csv_line) AS _raw_line, "
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
    _set_aside_long_fields(con, source, name, relation, names)


def _set_aside_long_fields(con: duckdb.DuckDBPyConnection, source: SourceConfig, name: str, relation: str,
                           names: list[str]) -> None:
    """Rows with a field longer than `max_field_chars` become malformed lines (with a truncated copy)."""
    limit = source.max_field_chars
    longest = "greatest(" + ", ".join(f"coalesce(length({quote(n)}), 0)" for n in names) + ")"
    which = "list_filter([" + ", ".join(
        f"CASE WHEN length({quote(n)}) > {limit} THEN {literal(n)} END" for n in names) + "], lambda x: x IS NOT NULL)"
    found = con.execute(f"SELECT count(*) FROM {relation} WHERE {longest} > {limit}").fetchone()[0]
    if not found:
        return
    line = f"concat_ws({literal(source.delimiter or ',')}, " + ", ".join(f"coalesce({quote(n)}, '')" for n in names) + ")"
    con.execute(
        f"INSERT INTO {name}_malformed SELECT _source_file, _source_row, "
        f"left({line}, {_EXAMPLE_CHARS}) || '... (' || {longest} || ' characters in one field)', "
        f"'field ' || array_to_string({which}, ', ') || ' longer than {limit} characters (max_field_chars)' "
        f"FROM {relation} WHERE {longest} > {limit}")
    con.execute(f"DELETE FROM {relation} WHERE {longest} > {limit}")


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
