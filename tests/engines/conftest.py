"""A small generated world, validated into the clean EventLog both engines read."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from siyu.config import SiyuConfig
from siyu.jobs.generate import generate_world
from siyu.jobs.validate import validate_dataset

REPO = Path(__file__).resolve().parents[2]
START = date(2025, 1, 6)


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory) -> SiyuConfig:
    """A validated world of 500 users over 300 days; `cfg.paths.clean_events` / `clean_users`."""
    root = tmp_path_factory.mktemp("spark_world")
    world = generate_world(users=500, days=300, seed=14, out=root / "world", start=START, with_truth=False)
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "world" / "events")
    dataset["users"]["source"]["path"] = str(root / "world" / "users.parquet")
    dataset["users"]["history"]["source"]["path"] = str(root / "world" / "member_level_history.parquet")
    cfg = SiyuConfig.model_validate({
        "dataset": dataset, "paths": {"world": str(root / "world"), "work": str(root / "work")},
        "feature_specs": yaml.safe_load((REPO / "configs" / "features.yaml").read_text(encoding="utf-8")),
        "memory_limit": "512MB", "threads": 1,
    })
    validate_dataset(cfg, as_of=datetime.combine(world.end, datetime.min.time()))
    return cfg
