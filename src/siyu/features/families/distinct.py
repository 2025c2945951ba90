"""distinct_<channels|categories|sessions>_<N>d among activity events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siyu.features.family import Column, Family, SpecError, check_days, family, set_name
from siyu.features.plan import DistinctIn

_ZH = {"channel": "触点渠道", "category": "品类", "session": "会话"}


@family("distinct")
@dataclass(frozen=True)
class Distinct(Family):
    """Distinct channels / categories / sessions among activity events in the window.

    A session counts once when any of its activity events lies in the window, even when it
    crosses midnight (issue 18: summing sessions per local day counted such a session twice).
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
        # one distinct count over the whole window, as for channels: a per-day count summed
        # over the window would count a session once for every day it touches
        return [(self.name, DistinctIn("session_id" if self.column == "session" else self.column, self.days))]

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
