"""Join features with labels, tag each row with its split, and describe the result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from siyu.config import TaskConfig
from siyu.features.catalog import categorical_columns, feature_spec_hash
from siyu.features.parse import feature_specs_data
from siyu.features.specs import FeatureSet
from siyu.features.vocabulary import Omission
from siyu.trainsets.grid import SPLITS, purge_gaps


def assemble_trainset(
    features: pd.DataFrame, labels: pd.DataFrame, splits: dict[str, tuple[date, ...]]
) -> pd.DataFrame:
    """`user_id, cutoff, split, label, <features...>`: the label population with its features.

    Inner join on (user_id, cutoff): the task's population (e.g. churn: recently active users)
    among users known before the cutoff."""
    split_of = {pd.Timestamp(c): name for name, cuts in splits.items() for c in cuts}
    merged = labels.merge(features, on=["user_id", "cutoff"], how="inner", validate="one_to_one")
    split = merged["cutoff"].map(split_of)
    if split.isna().any():
        stray = sorted(merged.loc[split.isna(), "cutoff"].astype(str).unique())[:3]
        raise ValueError(f"cutoff(s) {stray} belong to no split; the grid and the data disagree")
    feature_cols = [c for c in features.columns if c not in ("user_id", "cutoff")]
    out = merged.assign(split=pd.Categorical(split, categories=list(SPLITS)))
    return out[["user_id", "cutoff", "split", "label", *feature_cols]].sort_values(
        ["cutoff", "user_id"], ignore_index=True
    )


def split_stats(df: pd.DataFrame, kind: str) -> dict[str, dict[str, float]]:
    """Rows and label rate (a binary task) or label mean (an amount task) per split."""
    key = "label_rate" if kind == "binary" else "label_mean"
    out = {}
    for name in SPLITS:
        part = df.loc[df["split"] == name, "label"]
        out[name] = {"rows": int(len(part)), key: float(part.mean()) if len(part) else float("nan")}
    return out


def trainset_manifest(
    task: TaskConfig,
    df: pd.DataFrame,
    specs: FeatureSet,
    *,
    data_digest: str,
    data_end: date,
    splits: dict[str, tuple[date, ...]],
    omitted: Sequence[Omission] = (),
    dropped: Sequence[Omission] = (),
) -> dict[str, Any]:
    """The manifest of INTERFACES.md §5 (categorical entries also list their categories); the task
    travels whole (`task_spec`), so later stages read its definition, not its name. `omitted`:
    specs the data could not feed; `dropped`: columns empty or constant in the training rows
    (the frame no longer holds them; `specs` are those with a column left)."""
    cats = categorical_columns(specs)
    gone = {o.name for o in dropped}
    features = []
    for col in (c for c in specs.columns if c not in gone):
        entry: dict[str, Any] = {"name": col, "dtype": "categorical" if col in cats else "numeric"}
        if col in cats:
            entry["categories"] = [str(c) for c in df[col].cat.categories]
        features.append(entry)
    return {
        "task": task.name,
        "horizon_days": task.horizon_days,
        "task_spec": task.model_dump(mode="json"),
        "feature_spec_hash": feature_spec_hash(specs),
        "feature_specs": feature_specs_data(specs),  # the resolved specs: scoring rebuilds exactly these
        "data_digest": data_digest,
        "data_end": data_end.isoformat(),
        "cutoffs": {k: [c.isoformat() for c in v] for k, v in splits.items()},
        "purge": purge_gaps(splits, task.horizon_days),
        "splits": split_stats(df, task.kind),
        "features": features,
        "categorical": [c for c in cats if c not in gone],
        "omitted_features": [{"name": o.name, "reason": o.reason} for o in omitted],
        "dropped_features": [{"name": o.name, "reason": o.reason} for o in dropped],
    }
