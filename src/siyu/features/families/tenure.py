"""tenure_days: days since the user joined."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, family
from siyu.features.plan import TenureDays


@family("tenure")
@dataclass(frozen=True)
class Tenure(Family):
    """Days from the user's join time to the cutoff."""

    name: str = "tenure_days"

    @property
    def aging_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.name,)

    def compile(self):
        return [(self.name, TenureDays())]

    def describe(self):
        return [Column(self.name, "numeric", "days", "入会(成为已知用户)天数", "days since the user joined")]
