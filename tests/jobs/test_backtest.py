"""`siyu backtest`: walk-forward folds on a tiny clean dataset, each purged against its own test
cutoffs, refit and scored with an interval; the table, the CSV and the MLflow run agree."""

from datetime import date, timedelta

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.trainsets.conftest import project  # noqa: F401 - a pytest fixture
from typer.testing import CliRunner

from siyu.cli.main import app
from siyu.config import TrackingConfig, TrainingConfig
from siyu.jobs.backtest import backtest


@pytest.fixture
def tracked(project, tmp_path):  # noqa: F811 - the imported fixture
    previous = mlflow.get_tracking_uri()
    yield project.model_copy(update={
        "tracking": TrackingConfig(uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_root=str(tmp_path / "art")),
        "training": TrainingConfig(plots=False, n_jobs=1, n_bootstrap=100),
    })
    mlflow.set_tracking_uri(previous)


def test_folds_walk_back_one_test_block_each_and_stay_purged(tracked):
    result = backtest(tracked, "purchase_intent", "logistic", 3)
    table = result.table
    assert list(table["fold"]) == [1, 2, 3]
    tests = [date.fromisoformat(t) for t in table["test_cutoffs"]]
    assert tests == sorted(tests, reverse=True) and tests[0] - tests[1] == timedelta(days=14)
    horizon = tracked.task("purchase_intent").horizon_days
    for _, row in table.iterrows():
        assert date.fromisoformat(row["last_train_cutoff"]) + timedelta(days=2 * horizon) <= \
            date.fromisoformat(row["test_cutoffs"])
        assert row["test_auc_ci_low"] <= row["test_auc"] <= row["test_auc_ci_high"]
        assert row["train_rows"] > 0 and row["test_rows"] > 0
    pd.testing.assert_frame_equal(pd.read_csv(result.csv_path), table, check_dtype=False)
    run = MlflowClient(tracked.tracking.uri).get_run(result.run_id)
    assert run.data.tags["kind"] == "backtest" and "test_auc_mean" in run.data.metrics


def test_too_many_folds_say_how_many_fit(tracked, tmp_path):
    config = tmp_path / "siyu.yaml"
    import yaml

    config.write_text(yaml.safe_dump(tracked.model_dump(mode="json")), encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--task", "churn", "--model", "logistic", "--folds", "60",
                                      "--config", str(config)])
    assert result.exit_code == 1
    assert "ask for at most" in result.output.replace("\n", "")
