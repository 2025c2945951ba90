"""Per-user outcomes of an experiment as SQL: each metric over [cutoff, cutoff + h) and, as the
CUPED covariate, the same metric over the h days before the cutoff [cutoff - h, cutoff).

The metrics follow the label definitions of every task (INTERFACES.md §3): retention = any
activity (`role IN ('interaction', 'purchase', 'refund')`), purchase rate = any purchase,
spend per user = net spend (purchase and refund amounts). Pure: functions return SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from siyu.contract.schema import ACTIVITY_ROLES


@dataclass(frozen=True)
class Metric:
    """One readout metric: its name, the task label it equals and the per-user SQL over a window."""

    name: str
    label: str  # the task label with the same definition (any_activity, any_purchase, net_spend)
    binary: bool
    zh: str
    en: str


METRICS: tuple[Metric, ...] = (
    Metric("retention", "any_activity", True, "留存率（期内有活跃）", "retention (any activity)"),
    Metric("purchase_rate", "any_purchase", True, "购买率（期内有购买）", "purchase rate (any purchase)"),
    Metric("spend_per_user", "net_spend", False, "人均净消费", "net spend per user"),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}

_ACTIVITY = "role IN (" + ", ".join(f"'{r}'" for r in ACTIVITY_ROLES) + ")"
_WHAT = {  # label -> (condition, value summed or maxed)
    "any_activity": (_ACTIVITY, "max", "1.0"),
    "any_purchase": ("role = 'purchase'", "max", "1.0"),
    "net_spend": ("role IN ('purchase', 'refund')", "sum", "coalesce(amount, 0)"),
}


def _ts(day: date) -> str:
    return f"TIMESTAMP '{day.isoformat()}'"


def _agg(metric: Metric, lo: date, hi: date) -> str:
    cond, fn, value = _WHAT[metric.label]
    return f"{fn}(CASE WHEN {cond} AND ts >= {_ts(lo)} AND ts < {_ts(hi)} THEN {value} ELSE 0.0 END)"


def outcomes_sql(events: str, population: str, cutoff: date, horizons: Mapping[str, int]) -> str:
    """`user_id, <metric>, <metric>_pre` for every user of `population` (a FROM-clause with
    `user_id`) and every metric named in `horizons` (metric name -> horizon days): the metric
    over [cutoff, cutoff + h) and over [cutoff - h, cutoff). Users without events get 0."""
    if not horizons:
        raise ValueError("outcomes: no metric to read")
    longest = max(horizons.values())
    cols, outer = [], []
    for name, h in horizons.items():
        metric = METRIC_BY_NAME[name]
        cols.append(f"{_agg(metric, cutoff, cutoff + timedelta(days=h))} AS {name}")
        cols.append(f"{_agg(metric, cutoff - timedelta(days=h), cutoff)} AS {name}_pre")
        outer += [f"CAST(coalesce(e.{name}, 0) AS DOUBLE) AS {name}",
                  f"CAST(coalesce(e.{name}_pre, 0) AS DOUBLE) AS {name}_pre"]
    scan = (f"SELECT user_id, {', '.join(cols)} FROM {events} "
            f"WHERE ts >= {_ts(cutoff - timedelta(days=longest))} AND ts < {_ts(cutoff + timedelta(days=longest))} "
            "GROUP BY user_id")
    return (f"SELECT p.user_id, {', '.join(outer)} FROM (SELECT DISTINCT user_id FROM {population}) p "
            f"LEFT JOIN ({scan}) e USING (user_id) ORDER BY p.user_id")


def active_users_sql(events: str, cutoff: date, days: int) -> str:
    """`user_id` of users with activity in [cutoff - days, cutoff) (a task's `active_within_days`)."""
    return (f"SELECT DISTINCT user_id FROM {events} WHERE {_ACTIVITY} "
            f"AND ts >= {_ts(cutoff - timedelta(days=days))} AND ts < {_ts(cutoff)}")


def contacts_sql(events: str, start: date, end: date) -> str:
    """`user_id, event_type, contacts` of contact-role events in [start, end): for plan compliance."""
    return (f"SELECT user_id, event_type, count(*) AS contacts FROM {events} WHERE role = 'contact' "
            f"AND ts >= {_ts(start)} AND ts < {_ts(end)} GROUP BY ALL")
