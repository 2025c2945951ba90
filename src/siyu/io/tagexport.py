"""Write tag exports for the SCRM (CSV / Parquet), atomically: a reader never sees half a file.

CSV starts with a UTF-8 byte-order mark unless told otherwise: Excel on Chinese Windows reads a
file without one in the local code page and garbles the reasons and segment names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from siyu.io.tables import write_csv, write_parquet


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str, *, bom: bool = True) -> Path:
    """Write `frame` as csv (UTF-8, header, a byte-order mark when `bom`) or parquet to `path`; the path."""
    if fmt == "csv":
        return write_csv(frame, path, bom=bom)
    if fmt == "parquet":
        return write_parquet(frame, path)
    raise ValueError(f"export format {fmt!r}: expected csv or parquet")
