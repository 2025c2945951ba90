"""A small generated world and its segmentation features at two as-of dates a week apart."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from segment_world import AS_OF, LATER, REPO, SPECS_PATH

from siyu.cli._config import load_config
from siyu.features import build_features
from siyu.io.duck import connect
from siyu.io.workspace import feature_set
from siyu.jobs.generate import generate_world
from siyu.jobs.validate import validate_dataset
from siyu.segments import segment_features


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    generate_world(users=1500, days=240, seed=9, out=root / "world", start=date(2025, 1, 6))
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "world" / "events")
    dataset["users"]["source"]["path"] = str(root / "world" / "users.parquet")
    dataset["users"]["history"]["source"]["path"] = str(root / "world" / "member_level_history.parquet")
    config = {"dataset": dataset, "feature_specs_path": str(SPECS_PATH),
              "paths": {"world": str(root / "world"), "work": str(root / "work")},
              "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
              "segments": {"k_min": 4, "k_max": 6, "silhouette_sample": 800, "n_init": 2}}
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    validate_dataset(load_config(path))
    return path


@pytest.fixture(scope="session")
def frames(project):
    """(specs, parts, features at AS_OF, features at LATER): segment feature columns only."""
    cfg = load_config(project)
    specs, parts = segment_features(feature_set(cfg).specs)
    con = connect(memory_limit="1GB", threads=1)
    try:
        both = build_features(con, specs, cfg.paths.clean_events, cfg.paths.clean_users, [AS_OF, LATER])
    finally:
        con.close()
    cols = list(specs.columns)
    at = {c: both[both["cutoff"] == str(c)].set_index("user_id")[cols] for c in (AS_OF, LATER)}
    return specs, parts, at[AS_OF], at[LATER]
