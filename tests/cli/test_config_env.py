"""Every command reads its config through `config_or_exit`, which applies MLFLOW_TRACKING_URI."""

import yaml

from siyu.cli._config import config_or_exit


def test_mlflow_tracking_uri_replaces_the_configured_one_for_every_command(tmp_path, monkeypatch):
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"name": "x", "events": {"path": "e"}, "roles": {}},
                                    "tracking": {"uri": "sqlite:///local.db"}}), encoding="utf-8")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert config_or_exit(path).tracking.uri == "sqlite:///local.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.team:5000")
    assert config_or_exit(path).tracking.uri == "http://mlflow.team:5000"


def test_a_band_for_an_unconfigured_task_is_named(tmp_path, capsys):
    import pytest
    import typer

    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump({
        "dataset": {"name": "x", "events": {"path": "e"}, "roles": {}},
        "tasks": [{"name": "churn", "horizon_days": 30}],
        "scoring": {"bands": [{"tag": "ltv_tier", "task": "ltv", "labels": ["A", "B"], "edges": [0.5]}]}}))
    with pytest.raises(typer.Exit):
        config_or_exit(path)
    assert "band 'ltv_tier' -> ltv: not a configured task" in capsys.readouterr().err


def test_default_bands_follow_the_configured_tasks(tmp_path):
    path = tmp_path / "siyu.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"name": "x", "events": {"path": "e"}, "roles": {}},
                                    "tasks": [{"name": "churn", "horizon_days": 30}]}))
    cfg = config_or_exit(path)
    assert [b.task for b in cfg.scoring.bands] == ["churn"] and cfg.scoring.reason_tasks == ("churn",)
