"""The feature catalogue: name, family, dtype, unit and a zh / en description per column, as
each family describes its own columns."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from siyu.features.parse import feature_specs_data
from siyu.features.specs import FeatureSet, family_of


@dataclass(frozen=True)
class FeatureInfo:
    """One feature column as reports and explanations see it."""

    name: str
    family: str
    dtype: Literal["numeric", "categorical"]
    unit: Literal["days", "count", "amount", "ratio", "share", "category"]
    desc_zh: str
    desc_en: str
    params: dict[str, Any] = field(default_factory=dict)


def feature_catalog(specs: FeatureSet) -> list[FeatureInfo]:
    """One FeatureInfo per feature column, in table order."""
    out = []
    for spec in specs:
        params = {k: v for k, v in spec.params().items() if v is not None}
        for col in spec.describe():
            out.append(FeatureInfo(col.name, family_of(spec), col.dtype, col.unit, col.zh, col.en, params))
    return out


def categorical_columns(specs: FeatureSet) -> list[str]:
    """Names of the categorical feature columns: the one place that decides them."""
    return [f.name for f in feature_catalog(specs) if f.dtype == "categorical"]


def feature_spec_hash(specs: FeatureSet) -> str:
    """A stable sha256 (16 hex) of the specs: same specs, same hash, across runs and machines."""
    payload = feature_specs_data(specs)["features"]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
