"""Hand-made corner cases, both engines: a contact and a purchase at the same instant, two
first purchases at once, unknown amounts and roles, events exactly at a cutoff, users without
events or without a join time, events of users the users table does not know, the lines of an
order counted as one purchase, the BTYD summary."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.engines.test_spark_features import assert_same_frames
from tests.features.conftest import EVENT_SQL_TYPES, ev

from siyu.features import build_features, parse_feature_specs
from siyu.io.duck import connect

pytestmark = pytest.mark.spark

SPECS = parse_feature_specs({"features": [
    {"family": "recency", "role": ["any", "activity", "purchase", "contact"]},
    {"family": "window", "agg": "count", "role": ["any", "activity", "purchase", "contact"], "days": [1, 7, 30]},
    {"family": "window", "agg": "sum", "role": ["purchase", "refund", "spend"], "days": [7, 30]},
    {"family": "window", "agg": "count", "event_type": ["coupon_claim", "coupon_redeem"], "days": 30},
    {"family": "active_days", "days": [7, 30]},
    {"family": "distinct", "column": ["channel", "category", "session"], "days": [1, 30]},
    {"family": "trend", "days": 7},
    {"family": "inter_purchase", "stat": ["mean", "std"]},
    {"family": "tenure"}, {"family": "first_purchase"},
    {"family": "aov", "days": 30}, {"family": "refund_share", "days": 30}, {"family": "coupon_rate", "days": 30},
    {"family": "campaign_response", "within_days": [1, 2], "stat": ["count", "rate"], "days": 30},
    {"family": "share", "kind": "daypart", "value": ["night", "evening"], "days": 30},
    {"family": "share", "kind": "weekday", "value": ["sat", "sun"], "days": 30},
    {"family": "lifecycle", "new_days": 3, "active_days": 2, "churned_days": 5},
    {"family": "rfm"},
    {"family": "attribute", "column": ["source_channel", "member_level"]},
    {"family": "btyd"},
]})
CUTOFFS = ["2025-03-08", "2025-03-10", "2025-03-15"]


def _events() -> pd.DataFrame:
    rows = [
        ev("a", "2025-03-01 10:00:00", "campaign_contact", channel="wecom"),
        ev("a", "2025-03-01 10:00:00", "purchase", channel="store", amount=30.0, category="tea"),
        ev("a", "2025-03-01 10:00:00", "purchase", channel="app", amount=20.0, category="cup"),
        ev("a", "2025-03-01 23:59:59", "msg_open", session="s1"),
        ev("a", "2025-03-01 23:00:00", "check_in", channel=None, session="s1"),
        ev("a", "2025-03-02 01:00:00", "coupon_claim", session="s2"),
        ev("a", "2025-03-03 12:00:00", "purchase", channel="store", amount=None, category="tea"),
        ev("a", "2025-03-05 09:30:00", "refund", channel="store", amount=-12.5, category="tea"),
        ev("a", "2025-03-07 23:59:59.999999", "coupon_redeem", session="s3"),
        ev("a", "2025-03-08 00:00:00", "purchase", channel="store", amount=99.0),  # at a cutoff: not before it
        ev("a", "2025-03-09 18:00:00", "purchase", channel="store", amount=5.25, category="cup"),
        ev("b", "2025-03-02 08:00:00", "msg_open", session="s1"),
        ev("b", "2025-03-06 20:00:00", "purchase", channel="app", amount=0.5),
        ev("b", "2025-03-06 20:00:00", "purchase", channel="app", amount=0.5),
        ev("b", "2025-03-14 02:00:00", "purchase", channel="app", amount=1.0),
        ev("x", "2025-03-02 08:00:00", "purchase", amount=7.0),  # not in the users table
        {**ev("b", "2025-03-07 08:00:00", "lottery"), "role": "raffle"},  # a role outside the contract
    ]
    # Three lines of one order (one purchase at its first line's time, amounts summed, the most
    # frequent category), a refund line of it, and an order of one line.
    orders = [
        ({**ev("b", "2025-03-11 10:00:00", "purchase", channel="app", amount=3.0, category="tea")}, "o1"),
        ({**ev("b", "2025-03-11 10:05:00", "purchase", channel="app", amount=4.0, category="tea")}, "o1"),
        ({**ev("b", "2025-03-11 10:06:00", "purchase", channel="app", amount=1.5, category="cup")}, "o1"),
        ({**ev("b", "2025-03-12 09:00:00", "refund", channel="app", amount=-4.0, category="tea")}, "o1"),
        ({**ev("a", "2025-03-12 21:00:00", "purchase", channel="store", amount=8.0, category="cup")}, "o2"),
    ]
    rows = [{**r, "order_id": None} for r in rows] + [{**r, "order_id": o} for r, o in orders]
    frame = pd.DataFrame(rows, columns=[*EVENT_SQL_TYPES, "order_id"])
    return frame.assign(ts=pd.to_datetime(frame["ts"], format="ISO8601").astype("datetime64[us]"),
                        amount=frame["amount"].astype("float64"))


def _users() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": ["a", "b", "c", "d"],
        "joined_at": pd.to_datetime(["2025-02-20 00:00", None, "2025-03-01 12:00", None], format="ISO8601").astype("datetime64[us]"),
        "source_channel": ["group", None, "live", "store"],
        "member_level": ["gold", "basic", None, None],
    })


def test_corner_cases_match_the_embedded_engine(spark, tmp_path):
    from siyu.engines.spark import spark_features
    from siyu.io.spark import read_events, read_users

    _events().to_parquet(tmp_path / "events.parquet", index=False)
    _users().to_parquet(tmp_path / "users.parquet", index=False)
    users = tmp_path / "users.parquet"
    with connect(memory_limit="512MB", threads=1) as con:
        embedded = build_features(con, SPECS, tmp_path / "events.parquet", users, CUTOFFS)
    got = spark_features(SPECS, read_events(spark, tmp_path / "events.parquet"),
                         read_users(spark, users), CUTOFFS)
    assert_same_frames(embedded, got)
    # c joined without events; d has neither a join time nor events; x is not a known user
    assert set(embedded["user_id"]) == {"a", "b", "c"}
