"""refund_share_<N>d: refunded share of the purchase amount."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, check_days, family, lacking, set_name
from siyu.features.plan import Ratio, amount


@family("refund_share")
@dataclass(frozen=True)
class RefundShare(Family):
    """Refunded amount / purchased amount in the window (NaN: no purchase amount)."""

    days: int
    name: str = ""

    def __post_init__(self) -> None:
        set_name(self, f"refund_share_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        # Refund amounts are negative: the ratio flips them so a share is positive.
        return [(self.name, Ratio(amount(self.days, "refund"), amount(self.days, "purchase"), negate=True))]

    def describe(self):
        return [Column(self.name, "numeric", "ratio", f"近{self.days}天退款金额占比",
                       f"refunded share of purchase amount, last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, "refund", money=True) or lacking(profile, "purchase")
