"""Funnel steps equal an independent pandas walk through each user's events."""

import ops_reference as reference
import pandas as pd
import pytest
from ops_world import AS_OF, FUNNEL

from siyu.config import FunnelConfig
from siyu.operations.funnels import entry_period, funnel_steps


@pytest.mark.parametrize("steps", [FUNNEL["steps"], ["mini_program_visit", "add_cart", "mini_program_visit"]])
def test_funnel_matches_pandas(world, ops, steps):
    funnel = FunnelConfig(**{**FUNNEL, "steps": steps})
    got = funnel_steps(ops, funnel)
    want = reference.funnel(world.events, AS_OF, steps, funnel.window_days, funnel.period_days)
    assert {(r.channel, r.step): r.users for r in got.itertuples() if r.users} == want
    overall = got[got["channel"] == "all"]
    assert overall["users"].iloc[0] > overall["users"].iloc[-1] > 0
    assert list(overall["event_type"]) == steps
    assert overall["conversion_from_first"].iloc[-1] == pytest.approx(
        overall["users"].iloc[-1] / overall["users"].iloc[0])


def test_every_entry_window_ends_before_as_of(ops):
    funnel = FunnelConfig(**FUNNEL)
    start, end = entry_period(ops, funnel)
    assert end + pd.Timedelta(days=funnel.window_days) == pd.Timestamp(AS_OF)
    assert (end - start).days == funnel.period_days


def test_a_step_missing_from_the_data_counts_zero(ops):
    got = funnel_steps(ops, FunnelConfig(name="odd", steps=["article_read", "no_such_event"]))
    assert got.loc[got["step"] == 2, "users"].eq(0).all()
