"""The data profile names what the clean log holds, per role, from the data alone."""

from __future__ import annotations

import pandas as pd

from siyu.contract.profile import DataProfile
from siyu.io.duck import connect
from siyu.io.workspace import profile_clean


def _write(tmp_path, rows, users=None):
    events = tmp_path / "events"
    events.mkdir()
    frame = pd.DataFrame(rows, columns=["user_id", "ts", "event_type", "role", "channel", "amount", "category",
                                        "session_id"])
    frame["ts"] = pd.to_datetime(frame["ts"])
    frame.to_parquet(events / "part-0.parquet", index=False)
    path = None
    if users is not None:
        path = tmp_path / "users.parquet"
        pd.DataFrame(users).to_parquet(path, index=False)
    return events, path


def test_profile_counts_roles_types_channels_money_and_attributes(tmp_path):
    events, users = _write(tmp_path, [
        ("a", "2025-01-01", "page_view", "interaction", "web", None, None, "s1"),
        ("a", "2025-01-02", "page_view", "interaction", "app", None, None, "s2"),
        ("b", "2025-01-02", "search", "interaction", "web", None, None, None),
        ("b", "2025-01-03", "payment_done", "purchase", "web", None, "shoes", None),
        ("c", "2025-01-03", "coupon_sent", "contact", "sms", None, None, None),
    ], users={"user_id": ["a", "b", "c"], "joined_at": pd.to_datetime(["2025-01-01"] * 3),
              "source_channel": ["ads", "ads", None], "tier": [None, None, None]})
    con = connect(memory_limit="256MB", threads=1)
    profile = profile_clean(con, events, users)
    assert (profile.events, profile.users, profile.sessions, profile.categories) == (5, 3, 2, 1)
    assert profile.roles == {"purchase": 1, "interaction": 3, "contact": 1}
    assert list(profile.event_types) == ["page_view", "coupon_sent", "payment_done", "search"]  # rows, then name
    assert profile.event_types_of(("interaction",)) == ["page_view", "search"]
    assert profile.channels_of(("interaction", "purchase", "refund")) == ["web", "app"]
    assert profile.channels_of(("contact",)) == ["sms"]
    assert not profile.has_money()
    assert profile.attributes == {"source_channel": 1, "tier": 0}
    assert DataProfile.from_dict(profile.to_dict()) == profile
