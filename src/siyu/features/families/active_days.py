"""<role>_active_days_<N>d: distinct local days with an event of a role."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, check_days, family, lacking, roles_of, set_name
from siyu.features.plan import Measure, Win, pred
from siyu.features.words import ROLES_EN, ROLES_ZH


@family("active_days")
@dataclass(frozen=True)
class ActiveDays(Family):
    """Number of distinct local days with an event of `role` in the `days` before the cutoff."""

    days: int
    role: str = "activity"
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        set_name(self, f"{self.role}_active_days_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        return [(self.name, Win(Measure("active", pred(self.role)), self.days))]

    def describe(self):
        return [Column(self.name, "numeric", "count", f"近{self.days}天活跃天数({ROLES_ZH[self.role]})",
                       f"days with {ROLES_EN[self.role]} in the last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, self.role)
