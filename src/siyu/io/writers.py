"""Writers for validation outputs: Parquet files and folders (swapped in whole), JSON reports."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from siyu.contract.mapping import literal

_PARQUET = "FORMAT parquet, COMPRESSION snappy"


def write_parquet_file(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> Path:
    """Write the rows of `sql` to one Parquet file, replacing it only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    con.execute(f"COPY ({sql}) TO {literal(tmp.as_posix())} ({_PARQUET})")
    os.replace(tmp, path)
    return path


def write_parquet_folder(con: duckdb.DuckDBPyConnection, sql: str, folder: Path) -> Path:
    """Write the rows of `sql` as Parquet files into `folder`, swapping the whole folder in.

    Files are written in parallel (one per thread) to a sibling folder first, so readers
    never see a half-written mix of old and new files. An empty result still leaves one
    (empty) file holding the schema.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    con.execute(
        f"COPY ({sql}) TO {literal(tmp.as_posix())} ({_PARQUET}, PER_THREAD_OUTPUT true)")
    tmp.mkdir(exist_ok=True)
    if not any(tmp.glob("*.parquet")):
        con.execute(f"COPY (SELECT * FROM ({sql}) LIMIT 0) TO {literal((tmp / 'data_0.parquet').as_posix())} ({_PARQUET})")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def write_json(payload: dict[str, Any], path: Path) -> Path:
    """Write a JSON document (UTF-8, indented) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path
