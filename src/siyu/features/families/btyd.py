"""btyd_x, btyd_t_x_days, btyd_T_days, btyd_spend_mean: the BTYD calibration summary at the cutoff."""

from __future__ import annotations

from dataclasses import dataclass

from siyu.features.family import Column, Family, family, lacking
from siyu.features.plan import BtydColumn

# What a BTYD model reads (`siyu.models.btyd.SUMMARY_COLUMNS`); built by `siyu.features.btyd_summary`.
BTYD_COLUMNS: tuple[str, ...] = ("btyd_x", "btyd_t_x_days", "btyd_T_days", "btyd_spend_mean")
# What the catalogue says of each column (unit, zh, en): family "btyd".
BTYD_DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "btyd_x": ("count", "复购次数 (按天/订单计, 首购之后)", "repeat purchases (days or orders after the first)"),
    "btyd_t_x_days": ("days", "首购到末次购买的天数", "days from the first to the last purchase"),
    "btyd_T_days": ("days", "首购至今的天数 (客户年龄)", "days since the first purchase (customer age)"),
    "btyd_spend_mean": ("amount", "每次购买平均金额 (含首购)", "mean spend per purchase (first included)"),
}


@family("btyd")
@dataclass(frozen=True)
class BTYD(Family):
    """Repeat purchases, first-to-last and first-to-now days, and mean spend per purchase, counted
    as the BTYD literature does (one purchase per customer-day or order); NaN before a first purchase.
    The inputs of BG/NBD and Gamma-Gamma, and strong features for the boosters."""

    name: str = "btyd"
    aging_columns = ("btyd_T_days",)

    def compile(self):
        return [(c, BtydColumn(c)) for c in BTYD_COLUMNS]

    def describe(self):
        return [Column(c, "numeric", BTYD_DESCRIPTIONS[c][0], BTYD_DESCRIPTIONS[c][1], BTYD_DESCRIPTIONS[c][2])
                for c in BTYD_COLUMNS]

    def lacks(self, profile):
        return lacking(profile, "purchase")
