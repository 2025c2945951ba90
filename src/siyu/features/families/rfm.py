"""rfm_recency_score, rfm_frequency_score, rfm_monetary_score (1..5) and rfm_segment."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, check_days, family, lacking
from siyu.features.plan import RfmScore

RFM_COLUMNS: tuple[str, ...] = ("rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score", "rfm_segment")
RFM_SEGMENTS: tuple[str, ...] = ("champions", "loyal", "potential", "at_risk", "promising", "hibernating", "no_purchase")
_ZH = ("最近一次消费时间得分(R)", "消费频率得分(F)", "消费金额得分(M)", "RFM 分群")
_EN = ("recency score (R, 1-5)", "frequency score (F, 1-5)", "monetary score (M, 1-5)", "RFM segment")


@family("rfm")
@dataclass(frozen=True)
class RFM(Family):
    """RFM quintile scores (1..5) among purchasers at each cutoff, and the named segment.

    Recency: days since the last purchase; frequency: purchases; monetary: net spend, all
    before the cutoff (within `days` when given). A score of 3 or more counts as high.
    """

    days: int | None = None
    name: str = "rfm"

    def __post_init__(self) -> None:
        if self.days is not None:
            check_days(self, self.days)

    def compile(self):
        return [(c, RfmScore(self, c)) for c in RFM_COLUMNS]

    def describe(self):
        return [Column(c, "categorical" if c == "rfm_segment" else "numeric",
                       "category" if c == "rfm_segment" else "count", z, e)
                for c, z, e in zip(RFM_COLUMNS, _ZH, _EN, strict=True)]

    def lacks(self, profile):
        return lacking(profile, "purchase")
