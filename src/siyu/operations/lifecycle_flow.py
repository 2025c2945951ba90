"""Lifecycle flows: how users moved between lifecycle stages from one date to another.

The stage at a date C follows the lifecycle rule tag exactly (`siyu.features.Lifecycle`; the
feature engine computes the same): potential (no activity before C), new (joined within
`new_days`), active (activity within `active_days`), silent (within `churned_days`), churned.
Users not yet known at the first date start from `not_joined`.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from siyu.features import Lifecycle
from siyu.operations.inputs import ACTIVITY, EVENTS, USERS, OpsData

STAGES: tuple[str, ...] = ("not_joined", "potential", "new", "active", "silent", "churned")


def stage_sql(rule: Lifecycle, at: date) -> str:
    """`user_id, stage` of every user known before as-of, at local midnight `at`."""
    cut = f"TIMESTAMP '{at.isoformat()}'"
    return f"""
        SELECT u.user_id, CASE
            WHEN u.joined_at >= {cut} THEN 'not_joined'
            WHEN a.last_ts IS NULL THEN 'potential'
            WHEN u.joined_at >= {cut} - INTERVAL {rule.new_days} DAY THEN 'new'
            WHEN a.last_ts >= {cut} - INTERVAL {rule.active_days} DAY THEN 'active'
            WHEN a.last_ts >= {cut} - INTERVAL {rule.churned_days} DAY THEN 'silent'
            ELSE 'churned' END AS stage
        FROM {USERS} u LEFT JOIN (SELECT user_id, max(ts) AS last_ts FROM {EVENTS}
                                  WHERE {ACTIVITY} AND ts < {cut} GROUP BY user_id) a USING (user_id)"""


def stages_at(data: OpsData, rule: Lifecycle, at: date) -> pd.DataFrame:
    """`user_id, stage` at `at` (on or before as-of)."""
    _check(data, at)
    return data.df(stage_sql(rule, at) + " ORDER BY user_id")


def transitions(data: OpsData, rule: Lifecycle, start: date, end: date) -> pd.DataFrame:
    """The transition matrix from `start` to `end` in long form: `from_stage, to_stage, users,
    share` (share of the users in `from_stage`), stages in lifecycle order."""
    _check(data, start)
    _check(data, end)
    if start >= end:
        raise ValueError(f"lifecycle flow: the first date {start} must come before the second {end}")
    frame = data.df(f"""
        SELECT a.stage AS from_stage, b.stage AS to_stage, count(*) AS users
        FROM ({stage_sql(rule, start)}) a JOIN ({stage_sql(rule, end)}) b USING (user_id) GROUP BY ALL""")
    order = {s: i for i, s in enumerate(STAGES)}
    frame = frame.sort_values(["from_stage", "to_stage"], key=lambda s: s.map(order)).reset_index(drop=True)
    totals = frame.groupby("from_stage")["users"].transform("sum")
    return frame.assign(share=frame["users"] / totals)


def _check(data: OpsData, at: date) -> None:
    if at > data.as_of:
        raise ValueError(f"lifecycle stage at {at}: after as-of {data.as_of} (it would read the future)")


def lifecycle_rule(specs: object) -> Lifecycle:
    """The lifecycle rule of a feature set (so flows and segment names match the lifecycle tag),
    else the default; `specs` is any iterable of feature specs."""
    return next((s for s in specs if isinstance(s, Lifecycle)), Lifecycle())
