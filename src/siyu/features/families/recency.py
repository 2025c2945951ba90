"""days_since_last_<what>: days from the latest matching event before the cutoff."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, family, lacking, roles_of, set_name, subject
from siyu.features.plan import Since, pred
from siyu.features.words import what


@family("recency")
@dataclass(frozen=True)
class Recency(Family):
    """Days from the latest matching event before the cutoff to the cutoff (NaN: none yet)."""

    role: str = "any"
    event_type: str | None = None
    channel: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        set_name(self, "days_since_last_" + subject(self.role, self.event_type, self.channel))

    def compile(self):
        return [(self.name, Since(pred(self.role, self.event_type, self.channel)))]

    def describe(self):
        zh, en = what(self.role, self.event_type, self.channel)
        return [Column(self.name, "numeric", "days", f"距最近一次{zh}的天数", f"days since the last {en}")]

    def lacks(self, profile):
        return lacking(profile, self.role, self.event_type, self.channel)
