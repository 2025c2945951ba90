"""The clean EventLog on disk, and the one way to read it.

`siyu validate` leaves the clean events in `work/clean/events` in one of two forms:
- written: Parquet files holding the clean rows (CSV sources, several sources, anything that
  needs parsing per row);
- a view (`_view.json` + `_rejected_rows`): the Parquet source files as they were validated,
  the expressions giving the canonical columns (`siyu.contract.view`) and the keys of the
  rejected rows. Nothing is copied; every reader computes the clean rows from the source.

Readers never glob the folder: `events_relation` gives DuckDB SQL for the clean rows in
either form (and refuses a view whose source files changed since validation), and
`spark_events` the same rows as a Spark DataFrame. The names start with `_` so Spark,
pyarrow and `*.parquet` globs skip them.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from siyu.contract.errors import ContractError
from siyu.contract.mapping import literal
from siyu.contract.view import ViewColumn

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

VIEW_FILE = "_view.json"
REJECTED_FILE = "_rejected_rows"  # Parquet: one BIGINT column `_row_key`
_KIND = "siyu.clean_events.view/1"
_FILE_BITS = 40  # a row key is (file index << 40) + row number in the file, as `siyu.io.readers` makes it


class SourceChanged(ContractError):
    """The source files under a clean-events view differ from those validated."""


def is_view(folder: Path) -> bool:
    """Whether the clean events in `folder` are a view over the source."""
    return (Path(folder) / VIEW_FILE).is_file()


def has_clean_events(folder: Path) -> bool:
    """Whether `folder` holds clean events (a view, or written Parquet files)."""
    folder = Path(folder)
    return is_view(folder) or (folder.is_dir() and any(folder.rglob("*.parquet")))


def row_key_sql(file_index: str = "file_index", file_row: str = "file_row_number") -> str:
    """SQL of a Parquet row's key: the same key `siyu.io.readers` gives a source row."""
    return f"(CAST({file_index} AS BIGINT) << {_FILE_BITS}) + {file_row}"


def _stamp(path: str) -> dict[str, Any]:
    st = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def stamp_files(files: Sequence[str]) -> list[dict[str, Any]]:
    """Each file's absolute path, size and modification time (taken before its rows are read,
    so a file rewritten during validation fails the first reader too)."""
    return [_stamp(f) for f in files]


def stage_view(con: duckdb.DuckDBPyConnection, folder: Path, *, pattern: str, stamps: Sequence[dict[str, Any]],
               columns: Sequence[ViewColumn], rejected_sql: str, source: str) -> Path:
    """Write a view into a staging folder beside `folder` (swap it in with
    `siyu.io.writers.commit_folder`): the source files (`stamp_files`, in the order their row
    keys number them), the column expressions and the rejected rows' keys (`rejected_sql`:
    one column `_row_key`)."""
    from siyu.io.writers import discard_folder

    staged = folder.with_name(f".{folder.name}.tmp")
    discard_folder(staged)
    staged.mkdir(parents=True)
    con.execute(f"COPY (SELECT DISTINCT _row_key FROM ({rejected_sql}) ORDER BY _row_key) "
                f"TO {literal((staged / REJECTED_FILE).as_posix())} (FORMAT parquet)")
    manifest = {"kind": _KIND, "source": source, "pattern": str(Path(pattern).absolute()),
                "files": list(stamps),
                "columns": [{"name": c.name, "duckdb": c.duckdb, "spark": c.spark} for c in columns]}
    (staged / VIEW_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return staged


def _manifest(folder: Path) -> dict[str, Any]:
    """The view's manifest, after checking its source files are the ones validated."""
    manifest = json.loads((folder / VIEW_FILE).read_text(encoding="utf-8"))
    recorded = [f["path"] for f in manifest["files"]]
    now = sorted(str(Path(f).resolve()) for f in glob.glob(manifest["pattern"], recursive=True))
    changed = sorted(set(recorded) ^ set(now))
    for entry in manifest["files"]:
        if entry["path"] in now and _stamp(entry["path"]) != entry:
            changed.append(entry["path"])
    if changed:
        raise SourceChanged(
            f"{folder}: the source changed since validation ({len(changed)} file(s) added, removed or "
            f"rewritten, e.g. {changed[0]}); the clean events are a view over it: run `siyu validate` again")
    return manifest


def events_relation(folder: Path) -> str:
    """A FROM-clause giving the clean events in `folder`, a view or written files."""
    folder = Path(folder)
    if not is_view(folder):
        return f"read_parquet({literal((folder / '**' / '*.parquet').as_posix())})"
    manifest = _manifest(folder)
    files = ", ".join(literal(f["path"]) for f in manifest["files"])
    select = ", ".join(f"{c['duckdb']} AS \"{c['name']}\"" for c in manifest["columns"])
    keyed = f"SELECT *, {row_key_sql()} AS _row_key FROM read_parquet([{files}])"
    rejected = literal((folder / REJECTED_FILE).as_posix())
    # The rejected rows are few: an anti-join on one BIGINT key, the same the job's
    # invariant check counted.
    return f"(SELECT {select} FROM ({keyed}) ANTI JOIN read_parquet({rejected}) USING (_row_key))"


def spark_events(spark: SparkSession, folder: Path) -> DataFrame:
    """The clean events in `folder` (a view) as a Spark DataFrame: the same rows and columns
    DuckDB reads through `events_relation`."""
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

    manifest = _manifest(Path(folder))
    frames = [spark.read.parquet(f["path"]).select(
        "*", (F.lit(i).cast("long") * (1 << _FILE_BITS) + F.col("_metadata.row_index")).alias("_row_key"))
        for i, f in enumerate(manifest["files"])]
    rows = frames[0]
    for frame in frames[1:]:
        rows = rows.unionByName(frame)
    keys = pq.read_table(Path(folder) / REJECTED_FILE).column("_row_key").to_pylist()
    if keys:
        rejected = spark.createDataFrame([(k,) for k in keys], "_row_key long")
        rows = rows.join(F.broadcast(rejected), "_row_key", "left_anti")
    return rows.selectExpr(*(f"{c['spark']} AS `{c['name']}`" for c in manifest["columns"]))


def read_events_frame(folder: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The clean events in `folder` as a pandas frame (small data: tests, notebooks, reports)."""
    picked = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT {picked} FROM {events_relation(Path(folder))}").df()
    finally:
        con.close()
