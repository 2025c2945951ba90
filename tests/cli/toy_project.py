"""A toy project for the model commands: a config and one churn training set, nothing generated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from siyu.models.synthetic import toy_manifest, toy_trainset


def write_toy_project(root: Path) -> Path:
    """`root/siyu.yaml` with its store under `root` and a toy churn training set; returns the config path."""
    config = {
        "dataset": {"name": "toy", "events": {"path": str(root / "events")}, "roles": {"purchase": ["purchase"]}},
        "paths": {"world": str(root / "world"), "work": str(root / "work")},
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
        "training": {"plots": False, "n_jobs": 1},
    }
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    frame = toy_trainset("churn", n_users=200, n_cutoffs=4, rng=np.random.default_rng(2))
    directory = root / "work" / "trainsets" / "churn"
    directory.mkdir(parents=True)
    frame.to_parquet(directory / "trainset.parquet")
    (directory / "manifest.json").write_text(json.dumps(toy_manifest(frame, "churn")), encoding="utf-8")
    return path
