"""The estimator contract, shared by every model of every task."""

import numpy as np
import pytest
from sklearn.base import clone

from siyu.config import DEFAULT_TASKS, TaskConfig
from siyu.models import NotFittedError, make_model, models_for_task

TASKS = {t.name: t for t in DEFAULT_TASKS}
CASES = [(task.name, name) for task in DEFAULT_TASKS for name in models_for_task(task)]


def _fit(task, name, data, seed=0):
    (X, y), (Xv, yv) = data["train"], data["valid"]
    model = make_model(name, TASKS[task], random_state=seed, n_jobs=1)
    return model, model.fit(X, y, X_valid=Xv, y_valid=yv), data


@pytest.mark.parametrize(("task", "name"), CASES)
def test_fit_returns_self_and_scores_every_row(task, name, toy_data):
    model, fitted, data = _fit(task, name, toy_data[task])
    X_test = data["test"][0]
    scores = fitted.predict_score(X_test)
    assert fitted is model
    assert scores.shape == (len(X_test),)
    assert np.isfinite(scores).all()
    if task == "ltv":
        assert (scores >= 0).all()
    else:
        assert ((scores >= 0) & (scores <= 1)).all()
    assert list(fitted.feature_names_in_) == list(X_test.columns)


@pytest.mark.parametrize(("task", "name"), CASES)
def test_same_seed_same_scores(task, name, toy_data):
    _, first, data = _fit(task, name, toy_data[task], seed=7)
    _, second, _ = _fit(task, name, toy_data[task], seed=7)
    X_test = data["test"][0]
    np.testing.assert_array_equal(first.predict_score(X_test), second.predict_score(X_test))


@pytest.mark.parametrize(("task", "name"), CASES)
def test_unfitted_model_says_fit_first(task, name, toy_data):
    model = make_model(name, TASKS[task])
    X = toy_data[task]["test"][0]
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict_score(X)
    assert clone(model).get_params() == model.get_params()  # __init__ only stores hyperparameters


@pytest.mark.parametrize(("task", "name"), [CASES[0], CASES[-1]])
def test_id_columns_in_X_are_refused(task, name, toy_frames):
    frame = toy_frames[task]
    model = make_model(name, TASKS[task])
    with pytest.raises(ValueError, match="non-feature columns"):
        model.fit(frame.drop(columns=["label"]), frame["label"])


def test_missing_feature_at_predict_is_named(toy_data):
    _, fitted, data = _fit("churn", "lightgbm", toy_data["churn"])
    with pytest.raises(ValueError, match="lacks 1 feature column"):
        fitted.predict_score(data["test"][0].drop(columns=["tenure_days"]))


def test_one_class_labels_are_refused(toy_data):
    X = toy_data["churn"]["train"][0]
    with pytest.raises(ValueError, match="one class only"):
        make_model("xgboost", TASKS["churn"]).fit(X, np.zeros(len(X)))


def test_unknown_model_for_task_lists_the_choices():
    with pytest.raises(ValueError, match="does not apply to task 'churn'"):
        make_model("bgnbd", TASKS["churn"])


def test_a_task_from_config_alone_gets_the_models_of_its_label():
    early = TaskConfig(name="churn_15d", horizon_days=15, label="no_activity", population={"active_within_days": 30})
    assert models_for_task(early) == models_for_task(TASKS["churn"])
    rule = make_model("rule", early)
    assert rule.horizon_days == 15 and rule.label == "no_activity"
    back = TaskConfig(name="return_14d", horizon_days=14, label="any_activity")
    assert back.binary and back.headline_metric == "auc" and "bgnbd" not in models_for_task(back)
