"""Compile the feature engine's numba passes into their on-disk cache once, at setup, so the first
`siyu trainset` or `siyu score` on a new machine does not spend its first half-minute compiling.

`python -m siyu.features.warmup` builds every default family on a tiny log in memory."""

from __future__ import annotations

import time

import pandas as pd


def warm_up() -> float:
    """Build features on a few hand-made events with every family; returns the seconds taken."""
    from siyu.features import build_features, parse_feature_specs
    from siyu.io.duck import connect

    started = time.perf_counter()
    events = pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b"],
        "ts": pd.to_datetime(["2025-01-02 10:00", "2025-01-05 20:00", "2025-01-06 09:00", "2025-01-03 08:00",
                              "2025-01-04 12:00"]),
        "event_type": ["msg_open", "purchase", "refund", "campaign_contact", "coupon_claim"],
        "role": ["interaction", "purchase", "refund", "contact", "interaction"],
        "channel": ["wecom", "store", "store", "wecom", "app"],
        "amount": [None, 20.0, -5.0, None, None], "item_id": None, "category": [None, "tea", "tea", None, None],
        "session_id": ["s1", "s2", None, None, "s3"], "event_id": None,
    })
    specs = parse_feature_specs({"features": [
        {"family": "recency", "role": ["any", "purchase"]}, {"family": "window", "agg": ["count", "sum"],
                                                             "role": "purchase", "days": 7},
        {"family": "window", "event_type": "msg_open", "channel": "wecom", "days": 7},
        {"family": "active_days", "days": 7}, {"family": "distinct", "column": ["channel", "category", "session"],
                                               "days": 7},
        {"family": "trend", "days": 3}, {"family": "inter_purchase", "stat": ["mean", "std"]}, {"family": "tenure"},
        {"family": "first_purchase"}, {"family": "aov", "days": 7}, {"family": "refund_share", "days": 7},
        {"family": "coupon_rate", "days": 7}, {"family": "campaign_response", "days": 7, "stat": ["count", "rate"]},
        {"family": "share", "kind": ["daypart"], "value": "evening", "days": 7},
        {"family": "share", "kind": "weekday", "value": "mon", "days": 7},
        {"family": "lifecycle"}, {"family": "rfm"}, {"family": "btyd"},
    ]})
    con = connect(memory_limit="256MB", threads=2)
    try:
        con.register("warmup_events", events)
        con.execute("CREATE TABLE warm_events AS SELECT * FROM warmup_events")
        build_features(con, specs, "warm_events", None, ["2025-01-07", "2025-01-08"])
    finally:
        con.close()
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"feature engine compiled and cached in {warm_up():.1f}s")
