"""On the demo world itself (the parameters `make demo` generates), retention and the configured
funnel equal the independent pandas computation: the numbers the operations report shows."""

import re

import ops_reference as reference
import pandas as pd
import pytest
import yaml
from ops_world import REPO, write_project

from siyu.cli._config import load_config
from siyu.config import FunnelConfig
from siyu.io.cleanlog import read_events_frame
from siyu.io.duck import connect
from siyu.jobs.generate import generate_world
from siyu.jobs.validate import validate_dataset
from siyu.operations import stage
from siyu.operations.cohorts import retention
from siyu.operations.funnels import funnel_steps


def _demo_world() -> dict[str, int]:
    """The world `make demo` generates, read from the Makefile so the test follows it (the seed is
    the demo target's `--seed`)."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    value = {name: int(re.search(rf"^DEMO_{name.upper()}\s*\?=\s*(\d+)", text, re.M).group(1))
             for name in ("users", "days")}
    return value | {"seed": int(re.search(r"generate .*--seed (\d+)", text).group(1))}


@pytest.mark.slow
def test_demo_world_retention_and_funnel_match_pandas(tmp_path):
    demo = _demo_world()
    summary = generate_world(demo["users"], demo["days"], demo["seed"], tmp_path / "world")
    as_of = summary.end  # the day after the world's last event
    cfg = load_config(write_project(tmp_path, tmp_path / "world"))
    validate_dataset(cfg)
    shipped = yaml.safe_load((REPO / "configs" / "siyu.yaml").read_text(encoding="utf-8"))["operations"]
    funnel = FunnelConfig(**shipped["funnels"][0])
    events = read_events_frame(cfg.paths.clean_events, columns=["user_id", "ts", "event_type", "role", "channel"])
    users = pd.read_parquet(cfg.paths.clean_users)
    con = connect(memory_limit="2GB", threads=2)
    try:
        data = stage(con, cfg.paths.clean_events, cfg.paths.clean_users, as_of)
        got = retention(data, [1, 7, 30])
        steps = funnel_steps(data, funnel)
    finally:
        con.close()
    want = pd.concat([reference.retention(events, users, as_of, [1, 7, 30], basis, "on_day")
                      for basis in ("activity", "purchase")])
    merged = got.merge(want, on=["basis", "dimension", "cohort"], suffixes=("", "_ref"), validate="one_to_one")
    assert len(merged) == len(got) == len(want)
    for col in ["users"] + [f"d{n}_{p}" for n in (1, 7, 30) for p in ("eligible", "retained")]:
        assert (merged[col] == merged[f"{col}_ref"]).all(), col
    overall = got.query("basis == 'activity' and dimension == 'all'").iloc[0]
    assert overall["d30_retained"] > 0 and overall["d30_eligible"] > 0.9 * overall["users"]  # most cohorts have day 30
    assert {(r.channel, r.step): r.users for r in steps.itertuples() if r.users} == reference.funnel(
        events, as_of, list(funnel.steps), funnel.window_days, funnel.period_days)
