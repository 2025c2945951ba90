"""Labels and populations per task (INTERFACES.md §3) and the horizon check."""

from __future__ import annotations

from datetime import date

import pytest
from tests.features.conftest import ev, load_events, load_users

from siyu.config import TaskConfig
from siyu.labels import HorizonError, build_labels, check_horizon, data_bounds, latest_usable_cutoff

CHURN = TaskConfig(name="churn", horizon_days=30, population_lookback_days=30)
INTENT = TaskConfig(name="purchase_intent", horizon_days=7)
LTV = TaskConfig(name="ltv", horizon_days=90)
C = "2025-03-10"

EVENTS = [
    ev("a", "2025-03-01 10:00", "msg_open"),                       # active before C, nothing after: churns
    ev("b", "2025-03-01 10:00", "msg_open"),
    ev("b", "2025-03-10 00:00", "purchase", "store", 80.0),        # purchase exactly at C: in the labels
    ev("b", "2025-03-20 00:00", "refund", "store", -30.0),
    ev("c", "2025-01-01 10:00", "msg_open"),                       # inactive in [C - 30 d, C): not in churn
    ev("c", "2025-03-16 23:59:59", "purchase", "store", 20.0),     # last second of the 7-day window
    ev("d", "2025-02-20 10:00", "campaign_contact", "wecom"),      # a contact is not activity
    ev("e", "2025-03-17 00:00", "purchase", "store", 5.0),         # first second after the 7-day window
    ev("z", "2025-07-01 12:00", "msg_open"),                       # the last event of the data
]


@pytest.fixture
def loaded(con):
    load_events(con, EVENTS)
    load_users(con, [("a", "2025-01-01", "app", None), ("b", "2025-01-01", "app", None),
                     ("c", "2024-12-01", "app", None), ("d", "2025-01-01", "app", None),
                     ("e", "2025-03-10", "app", None), ("z", "2025-01-01", "app", None)])
    return con


def _labels(con, task, users="users"):
    df = build_labels(con, task, "events", users, [C])
    return dict(zip(df["user_id"], df["label"], strict=True))


def test_churn_population_is_recently_active_and_label_is_no_activity(loaded):
    assert _labels(loaded, CHURN) == {"a": 1, "b": 0}


def test_purchase_intent_counts_a_purchase_at_the_cutoff_and_the_window_is_half_open(loaded):
    got = _labels(loaded, INTENT)
    assert got == {"a": 0, "b": 1, "c": 1, "d": 0, "z": 0}  # e joined at C: not known before it


def test_ltv_is_net_spend_in_the_horizon(loaded):
    got = _labels(loaded, LTV)
    assert got["b"] == pytest.approx(50.0) and got["c"] == pytest.approx(20.0) and got["a"] == 0.0
    assert build_labels(loaded, LTV, "events", "users", [C])["label"].dtype == "float64"


def test_users_derived_from_events_when_no_users_table(loaded):
    got = _labels(loaded, INTENT, users=None)
    assert set(got) == {"a", "b", "c", "d"}  # known = first event before C


def test_horizon_past_the_data_is_a_clear_error(loaded):
    with pytest.raises(HorizonError, match=r"cutoff 2025-06-02 \+ 90 d ends after the data \(last event 2025-07-01\); "
                                           r"latest usable cutoff: 2025-04-03"):
        build_labels(loaded, LTV, "events", "users", ["2025-03-31", "2025-06-02"])


def test_data_bounds_and_latest_usable_cutoff(loaded):
    assert data_bounds(loaded, "events") == (date(2025, 1, 1), date(2025, 7, 2))
    assert latest_usable_cutoff(90, date(2025, 7, 2), step_days=14) == date(2025, 3, 31)
    assert check_horizon(["2025-04-03"], 90, date(2025, 7, 2)) == (date(2025, 4, 3),)


def test_no_events_is_an_error(con):
    load_events(con, [])
    with pytest.raises(HorizonError, match="no events"):
        data_bounds(con, "events")
