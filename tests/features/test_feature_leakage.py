"""Leakage property: adding or changing events at or after a cutoff changes no feature at it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.features.conftest import ev, load_events
from tests.features.test_feature_compiler import SPECS

from siyu.features import FeatureSet, build_features
from siyu.features.families.btyd import BTYD

LEAK_SPECS = FeatureSet((*SPECS.specs, BTYD()))  # every family, the BTYD summaries included

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
    return df[df["cutoff"] == pd.Timestamp(CUTOFF)].reset_index(drop=True)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(past=st.lists(_event, min_size=1, max_size=12), future=st.lists(_event, min_size=1, max_size=8),
       changed=st.lists(_event, min_size=1, max_size=8))
def test_future_events_change_no_feature_at_the_cutoff(con, past, future, changed):
    base = _at_cutoff(con, _rows(past, before=True))
    with_future = _at_cutoff(con, _rows(past, before=True) + _rows(future, before=False))
    with_changed = _at_cutoff(con, _rows(past, before=True) + _rows(changed, before=False))
    pd.testing.assert_frame_equal(base, with_future)
    pd.testing.assert_frame_equal(base, with_changed)
