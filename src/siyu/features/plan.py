"""The plan vocabulary feature families compile to (pure data, no I/O).

A family (`siyu.features.families`) turns its spec into one plan expression per output
column; `siyu.features.compiler` gathers the expressions of a feature set into a
`FeatureProgram`; an engine (the embedded numba passes in `siyu.features.engine`) evaluates
it. Every window is a sum of a per-user-day *measure* over whole local days before the
cutoff, so an engine needs only user-day running sums and last-event times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from siyu.features.family import roles_of


@dataclass(frozen=True)
class Pred:
    """An event predicate: roles (None: every role), an event type, a channel, an hour range."""

    roles: tuple[str, ...] | None = None
    event_type: str | None = None
    channel: str | None = None
    hours: tuple[int, int] | None = None


def pred(role: str = "any", event_type: str | None = None, channel: str | None = None,
         hours: tuple[int, int] | None = None) -> Pred:
    return Pred(None if role == "any" else roles_of(role), event_type, channel, hours)


ACTIVITY = pred("activity")


@dataclass(frozen=True)
class Measure:
    """A per-user-day quantity, summed over the days of a window.

    kind: ``count`` / ``amount`` of events matching `pred`; ``active`` (1 on a day with a
    matching event); ``weekday`` (activity events on a day whose ISO weekday is `arg`); ``gap_n`` /
    ``gap_sum`` / ``gap_sq`` (gaps in days between consecutive purchases, booked on the later
    purchase); ``response`` (purchases within `arg` days after the latest campaign contact).
    """

    kind: str
    pred: Pred = Pred()
    arg: int = 0


@dataclass(frozen=True)
class Win:
    """Sum of a measure over [cutoff - days, cutoff - upto) days; all history when days is None."""

    measure: Measure
    days: int | None
    upto: int = 0


@dataclass(frozen=True)
class Ratio:
    """num / den, NaN when den is 0 (or NaN); `negate` flips the numerator's sign."""

    num: Win
    den: Win
    negate: bool = False


@dataclass(frozen=True)
class Since:
    """Days from the latest matching event before the cutoff to the cutoff (NaN: none)."""

    pred: Pred


@dataclass(frozen=True)
class DistinctIn:
    """Distinct non-null values of `column` (channel / category / session_id) among activity events in the window."""

    column: str
    days: int


@dataclass(frozen=True)
class GapStd:
    """Sample standard deviation of the purchase gaps before the cutoff (NaN below two gaps)."""


@dataclass(frozen=True)
class TenureDays:
    """Days from the join time to the cutoff."""


@dataclass(frozen=True)
class FirstAmount:
    """Amount of the user's first purchase before the cutoff."""


@dataclass(frozen=True)
class Stage:
    """Lifecycle stage at the cutoff."""

    spec: Any  # the Lifecycle spec: new_days, active_days, churned_days


@dataclass(frozen=True)
class RfmScore:
    """One RFM output column (`which`: recency / frequency / monetary score, or segment)."""

    spec: Any  # the RFM spec (hashable): its days
    which: str


@dataclass(frozen=True)
class UserAttr:
    """A users-table column, as a categorical."""

    column: str


@dataclass(frozen=True)
class UserAttrAsOf:
    """A changing attribute as of the cutoff: the latest change in its history before it."""

    column: str


@dataclass(frozen=True)
class BtydColumn:
    """One BTYD calibration summary column (`siyu.features.btyd_summary`), from a query of its own."""

    column: str


Expr = (Win | Ratio | Since | DistinctIn | GapStd | TenureDays | FirstAmount | Stage | RfmScore | UserAttr
        | UserAttrAsOf | BtydColumn)


def count(days: int | None, role: str = "any", event_type: str | None = None, channel: str | None = None,
          upto: int = 0) -> Win:
    """Events matching the filter in the window."""
    return Win(Measure("count", pred(role, event_type, channel)), days, upto)


def amount(days: int | None, role: str) -> Win:
    """Summed amount of `role` events in the window."""
    return Win(Measure("amount", pred(role)), days)


def rfm_inputs(spec: Any) -> tuple[Since, Win, Win]:
    """RFM raw inputs: days since the last purchase, purchases, net spend (within spec.days)."""
    return Since(pred("purchase")), count(spec.days, "purchase"), amount(spec.days, "spend")


def stage_inputs() -> Since:
    return Since(ACTIVITY)


def walk(expr: Expr):
    """Every sub-expression an expression reads (itself included)."""
    yield expr
    if isinstance(expr, Ratio):
        yield expr.num
        yield expr.den
    elif isinstance(expr, GapStd):
        yield from (Win(Measure(k), None) for k in ("gap_n", "gap_sum", "gap_sq"))
    elif isinstance(expr, RfmScore):
        yield from rfm_inputs(expr.spec)
    elif isinstance(expr, Stage):
        yield stage_inputs()
