"""first_purchase_amount: the amount of the user's first purchase."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, family, lacking
from siyu.features.plan import FirstAmount


@family("first_purchase")
@dataclass(frozen=True)
class FirstPurchase(Family):
    """Amount of the user's first purchase before the cutoff (NaN: none yet)."""

    name: str = "first_purchase_amount"

    def compile(self):
        return [(self.name, FirstAmount())]

    def describe(self):
        return [Column(self.name, "numeric", "amount", "首单金额", "amount of the first purchase")]

    def lacks(self, profile):
        return lacking(profile, "purchase", money=True)
