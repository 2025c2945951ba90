"""lifecycle_stage: potential / new / active / silent / churned at the cutoff."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, SpecError, family
from siyu.features.plan import Stage

LIFECYCLE_STAGES: tuple[str, ...] = ("potential", "new", "active", "silent", "churned")


@family("lifecycle")
@dataclass(frozen=True)
class Lifecycle(Family):
    """Lifecycle stage at the cutoff: potential / new / active / silent / churned."""

    new_days: int = 30
    active_days: int = 30
    churned_days: int = 90
    name: str = "lifecycle_stage"

    def __post_init__(self) -> None:
        if not 0 < self.active_days <= self.churned_days:
            raise SpecError(
                f"Lifecycle: expected 0 < active_days <= churned_days, got {self.active_days} and {self.churned_days}"
            )

    def compile(self):
        return [(self.name, Stage(self))]

    def describe(self):
        return [Column(self.name, "categorical", "category", "用户生命周期阶段", "lifecycle stage")]
