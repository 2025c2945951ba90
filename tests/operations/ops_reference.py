"""Independent pandas computations of the operations numbers, written from the definitions (not
from the SQL), for the tests to compare against."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

ACTIVITY_ROLES = ("interaction", "purchase", "refund")


def before(events: pd.DataFrame, as_of: date) -> pd.DataFrame:
    return events[events["ts"] < pd.Timestamp(as_of)]


def known_users(users: pd.DataFrame, events: pd.DataFrame, as_of: date) -> pd.DataFrame:
    first = events.groupby("user_id")["ts"].min()
    joined = users["joined_at"].fillna(users["user_id"].map(first))
    out = users.assign(joined_at=joined, join_day=joined.dt.normalize(),
                       source_channel=users["source_channel"].fillna("(unknown)"))
    return out[out["joined_at"] < pd.Timestamp(as_of)]


def retention(events: pd.DataFrame, users: pd.DataFrame, as_of: date, days: list[int], basis: str,
              mode: str) -> pd.DataFrame:
    """basis, dimension, cohort, users, d{N}_eligible, d{N}_retained."""
    ev = before(events, as_of)
    us = known_users(users, ev, as_of)
    us = us[us["join_day"] >= ev["ts"].min().normalize()]
    ev = ev[ev["role"].isin(ACTIVITY_ROLES)] if basis == "activity" else ev[ev["role"] == "purchase"]
    ev = ev.merge(us[["user_id", "join_day"]], on="user_id")
    offset = (ev["ts"].dt.normalize() - ev["join_day"]).dt.days
    cols = {}
    for n in days:
        hit = offset == n if mode == "on_day" else offset.between(1, n)
        retained = set(ev.loc[hit, "user_id"])
        eligible = us["join_day"] + pd.Timedelta(days=n) < pd.Timestamp(as_of)
        cols[f"d{n}_eligible"] = eligible
        cols[f"d{n}_retained"] = eligible & us["user_id"].isin(retained)
    flags = us.assign(**cols, join_week=(us["join_day"] - pd.to_timedelta(us["join_day"].dt.weekday, "D"))
                      .dt.strftime("%Y-%m-%d"))
    parts = []
    for dimension, key in (("join_week", "join_week"), ("source_channel", "source_channel")):
        g = flags.groupby(key).agg(users=("user_id", "size"), **{c: (c, "sum") for c in cols})
        parts.append(g.reset_index().rename(columns={key: "cohort"}).assign(dimension=dimension))
    total = pd.DataFrame([{"cohort": "all", "users": len(flags), **{c: flags[c].sum() for c in cols}}])
    parts.append(total.assign(dimension="all"))
    return pd.concat(parts, ignore_index=True).assign(basis=basis)


def funnel(events: pd.DataFrame, as_of: date, steps: list[str], window_days: int, period_days: int) -> dict:
    """{(channel, step): users} with channel 'all' and the entry event's channel."""
    end = pd.Timestamp(as_of) - pd.Timedelta(days=window_days)
    start = end - pd.Timedelta(days=period_days)
    ev = before(events, as_of).sort_values(["user_id", "ts", "channel"])
    reached: dict[tuple[str, int], int] = {}
    for _, rows in ev[ev["event_type"].isin(steps)].groupby("user_id"):
        entry = rows[(rows["event_type"] == steps[0]) & (rows["ts"] >= start) & (rows["ts"] < end)]
        if entry.empty:
            continue
        t0, channel = entry["ts"].iloc[0], entry["channel"].iloc[0]
        last, level = t0, 1
        for k, step in enumerate(steps[1:], start=1):
            strict = step in steps[:k]
            cand = rows[(rows["event_type"] == step) & (rows["ts"] < t0 + pd.Timedelta(days=window_days))
                        & ((rows["ts"] > last) if strict else (rows["ts"] >= last))]
            if cand.empty:
                break
            last, level = cand["ts"].min(), level + 1
        for step in range(1, level + 1):
            for ch in ("all", channel):
                reached[(ch, step)] = reached.get((ch, step), 0) + 1
    return reached


def active_counts(events: pd.DataFrame, as_of: date, day: date, window: int, channel: str | None) -> int:
    ev = before(events, as_of)
    ev = ev[ev["role"].isin(ACTIVITY_ROLES)]
    if channel is not None:
        ev = ev[ev["channel"] == channel]
    d = ev["ts"].dt.normalize()
    lo = pd.Timestamp(day) - pd.Timedelta(days=window - 1)
    return ev.loc[(d >= lo) & (d <= pd.Timestamp(day)), "user_id"].nunique()


def realized_ltv(events: pd.DataFrame, users: pd.DataFrame, as_of: date, n: int) -> tuple[int, float]:
    """(eligible users, mean net spend in their first n days) over every source channel and cohort."""
    ev = before(events, as_of)
    us = known_users(users, ev, as_of)
    us = us[(us["join_day"] >= ev["ts"].min().normalize())
            & (us["joined_at"] + pd.Timedelta(days=n) <= pd.Timestamp(as_of))]
    spend = ev[ev["role"].isin(("purchase", "refund"))].merge(us[["user_id", "joined_at"]], on="user_id")
    spend = spend[(spend["ts"] >= spend["joined_at"]) & (spend["ts"] < spend["joined_at"] + pd.Timedelta(days=n))]
    per_user = spend.groupby("user_id")["amount"].sum().reindex(us["user_id"], fill_value=0.0)
    return len(us), float(per_user.mean()) if len(us) else np.nan


def repurchase(events: pd.DataFrame, as_of: date, days: int) -> tuple[int, int]:
    """(eligible first-time buyers, of whom bought again within `days`)."""
    p = before(events, as_of)
    p = p[p["role"] == "purchase"].sort_values("ts")
    first = p.groupby("user_id")["ts"].min()
    first = first[first + pd.Timedelta(days=days) <= pd.Timestamp(as_of)]
    again = 0
    for user, t in first.items():
        ts = p.loc[p["user_id"] == user, "ts"]
        again += bool(((ts > t) & (ts < t + pd.Timedelta(days=days))).any())
    return len(first), again


def lifecycle_at(events: pd.DataFrame, users: pd.DataFrame, as_of: date, at: date) -> pd.Series:
    ev = before(events, min(as_of, at))
    us = known_users(users, before(events, as_of), as_of)
    last = ev[ev["role"].isin(ACTIVITY_ROLES)].groupby("user_id")["ts"].max().reindex(us["user_id"]).to_numpy()
    joined = us["joined_at"].to_numpy()
    c = np.datetime64(pd.Timestamp(at))
    day = np.timedelta64(1, "D")
    stage = np.select(
        [joined >= c, pd.isna(last), joined >= c - 30 * day, last >= c - 30 * day, last >= c - 90 * day],
        ["not_joined", "potential", "new", "active", "silent"], "churned")
    return pd.Series(stage, index=us["user_id"].to_numpy())


def days_between(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days)]
