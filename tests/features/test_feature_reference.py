"""An independent pandas reference for a subset (windowed counts / sums, recency, active days),
compared with the compiled query on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests.features.conftest import load_events

from siyu.features import ActiveDays, FeatureSet, Recency, Window, build_features

SUBSET = FeatureSet((
    Recency(), Recency(role="purchase"), Window(7, role="activity"), Window(30, role="activity"),
    Window(30, role="purchase"), Window(90, agg="sum", role="spend"), Window(14, channel="group"),
    ActiveDays(7), ActiveDays(30),
))
ROLES = np.array(["interaction", "purchase", "refund", "contact"])
CUTOFFS = pd.to_datetime(["2025-03-03", "2025-03-17", "2025-03-31"])


def _random_events(rng: np.random.Generator, n: int) -> pd.DataFrame:
    role = ROLES[rng.choice(4, n, p=[0.6, 0.2, 0.05, 0.15])]
    amount = np.where(role == "purchase", rng.integers(1, 300, n), np.where(role == "refund", -rng.integers(1, 50, n), np.nan))
    return pd.DataFrame({
        "user_id": [f"u{i}" for i in rng.integers(0, 30, n)],
        "ts": pd.Timestamp("2024-12-01") + pd.to_timedelta(rng.integers(0, 130 * 86400, n), unit="s"),
        "event_type": role, "role": role,
        "channel": np.array(["group", "store", "app"])[rng.integers(0, 3, n)],
        "amount": amount, "item_id": None, "category": None, "session_id": None, "event_id": None,
    })


def _reference(events: pd.DataFrame, c: pd.Timestamp) -> pd.DataFrame:
    e = events[events["ts"] < c]
    act = e[e["role"].isin(["interaction", "purchase", "refund"])]
    users = events.groupby("user_id")["ts"].min()
    out = pd.DataFrame(index=users[users < c].index)

    def since(frame):
        return (c - frame.groupby("user_id")["ts"].max()).dt.total_seconds() / 86400

    def last(frame, days):
        return frame[frame["ts"] >= c - pd.Timedelta(days=days)]

    out["days_since_last_event"] = since(e)
    out["days_since_last_purchase"] = since(e[e["role"] == "purchase"])
    out["activity_count_7d"] = last(act, 7).groupby("user_id").size()
    out["activity_count_30d"] = last(act, 30).groupby("user_id").size()
    out["purchase_count_30d"] = last(e[e["role"] == "purchase"], 30).groupby("user_id").size()
    out["spend_amount_sum_90d"] = last(e[e["role"].isin(["purchase", "refund"])], 90).groupby("user_id")["amount"].sum()
    out["group_count_14d"] = last(e[e["channel"] == "group"], 14).groupby("user_id").size()
    for d in (7, 30):
        w = last(act, d)
        out[f"activity_active_days_{d}d"] = w.assign(day=w["ts"].dt.normalize()).groupby("user_id")["day"].nunique()
    counts = [c for c in out.columns if not c.startswith("days_since")]
    out[counts] = out[counts].fillna(0)
    return out.astype("float64")


def test_matches_the_pandas_reference_on_random_data(con):
    rng = np.random.default_rng(7)
    events = _random_events(rng, 600)
    load_events(con, events.to_dict("records"))
    got = build_features(con, SUBSET, "events", None, list(CUTOFFS))
    for c in CUTOFFS:
        want = _reference(events, c).sort_index()
        have = got[got["cutoff"] == c].set_index("user_id").drop(columns="cutoff").sort_index()
        have.index = have.index.astype(str)
        want.index = want.index.astype(str)
        want.index.name = have.index.name
        pd.testing.assert_frame_equal(have[want.columns], want, check_exact=False, rtol=1e-9)
