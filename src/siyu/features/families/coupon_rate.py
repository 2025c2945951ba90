"""coupon_redemption_rate_<N>d: redemptions per claim."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, check_days, family, lacking, set_name
from siyu.features.plan import Ratio, count


@family("coupon_rate")
@dataclass(frozen=True)
class CouponRate(Family):
    """Coupon redemptions / coupon claims in the window (NaN: no claim)."""

    days: int
    claim_type: str = "coupon_claim"
    redeem_type: str = "coupon_redeem"
    name: str = ""

    def __post_init__(self) -> None:
        set_name(self, f"coupon_redemption_rate_{self.days}d")
        check_days(self, self.days)

    def compile(self):
        return [(self.name, Ratio(count(self.days, event_type=self.redeem_type),
                                  count(self.days, event_type=self.claim_type)))]

    def describe(self):
        return [Column(self.name, "numeric", "ratio", f"近{self.days}天用券率(用券/领券)",
                       f"coupon redemption rate in the last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, event_type=self.claim_type) or lacking(profile, event_type=self.redeem_type)
