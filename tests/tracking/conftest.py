"""A temporary MLflow store (never the project's mlflow.db) and a fitted model to log."""

import mlflow
import numpy as np
import pytest

from siyu.config import TrackingConfig
from siyu.models import LightGBMClassifier
from siyu.models.synthetic import toy_trainset


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri()
    yield TrackingConfig(uri=f"sqlite:///{root}/mlflow.db", artifact_root=str(root / "mlartifacts"), experiment="t")
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def fitted():
    frame = toy_trainset("churn", n_users=200, n_cutoffs=4, rng=np.random.default_rng(0))
    X = frame.drop(columns=["user_id", "cutoff", "split", "label"])
    train, valid, test = (frame["split"] == s for s in ("train", "valid", "test"))
    model = LightGBMClassifier(n_estimators=30, n_jobs=1).fit(
        X[train], frame.loc[train, "label"], X_valid=X[valid], y_valid=frame.loc[valid, "label"])
    return model, frame, X[test]
