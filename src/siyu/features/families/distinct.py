"""distinct_<channels|categories|sessions>_<N>d among activity events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siyu.features.family import Column, Family, SpecError, check_days, family, set_name
from siyu.features.plan import ACTIVITY, DistinctIn, Measure, Win

_ZH = {"channel": "触点渠道", "category": "品类", "session": "会话"}


@family("distinct")
@dataclass(frozen=True)
class Distinct(Family):
    """Distinct channels / categories / sessions among activity events in the window.

    Sessions are counted per local day (a session that crosses midnight counts on each day),
    so the count never depends on which other cutoffs are computed in the same run.
    """

    days: int
    column: Literal["channel", "category", "session"] = "channel"
    name: str = ""

    def __post_init__(self) -> None:
        if self.column not in _ZH:
            raise SpecError(f"Distinct {self.name!r}: column must be channel/category/session, got {self.column!r}")
        set_name(self, f"distinct_{'categories' if self.column == 'category' else self.column + 's'}_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        if self.column == "session":
            return [(self.name, Win(Measure("sessions", ACTIVITY), self.days))]
        return [(self.name, DistinctIn(self.column, self.days))]

    def describe(self):
        return [Column(self.name, "numeric", "count", f"近{self.days}天不同{_ZH[self.column]}数",
                       f"distinct {self.column}s of activity in the last {self.days} days")]

    def lacks(self, profile):
        if self.column == "session":
            return None if profile.sessions else "the data has no session ids (map `columns.session_id`)"
        if self.column == "category":
            return None if profile.categories else "the data has no categories (map `columns.category`)"
        channels = profile.channels_of(("interaction", "purchase", "refund"))
        return None if len(channels) > 1 else f"activity happens on {len(channels)} channel(s): nothing to count"
