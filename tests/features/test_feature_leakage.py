"""Leakage property: adding or changing events at or after a cutoff changes no feature at it (nor
the BTYD outputs a booster derives from the features)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.features.conftest import ev, load_events, load_users
from tests.features.test_feature_compiler import SPECS

from siyu.features import FeatureSet, build_features
from siyu.features.families.attribute import Attribute
from siyu.features.families.btyd import BTYD
from siyu.models.btyd import BGNBDParams, GammaGammaParams
from siyu.models.btyd_features import BTYDFeatures

LEAK_SPECS = FeatureSet((*SPECS.specs, BTYD()))  # every family, the BTYD summaries included
# The BTYD outputs a booster reads as features: parameters fitted on training rows (fixed here,
# as they are once fitted), applied to each row's own summary at the cutoff.
BOOSTER_BTYD = BTYDFeatures(horizon_days=14, bgnbd=BGNBDParams(r=0.8, alpha=20.0, a=0.6, b=2.5),
                            spend=GammaGammaParams(p=6.0, q=4.0, gamma=150.0))

CUTOFF = datetime(2025, 3, 10)
LATER = "2025-03-24"
KINDS = [("msg_open", "official_account", None), ("purchase", "store", 40.0), ("refund", "store", -10.0),
         ("campaign_contact", "wecom", None), ("coupon_claim", "mini_program", None),
         ("coupon_redeem", "mini_program", None), ("check_in", "group", None)]

_event = st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 20 * 24 * 60 - 1), st.sampled_from(KINDS))


def _rows(events, before: bool) -> list[dict]:
    out = []
    for user, minutes, (etype, channel, amount) in events:
        ts = CUTOFF - timedelta(minutes=minutes + 1) if before else CUTOFF + timedelta(minutes=minutes)
        out.append(ev(user, ts.isoformat(sep=" "), etype, channel, amount, "cat" if amount else None, f"s{minutes // 60}"))
    return out


def _at_cutoff(con, rows) -> pd.DataFrame:
    load_events(con, rows)
    df = build_features(con, LEAK_SPECS, "events", None, [CUTOFF.date(), LATER])
    df = df[df["cutoff"] == pd.Timestamp(CUTOFF)].reset_index(drop=True)
    return pd.concat([df, BOOSTER_BTYD.transform(df)], axis=1)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(past=st.lists(_event, min_size=1, max_size=12), future=st.lists(_event, min_size=1, max_size=8),
       changed=st.lists(_event, min_size=1, max_size=8))
def test_future_events_change_no_feature_at_the_cutoff(con, past, future, changed):
    base = _at_cutoff(con, _rows(past, before=True))
    with_future = _at_cutoff(con, _rows(past, before=True) + _rows(future, before=False))
    with_changed = _at_cutoff(con, _rows(past, before=True) + _rows(changed, before=False))
    pd.testing.assert_frame_equal(base, with_future)
    pd.testing.assert_frame_equal(base, with_changed)


# --------------------------------------------------------------------------- changing attributes
AS_OF_SPECS = FeatureSet(tuple(Attribute("member_level", as_of=True) if getattr(s, "column", None) == "member_level"
                               else s for s in SPECS.specs))
_change = st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 20 * 24 * 60 - 1),
                    st.sampled_from(["regular", "silver", "gold", "diamond"]))


def _load_history(con, rows: list[tuple]) -> str:
    con.execute("CREATE OR REPLACE TABLE history (user_id VARCHAR, attribute VARCHAR, value VARCHAR, "
                "valid_from TIMESTAMP)")
    if rows:
        con.executemany("INSERT INTO history VALUES (?, ?, ?, ?)", rows)
    return "history"


def _changes(changes, before: bool) -> list[tuple]:
    return [(user, "member_level", level,
             CUTOFF - timedelta(minutes=minutes + 1) if before else CUTOFF + timedelta(minutes=minutes))
            for user, minutes, level in changes]


def _attributes_at_cutoff(con, past, history: list[tuple], today: str) -> pd.DataFrame:
    load_events(con, _rows(past, before=True))
    load_users(con, [(u, "2025-01-01", "x", today) for u in ("a", "b", "c")])
    df = build_features(con, AS_OF_SPECS, "events", "users", [CUTOFF.date(), LATER],
                        history=_load_history(con, history))
    return df[df["cutoff"] == pd.Timestamp(CUTOFF)].reset_index(drop=True)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(past=st.lists(_event, min_size=1, max_size=8), before=st.lists(_change, max_size=6),
       after=st.lists(_change, min_size=1, max_size=6), today=st.sampled_from(["silver", "diamond"]))
def test_attribute_changes_after_the_cutoff_and_todays_value_change_no_feature(con, past, before, after, today):
    """A changing attribute is read from its history as of the cutoff: changes at or after it, and
    the users table's value today, leave every feature at the cutoff as it was."""
    base = _attributes_at_cutoff(con, past, _changes(before, True), "regular")
    later = _attributes_at_cutoff(con, past, _changes(before, True) + _changes(after, False), today)
    # Values, not the categories' levels (those are the vocabulary over every cutoff built).
    pd.testing.assert_frame_equal(base, later, check_categorical=False, check_dtype=False)
    for user, value in zip(base["user_id"], base["member_level"].astype(object), strict=True):
        mine = [(-minutes, level) for u, minutes, level in before if u == user]  # later change: larger key
        expected = max(mine)[1] if mine else None
        assert (None if pd.isna(value) else value) == expected
