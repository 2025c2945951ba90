"""Turn the plain mapping read from configs/features.yaml into a FeatureSet (pure).

Each entry names a `family` and its parameters. A list-valued parameter expands into one
spec per value (several lists: their product), so a grid of windows is one line:
``{family: window, role: [interaction, purchase], agg: count, days: [7, 30, 90]}``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from siyu.features.specs import FAMILIES, FeatureSet, FeatureSpec, SpecError, family_of


def _expand(entry: Mapping[str, Any], where: str) -> list[FeatureSpec]:
    if not isinstance(entry, Mapping) or "family" not in entry:
        raise SpecError(f"{where}: expected a mapping with a 'family' key, got {entry!r}")
    family = entry["family"]
    if family not in FAMILIES:
        raise SpecError(f"{where}: unknown family {family!r}; expected one of {sorted(FAMILIES)}")
    cls = FAMILIES[family]
    params = {k: v for k, v in entry.items() if k != "family"}
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise SpecError(f"{where}: family {family!r} has no parameter(s) {unknown}; allowed: {sorted(allowed)}")
    grid = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    if "name" in params and any(len(v) > 1 for v in grid.values()):
        raise SpecError(f"{where}: an explicit 'name' cannot go with list-valued parameters (one name, many specs)")
    keys = list(grid)
    specs = []
    for values in itertools.product(*(grid[k] for k in keys)):
        try:
            specs.append(cls(**dict(zip(keys, values, strict=True))))
        except TypeError as exc:
            raise SpecError(f"{where}: {exc}") from exc
    return specs


def feature_specs_data(specs: FeatureSet) -> dict[str, list[dict[str, Any]]]:
    """The resolved specs as plain data, one entry per spec with its name:
    `parse_feature_specs(feature_specs_data(s)) == s`. This is what travels with a model."""
    return {"features": [{"family": family_of(s), "name": s.name, **s.params()} for s in specs]}


def parse_feature_specs(data: Mapping[str, Any]) -> FeatureSet:
    """A FeatureSet from `{"features": [entry, ...]}` (entries expand list parameters)."""
    entries = data.get("features") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise SpecError("features config: expected a non-empty list under 'features:'")
    specs: list[FeatureSpec] = []
    for i, entry in enumerate(entries):
        specs.extend(_expand(entry, f"features[{i}]"))
    return FeatureSet(tuple(specs))
