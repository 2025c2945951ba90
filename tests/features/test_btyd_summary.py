"""BTYD summaries from the events: one purchase per customer-day or per order, times from the
customer's own first purchase, at each cutoff, and blind to events at or after it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.features.btyd_summary import (
    BTYD_COLUMNS,
    btyd_summaries,
    btyd_summaries_from_frame,
    btyd_summary_sql,
)
from siyu.models import btyd
from siyu.synth.btyd import bgnbd_transaction_log


def _events(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "ts", "role", "amount"])
    return frame.assign(ts=pd.to_datetime(frame["ts"], format="ISO8601"))


def _summaries(frame: pd.DataFrame, cutoffs, **kw) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("events", frame)
    return btyd_summaries(con, "events", cutoffs, **kw)


HAND = _events([
    ("a", "2025-01-01 10:00", "purchase", 10.0),
    ("a", "2025-01-01 18:00", "purchase", 20.0),  # same day: the same purchase
    ("a", "2025-01-05 00:00", "purchase", 30.0),
    ("a", "2025-01-20 00:00", "purchase", 40.0),
    ("b", "2025-01-03 09:00", "purchase", 5.0),
    ("b", "2025-01-09 09:00", "refund", -5.0),  # a refund is no purchase
    ("c", "2025-01-06 00:00", "interaction", None),  # no purchase: no summary
])


def test_summaries_count_customer_days_from_the_first_purchase():
    got = _summaries(HAND, ["2025-01-06", "2025-01-21"])
    first = got[got["cutoff"] == pd.Timestamp("2025-01-06")].set_index("user_id")
    assert first.loc["a", list(BTYD_COLUMNS)].tolist() == [1.0, 4.0, 4.0, 30.0]  # (10 + 20) and 30
    assert first.loc["b", list(BTYD_COLUMNS)].tolist() == [0.0, 0.0, 2.0, 5.0]
    later = got[got["cutoff"] == pd.Timestamp("2025-01-21")].set_index("user_id")
    # T runs to the last observed day (Jan 20), so a purchase on it has t_x == T.
    assert later.loc["a", ["btyd_x", "btyd_t_x_days", "btyd_T_days"]].tolist() == [2.0, 19.0, 19.0]
    assert "c" not in got["user_id"].tolist()


def test_distinct_orders_count_when_the_events_carry_an_order_id():
    frame = HAND.assign(order_id=["o1", "o2", "o3", None, "o5", None, None])
    got = _summaries(frame, ["2025-01-21"]).set_index("user_id")
    assert got.loc["a", "btyd_x"] == 3.0  # o1, o2 on one day are two orders; the last row counts by its day
    assert got.loc["a", "btyd_spend_mean"] == pytest.approx(25.0)
    ignored = _summaries(frame, ["2025-01-21"], order_column=None).set_index("user_id")
    assert ignored.loc["a", "btyd_x"] == 2.0


def test_duckdb_and_in_memory_summaries_agree_on_a_generated_log():
    log = bgnbd_transaction_log(btyd.BGNBDParams(0.8, 40.0, 0.6, 2.5), btyd.GammaGammaParams(6.0, 4.0, 150.0),
                                customers=300, start=date(2025, 1, 6), days=200, acquisition_days=60,
                                rng=np.random.default_rng(1))
    cutoffs = ["2025-03-03", "2025-05-05", "2025-07-21"]
    pd.testing.assert_frame_equal(_summaries(log, cutoffs), btyd_summaries_from_frame(log, cutoffs),
                                  check_dtype=False)


def test_the_family_joins_summaries_onto_feature_rows_with_nan_for_non_buyers(con):
    from siyu.features import FeatureSet, Tenure, build_features
    from siyu.features.families.btyd import BTYD

    con.register("hand", HAND)
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM hand")
    out = build_features(con, FeatureSet((Tenure(), BTYD())), "events", None, ["2025-01-21"])
    assert list(out.columns) == ["user_id", "cutoff", "tenure_days", *BTYD_COLUMNS]
    expected = _summaries(HAND, ["2025-01-21"]).set_index("user_id")
    got = out.set_index("user_id")
    assert sorted(got.index) == ["a", "b", "c"] and "c" not in expected.index
    for user in got.index:
        if user in expected.index:
            assert got.loc[user, list(BTYD_COLUMNS)].tolist() == expected.loc[user, list(BTYD_COLUMNS)].tolist()
        else:
            assert got.loc[user, list(BTYD_COLUMNS)].isna().all()


def test_the_query_is_a_pure_function_of_its_arguments():
    sql = btyd_summary_sql("events", [date(2025, 1, 6)], order_column="order_id")
    assert "DATE '2025-01-06'" in sql and "order_id" in sql


CUTOFF = datetime(2025, 3, 10)
_purchase = st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 20 * 24 * 60 - 1),
                      st.floats(1.0, 500.0))


def _rows(purchases, before: bool) -> list[tuple]:
    return [(u, (CUTOFF - timedelta(minutes=m + 1) if before else CUTOFF + timedelta(minutes=m)).isoformat(),
             "purchase", amount) for u, m, amount in purchases]


@settings(max_examples=15, deadline=None)
@given(past=st.lists(_purchase, min_size=1, max_size=12), future=st.lists(_purchase, min_size=1, max_size=8))
def test_purchases_at_or_after_the_cutoff_change_no_summary_at_it(past, future):
    base = _summaries(_events(_rows(past, True)), [CUTOFF.date()])
    with_future = _summaries(_events(_rows(past, True) + _rows(future, False)), [CUTOFF.date()])
    pd.testing.assert_frame_equal(base, with_future)


def test_every_summary_column_is_described_for_the_catalogue():
    from siyu.features.btyd_summary import BTYD_DESCRIPTIONS

    assert tuple(BTYD_DESCRIPTIONS) == BTYD_COLUMNS
    assert all(unit in ("count", "days", "amount") and zh and en for unit, zh, en in BTYD_DESCRIPTIONS.values())


@pytest.mark.parametrize("with_orders", [False, True])
def test_feature_rows_carry_the_summaries_of_every_cutoff(con, with_orders):
    """The engine keys the summaries by its user index: every (user, cutoff) cell matches the
    plain query, with and without order ids."""
    from siyu.features import FeatureSet, build_features
    from siyu.features.families.btyd import BTYD

    frame = HAND.assign(event_type=HAND["role"], channel=None, item_id=None, category=None, session_id=None,
                        event_id=None)
    if with_orders:
        frame = frame.assign(order_id=["o1", "o2", "o3", None, "o5", None, None])
    con.register("hand", frame)
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM hand")
    cutoffs = ["2025-01-04", "2025-01-06", "2025-01-21"]
    out = build_features(con, FeatureSet((BTYD(),)), "events", None, cutoffs).set_index(["user_id", "cutoff"])
    expected = _summaries(frame, cutoffs).set_index(["user_id", "cutoff"])
    assert len(expected) == 6  # a and b at each cutoff; c never bought
    for key, row in expected.iterrows():
        assert out.loc[key, list(BTYD_COLUMNS)].tolist() == row[list(BTYD_COLUMNS)].tolist()
    assert out.drop(expected.index)[list(BTYD_COLUMNS)].isna().all().all()


@pytest.mark.parametrize("memory_budget", [None, 1])  # one chunk of users, or one user's events at a time
def test_the_engine_counts_purchase_days_as_the_query_does(memory_budget):
    """Without order ids the engine reads the summaries off its own event stream; they equal the
    query's on a generated log with cents, purchases without an amount and several a day."""
    from siyu.features import FeatureSet, feature_batches
    from siyu.features.families.btyd import BTYD

    log = bgnbd_transaction_log(btyd.BGNBDParams(0.8, 40.0, 0.6, 2.5), btyd.GammaGammaParams(6.0, 4.0, 150.0),
                                customers=300, start=date(2025, 1, 6), days=200, acquisition_days=60,
                                rng=np.random.default_rng(3))
    rng = np.random.default_rng(4)
    log = log.assign(amount=np.where(rng.random(len(log)) < 0.05, np.nan, np.round(log["amount"] * 1.37, 2)))
    extra = log.sample(frac=0.3, random_state=5).assign(ts=lambda f: f["ts"].dt.normalize() + pd.Timedelta(hours=23))
    log = pd.concat([log, extra], ignore_index=True)
    cutoffs = ["2025-03-03", "2025-05-05", "2025-07-21"]
    con = duckdb.connect()
    con.register("events", log.assign(event_type="purchase", channel=None))
    got = feature_batches(con, FeatureSet((BTYD(),)), "events", None, cutoffs, memory_budget=memory_budget).read_all()
    got = got.to_pandas().dropna(subset=["btyd_x"]).sort_values(["cutoff", "user_id"], ignore_index=True)
    expected = _summaries(log, cutoffs)
    assert len(got) == len(expected) > 300 and (expected["btyd_x"] > 1).mean() > 0.2
    assert 0 < expected["btyd_spend_mean"].isna().sum() < 50  # a few buyers whose amounts are all unknown
    pd.testing.assert_frame_equal(got[["user_id", "cutoff", *BTYD_COLUMNS[:3]]],
                                  expected[["user_id", "cutoff", *BTYD_COLUMNS[:3]]], check_dtype=False)
    # Summed in another order than DuckDB's hash groups may take: equal to the last bits.
    np.testing.assert_allclose(got["btyd_spend_mean"], expected["btyd_spend_mean"], rtol=1e-13, atol=0)
