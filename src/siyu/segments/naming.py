"""Segment names from centroids, by rules an operator can read (zh and en).

Each segment's centroid (the median member, in the features' own units) is placed against the
whole population: how recently its users were active (against the lifecycle thresholds), where
its spend, purchase count and activity rank (percentile among all users), whether its activity
is rising, whether its users are new. The first rule that fits names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SegmentName:
    key: str  # the tag value, stable across refits
    zh: str
    en: str


@dataclass(frozen=True)
class NamingRule:
    """Thresholds the rules read: lifecycle days and the percentile that counts as high / middle."""

    new_days: float = 30
    active_days: float = 30
    churned_days: float = 90
    high: float = 0.75
    middle: float = 0.4
    rising: float = 1.2  # trend ratio (recent / prior activity) above this is growth


NAMES: dict[str, tuple[str, str]] = {
    "high_value_loyal": ("高价值忠诚", "high-value loyal"),
    "high_value_at_risk": ("高价值待挽留", "high-value at risk"),
    "high_value_lost": ("高价值流失", "high-value lapsed"),
    "new_joiner": ("新用户培育", "new joiners"),
    "growing_potential": ("成长潜力", "growing potential"),
    "steady_regular": ("稳定常客", "steady regulars"),
    "engaged_non_buyer": ("高互动低消费", "engaged, rarely buying"),
    "low_value_active": ("低价值活跃", "low-value active"),
    "cooling_buyer": ("消费客活跃下降", "cooling buyers"),
    "cooling_down": ("活跃下降", "cooling down"),
    "low_value_silent": ("低价值沉默", "low-value silent"),
}


def percentile(population: pd.Series, value: float) -> float:
    """Mid-rank percentile of `value` among the population's non-missing values (0.5 when none)."""
    values = population.dropna().to_numpy(dtype=float)
    if len(values) == 0 or np.isnan(value):
        return 0.5
    return float((values < value).mean() + 0.5 * (values == value).mean())


def rule_key(centroid: Mapping[str, float], ranks: Mapping[str, float], rule: NamingRule) -> str:
    """The rule name of one centroid; `centroid` and `ranks` are keyed by naming part."""
    recency = centroid.get("recency", np.nan)
    value = ranks.get("monetary", ranks.get("frequency", 0.0))
    if not np.isnan(recency) and recency >= rule.churned_days:
        return "high_value_lost" if value >= rule.high else "low_value_silent"
    if not np.isnan(recency) and recency >= rule.active_days:
        if value >= rule.high:
            return "high_value_at_risk"
        return "cooling_buyer" if value >= rule.middle else "cooling_down"
    if centroid.get("tenure", np.inf) < rule.new_days:
        return "new_joiner"
    if value >= rule.high:
        return "high_value_loyal"
    if value >= rule.middle:
        rising = centroid.get("trend", np.nan) > rule.rising
        return "growing_potential" if rising else "steady_regular"
    return "engaged_non_buyer" if ranks.get("engagement", 0.0) >= rule.high else "low_value_active"


def name_segments(centroids: pd.DataFrame, population: pd.DataFrame, parts: Mapping[str, str],
                  rule: NamingRule, taken: Mapping[int, SegmentName] | None = None) -> dict[int, SegmentName]:
    """{cluster: SegmentName} for every row of `centroids` (index: cluster; columns: features).

    `taken` holds names already decided (carried over from a previous fit); the others get their
    rule name, numbered ("steady_regular_2", "稳定常客 2") when a name is already in use, the
    higher-spending segment first."""
    names = dict(taken or {})
    used = {n.key for n in names.values()}
    monetary = parts.get("monetary") or parts.get("frequency")
    order = centroids.sort_values(monetary, ascending=False).index if monetary else centroids.index
    for cluster in order:
        if cluster in names:
            continue
        row = centroids.loc[cluster]
        centroid = {part: float(row[col]) for part, col in parts.items() if col in row}
        ranks = {part: percentile(population[col], float(row[col])) for part, col in parts.items()
                 if col in row and col in population}
        base = rule_key(centroid, ranks, rule)
        zh, en = NAMES[base]
        key, n = base, 1
        while key in used:
            n += 1
            key = f"{base}_{n}"
        used.add(key)
        names[cluster] = SegmentName(key, zh if n == 1 else f"{zh} {n}", en if n == 1 else f"{en} {n}")
    return names
