"""The readers' copy of an embedded (DuckDB) tag store, so a read never waits for a publish.

DuckDB lets ONE process open a file read-write, or many open it read-only, never both: while
`siyu score` publishes, every other open of ``tags.duckdb`` fails ("Conflicting lock is held").
So the writer keeps a snapshot beside the file, ``tags.duckdb.snapshot/``, and readers open
only that:

- ``tags/<run_id>.parquet``: the rows of one published run. A run's rows never change once
  published, so each file is written once (temp name, then ``os.replace``) and never touched again;
- ``runs.parquet``: every row of ``scoring_runs``, with the ``scoring_lock`` row in the file's
  metadata. It is rewritten (temp name, then ``os.replace``) after every committed write, and it
  only ever names run files that are already complete.

A reader reads ``runs.parquet`` once (one atomic file), so it sees one committed state and whole
runs: never half a run, never a run whose commit has not happened. The writer refreshes the
snapshot after COMMIT while it still holds the DuckDB file open, and that file lock is what keeps
two writers' refreshes from interleaving.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from siyu.scoring.tags import TAG_HISTORY_SCHEMA

RUNS_FILE = "runs.parquet"
TAGS_DIR = "tags"
_LOCK_KEY = b"scoring_lock"
_LOCK_FIELDS = ("name", "run_id", "as_of", "started_at", "pid", "host")
_LOCK_SCHEMA = pa.schema([("name", pa.string()), ("run_id", pa.string()), ("as_of", pa.date32()),
                          ("started_at", pa.timestamp("us")), ("pid", pa.int32()), ("host", pa.string())])
_HAS_ROWS = ("published", "rolled_back")  # the statuses of runs whose rows were committed


def snapshot_dir(store_path: Path) -> Path:
    """Where the readers' copy of the DuckDB tag store at `store_path` lives."""
    return store_path.with_name(store_path.name + ".snapshot")


def has_snapshot(folder: Path) -> bool:
    """True when a writer has made the readers' copy in `folder`."""
    return (folder / RUNS_FILE).is_file()


def refresh(con: Any, folder: Path, run_columns: Sequence[str]) -> None:  # noqa: ANN401 - DuckDB
    """Bring the snapshot in `folder` up to the committed state of the open store `con`: write the
    rows of any published run not there yet, then swap in the new ``runs.parquet``."""
    tags_dir = folder / TAGS_DIR
    tags_dir.mkdir(parents=True, exist_ok=True)
    runs = con.sql(f"SELECT {', '.join(run_columns)} FROM scoring_runs ORDER BY run_id").to_arrow_table()
    done = {p.name.removesuffix(".parquet") for p in tags_dir.glob("*.parquet")}
    for run_id, status in zip(runs["run_id"].to_pylist(), runs["status"].to_pylist(), strict=True):
        if status in _HAS_ROWS and run_id not in done:  # a new run, or an older store's history
            rows = con.sql(f"SELECT {', '.join(TAG_HISTORY_SCHEMA.names)} FROM tag_history WHERE run_id = $r",
                           params={"r": run_id}).to_arrow_table()
            _replace(rows.cast(TAG_HISTORY_SCHEMA), tags_dir / f"{run_id}.parquet")
    lock = con.execute(f"SELECT {', '.join(_LOCK_FIELDS)} FROM scoring_lock").fetchall()
    meta = {_LOCK_KEY: json.dumps([list(row) for row in lock], default=str).encode()}
    _replace(runs.replace_schema_metadata(meta), folder / RUNS_FILE)


def forget(folder: Path) -> None:
    """Withdraw the snapshot (readers then open the store itself): better no copy than a stale one."""
    with contextlib.suppress(FileNotFoundError):
        (folder / RUNS_FILE).unlink()


def _replace(table: pa.Table, path: Path) -> None:
    # written under a name no reader looks for, flushed to disk, then renamed over the old file in
    # one step: a reader opens either the whole old file or the whole new one
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as sink:
            pq.write_table(table, sink, compression="zstd")
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def open_snapshot(folder: Path, views: Sequence[str], *, threads: int = 2) -> Iterator[Any]:
    """An in-memory DuckDB connection where ``scoring_runs``, ``tag_history`` and ``scoring_lock``
    are the snapshot in `folder` (then `views`, e.g. current_tags, are created over them)."""
    import duckdb

    # one open, read whole: a parquet reader given the path opens it again for the pages, and a
    # swap in between would pair the old file's footer with the new file's pages
    runs = pq.read_table(pa.BufferReader((folder / RUNS_FILE).read_bytes()))
    con = duckdb.connect(":memory:", config={"threads": int(threads)})
    try:
        con.register("scoring_runs", runs)
        con.register("scoring_lock", _lock_table(runs.schema.metadata or {}))
        with_rows = [r for r, s in zip(runs["run_id"].to_pylist(), runs["status"].to_pylist(), strict=True)
                     if s in _HAS_ROWS]
        if with_rows:
            files = ", ".join(_quote(folder / TAGS_DIR / f"{r}.parquet") for r in with_rows)
            con.execute(f"CREATE VIEW tag_history AS SELECT {', '.join(TAG_HISTORY_SCHEMA.names)} "
                        f"FROM read_parquet([{files}])")
        else:
            con.register("tag_history", TAG_HISTORY_SCHEMA.empty_table())
        for view in views:
            con.execute(view)
        yield con
    finally:
        con.close()


def _lock_table(metadata: dict[bytes, bytes]) -> pa.Table:
    rows = json.loads(metadata.get(_LOCK_KEY, b"[]"))
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(_LOCK_FIELDS)
    conv = {"as_of": lambda v: dt.date.fromisoformat(v[:10]) if v else None,
            "started_at": lambda v: dt.datetime.fromisoformat(v) if v else None}
    arrays = [pa.array([conv.get(f, lambda v: v)(v) for v in col], _LOCK_SCHEMA.field(f).type)
              for f, col in zip(_LOCK_FIELDS, cols, strict=True)]
    return pa.Table.from_arrays(arrays, schema=_LOCK_SCHEMA)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
