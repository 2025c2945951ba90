"""Which point-in-time features a segmentation clusters on, and what part each plays in naming.

Asked of the feature set, never assumed by name: recency of activity and of purchase, purchase
count and net spend over the longest window, activity over the window nearest 30 days, the
activity trend and tenure. A configured list is used as given; its columns get the parts their
specs play.
"""

from __future__ import annotations

from collections.abc import Sequence

from siyu.features import RFM, Attribute, FeatureSet, Lifecycle, Recency, Tenure, Trend, Window
from siyu.features.specs import SpecError

# The parts naming reads, in the order the default feature list takes them.
PARTS = ("recency", "purchase_recency", "frequency", "monetary", "engagement", "trend", "tenure")


def part_of(spec: object) -> str | None:
    """The naming part a spec plays, or None (it still clusters, it just names nothing)."""
    plain = getattr(spec, "event_type", None) is None and getattr(spec, "channel", None) is None
    if isinstance(spec, Recency) and plain:
        return {"activity": "recency", "interaction": "recency", "any": "recency",
                "purchase": "purchase_recency"}.get(spec.role)
    if isinstance(spec, Window) and plain:
        if spec.agg == "count" and spec.role == "purchase":
            return "frequency"
        if spec.agg == "sum" and spec.role in ("spend", "purchase"):
            return "monetary"
        if spec.agg == "count" and spec.role in ("activity", "interaction"):
            return "engagement"
    if isinstance(spec, Trend) and spec.role in ("activity", "interaction", "any"):
        return "trend"
    if isinstance(spec, Tenure):
        return "tenure"
    return None


def _pick(specs: FeatureSet, part: str) -> object | None:
    candidates = [s for s in specs if part_of(s) == part]
    if not candidates:
        return None
    if part in ("frequency", "monetary"):  # the longest window: the fullest picture of value
        return max(candidates, key=lambda s: (s.days, s.role == "spend"))
    if part in ("engagement", "trend"):  # the month that operators read activity by
        return min(candidates, key=lambda s: abs(s.days - 30))
    order = {"activity": 0, "interaction": 1, "any": 2, "purchase": 0}
    return min(candidates, key=lambda s: order.get(getattr(s, "role", ""), 9))


def segment_features(specs: FeatureSet, columns: Sequence[str] = ()) -> tuple[FeatureSet, dict[str, str]]:
    """(the feature set to build, {part: column}) for a segmentation on `columns` (empty: the default)."""
    if columns:
        by_name = {s.name: s for s in specs}
        unknown = [c for c in columns if c not in by_name]
        if unknown:
            raise SpecError(f"segments.features: {unknown} not in the feature set (e.g. {list(by_name)[:8]})")
        chosen = [by_name[c] for c in columns]
    else:
        chosen = [s for s in (_pick(specs, part) for part in PARTS) if s is not None]
    numeric = [s for s in chosen if not isinstance(s, (Lifecycle, RFM, Attribute))]  # categorical: not clustered
    if len(numeric) < 2:
        raise SpecError("segments: need at least two numeric features to cluster on; the feature set has "
                        f"{[s.name for s in numeric]} (add recency / window / trend / tenure specs, or list "
                        "segments.features)")
    parts: dict[str, str] = {}
    for spec in numeric:
        part = part_of(spec)
        if part is not None and part not in parts:
            parts[part] = spec.name
    return FeatureSet(tuple(numeric)), parts
