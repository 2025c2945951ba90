"""campaign_responses / campaign_response_rate: purchases soon after a campaign contact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siyu.features.family import Column, Family, SpecError, check_days, family, lacking, set_name
from siyu.features.plan import Measure, Ratio, Win, count


@family("campaign_response")
@dataclass(frozen=True)
class CampaignResponse(Family):
    """Purchases within `within_days` after a campaign contact, in the window: count or rate.

    The rate divides by the campaign contacts in the same window (NaN: no contact). Only
    purchases before the cutoff count, so a response never leaks from the label window.
    """

    days: int
    within_days: int = 7
    stat: Literal["count", "rate"] = "count"
    name: str = ""

    def __post_init__(self) -> None:
        if self.stat not in ("count", "rate"):
            raise SpecError(f"CampaignResponse {self.name!r}: stat must be 'count' or 'rate', got {self.stat!r}")
        suffix = "responses" if self.stat == "count" else "response_rate"
        set_name(self, f"campaign_{suffix}_{self.within_days}d_after_{self.days}d")
        check_days(self, self.days)
        check_days(self, self.within_days, "within_days")

    def compile(self):
        responses = Win(Measure("response", arg=self.within_days), self.days)
        if self.stat == "count":
            return [(self.name, responses)]
        return [(self.name, Ratio(responses, count(self.days, "contact")))]

    def describe(self):
        if self.stat == "count":
            return [Column(self.name, "numeric", "count",
                           f"近{self.days}天营销触达后{self.within_days}天内的购买次数",
                           f"purchases within {self.within_days} days after a campaign contact, last {self.days} days")]
        return [Column(self.name, "numeric", "ratio", f"近{self.days}天营销响应率",
                       f"campaign response rate in the last {self.days} days")]

    def lacks(self, profile):
        return lacking(profile, "contact") or lacking(profile, "purchase")
