"""`siyu train / compare / promote / tune` through typer's CliRunner, in a temporary project."""

import mlflow
import pytest
from toy_project import write_toy_project
from typer.testing import CliRunner

from siyu.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    previous = mlflow.get_tracking_uri()
    path = write_toy_project(tmp_path_factory.mktemp("cli"))
    yield path
    mlflow.set_tracking_uri(previous)


def test_unknown_task_exits_2_with_the_choices(project):
    result = runner.invoke(app, ["train", "--task", "retention", "--config", str(project)])
    assert result.exit_code == 2
    assert "purchase_intent" in result.output


def test_missing_trainset_exits_1_and_says_what_to_run(project):
    result = runner.invoke(app, ["compare", "--task", "ltv", "--config", str(project)])
    assert result.exit_code == 1
    assert "siyu trainset --task ltv" in result.output


def test_train_compare_promote(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    trained = runner.invoke(app, ["train", "--task", "churn", "--model", "rule", "--config", str(project)])
    assert trained.exit_code == 0, trained.output
    assert "challenger is v1" in trained.output
    compared = runner.invoke(app, ["compare", "--task", "churn", "--config", str(project)])
    assert compared.exit_code == 0, compared.output
    assert "rule" in compared.output
    assert "rule" in (project.parent / "work/reports/leaderboard_churn.csv").read_text(encoding="utf-8")
    promoted = runner.invoke(app, ["promote", "--task", "churn", "--config", str(project)])
    assert promoted.exit_code == 0 and "first champion" in promoted.output


def test_promote_before_any_training_is_explained(project, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/empty.db")
    result = runner.invoke(app, ["promote", "--task", "churn", "--config", str(project)])
    assert result.exit_code == 1
    assert "siyu train --task churn" in result.output
