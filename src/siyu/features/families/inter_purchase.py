"""inter_purchase_days_<mean|std>: the gaps between consecutive purchases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siyu.features.family import Column, Family, SpecError, family, lacking, set_name
from siyu.features.plan import GapStd, Measure, Ratio, Win


@family("inter_purchase")
@dataclass(frozen=True)
class InterPurchase(Family):
    """Mean or sample std of the days between consecutive purchases before the cutoff."""

    stat: Literal["mean", "std"] = "mean"
    name: str = ""

    def __post_init__(self) -> None:
        if self.stat not in ("mean", "std"):
            raise SpecError(f"InterPurchase {self.name!r}: stat must be 'mean' or 'std', got {self.stat!r}")
        set_name(self, f"inter_purchase_days_{self.stat}")

    def compile(self):
        if self.stat == "mean":
            return [(self.name, Ratio(Win(Measure("gap_sum"), None), Win(Measure("gap_n"), None)))]
        return [(self.name, GapStd())]

    def describe(self):
        zh = "平均" if self.stat == "mean" else "标准差"
        return [Column(self.name, "numeric", "days", f"复购间隔天数{zh}",
                       f"{self.stat} days between consecutive purchases")]

    def lacks(self, profile):
        return lacking(profile, "purchase")
