"""Optuna study on the time split: seeded, pruned through the boosters' callbacks."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from siyu.config import DEFAULT_TASKS
from siyu.models import make_model
from siyu.models.tuning import SEARCH_SPACES, pruning_callbacks, run_study


def _study(data, name, seed):
    (X, y), (Xv, yv) = data["train"], data["valid"]
    return run_study(lambda: make_model(name, DEFAULT_TASKS[0], n_jobs=1), name, SEARCH_SPACES[name],
                     X_train=X, y_train=y, X_valid=Xv, y_valid=yv, score=roc_auc_score, binary=True,
                     n_trials=3, timeout_s=None, seed=seed, study_name="t")


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_study_is_reproducible_with_a_seed(name, toy_data):
    first, second = _study(toy_data["churn"], name, 1), _study(toy_data["churn"], name, 1)
    assert len(first.trials) == 3
    assert first.best_params == second.best_params
    assert 0.5 < first.best_value <= 1.0
    assert all(t.intermediate_values for t in first.trials)  # each round reported for pruning


def test_ltv_boosters_are_not_pruned_mid_training():
    assert pruning_callbacks(object(), "lightgbm", binary=False) == ()


def test_best_params_stay_inside_the_space(toy_data):
    study = _study(toy_data["churn"], "lightgbm", 4)
    bounds = {p.name: (p.low, p.high) for p in SEARCH_SPACES["lightgbm"]}
    for key, value in study.best_params.items():
        assert bounds[key][0] <= value <= bounds[key][1]
    assert np.isfinite(study.best_value)


def test_trials_are_scored_without_a_refit_on_valid(toy_data):
    data = toy_data["churn"]
    study = _study(data, "lightgbm", 2)
    (X, y), (Xv, yv) = data["train"], data["valid"]
    held_out = make_model("lightgbm", DEFAULT_TASKS[0], n_jobs=1).set_params(refit=False, **study.best_params)
    held_out.fit(X, y, X_valid=Xv, y_valid=yv)
    assert study.best_value == pytest.approx(roc_auc_score(yv, held_out.predict_score(Xv)))
