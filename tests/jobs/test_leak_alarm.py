"""The test that would have caught the leak: on a generated world, a deliberately overfitting
LightGBM (deep trees, many rounds, no early stopping, fit on train + valid) must not beat the
observable oracle (the Bayes-optimal use of the history) beyond its interval on purged splits;
scores that read the future must trip the alarm."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from siyu.cli._config import load_config
from siyu.evaluation import leak_alarm, paired_difference
from siyu.jobs.generate import generate_world
from siyu.jobs.training import _keyed, _oracle_rows, load_task_data
from siyu.jobs.trainsets import build_trainset
from siyu.jobs.validate import validate_dataset
from siyu.models import LightGBMClassifier

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def churn_world(tmp_path_factory):
    project = tmp_path_factory.mktemp("leak")
    shutil.copytree(REPO / "configs", project / "configs")
    cwd = os.getcwd()
    os.chdir(project)  # the shipped config's paths are relative to the project
    cfg = load_config("configs/siyu.yaml")
    cfg = cfg.model_copy(update={
        "trainset": cfg.trainset.model_copy(update={"n_train_cutoffs": 10, "n_valid_cutoffs": 3})})
    try:
        generate_world(users=4000, days=300, seed=5, out=cfg.paths.world)
        validate_dataset(cfg)
        build_trainset(cfg, "churn")
        yield cfg
    finally:
        os.chdir(cwd)


def _above_observable(cfg, frame, scores):
    truth, wanted = _oracle_rows(cfg, "churn", frame)
    observable = wanted["oracle_observable"]
    rows = _keyed(scores).merge(truth[["user_id", "cutoff", observable]], on=["user_id", "cutoff"])
    assert len(rows) == len(scores)  # the truth covers every test row
    return paired_difference("auc", rows["label"], rows["score"], rows[observable], rows["user_id"], n_boot=300,
                             rng=np.random.default_rng(0))


@pytest.mark.slow
def test_an_overfit_booster_does_not_beat_the_observable_oracle_on_purged_splits(churn_world):
    frame, manifest, features = load_task_data(churn_world, "churn")
    seen = frame[frame["split"].astype(str).isin(["train", "valid"])]
    test = frame[frame["split"].astype(str) == "test"]
    overfit = LightGBMClassifier(n_estimators=300, learning_rate=0.1, num_leaves=255, min_child_samples=5,
                                 colsample_bytree=1.0, reg_lambda=0.0, calibration="none", refit=False, n_jobs=2)
    overfit.fit(seen[features], seen["label"].to_numpy(float))  # no validation: no early stopping
    assert len(manifest["cutoffs"]["test"]) == 4
    scores = test[["user_id", "cutoff", "label"]].assign(score=overfit.predict_score(test[features]))
    difference = _above_observable(churn_world, frame, scores)
    assert difference.low <= 0, f"overfit booster above the observable oracle: {difference.as_text()}"
    assert leak_alarm(difference) == ""

    future = scores.assign(score=0.7 * scores["score"] + 0.3 * scores["label"])  # reads the test outcome
    alarm = leak_alarm(_above_observable(churn_world, frame, future))
    assert alarm.startswith("likely leakage")
