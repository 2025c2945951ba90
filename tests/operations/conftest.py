"""One small generated world, validated once per session, and its clean tables in pandas for the
independent reference computations the operations tests compare against."""

from __future__ import annotations

import pandas as pd
import pytest
from ops_world import AS_OF, START, World, write_project

from siyu.cli._config import load_config
from siyu.io.cleanlog import read_events_frame
from siyu.io.duck import connect
from siyu.jobs.generate import generate_world
from siyu.jobs.validate import validate_dataset
from siyu.operations import OpsData, stage


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("ops")
    generate_world(users=1200, days=240, seed=5, out=root / "world", start=START)
    path = write_project(root, root / "world")
    cfg = load_config(path)
    validate_dataset(cfg)
    events = read_events_frame(cfg.paths.clean_events)
    users = pd.read_parquet(cfg.paths.clean_users)
    return World(path, cfg, events, users)


@pytest.fixture
def ops(world) -> OpsData:
    con = connect(memory_limit="1GB", threads=1)
    yield stage(con, world.cfg.paths.clean_events, world.cfg.paths.clean_users, AS_OF)
    con.close()
