"""Analysis tables on disk: each frame as Parquet (for tools) and CSV (for people, with a UTF-8
byte-order mark by default so Excel on Chinese Windows reads it right), and small input tables
such as the acquisition cost table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from siyu.config import CostTableConfig

UTF8_BOM = b"\xef\xbb\xbf"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
    return: OWASP's CSV-injection rule) get a leading apostrophe; numbers are left as numbers. User
    ids and names come from the brand's data, and the CSV goes to an SCRM and to Excel."""
    out = frame
    for col in frame.columns:
        values = frame[col]
        if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values.dtype):
            text = values.astype("string")
            risky = text.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out = out.copy() if out is frame else out
                out[col] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, *, bom: bool = True) -> Path:
    """Write `frame` as UTF-8 CSV with a header (a byte-order mark first when `bom`), atomically,
    with formula-looking text cells neutralized (`neutralize_formulas`)."""
    frame = neutralize_formulas(frame)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        if bom:
            handle.write(UTF8_BOM)
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), handle)
    tmp.replace(path)
    return path


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` as Parquet, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    tmp.replace(path)
    return path


def write_tables(tables: Mapping[str, pd.DataFrame], folder: str | Path, *, bom: bool = True) -> list[Path]:
    """`<folder>/<name>.parquet` and `<name>.csv` for every table; the paths written."""
    folder = Path(folder)
    written = []
    for name, frame in tables.items():
        written += [write_parquet(frame, folder / f"{name}.parquet"), write_csv(frame, folder / f"{name}.csv", bom=bom)]
    return written


def read_cost_table(cfg: CostTableConfig) -> pd.DataFrame:
    """The acquisition cost table (channel, period, spend[, new_users]) as configured."""
    path = Path(cfg.path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: cost table not found (operations.cost_table.path in the config)")
    if cfg.format == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"channel": str, "period": str}, encoding="utf-8-sig")


def read_tables(folder: str | Path, names: list[str] | tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """`<folder>/<name>.parquet` for each name that exists."""
    folder = Path(folder)
    return {n: pd.read_parquet(folder / f"{n}.parquet") for n in names if (folder / f"{n}.parquet").exists()}


def read_json(path: str | Path) -> dict:
    """A JSON document written by `siyu.io.writers.write_json`."""
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_text(text: str, path: str | Path) -> Path:
    """Write a UTF-8 text file atomically (HTML reports)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
