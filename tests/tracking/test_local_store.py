"""The SQLite reader reads what MLflow reads, and the commands that only read never import MLflow."""

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from siyu.config import TrackingConfig
from siyu.evaluation import reference_profile
from siyu.tracking import (
    RunRecord,
    list_versions,
    load_champion,
    load_version_estimator,
    log_training_run,
    registry,
    search,
    set_alias,
    training_runs,
    version_by_alias,
)
from siyu.tracking.local_store import open_local
from siyu.tracking.model_file import model_file_in
from siyu.tracking.pyfunc import SiyuPyfuncModel


def _record(fitted, **overrides):
    model, frame, X_test = fitted
    base = dict(task="churn", model="lightgbm", estimator=model, X_example=X_test.head(5),
                metrics={"test_auc": 0.7}, params=model.get_params(),
                tags={"kind": "training", "test_cutoff": "2025-01-27"}, resolved_config={},
                manifest={"task": "churn"}, reference_profile=reference_profile(X_test))
    return RunRecord(**{**base, **overrides})


@pytest.fixture(scope="module")
def store(tmp_path_factory, fitted):
    """A store with three training runs of churn (the newest champion), one of them a version
    since deleted, and a run of another task."""
    root = tmp_path_factory.mktemp("local")
    cfg = TrackingConfig(uri=f"sqlite:///{root}/mlflow.db", artifact_root=str(root / "art"), experiment="t")
    logged = [log_training_run(_record(fitted, model=m), cfg) for m in ("lightgbm", "xgboost", "logistic")]
    log_training_run(_record(fitted, task="ltv", tags={"kind": "training", "test_cutoff": "2025-02-10"}), cfg)
    set_alias("churn", "champion", logged[1].version, cfg)
    MlflowClient(cfg.uri).delete_model_version("siyu-churn", logged[2].version)
    MlflowClient(cfg.uri).log_metric(logged[1].run_id, "valid_auc", float("nan"))  # MLflow keeps it as is_nan
    return cfg, logged


def _through_mlflow(monkeypatch):
    """Switch the local reader off: every read goes through MLflow until `monkeypatch.undo()`."""
    monkeypatch.setattr(registry, "open_local", lambda uri: None)
    monkeypatch.setattr(search, "open_local", lambda uri: None)


def _nan_as_text(version):
    """A VersionInfo whose NaN metrics compare equal (NaN != NaN)."""
    if version is None:
        return None
    return dataclasses.replace(version, metrics={k: "nan" if v != v else v for k, v in version.metrics.items()})


def _reads(cfg):
    return {"versions": [_nan_as_text(v) for v in list_versions("churn", cfg)],
            "champion": _nan_as_text(version_by_alias("churn", "champion", cfg)),
            "none": version_by_alias("churn", "nobody", cfg),
            "runs": training_runs("churn", cfg), "cutoff": training_runs("ltv", cfg, test_cutoff="2025-02-10"),
            "other_cutoff": training_runs("ltv", cfg, test_cutoff="2025-01-27")}


def test_every_read_equals_mlflows(store, monkeypatch):
    cfg, logged = store
    assert open_local(cfg.uri) is not None
    local = _reads(cfg)
    _through_mlflow(monkeypatch)
    plain = _reads(cfg)
    assert [v.version for v in local["versions"]] == [logged[1].version, logged[0].version]  # deleted one left out
    assert local["versions"] == plain["versions"]
    assert local["champion"] == plain["champion"] and local["champion"].aliases == ("champion",)
    assert local["champion"].metrics == {"test_auc": 0.7, "valid_auc": "nan"}
    assert local["none"] is None is plain["none"]
    for key in ("runs", "cutoff", "other_cutoff"):
        pd.testing.assert_frame_equal(local[key], plain[key])
    assert len(local["runs"]) == 3 and len(local["cutoff"]) == 1 and local["other_cutoff"].empty


def test_the_champion_read_from_its_model_file_equals_mlflows_pyfunc(store, fitted, monkeypatch):
    cfg, logged = store
    _, _, X_test = fitted
    _through_mlflow(monkeypatch)
    plain = load_champion("churn", cfg)
    expected = plain.predict_score(X_test)
    np.testing.assert_allclose(mlflow.pyfunc.load_model("models:/siyu-churn@champion").predict(X_test), expected)
    through_mlflow_estimator = load_version_estimator("churn", logged[0].version, cfg)
    monkeypatch.undo()
    local = load_champion("churn", cfg)
    np.testing.assert_array_equal(local.predict_score(X_test), expected)
    assert (local.model_version, local.run_id, local.model, local.feature_names) == \
        (plain.model_version, plain.run_id, plain.model, plain.feature_names) == \
        (logged[1].version, logged[1].run_id, "xgboost", list(X_test.columns))
    assert local.reference_profile == plain.reference_profile
    np.testing.assert_array_equal(load_version_estimator("churn", logged[0].version, cfg).predict_score(X_test),
                                  through_mlflow_estimator.predict_score(X_test))


def test_a_version_logged_before_model_files_still_loads(tmp_path, fitted):
    """A version whose pyfunc pickles its estimator (no model file) is loaded through MLflow."""
    model, _, X_test = fitted
    cfg = TrackingConfig(uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_root=str(tmp_path / "art"), experiment="t")
    logged = log_training_run(_record(fitted), cfg)  # creates the experiment and the registered model
    with mlflow.start_run(experiment_id=MlflowClient(cfg.uri).get_experiment_by_name("t").experiment_id) as run:
        mlflow.log_dict(reference_profile(X_test), "reference_profile.json")
        info = mlflow.pyfunc.log_model(name="model", python_model=SiyuPyfuncModel(model, list(X_test.columns), {}),
                                       registered_model_name="siyu-churn")
    old = str(info.registered_model_version)
    assert old != logged.version
    folder = registry.local_path(open_local(cfg.uri).version("siyu-churn", version=old).storage_location)
    assert folder.is_dir() and not model_file_in(folder).exists()
    set_alias("churn", "champion", old, cfg)
    champion = load_champion("churn", cfg)
    assert champion.run_id == run.info.run_id
    np.testing.assert_allclose(champion.predict_score(X_test), model.predict_score(X_test))
    # A fresh process elsewhere, MLflow pointed nowhere (MLflow exports its URIs to the environment
    # once set): `models:/` must still resolve in this store.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run([sys.executable, "-c", _OLD_CHAMPION, cfg.uri, cfg.artifact_root], cwd=elsewhere,
                         capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == run.info.run_id


_OLD_CHAMPION = """
import sys
from siyu.config import TrackingConfig
from siyu.tracking import load_champion
print(load_champion("churn", TrackingConfig(uri=sys.argv[1], artifact_root=sys.argv[2], experiment="t")).run_id)
"""


_READ_ONLY = """
import json, sys
from siyu.config import TrackingConfig
from siyu.tracking import list_versions, load_champion, load_test_scores, training_runs
cfg = TrackingConfig(uri=sys.argv[1], artifact_root=sys.argv[2], experiment="t")
champion = load_champion("churn", cfg)
versions = list_versions("churn", cfg)
runs = training_runs("churn", cfg)
load_test_scores(runs["run_id"][0], cfg)
print(json.dumps({"mlflow": sorted(m for m in sys.modules if m.split(".")[0] == "mlflow"),
                  "sqlalchemy": "sqlalchemy" in sys.modules, "version": champion.model_version,
                  "versions": len(versions), "runs": len(runs)}))
"""


def test_reading_the_registry_imports_no_mlflow(store):
    cfg, logged = store
    out = subprocess.run([sys.executable, "-c", _READ_ONLY, cfg.uri, cfg.artifact_root], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"mlflow": [], "sqlalchemy": False, "version": logged[1].version, "versions": 2, "runs": 3}


def test_stores_the_reader_leaves_to_mlflow(tmp_path, store):
    cfg, _ = store
    assert open_local("postgresql://u:p@host/db") is None
    assert open_local("http://mlflow.example:5000") is None
    assert open_local("sqlite:///:memory:") is None
    assert open_local(f"sqlite:///{tmp_path}/not-yet.db") is None
    assert not (tmp_path / "not-yet.db").exists()  # never created by a read
    (tmp_path / "text.db").write_text("not a database")
    assert open_local(f"sqlite:///{tmp_path}/text.db") is None
    older = tmp_path / "older.db"
    con = sqlite3.connect(older)
    con.execute("CREATE TABLE runs (run_uuid TEXT)")  # a schema without the columns the reader names
    con.close()
    assert open_local(f"sqlite:///{older}") is None
    assert open_local(cfg.uri) is not None
