"""Retention cohorts: D1 / D7 / D30 (configurable) by join week and by source channel, on
activity and on purchase.

A user's join day is day 0. `on_day`: retained at day N when they have an event on day N;
`within`: on any of days 1..N. A user counts towards day N only once day N has passed before
as-of (`join_day + N < as_of`), so a young cohort is never read as a bad one. Users who joined
before the first event of the data are left out: their early days were never observed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from siyu.operations.inputs import ACTIVITY, ALL, EVENTS, PURCHASE, USERS, OpsData, date_sql

BASES = {"activity": ACTIVITY, "purchase": PURCHASE}
DIMENSIONS = {"join_week": "CAST(CAST(date_trunc('week', join_day) AS DATE) AS VARCHAR)",
              "source_channel": "source_channel"}


def retention(data: OpsData, days: Sequence[int], mode: str = "on_day") -> pd.DataFrame:
    """Retention matrices: `basis ('activity'|'purchase'), dimension ('join_week'|'source_channel'|'all'),
    cohort, users, d{N}_eligible, d{N}_retained, d{N}_rate` for each N in `days` (rate NaN when
    no user of the cohort has reached day N yet)."""
    if mode not in ("on_day", "within"):
        raise ValueError(f"retention mode {mode!r}: expected 'on_day' or 'within'")
    frames = [_basis(data, basis, predicate, days, mode) for basis, predicate in BASES.items()]
    frame = pd.concat(frames, ignore_index=True)
    for n in days:
        frame[f"d{n}_rate"] = frame[f"d{n}_retained"] / frame[f"d{n}_eligible"].where(frame[f"d{n}_eligible"] > 0)
    ordered = ["basis", "dimension", "cohort", "users"]
    ordered += [f"d{n}_{part}" for n in days for part in ("eligible", "retained", "rate")]
    return frame[ordered]


def _basis(data: OpsData, basis: str, predicate: str, days: Sequence[int], mode: str) -> pd.DataFrame:
    hit = (lambda n: f"k = {n}") if mode == "on_day" else (lambda n: f"k BETWEEN 1 AND {n}")
    flags = ", ".join(f"coalesce(bool_or({hit(n)}), false) AS r{n}" for n in days)
    counts = ", ".join(f"count(*) FILTER (WHERE join_day + {n} < {date_sql(data.as_of)}) AS d{n}_eligible, "
                       f"count(*) FILTER (WHERE join_day + {n} < {date_sql(data.as_of)} AND r{n}) AS d{n}_retained"
                       for n in days)
    grouped = " UNION ALL ".join(
        f"SELECT '{name}' AS dimension, {expr} AS cohort, count(*) AS users, {counts} FROM per_user GROUP BY 1, 2"
        for name, expr in DIMENSIONS.items())
    frame = data.df(f"""
        WITH cohort AS (SELECT user_id, join_day, source_channel FROM {USERS}
                        WHERE join_day >= {date_sql(data.first_day)}),
        hits AS (SELECT DISTINCT e.user_id, e.day - c.join_day AS k
                 FROM {EVENTS} e JOIN cohort c USING (user_id)
                 WHERE {predicate} AND e.day - c.join_day BETWEEN 1 AND {max(days)}),
        per_user AS (SELECT c.user_id, c.join_day, c.source_channel, {flags}
                     FROM cohort c LEFT JOIN hits h USING (user_id) GROUP BY ALL)
        {grouped}
        UNION ALL SELECT '{ALL}', '{ALL}', count(*), {counts} FROM per_user
        ORDER BY dimension, cohort""")
    return frame.assign(basis=basis)
