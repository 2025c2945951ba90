"""What the foreign-log tests share: a project config around a dataset mapping, the CLI run, and
the checks every layout must pass (no constant feature, tags spread over their bands)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.io.tagstore import open_tag_store

REPO = Path(__file__).resolve().parents[2]


def write_project(root: Path, dataset: dict, **sections) -> Path:
    """`root/siyu.yaml`: the repo's feature specs, a small purged grid, fast training, local stores."""
    config = {
        "dataset": dataset, "feature_specs_path": str(REPO / "configs" / "features.yaml"),
        "paths": {"world": str(root / "none"), "work": str(root / "work")},
        "trainset": {"step_days": 7, "n_train_cutoffs": 6, "n_valid_cutoffs": 2, "n_test_cutoffs": 2},
        "training": {"plots": False, "n_jobs": 1, "n_bootstrap": 100},
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
        "scoring": {"tag_store_url": f"duckdb:///{root}/tags.duckdb", "exports_dir": str(root / "exports")},
        **sections,
    }
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def constant_features(work: Path, task: str) -> list[str]:
    """Features a task's training set keeps although they are constant in its training rows."""
    import json

    frame = pd.read_parquet(work / "trainsets" / task / "trainset.parquet")
    manifest = json.loads((work / "trainsets" / task / "manifest.json").read_text())
    train = frame[frame["split"] == "train"]
    return [f["name"] for f in manifest["features"] if train[f["name"]].nunique(dropna=True) <= 1]


def assert_tags_spread(root: Path, tags: tuple[str, ...]) -> pd.DataFrame:
    """The published tags, each band tag holding at least two values and none with 90 % of users."""
    store = open_tag_store(f"duckdb:///{root}/tags.duckdb")
    current = store.read_current_view()
    store.close()
    for tag in tags:
        shares = current.loc[current["tag"] == tag, "value"].value_counts(normalize=True)
        assert len(shares) >= 2 and shares.max() < 0.9, (tag, shares.to_dict())
    return current
