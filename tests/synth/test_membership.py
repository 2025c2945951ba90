"""Member levels that change with spend: the history a CRM keeps, and today's snapshot from it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from siyu.jobs.generate import generate_world
from siyu.synth.params import MEMBER_LEVELS, WorldParams


def test_levels_start_at_joining_only_rise_and_follow_the_spend(tmp_path):
    generate_world(1500, 200, 4, tmp_path, start=date(2025, 1, 6), with_truth=False)
    history = pd.read_parquet(tmp_path / "member_level_history.parquet")
    users = pd.read_parquet(tmp_path / "users.parquet").set_index("user_id")
    events = pd.read_parquet(tmp_path / "events", columns=["user_id", "ts", "event_type", "amount"])
    rank = {level: i for i, level in enumerate(MEMBER_LEVELS)}
    history["rank"] = history["value"].map(rank)
    first = history.groupby("user_id").head(1).set_index("user_id")
    assert (first["valid_from"] == users.loc[first.index, "joined_at"]).all()  # every user: the level at joining
    assert (history.groupby("user_id")["rank"].diff().dropna() > 0).all()  # upgrades only
    last = history.groupby("user_id").tail(1).set_index("user_id")["value"]
    assert (users.loc[last.index, "member_level"] == last).all()  # the users table is today's snapshot
    upgrades = history[history.groupby("user_id").cumcount() > 0]
    assert len(upgrades) > 0.02 * len(users)
    thresholds = np.asarray(WorldParams().users.member_upgrade_spend)
    bought = events[events["event_type"] == "purchase"]
    for row in upgrades.head(40).itertuples():
        mine = bought[(bought["user_id"] == row.user_id) & (bought["ts"] < row.valid_from)]
        assert mine["amount"].sum() >= thresholds[row.rank - 1]  # the spend before crossed the threshold
