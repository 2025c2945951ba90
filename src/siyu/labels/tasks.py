"""Labels per task (INTERFACES.md §3): populations and labels from [cutoff, cutoff + horizon).

A task is data (`siyu.config.TaskConfig`): its population rule (every known user, or those
active within N days) and its label kind compile here, once, to the label SQL and to the
scoring-time population mask.
- no_activity (churn): 1 if no activity in [C, C + horizon); any_activity: 1 if some.
- any_purchase (purchase intent): 1 if a purchase in [C, C + horizon).
- net_spend (LTV): net spend (purchase + refund amounts) in [C, C + horizon).

Activity is `role IN ('interaction', 'purchase', 'refund')`. A cutoff is usable only when
`C + horizon <= data_end` (the end of the data, exclusive): `check_horizon` says which are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from siyu.config import TaskConfig
from siyu.contract.profile import DataProfile
from siyu.contract.schema import ACTIVITY_ROLES
from siyu.features.compiler import normalize_cutoffs, relation_sql

_ACTIVITY = "role IN (" + ", ".join(f"'{r}'" for r in ACTIVITY_ROLES) + ")"


def task_treatments(task: TaskConfig, profile: DataProfile | None) -> tuple[str, ...]:
    """An uplift task's treatments in the data's own names, sorted: `each` is every contact event
    type the profile lists (none without a profile), else the configured ones."""
    if tuple(task.treatments) == ("each",):
        return tuple(sorted(profile.event_types_of(("contact",)))) if profile is not None else ()
    return tuple(sorted(task.treatments))


def _uplift_lacks(task: TaskConfig, profile: DataProfile, min_treated_rows: int) -> str | None:
    contacts = profile.event_types_of(("contact",))
    if not contacts:
        return f"{task.name} is an uplift task: the data has no contact events (map them under `roles.contact`)"
    wanted = task_treatments(task, profile)
    unknown = [t for t in wanted if t not in contacts]
    if unknown:
        return (f"{task.name}: treatments {unknown} are not contact event types of the data "
                f"(contact types: {sorted(contacts)})")
    few = [f"{t} ({profile.event_types[t]['rows']:,})" for t in wanted
           if profile.event_types[t]["rows"] < min_treated_rows]
    if few:
        return (f"{task.name}: too few contacts to estimate an effect: {', '.join(few)}; "
                f"need at least {min_treated_rows:,} rows per treatment (uplift.min_treated_rows)")
    return None


def task_lacks(task: TaskConfig, profile: DataProfile, *, min_treated_rows: int = 1) -> str | None:
    """Why the profiled data cannot give this task a label (one line), or None when it can; an
    uplift task also needs its contact types, each with `min_treated_rows` contacts or more."""
    if task.uplift and (why := _uplift_lacks(task, profile, min_treated_rows)):
        return why
    if task.label == "net_spend" and not profile.has_money():
        return f"{task.name} sums amounts: the data has none; map `columns.amount` in the dataset config"
    if task.label == "any_purchase" and not profile.roles.get("purchase"):
        return f"{task.name} needs purchases: no event type is mapped to role purchase (`roles.purchase`)"
    if task.label in ("no_activity", "any_activity") and not profile.rows_of(ACTIVITY_ROLES):
        return f"{task.name} needs activity: no interaction, purchase or refund events in the data"
    return None


class HorizonError(ValueError):
    """A cutoff whose label window does not fit inside the data."""


def latest_usable_cutoff(horizon_days: int, data_end: date, step_days: int | None = None) -> date:
    """The latest cutoff with `C + horizon <= data_end` (on the Monday grid when `step_days`)."""
    latest = data_end - timedelta(days=horizon_days)
    if step_days is not None:
        latest -= timedelta(days=(latest - date(1970, 1, 5)).days % step_days)
    return latest


def check_horizon(
    cutoffs: Sequence[date | datetime | str], horizon_days: int, data_end: date, *, last_event: date | None = None
) -> tuple[date, ...]:
    """The cutoffs, sorted, if every horizon fits in the data; else a HorizonError naming the first that does not."""
    cuts = normalize_cutoffs(cutoffs)
    bad = [c for c in cuts if c + timedelta(days=horizon_days) > data_end]
    if bad:
        last = last_event or data_end - timedelta(days=1)
        latest = latest_usable_cutoff(horizon_days, data_end)
        raise HorizonError(
            f"cutoff {bad[0].isoformat()} + {horizon_days} d ends after the data (last event {last.isoformat()}); "
            f"latest usable cutoff: {latest.isoformat()} ({len(bad)} of {len(cuts)} cutoffs too late); "
            "choose earlier cutoffs or wait for more data"
        )
    return cuts


def data_bounds(con: duckdb.DuckDBPyConnection, events: str | Path) -> tuple[date, date]:
    """(first event's local date, data_end): data_end is the day after the last event's local date."""
    row = con.execute(f"SELECT min(ts), max(ts) FROM {relation_sql(events)}").fetchone()
    if row is None or row[0] is None:
        raise HorizonError(f"events {events}: no events, so no cutoff has a label window; load data first")
    return row[0].date(), row[1].date() + timedelta(days=1)


def _cuts_values(cuts: tuple[date, ...]) -> str:
    return ", ".join(f"(TIMESTAMP '{c.isoformat()}')" for c in cuts)


_LABELS = {  # label kind -> SQL over the horizon's sums (f.n_act, f.n_purchase, f.spend)
    "no_activity": "CAST(coalesce(f.n_act, 0) = 0 AS DOUBLE)",
    "any_activity": "CAST(coalesce(f.n_act, 0) > 0 AS DOUBLE)",
    "any_purchase": "CAST(coalesce(f.n_purchase, 0) > 0 AS DOUBLE)",
    "net_spend": "CAST(coalesce(f.spend, 0) AS DOUBLE)",
}


def _population_sql(task: TaskConfig, *, events: str, users: str | None) -> str:
    """The `pop (user_id, cutoff)` CTE of a task's population rule (reads `ud` and `cuts`)."""
    look = task.population.active_within_days
    if look is not None:
        return ("pop AS (SELECT DISTINCT ud.user_id, c.cutoff FROM ud JOIN cuts c "
                f"ON ud.day < c.cutoff AND ud.day >= c.cutoff - INTERVAL {look} DAY WHERE ud.n_act > 0)")
    if users is None:
        known = f"(SELECT user_id, min(ts) AS joined_at FROM {events} GROUP BY user_id)"
    else:
        first = f"(SELECT user_id, min(ts) AS first_ts FROM {events} GROUP BY user_id)"
        known = (
            f"(SELECT CAST(u.user_id AS VARCHAR) AS user_id, coalesce(CAST(u.joined_at AS TIMESTAMP), f.first_ts) "
            f"AS joined_at FROM {users} u LEFT JOIN {first} f ON CAST(u.user_id AS VARCHAR) = f.user_id)"
        )
    return f"pop AS (SELECT k.user_id, c.cutoff FROM {known} k JOIN cuts c ON k.joined_at < c.cutoff)"


def population_text(task: TaskConfig) -> str:
    """The task's population in words, for messages."""
    days = task.population.active_within_days
    return f"users active within {days} days" if days else "users known before the cutoff"


def population_mask(task: TaskConfig, recency_of_activity: np.ndarray | None) -> np.ndarray | None:
    """The same population rule at scoring time, over the feature 'days since the last activity'
    (NaN: never active): None when the rule takes every known user."""
    look = task.population.active_within_days
    if look is None:
        return None
    if recency_of_activity is None:
        raise ValueError(f"task '{task.name}': its population (activity within {look} d) needs the recency "
                         "of activity; add {family: recency, role: activity} to the feature specs")
    # active on a day in [as_of - look, as_of) <=> at most `look` days since the last activity
    return np.nan_to_num(np.asarray(recency_of_activity, dtype="float64"), nan=np.inf) <= look


def label_sql(task: TaskConfig, *, events: str, users: str | None, cutoffs: Sequence[date]) -> str:
    """`user_id, cutoff, label` for one task (pure; `events` / `users` are FROM-clauses)."""
    cuts = normalize_cutoffs(cutoffs)
    h = task.horizon_days
    lo = cuts[0] - timedelta(days=task.population.active_within_days or 0)
    hi = cuts[-1] + timedelta(days=h)
    head = (
        f"WITH cuts AS (SELECT * FROM (VALUES {_cuts_values(cuts)}) t(cutoff)),\n"
        f"ud AS (SELECT user_id, CAST(ts AS DATE) AS day, count(CASE WHEN {_ACTIVITY} THEN 1 END) AS n_act, "
        "count(CASE WHEN role = 'purchase' THEN 1 END) AS n_purchase, "
        "sum(CASE WHEN role IN ('purchase', 'refund') THEN amount END) AS spend "
        f"FROM {events} WHERE ts >= TIMESTAMP '{lo.isoformat()}' AND ts < TIMESTAMP '{hi.isoformat()}' GROUP BY ALL),\n"
        f"fut AS (SELECT ud.user_id, c.cutoff, sum(n_act) AS n_act, sum(n_purchase) AS n_purchase, sum(spend) AS spend "
        f"FROM ud JOIN cuts c ON ud.day >= c.cutoff AND ud.day < c.cutoff + INTERVAL {h} DAY GROUP BY ALL)"
    )
    pop = _population_sql(task, events=events, users=users)
    return (
        f"{head},\n{pop}\nSELECT p.user_id, p.cutoff, {_LABELS[task.label]} AS label FROM pop p "
        "LEFT JOIN fut f ON p.user_id = f.user_id AND p.cutoff = f.cutoff"
    )


def build_labels(
    con: duckdb.DuckDBPyConnection,
    task: TaskConfig,
    events: str | Path,
    users: str | Path | None,
    cutoffs: Sequence[date | datetime | str],
    *,
    data_end: date | None = None,
) -> pd.DataFrame:
    """`user_id, cutoff, label` (label int 0/1 for classification, float net spend for ltv).

    Raises HorizonError when a cutoff's horizon ends after `data_end` (default: the day after
    the last event)."""
    last = None
    if data_end is None:
        _, data_end = data_bounds(con, events)
        last = data_end - timedelta(days=1)
    cuts = check_horizon(cutoffs, task.horizon_days, data_end, last_event=last)
    sql = label_sql(task, events=relation_sql(events), users=None if users is None else relation_sql(users), cutoffs=cuts)
    df = con.execute(f"SELECT * FROM ({sql}) ORDER BY cutoff, user_id").df()
    df = df.assign(user_id=df["user_id"].astype("string"), cutoff=pd.to_datetime(df["cutoff"]))
    if task.binary:
        df = df.assign(label=df["label"].astype("int64"))
    return df
