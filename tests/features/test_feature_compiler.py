"""Hand-computed features for every family on a tiny fixture (cutoffs 2025-03-10 and -17)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.features.conftest import ev, load_events, load_users

from siyu.features import (
    AOV,
    RFM,
    ActiveDays,
    Attribute,
    CampaignResponse,
    CouponRate,
    Distinct,
    FeatureSet,
    FirstPurchase,
    InterPurchase,
    Lifecycle,
    Recency,
    RefundShare,
    Share,
    SpecError,
    Tenure,
    Trend,
    Window,
    build_features,
    compile_features,
    feature_batches,
    to_feature_frame,
)

C1, C2 = "2025-03-10", "2025-03-17"

SPECS = FeatureSet((
    Recency(), Recency(role="purchase"), Recency(role="contact"), Recency(role="contact", channel="wecom"),
    Recency(role="contact", channel="group"),
    Window(7, role="activity"), Window(30, role="activity"), Window(90, role="activity"), Window(365, role="activity"),
    Window(7, role="purchase"), Window(30, role="purchase"), Window(90, role="purchase"),
    Window(90, agg="sum", role="purchase"), Window(90, agg="sum", role="refund"), Window(90, agg="sum", role="spend"),
    Window(30, role="contact"), Window(30, role="activity", channel="mini_program"),
    Window(30, role="activity", channel="store"), Window(30, event_type="coupon_claim"),
    ActiveDays(7), ActiveDays(30), Distinct(90, "channel"), Distinct(365, "channel"), Distinct(90, "category"),
    Distinct(7, "session"), Trend(7), InterPurchase("mean"), InterPurchase("std"), Tenure(), FirstPurchase(),
    AOV(90), RefundShare(90), CouponRate(30), CampaignResponse(30, 7, "count"), CampaignResponse(30, 7, "rate"),
    Share(90, "daypart", "evening"), Share(90, "daypart", "morning"), Share(90, "daypart", "night"),
    Share(90, "weekday", "wed"), Share(90, "weekday", "mon"), Lifecycle(), RFM(), Attribute("source_channel"),
    Attribute("member_level"), Attribute("region"),
))

EVENTS = [
    ev("u1", "2024-11-01 10:00", "msg_open", "official_account"),
    ev("u1", "2025-02-01 20:00", "purchase", "mini_program", 100.0, "tea", "s1"),
    ev("u1", "2025-02-20 08:00", "campaign_contact", "wecom"),
    ev("u1", "2025-02-25 09:00", "purchase", "store", 50.0, "cup"),
    ev("u1", "2025-02-26 09:00", "refund", "store", -20.0),
    ev("u1", "2025-03-05 23:30", "coupon_claim", "mini_program", session="s2"),
    ev("u1", "2025-03-06 00:30", "coupon_redeem", "mini_program", session="s2"),
    ev("u1", "2025-03-09 23:59:59", "share", "group"),
    ev("u1", "2025-03-10 00:00:00", "purchase", "store", 999.0, "cup"),  # exactly at C1
    ev("u2", "2025-03-02 12:00", "check_in", "group"),
    ev("u5", "2025-01-05 10:00", "msg_open", "official_account"),
    ev("u5", "2025-01-05 10:00", "purchase", "store", 30.0),
    ev("u6", "2024-10-01 10:00", "msg_open", "official_account"),
    ev("u6", "2024-10-01 10:00", "purchase", "store", 10.0),
]
USERS = [
    ("u1", "2025-01-01", "group", "gold"), ("u2", "2025-03-01", "app", None), ("u3", "2025-03-12", "app", None),
    ("u4", "2024-06-01", "store", None), ("u5", "2024-01-01", "store", None), ("u6", "2024-01-01", "store", None),
]


@pytest.fixture
def frame(con) -> pd.DataFrame:
    load_events(con, EVENTS)
    load_users(con, USERS)
    return build_features(con, SPECS, "events", "users", [C1, C2])


def _row(frame: pd.DataFrame, user: str, cutoff: str) -> pd.Series:
    rows = frame[(frame["user_id"] == user) & (frame["cutoff"] == pd.Timestamp(cutoff))]
    assert len(rows) == 1
    return rows.iloc[0]


def test_population_is_users_known_before_each_cutoff(frame):
    at = {c: set(frame.loc[frame["cutoff"] == pd.Timestamp(c), "user_id"]) for c in (C1, C2)}
    assert at[C1] == {"u1", "u2", "u4", "u5", "u6"}
    assert at[C2] == at[C1] | {"u3"}
    assert list(frame.columns[:2]) == ["user_id", "cutoff"]
    assert list(frame.columns[2:]) == list(SPECS.columns)


def test_recency_windows_and_amounts_by_hand(frame):
    r = _row(frame, "u1", C1)
    assert r["days_since_last_event"] == pytest.approx(1 / 86400)  # 23:59:59 the night before
    assert r["days_since_last_purchase"] == pytest.approx(12.625)  # the purchase at C1 is excluded
    assert r["days_since_last_contact"] == pytest.approx(17 + 16 / 24)
    assert r["days_since_last_wecom_contact"] == pytest.approx(17 + 16 / 24)
    assert math.isnan(r["days_since_last_group_contact"])
    assert (r["activity_count_7d"], r["activity_count_30d"], r["activity_count_90d"], r["activity_count_365d"]) == (3, 5, 6, 7)
    assert (r["purchase_count_7d"], r["purchase_count_30d"], r["purchase_count_90d"]) == (0, 1, 2)
    assert (r["purchase_amount_sum_90d"], r["refund_amount_sum_90d"], r["spend_amount_sum_90d"]) == (150, -20, 130)
    assert r["contact_count_30d"] == 1
    assert (r["mini_program_activity_count_30d"], r["store_activity_count_30d"]) == (2, 2)
    assert r["coupon_claim_count_30d"] == 1


def test_purchase_at_the_cutoff_counts_only_at_the_next_cutoff(frame):
    r = _row(frame, "u1", C2)
    assert r["purchase_count_7d"] == 1
    assert r["days_since_last_purchase"] == pytest.approx(7.0)
    assert r["purchase_amount_sum_90d"] == 150 + 999


def test_days_distinct_trend_and_purchase_rhythm_by_hand(frame):
    r = _row(frame, "u1", C1)
    assert (r["activity_active_days_7d"], r["activity_active_days_30d"]) == (3, 5)
    assert (r["distinct_channels_90d"], r["distinct_channels_365d"]) == (3, 4)
    assert r["distinct_categories_90d"] == 2
    assert r["distinct_sessions_7d"] == 1  # s2 crosses midnight, and is still one session
    assert r["activity_trend_ratio_7d_vs_prior_7d"] == pytest.approx(3 / 2)
    assert r["inter_purchase_days_mean"] == pytest.approx(23 + 13 / 24)
    assert math.isnan(r["inter_purchase_days_std"])  # one gap only
    assert r["tenure_days"] == 68
    assert r["first_purchase_amount"] == 100


def test_ratios_and_shares_by_hand(frame):
    r = _row(frame, "u1", C1)
    assert r["aov_90d"] == 75
    assert r["refund_share_90d"] == pytest.approx(20 / 150)
    assert r["coupon_redemption_rate_30d"] == 1.0
    assert r["campaign_responses_7d_after_30d"] == 1
    assert r["campaign_response_rate_7d_after_30d"] == 1.0
    assert r["activity_share_evening_90d"] == pytest.approx(3 / 6)
    assert r["activity_share_morning_90d"] == pytest.approx(2 / 6)
    assert r["activity_share_night_90d"] == pytest.approx(1 / 6)
    assert r["activity_share_wed_90d"] == pytest.approx(2 / 6)
    assert r["activity_share_mon_90d"] == 0


def test_inter_purchase_std_with_three_purchases(frame):
    r = _row(frame, "u1", C2)  # gaps 23.5417 and 12.625 days
    gaps = pd.Series([23 + 13 / 24, 12 + 15 / 24])
    assert r["inter_purchase_days_std"] == pytest.approx(gaps.std())


def test_empty_windows_are_zero_and_undefined_ratios_nan(frame):
    r = _row(frame, "u4", C1)  # known, no events at all
    assert r["activity_count_365d"] == 0 and r["purchase_amount_sum_90d"] == 0
    assert r["distinct_channels_90d"] == 0 and r["activity_active_days_30d"] == 0
    for col in ("days_since_last_event", "aov_90d", "refund_share_90d", "coupon_redemption_rate_30d",
                "activity_share_evening_90d", "activity_trend_ratio_7d_vs_prior_7d", "first_purchase_amount",
                "inter_purchase_days_mean", "rfm_recency_score"):
        assert math.isnan(r[col]), col


def test_one_event_user(frame):
    r = _row(frame, "u2", C1)
    assert r["activity_count_30d"] == 1 and r["activity_active_days_7d"] == 0 and r["activity_active_days_30d"] == 1
    assert r["days_since_last_event"] == pytest.approx(7.5)
    assert r["activity_trend_ratio_7d_vs_prior_7d"] == 0  # 0 in the last 7 d, 1 the week before


def test_lifecycle_stages(frame):
    stages = {u: _row(frame, u, C1)["lifecycle_stage"] for u in ("u1", "u2", "u4", "u5", "u6")}
    assert stages == {"u1": "active", "u2": "new", "u4": "potential", "u5": "silent", "u6": "churned"}
    assert list(frame["lifecycle_stage"].cat.categories) == ["potential", "new", "active", "silent", "churned"]


def test_rfm_quintiles_among_purchasers(frame):
    got = {u: tuple(_row(frame, u, C1)[["rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score"]])
           for u in ("u1", "u5", "u6")}
    # u5 and u6 bought once each: tied at the bottom of frequency (rank 1 of 3 -> score 2)
    assert got == {"u1": (5, 5, 5), "u5": (4, 2, 4), "u6": (2, 2, 2)}
    segments = {u: _row(frame, u, C1)["rfm_segment"] for u in ("u1", "u5", "u6", "u4")}
    assert segments == {"u1": "champions", "u5": "potential", "u6": "hibernating", "u4": "no_purchase"}


def test_one_time_buyers_never_reach_the_top_frequency_quintile():
    """An orders log where most buyers bought once: their tie scores low, not high."""
    from siyu.features.engine import rfm_scores

    rng = np.random.default_rng(0)
    n = 1000
    freq = np.where(rng.random(n) < 0.65, 1.0, rng.integers(2, 9, n).astype(float))
    scores = rfm_scores(rng.uniform(0, 300, n), freq, rng.gamma(2.0, 50.0, n), np.zeros(n, dtype=np.int64), 1)
    assert set(scores[freq == 1, 1]) == {1.0}
    assert scores[freq == freq.max(), 1].min() == 5.0


def test_rfm_scores_are_each_cutoffs_quintiles_of_min_ranks_among_buyers():
    """Against pandas' min rank per cutoff: ties (whole days, counts), unknown spend, non-buyers,
    and cutoffs of different sizes, one of them empty."""
    from siyu.features.engine import rfm_scores

    rng = np.random.default_rng(3)
    n = 3000
    r = rng.integers(0, 40, n).astype(float)
    f = rng.integers(0, 4, n).astype(float)
    m = np.round(rng.gamma(2.0, 20.0, n))
    m[rng.random(n) < 0.1] = np.nan
    c = rng.choice([0, 1, 3], n, p=[0.6, 0.3, 0.1])
    scores = rfm_scores(r, f, m, c, 4)
    buyers = pd.DataFrame({"r": -r, "f": f, "m": m, "c": c})[f > 0]
    for j, column in enumerate("rfm"):
        # NaN spend: numpy's sort puts it last, each a rank of its own
        k = buyers.groupby("c")[column].rank(method="min", na_option="bottom")
        k = k.where(buyers[column].notna(), buyers.groupby("c")[column].rank(method="first", na_option="bottom"))
        n_c = buyers.groupby("c")[column].transform("size")
        expected = np.ceil(5 * k / n_c)
        np.testing.assert_array_equal(scores[f > 0, j], expected.to_numpy())
    assert np.isnan(scores[f == 0]).all()


def test_attributes_are_categoricals_and_missing_columns_are_nan(frame):
    assert isinstance(frame["source_channel"].dtype, pd.CategoricalDtype)
    assert _row(frame, "u1", C1)["member_level"] == "gold"
    assert frame["region"].isna().all()  # not in the users table: NaN, no error
    numeric = [c for c in SPECS.columns if c not in ("lifecycle_stage", "rfm_segment", "source_channel",
                                                     "member_level", "region")]
    assert all(frame[c].dtype == "float64" for c in numeric)


def test_a_cutoff_does_not_depend_on_the_other_cutoffs(con, frame):
    alone = build_features(con, SPECS, "events", "users", [C1])
    together = frame[frame["cutoff"] == pd.Timestamp(C1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, together)


def test_transactions_only_dataset_degrades_gracefully(con):
    rows = [{**ev(u, ts, "purchase", None, amt), "role": "purchase"} for u, ts, amt in
            [("a", "2025-01-02 10:00", 10.0), ("a", "2025-02-02 10:00", 30.0), ("b", "2025-03-01 09:00", 5.0)]]
    load_events(con, rows, "tx")
    df = build_features(con, SPECS, "tx", None, [C1])
    assert set(df["user_id"]) == {"a", "b"}
    a = _row(df, "a", C1)
    assert a["purchase_count_90d"] == 2 and a["activity_count_90d"] == 2 and a["aov_90d"] == 20
    assert a["contact_count_30d"] == 0 and math.isnan(a["days_since_last_contact"])
    assert math.isnan(a["coupon_redemption_rate_30d"]) and a["distinct_channels_90d"] == 0
    assert a["tenure_days"] == pytest.approx(67 - 10 / 24)  # joined at the first purchase
    assert a["lifecycle_stage"] == "silent"
    assert pd.isna(a["source_channel"])


def test_cutoff_with_a_time_of_day_is_an_error():
    with pytest.raises(SpecError, match="local midnight"):
        compile_features(SPECS, cutoffs=["2025-03-10T08:00"])
    with pytest.raises(SpecError, match="at least one cutoff"):
        compile_features(SPECS, cutoffs=[])


def test_bad_source_name_is_an_error():
    from siyu.features import relation_sql

    with pytest.raises(SpecError, match="Parquet path or a table name"):
        relation_sql("events; DROP TABLE x")


def test_chunked_run_matches_one_chunk(con, frame):
    """A tiny memory budget splits the users into several chunks (RFM ranked in a pre-pass);
    every value is the same as in one chunk."""
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()
    table = feature_batches(con, SPECS, "events", "users", [C1, C2], memory_budget=1).read_all()
    assert con.execute("SELECT current_setting('memory_limit')").fetchall() == limit  # restored
    chunked = table.to_pandas().sort_values(["cutoff", "user_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(to_feature_frame(chunked, SPECS), frame)


def test_progress_counts_the_users_done_after_each_batch(con, frame):
    """`on_users(done, total)` after every batch: rising, ending at every user, as many calls as
    batches, in one chunk and across several (a tiny memory budget)."""
    n_users = con.execute("SELECT count(*) FROM users").fetchall()[0][0]
    for budget in (None, 1):
        heard: list[tuple[int, int]] = []
        reader = feature_batches(con, SPECS, "events", "users", [C1, C2], memory_budget=budget,
                                 on_users=lambda done, total, heard=heard: heard.append((done, total)))
        n_batches = sum(1 for _ in reader)
        assert len(heard) == n_batches and (n_batches > 1 or budget is None), budget
        assert [d for d, _ in heard] == sorted({d for d, _ in heard}) and heard[-1] == (n_users, n_users), heard


def test_one_thread_matches_two_and_leaves_numba_as_it_was(con, frame):
    """The compiled passes follow the connection's `threads` and give the same values on
    one thread as on two; numba's own setting is restored afterwards."""
    import numba

    before = numba.get_num_threads()
    con.execute("SET threads = 1")
    try:
        table = feature_batches(con, SPECS, "events", "users", [C1, C2]).read_all()
    finally:
        con.execute("SET threads = 2")
    assert numba.get_num_threads() == before
    single = table.to_pandas().sort_values(["cutoff", "user_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(to_feature_frame(single, SPECS), frame)


@pytest.mark.parametrize("contact_first", [True, False])
def test_simultaneous_events_do_not_depend_on_their_order(con, contact_first):
    """The event stream is sorted by (user, time) only: a contact answers a purchase at the
    same instant, and the first purchase among simultaneous ones is the smallest amount,
    whichever way the ties happen to come out."""
    contact = ev("u1", "2025-03-01 12:00", "campaign_contact", "wecom")
    purchases = [ev("u1", "2025-03-01 12:00", "purchase", "store", 80.0),
                 ev("u1", "2025-03-01 12:00", "purchase", "store", 30.0)]
    late = [ev("u2", "2025-03-01 12:00", "campaign_contact", "wecom"),
            ev("u2", "2025-03-08 12:00", "purchase", "store", 10.0),  # exactly 7 days: answers
            ev("u3", "2025-03-01 12:00", "campaign_contact", "wecom"),
            ev("u3", "2025-03-08 12:00:00.000001", "purchase", "store", 10.0)]  # 1 µs late: does not
    rows = ([contact] + purchases if contact_first else purchases[::-1] + [contact]) + late
    load_events(con, rows)
    specs = FeatureSet((CampaignResponse(30, 7, "count"), FirstPurchase()))
    df = build_features(con, specs, "events", None, ["2025-03-10"]).set_index("user_id")
    assert df.loc["u1", "campaign_responses_7d_after_30d"] == 2
    assert df.loc["u1", "first_purchase_amount"] == 30.0
    assert df.loc["u2", "campaign_responses_7d_after_30d"] == 1
    assert df.loc["u3", "campaign_responses_7d_after_30d"] == 0


def test_sessions_of_a_very_busy_day(con):
    """A day with more events than the pairwise path handles is counted by sorting: activity
    sessions only, NULL sessions ignored, the same answer as on a quiet day."""
    busy = [ev("u1", f"2025-03-03 10:{m:02d}", "msg_open", session=f"s{m % 3}") for m in range(40)]
    busy += [ev("u1", "2025-03-03 11:00", "msg_open", session=None),
             ev("u1", "2025-03-03 11:01", "campaign_contact", "wecom", session="contact-session")]
    quiet = [ev("u2", "2025-03-03 10:00", "msg_open", session="a"), ev("u2", "2025-03-03 10:05", "share", session="b"),
             ev("u2", "2025-03-03 10:09", "msg_open", session="a")]
    load_events(con, busy + quiet)
    df = build_features(con, FeatureSet((Distinct(7, "session"),)), "events", None, ["2025-03-10"]).set_index("user_id")
    assert df.loc["u1", "distinct_sessions_7d"] == 3
    assert df.loc["u2", "distinct_sessions_7d"] == 2


def test_a_session_across_midnight_counts_once_and_only_its_events_before_the_cutoff(con):
    """Issue 18: sessions were summed per local day, so one crossing midnight counted twice."""
    rows = [ev("u1", "2025-03-05 23:40", "msg_open", session="night"),  # across midnight, in the window
            ev("u1", "2025-03-06 00:20", "share", session="night"),
            ev("u1", "2025-03-06 10:00", "msg_open", session="day"),
            ev("u2", "2025-03-09 23:50", "msg_open", session="late"),  # across the cutoff's midnight:
            ev("u2", "2025-03-10 00:10", "share", session="late"),  # its half at the cutoff is not seen ...
            ev("u2", "2025-03-10 00:15", "share", session="after"),  # ... nor a session begun after it
            ev("u3", "2025-03-02 23:50", "msg_open", session="edge"),  # across the 7-day window's start:
            ev("u3", "2025-03-03 00:10", "share", session="edge")]  # in the window by its second half
    load_events(con, rows)
    specs = FeatureSet((Distinct(7, "session"), Distinct(1, "session")))
    df = build_features(con, specs, "events", None, ["2025-03-10", "2025-03-11"])
    got = {(u, str(c)[:10]): (a, b) for u, c, a, b in
           df[["user_id", "cutoff", "distinct_sessions_7d", "distinct_sessions_1d"]].itertuples(index=False)}
    assert got[("u1", "2025-03-10")] == (2, 0)
    assert got[("u2", "2025-03-10")] == (1, 1)
    assert got[("u2", "2025-03-11")] == (2, 2)  # "late" is one session on both sides of midnight
    assert got[("u3", "2025-03-10")] == (1, 0)


def test_columns_declared_never_null_hold_a_value_on_every_row(con, frame, tmp_path):
    """Counts, sums, distinct counts, tenure, stage and RFM segment are declared non-nullable
    (Parquet writes them as required): on every family, at both cutoffs and with users that have
    no events, they hold a value everywhere; the undefined ones stay nullable and null."""
    from siyu.features import write_features

    table = feature_batches(con, SPECS, "events", "users", [C1, C2]).read_all()
    required = [f.name for f in table.schema if not f.nullable]
    assert {"activity_count_7d", "purchase_amount_sum_90d", "distinct_channels_90d", "tenure_days",
            "lifecycle_stage", "rfm_segment"} <= set(required)
    assert not {"days_since_last_event", "aov_90d", "rfm_recency_score", "source_channel"} & set(required)
    for name in required:
        column = table.column(name)
        assert column.null_count == 0, name
        if pa.types.is_floating(column.type):
            assert not np.isnan(column.to_numpy()).any(), name
    assert table.column("days_since_last_event").null_count > 0  # u3, u4: no events
    path = tmp_path / "features.parquet"
    write_features(con, SPECS, "events", "users", [C1, C2], path)
    written = pq.read_table(path)
    assert written.schema.equals(table.schema) and written.num_rows == table.num_rows
