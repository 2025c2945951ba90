"""<role>_trend_ratio_<N>d_vs_prior_<N>d: the last window against the one before."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, check_days, family, lacking, roles_of, set_name
from siyu.features.plan import Ratio, count
from siyu.features.words import ROLES_EN, ROLES_ZH


@family("trend")
@dataclass(frozen=True)
class Trend(Family):
    """Events of `role` in the last `days` divided by those in the `days` before (NaN if 0)."""

    days: int
    role: str = "activity"
    name: str = ""

    def __post_init__(self) -> None:
        roles_of(self.role)
        set_name(self, f"{self.role}_trend_ratio_{self.days}d_vs_prior_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        return [(self.name, Ratio(count(self.days, self.role), count(2 * self.days, self.role, upto=self.days)))]

    def describe(self):
        return [Column(self.name, "numeric", "ratio",
                       f"近{self.days}天与之前{self.days}天{ROLES_ZH[self.role]}次数之比",
                       f"{ROLES_EN[self.role]} in the last {self.days} days / the {self.days} days before")]

    def lacks(self, profile):
        return lacking(profile, self.role)
