"""Training sets on disk: `trainset.parquet` + `manifest.json` in one folder per task."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from siyu.features.compiler import relation_sql

TRAINSET_FILE = "trainset.parquet"
MANIFEST_FILE = "manifest.json"


def data_digest(con: duckdb.DuckDBPyConnection, events: str | Path) -> str:
    """A cheap, stable digest of an event log: rows, min/max ts and an order-independent hash
    aggregate over (user_id, ts, event_type, role, amount), in one scan."""
    row = con.execute(
        "SELECT count(*), min(ts), max(ts), "
        "sum(hash(user_id, ts, event_type, role, amount) % 1000000007) "
        f"FROM {relation_sql(events)}"
    ).fetchone()
    n, lo, hi, h = row
    return f"n={n};min={lo};max={hi};h={int(h or 0):x}"


def frame_digest(frame: pd.DataFrame) -> str:
    """A content digest of a whole frame (row hashes, vectorized): equal data, equal digest."""
    import hashlib

    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    header = "|".join(f"{c}:{frame[c].dtype}" for c in frame.columns).encode()
    return hashlib.sha256(header + rows.tobytes()).hexdigest()[:16]


CURRENT_FILE = "current.parquet"  # the population's features at the newest cutoff, unlabelled


def write_current(df: pd.DataFrame, out_dir: Path) -> Path:
    """Write the current-cutoff rows beside the training set (atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (CURRENT_FILE + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, out_dir / CURRENT_FILE)
    return out_dir / CURRENT_FILE


def write_trainset(df: pd.DataFrame, manifest: dict[str, Any], out_dir: Path) -> Path:
    """Write both files atomically (temporary names, then rename); returns the folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (TRAINSET_FILE + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, out_dir / TRAINSET_FILE)
    tmp_m = out_dir / (MANIFEST_FILE + ".tmp")
    tmp_m.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_m, out_dir / MANIFEST_FILE)
    return out_dir


def load_trainset(path: str | Path, *, features: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(frame, manifest) from a training-set folder, categoricals restored with their levels;
    `features=False`: the row keys, split, label (and an uplift task's treatment columns) only."""
    path = Path(path)
    missing = [f for f in (TRAINSET_FILE, MANIFEST_FILE) if not (path / f).exists()]
    if missing:
        raise FileNotFoundError(f"{path}: missing {missing}; build it with `siyu trainset --task <task>`")
    manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    named = {f["name"] for f in manifest["features"]}
    columns = None if features else [c for c in pq.read_schema(path / TRAINSET_FILE).names if c not in named]
    df = pd.read_parquet(path / TRAINSET_FILE, columns=columns)
    cats = {f["name"]: f.get("categories") for f in manifest["features"]
            if f["dtype"] == "categorical" and f["name"] in df.columns}
    fixed = {}
    for name, levels in cats.items():
        values = df[name].astype("object")
        fixed[name] = pd.Categorical(values, categories=levels if levels is not None else sorted(values.dropna().unique()))
    fixed["split"] = pd.Categorical(df["split"].astype("object"), categories=["train", "valid", "test"])
    return df.assign(**fixed), manifest
