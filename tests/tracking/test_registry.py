"""Round trip through the registry: log, alias, load back with plain MLflow and with siyu."""

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from siyu.evaluation import reference_profile
from siyu.tracking import (
    NoModelError,
    RunRecord,
    list_versions,
    load_champion,
    load_test_by_cutoff,
    load_test_scores,
    log_training_run,
    set_alias,
    version_by_alias,
)


def _record(fitted, **overrides):
    model, frame, X_test = fitted
    base = dict(task="churn", model="lightgbm", estimator=model, X_example=X_test.head(5),
                metrics={"test_auc": 0.7, "valid_auc": 0.71}, params=model.get_params(),
                tags={"kind": "training", "git_sha": "abc123", "test_cutoff": "2025-01-27"},
                resolved_config={"training": {"seed": 1}}, manifest={"task": "churn"},
                reference_profile=reference_profile(X_test), train_frame=frame[frame["split"] == "train"])
    return RunRecord(**{**base, **overrides})


def test_champion_round_trip_with_plain_mlflow(tracking, fitted):
    model, _, X_test = fitted
    with pytest.raises(NoModelError, match="no version has the alias 'champion'"):
        load_champion("churn", tracking)
    logged = log_training_run(_record(fitted), tracking)
    assert version_by_alias("churn", "challenger", tracking).version == logged.version
    set_alias("churn", "champion", logged.version, tracking)

    plain = mlflow.pyfunc.load_model("models:/siyu-churn@champion").predict(X_test)
    np.testing.assert_allclose(np.asarray(plain), model.predict_score(X_test))

    champion = load_champion("churn", tracking)
    np.testing.assert_allclose(champion.predict_score(X_test), model.predict_score(X_test))
    assert (champion.model_name, champion.model_version, champion.run_id) == ("siyu-churn", logged.version, logged.run_id)
    assert champion.feature_names == list(X_test.columns)
    assert set(champion.reference_profile["features"]) == set(X_test.columns)
    assert type(champion.estimator).__name__ == "LightGBMClassifier"


def test_run_carries_the_fixed_vocabulary(tracking, fitted):
    logged = log_training_run(_record(fitted, model="xgboost"), tracking)
    run = MlflowClient(tracking.uri).get_run(logged.run_id)
    assert {"task": "churn", "model": "xgboost", "git_sha": "abc123"}.items() <= run.data.tags.items()
    assert run.data.tags["dataset_digest"] == logged.dataset_digest != ""
    assert run.data.metrics["test_auc"] == pytest.approx(0.7)
    assert run.inputs.dataset_inputs[0].dataset.digest == logged.dataset_digest
    artifacts = {a.path for a in MlflowClient(tracking.uri).list_artifacts(logged.run_id)}
    assert {"reference_profile.json", "config", "trainset"} <= artifacts
    versions = list_versions("churn", tracking)
    assert [v.version for v in versions][0] == logged.version  # newest first; challenger moved here
    assert version_by_alias("churn", "challenger", tracking).model == "xgboost"


def test_versions_listed_in_one_search_equal_one_look_up_each(tracking, fitted):
    from siyu.tracking.registry import _info

    for model in ("lightgbm", "xgboost", "logistic"):
        log_training_run(_record(fitted, model=model), tracking)
    client = MlflowClient(tracking.uri)
    aliases = dict(client.get_registered_model("siyu-churn").aliases)
    listed = list_versions("churn", tracking)
    assert len(listed) >= 3
    assert listed == [_info(client, v.model_name, client.get_model_version(v.model_name, v.version), aliases)
                      for v in listed]


def test_held_out_scores_are_read_in_place_and_a_run_without_them_is_none(tracking, fitted):
    scores = pd.DataFrame({"user_id": ["u1", "u2"], "cutoff": pd.to_datetime(["2025-01-27"] * 2),
                           "label": [0, 1], "score": [0.2, 0.7]})
    with_scores = log_training_run(_record(fitted, test_scores=scores,
                                           test_by_cutoff={"2025-01-27": {"auc": 0.7}}), tracking)
    without = log_training_run(_record(fitted), tracking)
    uri = MlflowClient(tracking.uri).get_run(with_scores.run_id).info.artifact_uri
    for given in (None, uri):
        pd.testing.assert_frame_equal(load_test_scores(with_scores.run_id, tracking, artifact_uri=given), scores)
        assert load_test_by_cutoff(with_scores.run_id, tracking, artifact_uri=given) == {"2025-01-27": {"auc": 0.7}}
    assert load_test_scores(without.run_id, tracking) is None


def test_pyfunc_names_missing_columns(tracking, fitted):
    _, _, X_test = fitted
    model = mlflow.pyfunc.load_model("models:/siyu-churn@champion")
    with pytest.raises(Exception, match="tenure_days"):
        model.predict(X_test.drop(columns=["tenure_days"]))


_WITHOUT_SIYU = """
import importlib.util, json, sys
# No siyu on this interpreter: drop the editable install's path entry before anything imports it.
sys.path[:] = [p for p in sys.path if not p.rstrip("/").endswith("/src")]
assert importlib.util.find_spec("siyu") is None, "siyu is still importable"
import mlflow, pandas as pd
frame = pd.read_parquet(sys.argv[2])  # categoricals arrive as text, as from any feature store
print(json.dumps(mlflow.pyfunc.load_model(sys.argv[1]).predict(frame).tolist()))
"""


def test_a_registered_model_predicts_where_siyu_is_not_installed(tracking, fitted, tmp_path):
    import json
    import subprocess
    import sys

    model, _, X_test = fitted
    logged = log_training_run(_record(fitted), tracking)
    local = mlflow.artifacts.download_artifacts(f"models:/siyu-churn/{logged.version}", dst_path=str(tmp_path))
    example = X_test.head(20)
    cats = [c for c in example.columns if isinstance(example[c].dtype, pd.CategoricalDtype)]
    example.astype({c: "string" for c in cats}).to_parquet(tmp_path / "features.parquet")
    out = subprocess.run([sys.executable, "-c", _WITHOUT_SIYU, local, str(tmp_path / "features.parquet")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(json.loads(out.stdout.strip().splitlines()[-1]), model.predict_score(example),
                               rtol=1e-6)


def test_loading_a_model_logged_with_other_package_versions_warns_by_name(tracking, fitted, caplog):
    """siyu skips MLflow's scan of every installed package when it loads a model and compares the
    model's pinned requirements itself: a differing version is one warning naming the package."""
    logged = log_training_run(_record(fitted), tracking)
    set_alias("churn", "champion", logged.version, tracking)

    def warned() -> list[str]:
        caplog.clear()
        with caplog.at_level("WARNING", logger="siyu.tracking.registry"):
            load_champion("churn", tracking)
        return [r.getMessage() for r in caplog.records if r.name == "siyu.tracking.registry"]

    assert warned() == []
    newest = max(Path(tracking.artifact_root).rglob("requirements.txt"), key=lambda p: p.stat().st_mtime)
    text = newest.read_text(encoding="utf-8")
    assert "lightgbm==" in text
    newest.write_text("\n".join(line.split("==")[0] + "==0.0.1" if line.startswith("lightgbm==") else line
                                for line in text.splitlines()), encoding="utf-8")
    (message,) = warned()
    assert "lightgbm" in message and "(model: 0.0.1)" in message


def test_a_champion_whose_model_files_are_gone_is_named_not_an_empty_artifact(tracking, fitted):
    import shutil

    logged = log_training_run(_record(fitted), tracking)
    set_alias("churn", "champion", logged.version, tracking)
    # Every artifact gone, as after an `rm -r models/artifacts` (the last test of this module's store).
    shutil.rmtree(Path(tracking.artifact_root))
    with pytest.raises(NoModelError, match=rf"models:/siyu-churn/{logged.version}: .*cannot be read.*artifact_root"):
        load_champion("churn", tracking)
