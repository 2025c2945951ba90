"""A task is one YAML entry: a 15-day churn early warning, defined in config alone, builds its
training set, trains, promotes and scores through the CLI, with no code that knows its name.
The feature set travels with the model: editing features.yaml afterwards changes no score."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.io.tagstore import open_tag_store
from siyu.jobs.generate import generate_world

REPO = Path(__file__).resolve().parents[2]
EARLY_WARNING = {"name": "churn_15d", "horizon_days": 15, "label": "no_activity",
                 "population": {"active_within_days": 30}}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("task15")
    generate_world(users=1500, days=260, seed=3, out=root / "world")
    dataset = yaml.safe_load((REPO / "configs" / "datasets" / "synthetic.yaml").read_text(encoding="utf-8"))
    dataset["events"]["path"] = str(root / "world" / "events")
    dataset["users"]["source"]["path"] = str(root / "world" / "users.parquet")
    dataset["users"]["history"]["source"]["path"] = str(root / "world" / "member_level_history.parquet")
    config = {
        "dataset": dataset, "feature_specs_path": str(root / "features.yaml"),
        "paths": {"world": str(root / "world"), "work": str(root / "work")},
        "tasks": [EARLY_WARNING],
        "trainset": {"step_days": 7, "n_train_cutoffs": 6, "n_valid_cutoffs": 2, "n_test_cutoffs": 2},
        "training": {"plots": False, "n_jobs": 1, "n_bootstrap": 100},
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db", "artifact_root": str(root / "artifacts")},
        "scoring": {"bands": [{"tag": "early_churn_risk", "task": "churn_15d", "labels": ["high", "medium", "low"],
                               "edges": [0.5, 0.2]}],
                    "reason_tasks": ["churn_15d"], "tag_store_url": f"duckdb:///{root}/tags.duckdb"},
    }
    (root / "features.yaml").write_text((REPO / "configs" / "features.yaml").read_text(encoding="utf-8"))
    path = root / "siyu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _run(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_a_config_only_task_trains_promotes_and_scores(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = ["--config", str(project)]
    _run("validate", *cfg)
    built = _run("trainset", "--task", "churn_15d", *cfg)
    assert "churn_15d" in built
    trained = _run("train", "--task", "churn_15d", "--model", "all", *cfg)
    assert "churn_15d lightgbm" in trained and "churn_15d rule" in trained and "bgnbd" not in trained
    assert "first champion" in _run("promote", "--task", "churn_15d", *cfg)
    _run("score", "--force", *cfg)
    store = open_tag_store(yaml.safe_load(project.read_text())["scoring"]["tag_store_url"])
    tags = store.read_current_view()
    store.close()
    early = tags[tags["tag"] == "early_churn_risk"]
    assert len(early) > 100 and set(early["value"]) <= {"high", "medium", "low"}
    assert (tags["tag"] == "churn_15d_reason_1").any()

    # Edit the feature set after promotion: the deployed champion still scores on its own specs.
    config = yaml.safe_load(project.read_text())
    (project.parent / "features.yaml").write_text("features:\n  - {family: recency, role: purchase}\n")
    config["scoring"]["tag_store_url"] = f"duckdb:///{project.parent}/tags_after_edit.duckdb"
    edited = project.parent / "edited.yaml"
    edited.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    _run("score", "--force", "--config", str(edited))
    store = open_tag_store(config["scoring"]["tag_store_url"])
    again = store.read_current_view()
    store.close()
    before = early.set_index("user_id")["score"].sort_index()
    after = again[again["tag"] == "early_churn_risk"].set_index("user_id")["score"].sort_index()
    pd.testing.assert_series_equal(before, after)
