"""DAU / WAU / MAU and acquisition equal direct counts."""

from datetime import timedelta

import ops_reference as reference
import pandas as pd
from ops_world import AS_OF

from siyu.operations.activity import acquisition, active_users


def test_active_users_match_direct_counts(world, ops):
    got = active_users(ops, 45)
    assert got["day"].max() == pd.Timestamp(AS_OF - timedelta(days=1))
    assert got["day"].min() == pd.Timestamp(AS_OF - timedelta(days=45))
    channel = world.events.loc[world.events["role"] == "interaction", "channel"].value_counts().index[0]
    for day in (AS_OF - timedelta(days=1), AS_OF - timedelta(days=17), AS_OF - timedelta(days=45)):
        for ch in ("all", channel):
            row = got[(got["day"] == pd.Timestamp(day)) & (got["channel"] == ch)].iloc[0]
            for name, window in (("dau", 1), ("wau", 7), ("mau", 30)):
                assert row[name] == reference.active_counts(world.events, AS_OF, day, window,
                                                            None if ch == "all" else ch), (day, ch, name)
            assert row["stickiness"] == row["dau"] / row["mau"]


def test_acquisition_counts_every_known_user_once(world, ops):
    got = acquisition(ops)
    known = reference.known_users(world.users, world.events, AS_OF)
    for grain in ("day", "week"):
        assert got.loc[got["grain"] == grain, "new_users"].sum() == len(known)
    by_channel = got[got["grain"] == "week"].groupby("source_channel")["new_users"].sum()
    assert by_channel.to_dict() == known["source_channel"].value_counts().to_dict()
