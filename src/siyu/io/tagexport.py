"""Write tag exports for the SCRM (CSV / Parquet), atomically: a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str) -> Path:
    """Write `frame` as csv (UTF-8, header) or parquet to `path` via a temporary file; the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if fmt == "csv":
        pacsv.write_csv(table, tmp)
    elif fmt == "parquet":
        pq.write_table(table, tmp)
    else:
        raise ValueError(f"export format {fmt!r}: expected csv or parquet")
    tmp.replace(path)
    return path
