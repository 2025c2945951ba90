"""Feature specs: frozen, typed data. One class per family; a compiler turns them into SQL.

Every spec has a ``name`` (derived from its parameters when not given, so names carry the
domain, the unit and the window: ``purchase_count_30d``, ``spend_net_sum_90d``) and compiles
to one or more columns of the feature table.

Role filters accept the canonical roles (``purchase``, ``refund``, ``interaction``,
``contact``, ``other``) and three groups: ``activity`` (interaction, purchase, refund: what
keeps a user alive), ``spend`` (purchase and refund rows: their amounts sum to net spend) and
``any`` (every row).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from siyu.contract.schema import ACTIVITY_ROLES, ROLES

ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "activity": ACTIVITY_ROLES,
    "spend": ("purchase", "refund"),
    "any": ROLES,
}
DAYPARTS: dict[str, tuple[int, int]] = {
    "night": (0, 6),
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
}
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SpecError(ValueError):
    """A feature spec that cannot be compiled, with what was expected and what arrived."""


def roles_of(role: str) -> tuple[str, ...]:
    """The canonical roles a role filter selects."""
    if role in ROLE_GROUPS:
        return ROLE_GROUPS[role]
    if role in ROLES:
        return (role,)
    raise SpecError(
        f"role: expected one of {sorted({*ROLES, *ROLE_GROUPS})}, got {role!r}; "
        "fix the role in configs/features.yaml"
    )


def _check_days(spec: Any, days: int) -> None:
    if not isinstance(days, int) or days <= 0:
        raise SpecError(f"{type(spec).__name__} {spec.name!r}: days must be a positive integer, got {days!r}")


def _set_name(spec: Any, name: str) -> None:
    if not spec.name:
        object.__setattr__(spec, "name", name)


@dataclass(frozen=True)
class Recency:
    """Days from the latest matching event before the cutoff to the cutoff (NaN: none yet)."""

    role: str = "any"
    event_type: str | None = None
    channel: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        parts = [p for p in (self.channel, self.event_type, None if self.role == "any" else self.role) if p]
        _set_name(self, "days_since_last_" + ("_".join(parts) if parts else "event"))


@dataclass(frozen=True)
class Window:
    """Count of matching events, or sum of their amount, in the `days` before the cutoff."""

    days: int
    agg: Literal["count", "sum"] = "count"
    role: str = "any"
    event_type: str | None = None
    channel: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        if self.agg not in ("count", "sum"):
            raise SpecError(f"Window {self.name!r}: agg must be 'count' or 'sum', got {self.agg!r}")
        _set_name(self, "_".join(
            [p for p in (self.channel, self.event_type, None if self.role == "any" else self.role) if p]
            or ["event"]
        ) + ("_count" if self.agg == "count" else "_amount_sum") + f"_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class ActiveDays:
    """Number of distinct local days with an event of `role` in the `days` before the cutoff."""

    days: int
    role: str = "activity"
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        _set_name(self, f"{self.role}_active_days_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class Distinct:
    """Distinct channels / categories / sessions among activity events in the window.

    Sessions are counted per local day (a session that crosses midnight counts on each day),
    so the count never depends on which other cutoffs are computed in the same run.
    """

    days: int
    column: Literal["channel", "category", "session"] = "channel"
    name: str = ""

    def __post_init__(self) -> None:
        if self.column not in ("channel", "category", "session"):
            raise SpecError(f"Distinct {self.name!r}: column must be channel/category/session, got {self.column!r}")
        _set_name(self, f"distinct_{'categories' if self.column == 'category' else self.column + 's'}_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class Trend:
    """Events of `role` in the last `days` divided by those in the `days` before (NaN if 0)."""

    days: int
    role: str = "activity"
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        _set_name(self, f"{self.role}_trend_ratio_{self.days}d_vs_prior_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class InterPurchase:
    """Mean or sample std of the days between consecutive purchases before the cutoff."""

    stat: Literal["mean", "std"] = "mean"
    name: str = ""

    def __post_init__(self) -> None:
        if self.stat not in ("mean", "std"):
            raise SpecError(f"InterPurchase {self.name!r}: stat must be 'mean' or 'std', got {self.stat!r}")
        _set_name(self, f"inter_purchase_days_{self.stat}")


@dataclass(frozen=True)
class Tenure:
    """Days from the user's join time to the cutoff."""

    name: str = "tenure_days"


@dataclass(frozen=True)
class FirstPurchase:
    """Amount of the user's first purchase before the cutoff (NaN: none yet)."""

    name: str = "first_purchase_amount"


@dataclass(frozen=True)
class AOV:
    """Average order value: purchase amount / purchase count in the window (NaN: none)."""

    days: int
    name: str = ""

    def __post_init__(self) -> None:
        _set_name(self, f"aov_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class RefundShare:
    """Refunded amount / purchased amount in the window (NaN: no purchase amount)."""

    days: int
    name: str = ""

    def __post_init__(self) -> None:
        _set_name(self, f"refund_share_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class CouponRate:
    """Coupon redemptions / coupon claims in the window (NaN: no claim)."""

    days: int
    claim_type: str = "coupon_claim"
    redeem_type: str = "coupon_redeem"
    name: str = ""

    def __post_init__(self) -> None:
        _set_name(self, f"coupon_redemption_rate_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class CampaignResponse:
    """Purchases within `within_days` after a campaign contact, in the window: count or rate.

    The rate divides by the campaign contacts in the same window (NaN: no contact). Only
    purchases before the cutoff count, so a response never leaks from the label window.
    """

    days: int
    within_days: int = 7
    stat: Literal["count", "rate"] = "count"
    name: str = ""

    def __post_init__(self) -> None:
        if self.stat not in ("count", "rate"):
            raise SpecError(f"CampaignResponse {self.name!r}: stat must be 'count' or 'rate', got {self.stat!r}")
        suffix = "responses" if self.stat == "count" else "response_rate"
        _set_name(self, f"campaign_{suffix}_{self.within_days}d_after_{self.days}d")
        _check_days(self, self.days)
        _check_days(self, self.within_days)


@dataclass(frozen=True)
class Share:
    """Share of activity events in one daypart (hour-of-day bucket) or weekday, in the window."""

    days: int
    kind: Literal["daypart", "weekday"] = "daypart"
    value: str = "evening"
    name: str = ""

    def __post_init__(self) -> None:
        allowed = tuple(DAYPARTS) if self.kind == "daypart" else WEEKDAYS
        if self.kind not in ("daypart", "weekday") or self.value not in allowed:
            raise SpecError(
                f"Share {self.name!r}: kind must be daypart/weekday and value one of {allowed}, "
                f"got kind={self.kind!r} value={self.value!r}"
            )
        _set_name(self, f"activity_share_{self.value}_{self.days}d")
        _check_days(self, self.days)


@dataclass(frozen=True)
class Lifecycle:
    """Lifecycle stage at the cutoff: potential / new / active / silent / churned."""

    new_days: int = 30
    active_days: int = 30
    churned_days: int = 90
    name: str = "lifecycle_stage"

    def __post_init__(self) -> None:
        if not 0 < self.active_days <= self.churned_days:
            raise SpecError(
                f"Lifecycle: expected 0 < active_days <= churned_days, got {self.active_days} and {self.churned_days}"
            )


RFM_COLUMNS: tuple[str, ...] = ("rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score", "rfm_segment")


@dataclass(frozen=True)
class RFM:
    """RFM quintile scores (1..5) among purchasers at each cutoff, and the named segment.

    Recency: days since the last purchase; frequency: purchases; monetary: net spend, all
    before the cutoff (within `days` when given). A score of 3 or more counts as high.
    """

    days: int | None = None
    name: str = "rfm"

    def __post_init__(self) -> None:
        if self.days is not None:
            _check_days(self, self.days)


@dataclass(frozen=True)
class Attribute:
    """A users-table column as a categorical feature (source_channel or a declared attribute)."""

    column: str
    name: str = ""

    def __post_init__(self) -> None:
        if not self.column.isidentifier():
            raise SpecError(f"Attribute: column must be a plain column name, got {self.column!r}")
        _set_name(self, self.column)


FeatureSpec = (
    Recency | Window | ActiveDays | Distinct | Trend | InterPurchase | Tenure | FirstPurchase
    | AOV | RefundShare | CouponRate | CampaignResponse | Share | Lifecycle | RFM | Attribute
)
FAMILIES: dict[str, type] = {
    "recency": Recency, "window": Window, "active_days": ActiveDays, "distinct": Distinct,
    "trend": Trend, "inter_purchase": InterPurchase, "tenure": Tenure,
    "first_purchase": FirstPurchase, "aov": AOV, "refund_share": RefundShare,
    "coupon_rate": CouponRate, "campaign_response": CampaignResponse, "share": Share,
    "lifecycle": Lifecycle, "rfm": RFM, "attribute": Attribute,
}


def family_of(spec: FeatureSpec) -> str:
    """The family key of a spec (as written in configs/features.yaml)."""
    for key, cls in FAMILIES.items():
        if type(spec) is cls:
            return key
    raise SpecError(f"not a feature spec: {spec!r}")


def output_columns(spec: FeatureSpec) -> tuple[str, ...]:
    """The feature-table columns a spec produces."""
    return RFM_COLUMNS if isinstance(spec, RFM) else (spec.name,)


def spec_params(spec: FeatureSpec) -> dict[str, Any]:
    """A spec's parameters (everything but its name), for the catalog and the spec hash."""
    return {f.name: getattr(spec, f.name) for f in fields(spec) if f.name != "name"}


@dataclass(frozen=True)
class FeatureSet:
    """An ordered, name-unique tuple of feature specs."""

    specs: tuple[FeatureSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        seen: dict[str, FeatureSpec] = {}
        for spec in self.specs:
            for col in output_columns(spec):
                if col in seen or col in ("user_id", "cutoff", "split", "label"):
                    raise SpecError(
                        f"feature name {col!r} is used twice (or is reserved): {seen.get(col)!r} and {spec!r}; "
                        "give one of them an explicit name"
                    )
                seen[col] = spec

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for s in self.specs for c in output_columns(s))

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
