"""aov_<N>d: average order value in a window."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, check_days, family, lacking, set_name
from siyu.features.plan import Ratio, amount, count


@family("aov")
@dataclass(frozen=True)
class AOV(Family):
    """Average order value: purchase amount / purchase count in the window (NaN: none)."""

    days: int
    name: str = ""

    def __post_init__(self) -> None:
        set_name(self, f"aov_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        return [(self.name, Ratio(amount(self.days, "purchase"), count(self.days, "purchase")))]

    def describe(self):
        return [Column(self.name, "numeric", "amount", f"近{self.days}天客单价",
                       f"average order value (AOV) in the last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, "purchase", money=True)
