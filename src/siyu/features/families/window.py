"""<what>_count_<N>d / <what>_amount_sum_<N>d: events or their amount in a window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siyu.features.family import (
    Column,
    Family,
    SpecError,
    check_days,
    family,
    lacking,
    roles_of,
    set_name,
    subject,
)
from siyu.features.plan import Measure, Win, pred
from siyu.features.words import what


@family("window")
@dataclass(frozen=True)
class Window(Family):
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
        suffix = "_count" if self.agg == "count" else "_amount_sum"
        set_name(self, subject(self.role, self.event_type, self.channel) + f"{suffix}_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        kind = "count" if self.agg == "count" else "amount"
        return [(self.name, Win(Measure(kind, pred(self.role, self.event_type, self.channel)), self.days))]

    def describe(self):
        zh, en = what(self.role, self.event_type, self.channel)
        if self.agg == "count":
            return [Column(self.name, "numeric", "count", f"近{self.days}天{zh}次数",
                           f"number of {en} in the last {self.days} days")]
        return [Column(self.name, "numeric", "amount", f"近{self.days}天{zh}金额",
                       f"amount of {en} in the last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, self.role, self.event_type, self.channel, money=self.agg == "sum")
