"""What every feature family shares: the registry, role filters, the column description and the
spec errors. A family is one frozen dataclass in one module of `siyu.features.families` that
owns its name, its compilation into the plan (`siyu.features.plan`) and its zh / en words.

Role filters accept the canonical roles (``purchase``, ``refund``, ``interaction``,
``contact``, ``other``) and three groups: ``activity`` (interaction, purchase, refund: what
keeps a user alive), ``spend`` (purchase and refund rows: their amounts sum to net spend) and
``any`` (every row).
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from siyu.contract.schema import ACTIVITY_ROLES, ROLES

if TYPE_CHECKING:
    from siyu.contract.profile import DataProfile
    from siyu.features.plan import Expr

ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "activity": ACTIVITY_ROLES,
    "spend": ("purchase", "refund"),
    "any": ROLES,
}
FAMILIES: dict[str, type[Family]] = {}


class SpecError(ValueError):
    """A feature spec that cannot be compiled, with what was expected and what arrived."""


class Column(NamedTuple):
    """One output column as reports and explanations describe it."""

    name: str
    dtype: Literal["numeric", "categorical"]
    unit: Literal["days", "count", "amount", "ratio", "share", "category"]
    zh: str
    en: str


class Family:
    """Base of every feature spec. Subclasses are frozen dataclasses with a `name` field and
    register themselves with `@family("key")` (the key written in configs/features.yaml)."""

    key: ClassVar[str] = ""
    # Columns that grow by one day per day for every user (tenure, a customer's BTYD age): the
    # drift guard takes the elapsed days off them instead of calling an older base drifted.
    aging_columns: ClassVar[tuple[str, ...]] = ()
    name: str

    def compile(self) -> list[tuple[str, Expr]]:
        """(column, plan expression) per output column."""
        raise NotImplementedError

    def describe(self) -> list[Column]:
        """One `Column` per output column, in the order of `compile`."""
        raise NotImplementedError

    def lacks(self, profile: DataProfile) -> str | None:
        """Why the data cannot feed this spec (one line), or None when it can."""
        return None

    def for_profile(self, profile: DataProfile) -> Family:
        """This spec as the profiled data asks for it (e.g. an attribute read from its history)."""
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.describe())

    def params(self) -> dict[str, Any]:
        """The spec's parameters (everything but its name), for the catalog and the spec hash."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}  # type: ignore[arg-type]


def family(key: str):
    """Register a family class under its config key."""

    def register(cls: type[Family]) -> type[Family]:
        if key in FAMILIES and FAMILIES[key] is not cls:
            raise SpecError(f"feature family {key!r} is defined twice: {FAMILIES[key]!r} and {cls!r}")
        cls.key = key
        FAMILIES[key] = cls
        return cls

    return register


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


def check_days(spec: Family, days: int, what: str = "days") -> None:
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise SpecError(f"{type(spec).__name__} {spec.name!r}: {what} must be a positive integer, got {days!r}")


def set_name(spec: Family, name: str) -> None:
    """Give a spec its derived name unless the config named it."""
    if not spec.name:
        object.__setattr__(spec, "name", name)


def subject(role: str, event_type: str | None, channel: str | None) -> str:
    """The name part for what a spec counts: `wecom_contact`, `msg_open`, `event`."""
    parts = [p for p in (channel, event_type, None if role == "any" else role) if p]
    return "_".join(parts) if parts else "event"


def lacking(profile: DataProfile, role: str = "any", event_type: str | None = None, channel: str | None = None,
            *, money: bool = False) -> str | None:
    """Why the profiled data has no events for a role / event type / channel filter (or no amounts
    when `money`), or None when it has."""
    roles = roles_of(role)
    if event_type is not None:
        info = profile.event_types.get(event_type)
        if info is None:
            return f"event type {event_type!r} does not occur in the data"
        if info["role"] not in roles:
            return f"event type {event_type!r} has role {info['role']!r}, not {role!r}"
    elif profile.rows_of(roles) == 0:
        return f"the data has no {role} events"
    if channel is not None and channel not in profile.channels_of(roles):
        return f"the data has no {role} events on channel {channel!r}"
    if money and not profile.has_money():
        return "the data has no amounts (map `columns.amount` in the dataset config)"
    return None
