"""DuckDB connections with bounded memory: the engine every data step runs on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb


def connect(
    database: str | Path = ":memory:",
    *,
    memory_limit: str = "4GB",
    threads: int = 2,
    temp_directory: str | Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that spills to disk past `memory_limit` instead of growing."""
    con = duckdb.connect(str(database))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    if temp_directory is not None:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{Path(temp_directory).as_posix()}'")
    return con


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The connection's memory_limit in bytes."""
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    num, unit = str(limit).split()[0], str(limit).split()[-1].upper()
    scale = {"B": 1, "BYTES": 1, "KB": 1e3, "KIB": 2**10, "MB": 1e6, "MIB": 2**20, "GB": 1e9, "GIB": 2**30,
             "TB": 1e12, "TIB": 2**40}.get(unit, 1e9)
    return int(float(num) * scale)


@contextmanager
def memory_lent(con: duckdb.DuckDBPyConnection, nbytes: int) -> Iterator[None]:
    """DuckDB's memory_limit lowered by `nbytes` (to no less than 64 MiB) while Python holds as
    much of its own, so the two together stay within the configured limit; restored after,
    unless the connection was closed meanwhile (a consumer that stopped on an error, a full disk
    say, may close it before a generator holding this is collected)."""
    limit = memory_limit_bytes(con)
    con.execute(f"SET memory_limit = '{max(limit - nbytes, 64 * 2**20) // 2**20}MiB'")
    try:
        yield
    finally:
        with suppress(duckdb.ConnectionException):
            con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")


def parquet_glob(path: str | Path) -> str:
    """A read_parquet() argument for a file, a folder (recursively) or a glob."""
    p = Path(path)
    if p.is_dir():
        return (p / "**" / "*.parquet").as_posix()
    return p.as_posix()
