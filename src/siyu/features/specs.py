"""Feature specs: frozen, typed data, and the `FeatureSet` that travels with a model.

Each family (`siyu.features.families`, one module each) is a frozen dataclass with a ``name``
(derived from its parameters when not given, so names carry the domain, the unit and the
window: ``purchase_count_30d``, ``spend_net_sum_90d``) that compiles itself into the plan
(`siyu.features.plan`) and describes its columns in zh and en (`siyu.features.family`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siyu.features import families  # noqa: F401 - registers every family
from siyu.features.families.active_days import ActiveDays
from siyu.features.families.aov import AOV
from siyu.features.families.attribute import Attribute
from siyu.features.families.campaign_response import CampaignResponse
from siyu.features.families.coupon_rate import CouponRate
from siyu.features.families.distinct import Distinct
from siyu.features.families.first_purchase import FirstPurchase
from siyu.features.families.inter_purchase import InterPurchase
from siyu.features.families.lifecycle import Lifecycle
from siyu.features.families.recency import Recency
from siyu.features.families.refund_share import RefundShare
from siyu.features.families.rfm import RFM, RFM_COLUMNS
from siyu.features.families.share import DAYPARTS, WEEKDAYS, Share
from siyu.features.families.tenure import Tenure
from siyu.features.families.trend import Trend
from siyu.features.families.window import Window
from siyu.features.family import FAMILIES, ROLE_GROUPS, Family, SpecError, roles_of

FeatureSpec = Family


def family_of(spec: FeatureSpec) -> str:
    """The family key of a spec (as written in configs/features.yaml)."""
    if not isinstance(spec, Family) or FAMILIES.get(spec.key) is not type(spec):
        raise SpecError(f"not a feature spec: {spec!r}")
    return spec.key


@dataclass(frozen=True)
class FeatureSet:
    """An ordered, name-unique tuple of feature specs."""

    specs: tuple[FeatureSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        seen: dict[str, FeatureSpec] = {}
        for spec in self.specs:
            for col in spec.columns:
                if col in seen or col in ("user_id", "cutoff", "split", "label"):
                    raise SpecError(
                        f"feature name {col!r} is used twice (or is reserved): {seen.get(col)!r} and {spec!r}; "
                        "give one of them an explicit name"
                    )
                seen[col] = spec

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for s in self.specs for c in s.columns)

    def recency_of(self, role: str) -> str | None:
        """The column of days since the last event of `role` (any type, any channel), if the set has one:
        how a stage finds e.g. the recency of activity without knowing its name."""
        return next((s.name for s in self.specs if isinstance(s, Recency) and s.role == role
                     and s.event_type is None and s.channel is None), None)

    def roles(self) -> dict[str, tuple[tuple[str, int | None], ...]]:
        """What plays each part a baseline needs, as (column, window days or None for lifetime),
        in preference order: asked of the specs, so any naming works."""
        recency = {r: self.recency_of(r) for r in ("activity", "interaction", "any", "purchase")}

        def windows(agg: str, *roles: str) -> tuple[tuple[str, int | None], ...]:
            return tuple((s.name, s.days) for role in roles for s in self.specs
                         if isinstance(s, Window) and s.agg == agg and s.role == role
                         and s.event_type is None and s.channel is None)

        return {
            "days_since_last_activity": tuple((recency[r], None) for r in ("activity", "interaction", "any")
                                              if recency[r]),
            "days_since_last_purchase": ((recency["purchase"], None),) if recency["purchase"] else (),
            "days_since_first_purchase": (),
            "tenure_days": tuple((s.name, None) for s in self.specs if isinstance(s, Tenure)),
            "purchase_count": windows("count", "purchase"),
            "net_spend": windows("sum", "spend") or windows("sum", "purchase"),
        }

    @staticmethod
    def union(sets: tuple[FeatureSet, ...] | list[FeatureSet]) -> FeatureSet:
        """Every spec of `sets` once, in first-seen order; one name with two definitions is an error
        (e.g. two champions trained on different versions of a feature)."""
        merged: dict[str, FeatureSpec] = {}
        for feature_set in sets:
            for spec in feature_set:
                known = merged.setdefault(spec.name, spec)
                if known != spec:
                    raise SpecError(f"feature {spec.name!r} has two definitions: {known!r} and {spec!r}; retrain "
                                    "the older model so every champion shares one")
        return FeatureSet(tuple(merged.values()))

    def __iter__(self):
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)


__all__ = [
    "AOV", "DAYPARTS", "FAMILIES", "RFM", "RFM_COLUMNS", "ROLE_GROUPS", "WEEKDAYS", "ActiveDays", "Attribute",
    "CampaignResponse", "CouponRate", "Distinct", "FeatureSet", "FeatureSpec", "FirstPurchase", "InterPurchase",
    "Lifecycle", "Recency", "RefundShare", "Share", "SpecError", "Tenure", "Trend", "Window", "family_of",
    "roles_of",
]
