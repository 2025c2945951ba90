"""Retention cohorts equal an independent pandas computation on a generated world, as of a date
inside it (so the events after as-of are there to leak, and must not)."""

import ops_reference as reference
import pandas as pd
import pytest
from ops_world import AS_OF

from siyu.operations.cohorts import retention

DAYS = [1, 7, 30]


@pytest.mark.parametrize("mode", ["on_day", "within"])
def test_retention_matches_pandas(world, ops, mode):
    got = retention(ops, DAYS, mode)
    want = pd.concat([reference.retention(world.events, world.users, AS_OF, DAYS, basis, mode)
                      for basis in ("activity", "purchase")], ignore_index=True)
    keys = ["basis", "dimension", "cohort"]
    merged = got.merge(want, on=keys, how="outer", suffixes=("", "_ref"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", keys]
    for col in ["users"] + [f"d{n}_{p}" for n in DAYS for p in ("eligible", "retained")]:
        assert (merged[col] == merged[f"{col}_ref"]).all(), col
    overall = got.query("basis == 'activity' and dimension == 'all'").iloc[0]
    if mode == "within":  # cumulative: a user retained by day 1 is retained by day 30
        assert 0 < overall["d1_rate"] <= overall["d7_rate"] <= overall["d30_rate"] <= 1
    assert overall["d1_eligible"] > overall["d30_eligible"] > 0  # the youngest cohorts have not reached day 30


def test_young_cohorts_have_no_rate_yet(ops):
    got = retention(ops, DAYS)
    youngest = got[(got["dimension"] == "join_week")].sort_values("cohort").iloc[-1]
    assert youngest["d30_eligible"] == 0 and pd.isna(youngest["d30_rate"])


def test_retention_refuses_an_unknown_mode(ops):
    with pytest.raises(ValueError, match="retention mode 'weekly'"):
        retention(ops, DAYS, "weekly")
