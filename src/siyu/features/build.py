"""Run the compiled feature query on a DuckDB connection: pandas for modeling, Arrow batches
for outputs too large to hold (streamed to Parquet by the jobs layer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from siyu.features.catalog import categorical_columns
from siyu.features.compiler import LIFECYCLE_STAGES, RFM_SEGMENTS, compile_features, relation_sql
from siyu.features.specs import FeatureSet, Lifecycle

Cutoffs = Sequence[date | datetime | str]


def feature_sql(
    con: duckdb.DuckDBPyConnection,
    specs: FeatureSet,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Cutoffs,
) -> str:
    """The feature query for Parquet paths or table names (see `compile_features`)."""
    users_rel = None if users is None else relation_sql(users)
    user_columns = None
    if users_rel is not None:
        user_columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {users_rel}").fetchall()]
    return compile_features(
        specs, events=relation_sql(events), users=users_rel, cutoffs=cutoffs, user_columns=user_columns
    )


def to_feature_frame(df: pd.DataFrame, specs: FeatureSet) -> pd.DataFrame:
    """Feature dtypes: categoricals as pandas `category` (fixed levels where the rule has
    them), numeric as float64, cutoff as datetime64."""
    fixed = {s.name: LIFECYCLE_STAGES for s in specs if isinstance(s, Lifecycle)}
    fixed["rfm_segment"] = RFM_SEGMENTS
    cats = set(categorical_columns(specs))
    out = {}
    for col in df.columns:
        s = df[col]
        if col == "user_id":
            out[col] = s.astype("string")
        elif col == "cutoff":
            out[col] = pd.to_datetime(s)
        elif col in cats:
            levels = fixed.get(col)
            if levels is None:
                levels = sorted(s.dropna().astype(str).unique())
            out[col] = pd.Categorical(s.astype("object"), categories=list(levels))
        else:
            out[col] = pd.to_numeric(s).astype("float64")
    return pd.DataFrame(out, index=df.index)


def build_features(
    con: duckdb.DuckDBPyConnection,
    specs: FeatureSet,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Cutoffs,
) -> pd.DataFrame:
    """`user_id, cutoff, <features...>`: one row per user known before each cutoff, sorted."""
    sql = feature_sql(con, specs, events, users, cutoffs)
    df = con.execute(f"SELECT * FROM ({sql}) ORDER BY cutoff, user_id").df()
    return to_feature_frame(df, specs)


def feature_batches(
    con: duckdb.DuckDBPyConnection,
    specs: FeatureSet,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Cutoffs,
    *,
    batch_rows: int = 1_000_000,
) -> pa.RecordBatchReader:
    """The same rows as `build_features`, streamed as Arrow record batches (unsorted)."""
    return con.execute(feature_sql(con, specs, events, users, cutoffs)).to_arrow_reader(batch_rows)
