"""Compile siyu's numba passes into their on-disk cache once, at setup, so the first `siyu trainset`,
`siyu train` or `siyu score` on a new machine does not spend its first half-minute compiling.

`python -m siyu.features.warmup` builds every default family on a tiny log in memory, then runs the
bootstrap intervals of every metric (`siyu.evaluation.intervals`, `siyu.uplift.metrics`) once."""

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
    _warm_intervals()
    return time.perf_counter() - started


def _warm_intervals() -> None:
    import numpy as np

    from siyu.evaluation.intervals import bootstrap_interval
    from siyu.uplift.metrics import uplift_metrics

    y, score, users = np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.1, 0.8, 0.3, 0.6]), np.array([0, 0, 1, 1])
    for metric in ("auc", "pr_auc", "gini"):
        bootstrap_interval(metric, y, score, users, n_boot=2, rng=np.random.default_rng(0))
    uplift_metrics(y, ["t", "control", "t", "control"], score[:, None], ["t"], users, n_boot=2)


if __name__ == "__main__":
    print(f"feature engine and bootstrap passes compiled and cached in {warm_up():.1f}s")
