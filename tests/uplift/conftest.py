"""A small generated world with randomized campaigns (two treatments), validated once per module
that asks for it: the uplift training-set and end-to-end tests share it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.jobs.generate import generate_world

REPO = Path(__file__).resolve().parents[2]


def write_config(root: Path, world: Path, **sections) -> Path:
    """`root/siyu.yaml` for the generated world: a small purged campaign split, fast training."""
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(world / "events")
    dataset["users"]["source"]["path"] = str(world / "users.parquet")
    if "history" in dataset["users"]:
        dataset["users"]["history"]["source"]["path"] = str(world / "member_level_history.parquet")
    config = {
        "dataset": dataset, "feature_specs_path": str(REPO / "configs" / "features.yaml"),
        "paths": {"world": str(world), "work": str(root / "work")},
        "tasks": [{"name": "purchase_intent", "horizon_days": 7},
                  {"name": "uplift_purchase", "horizon_days": 7, "label": "any_purchase", "treatments": "each"}],
        "trainset": {"step_days": 7, "n_train_cutoffs": 6, "n_valid_cutoffs": 2, "n_test_cutoffs": 2},
        "uplift": {"n_train_campaigns": 10, "n_valid_campaigns": 3, "n_test_campaigns": 3,
                   "models": ["tlearner", "xlearner", "random", "risk"]},
        "training": {"plots": False, "n_jobs": 1, "n_bootstrap": 60},
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
        "scoring": {"tag_store_url": f"duckdb:///{root}/tags.duckdb"},
        **sections,
    }
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def campaign_world(tmp_path_factory) -> Path:
    """(config path) of a 600-user, 200-day world after `siyu validate`."""
    root = tmp_path_factory.mktemp("uplift")
    generate_world(users=600, days=200, seed=5, out=root / "world")
    path = write_config(root, root / "world")
    result = CliRunner().invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 0, result.output
    return path
