"""Tag columns (model bands, rule tags, reasons) and the long tag table a run publishes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from siyu.config import BandConfig
from siyu.scoring.bands import assign_bands

LIFECYCLE_STAGES: tuple[str, ...] = ("potential", "new", "active", "silent", "churned")
RULE_MODEL = "rules"

TAG_HISTORY_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("tag", pa.string()),
        ("value", pa.string()),
        ("score", pa.float64()),
        ("model", pa.string()),
        ("model_version", pa.string()),
        ("run_id", pa.string()),
        ("as_of", pa.date32()),
        ("computed_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class TagColumn:
    """One tag for every scored user: values (None: no tag), raw scores, and who produced them."""

    tag: str
    values: pd.Categorical | np.ndarray  # Categorical for bands and rule tags, object array for texts
    scores: np.ndarray | None
    model: str
    model_version: str


def band_tag(
    scores: np.ndarray,
    band: BandConfig,
    *,
    model: str,
    model_version: str,
    previous: pd.Series | np.ndarray | None = None,
) -> TagColumn:
    """The band tag of one task's scores (raw score kept beside), with hysteresis vs `previous`."""
    values = assign_bands(scores, band, previous)
    return TagColumn(band.tag, values, np.asarray(scores, dtype="float64"), model, model_version)


def rule_tags(features: pd.DataFrame, names: Sequence[str], *, version: str = "") -> list[TagColumn]:
    """Rule tags copied from feature columns (lifecycle_stage, rfm_segment); NaN: no tag.

    `lifecycle_stage` values must be one of LIFECYCLE_STAGES.
    """
    columns = []
    for name in names:
        if name not in features.columns:
            raise ValueError(
                f"rule tag '{name}': no such column in the features at as-of "
                f"(got {len(features.columns)} columns, e.g. {list(features.columns[:5])}); "
                "siyu.features computes it (INTERFACES.md §4) or remove it from scoring.rule_tags"
            )
        values = _as_categorical(features[name])
        if name == "lifecycle_stage":
            _check_values(name, values, LIFECYCLE_STAGES)
        columns.append(TagColumn(name, values, None, RULE_MODEL, version))
    return columns


def _as_categorical(column: pd.Series) -> pd.Categorical:
    """A string Categorical of a feature column (NaN stays missing: no tag)."""
    cat = column.astype("category").array
    return cat.rename_categories([str(c) for c in cat.categories])


def _check_values(name: str, values: pd.Categorical, allowed: Sequence[str]) -> None:
    counts = pd.Series(values).value_counts()
    bad = counts[(counts > 0) & ~counts.index.isin(allowed)]
    if len(bad):
        raise ValueError(
            f"rule tag '{name}': {int(bad.sum())} value(s) outside {list(allowed)}, "
            f"e.g. {sorted(map(str, bad.index))[:3]}; fix the lifecycle rule in siyu.features"
        )


def reason_tags(task: str, reasons: pd.DataFrame, n_users: int, positions: np.ndarray,
                *, model: str, model_version: str) -> list[TagColumn]:
    """`<task>_reason_i` tags from top_reasons output for the users at `positions` (others: none)."""
    columns = []
    for col in [c for c in reasons.columns if str(c).startswith("reason_")]:
        values = np.full(n_users, None, dtype=object)
        texts = reasons[col].astype(object).to_numpy()
        values[positions] = np.where(pd.isna(texts) | (texts == ""), None, texts)
        columns.append(TagColumn(f"{task}_{col}", values, None, model, model_version))
    return columns


def build_tag_table(
    user_ids: Sequence[str] | np.ndarray | pa.Array,
    columns: Sequence[TagColumn],
    *,
    run_id: str,
    as_of: dt.date,
    computed_at: dt.datetime,
) -> pa.Table:
    """The long table of a run (TAG_HISTORY_SCHEMA): one row per user and tag that has a value."""
    users = user_ids if isinstance(user_ids, pa.Array) else pa.array(np.asarray(user_ids, dtype=object), pa.string())
    n = len(users)
    parts = []
    for col in columns:
        if len(col.values) != n:
            raise ValueError(f"tag '{col.tag}': {len(col.values)} values for {n} users")
        values = _string_array(col.values)
        scores = (pa.nulls(n, pa.float64()) if col.scores is None
                  else pa.array(col.scores, pa.float64(), from_pandas=True))
        table = pa.table(
            [users, pa.repeat(col.tag, n), values, scores, pa.repeat(col.model, n),
             pa.repeat(col.model_version, n), pa.repeat(run_id, n),
             pa.repeat(pa.scalar(as_of, pa.date32()), n),
             pa.repeat(pa.scalar(computed_at, pa.timestamp("us")), n)],
            schema=TAG_HISTORY_SCHEMA,
        )
        parts.append(table.filter(pc.is_valid(values)))
    if not parts:
        return TAG_HISTORY_SCHEMA.empty_table()
    return pa.concat_tables(parts)  # one chunk per tag; writers stream it in batches


def _string_array(values: pd.Categorical | np.ndarray) -> pa.Array:
    if isinstance(values, pd.Categorical):
        # codes + labels -> dictionary -> strings: all in Arrow, no Python string per user
        return pa.array(values).cast(pa.string())
    return pa.array(values, pa.string(), from_pandas=True)


def tag_counts(columns: Sequence[TagColumn]) -> dict[str, dict[str, int]]:
    """Users per tag value, per tag (reason tags counted as tagged / untagged only)."""
    counts: dict[str, dict[str, int]] = {}
    for col in columns:
        s = pd.Series(col.values)
        if "_reason_" in col.tag:
            counts[col.tag] = {"tagged": int(s.notna().sum())}
        elif isinstance(col.values, pd.Categorical):  # every label, in band order, zeros included
            counts[col.tag] = {str(k): int(v) for k, v in s.value_counts(sort=False).items()}
        else:
            counts[col.tag] = {str(k): int(v) for k, v in s.value_counts(dropna=True).sort_index().items()}
    return counts


def segment_tag(features: pd.DataFrame, segmenter: object, tag: str = "segment") -> TagColumn:
    """The segment of every user from a fitted segmentation (`segmenter.estimator.predict` gives
    each row its segment key; `keys_` lists them all, so empty segments count zero)."""
    model = segmenter.estimator  # type: ignore[attr-defined]
    keys = model.predict(features)
    values = pd.Categorical(keys, categories=list(dict.fromkeys(model.keys_)))
    return TagColumn(tag, values, None, segmenter.model_name, str(segmenter.model_version))  # type: ignore[attr-defined]
