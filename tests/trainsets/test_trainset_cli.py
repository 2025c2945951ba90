"""`siyu features` and `siyu trainset` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.trainsets.conftest import write_clean
from typer.testing import CliRunner

from siyu.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, specs: Path) -> Path:
    work = tmp_path / "work"
    write_clean(work)
    cfg = {
        "dataset": {"name": "tiny", "events": {"path": str(tmp_path / "raw")}, "roles": {"purchase": ["purchase"]}},
        "feature_specs_path": str(specs),
        "paths": {"world": str(tmp_path / "world"), "work": str(work)},
        "trainset": {"step_days": 14, "n_train_cutoffs": 2, "n_valid_cutoffs": 1, "n_test_cutoffs": 1},
        "memory_limit": "512MB", "threads": 1,
    }
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_trainset_all_with_the_default_feature_set(tmp_path):
    config = _config(tmp_path, ROOT / "configs" / "features.yaml")
    result = CliRunner().invoke(app, ["trainset", "--config", str(config), "--task", "all"])
    assert result.exit_code == 0, result.output
    for task in ("churn", "purchase_intent", "ltv"):
        assert (tmp_path / "work" / "trainsets" / task / "manifest.json").exists()
        assert task in result.output
    assert "train" in result.output and "valid" in result.output and "test" in result.output


def test_features_as_of_and_default_as_of(tmp_path):
    config = _config(tmp_path, ROOT / "configs" / "features.yaml")
    result = CliRunner().invoke(app, ["features", "--config", str(config), "--as-of", "2025-06-02"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "work" / "features" / "features_2025-06-02.parquet").exists()
    result = CliRunner().invoke(app, ["features", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "features_2025-07-01.parquet" in result.output.replace("\n", "")  # day after the last event (06-30)


def test_bad_arguments_exit_with_a_message(tmp_path):
    config = _config(tmp_path, ROOT / "configs" / "features.yaml")
    bad_task = CliRunner().invoke(app, ["trainset", "--config", str(config), "--task", "nps"])
    assert bad_task.exit_code == 2 and "expected one of churn" in bad_task.output
    bad_date = CliRunner().invoke(app, ["features", "--config", str(config), "--as-of", "June"])
    assert bad_date.exit_code == 1 and "expected a date like" in bad_date.output
    short = tmp_path / "short.yaml"
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["trainset"]["n_valid_cutoffs"] = 40
    short.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = CliRunner().invoke(app, ["trainset", "--config", str(short), "--task", "churn"])
    assert result.exit_code == 1 and "need at least" in result.output


def test_a_horizon_that_leaves_few_training_cutoffs_is_said_and_one_that_leaves_none_exits(tmp_path):
    config = _config(tmp_path, ROOT / "configs" / "features.yaml")
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["trainset"]["n_train_cutoffs"] = 40
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = CliRunner().invoke(app, ["trainset", "--config", str(config), "--task", "churn"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning churn: the 30-day horizon leaves" in said and "of the 40 training cutoffs asked for" in said
    assert "set tasks[churn].horizon_days to" in said and "tasks[churn].n_train_cutoffs:" in said
    cfg["trainset"]["n_train_cutoffs"] = 2
    cfg["tasks"] = [{"name": "churn", "horizon_days": 300}]
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = CliRunner().invoke(app, ["trainset", "--config", str(config), "--task", "churn"])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "the 300-day horizon leaves 0 of the 2 training cutoffs" in said
    assert "set tasks[churn].horizon_days to" in said
