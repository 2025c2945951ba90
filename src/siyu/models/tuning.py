"""Optuna tuning on the time split: search spaces as data, TPE seeded, booster pruning callbacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from siyu.models._base import SiyuEstimator


@dataclass(frozen=True)
class IntParam:
    """An integer hyperparameter in [low, high]."""

    name: str
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class FloatParam:
    """A float hyperparameter in [low, high]."""

    name: str
    low: float
    high: float
    log: bool = False


SearchSpace = tuple[IntParam | FloatParam, ...]

SEARCH_SPACES: dict[str, SearchSpace] = {
    "lightgbm": (
        FloatParam("learning_rate", 0.02, 0.2, log=True), IntParam("num_leaves", 15, 127, log=True),
        IntParam("min_child_samples", 10, 300, log=True), FloatParam("subsample", 0.5, 1.0),
        FloatParam("colsample_bytree", 0.3, 1.0), FloatParam("reg_lambda", 1e-3, 30.0, log=True),
    ),
    "xgboost": (
        FloatParam("learning_rate", 0.02, 0.2, log=True), IntParam("max_depth", 3, 9),
        FloatParam("min_child_weight", 1.0, 50.0, log=True), FloatParam("subsample", 0.5, 1.0),
        FloatParam("colsample_bytree", 0.3, 1.0), FloatParam("reg_lambda", 1e-3, 30.0, log=True),
    ),
    "twopart": (
        FloatParam("learning_rate", 0.02, 0.2, log=True), IntParam("num_leaves", 15, 127, log=True),
        IntParam("min_child_samples", 10, 300, log=True),
    ),
}

# What the boosters report each round, for pruning: (metric name, higher is better).
PRUNING_METRIC: dict[str, str] = {"lightgbm": "auc", "xgboost": "valid-auc"}


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, float | int]:
    """Draw one point of `space` from the trial."""
    point: dict[str, float | int] = {}
    for p in space:
        if isinstance(p, IntParam):
            point[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        else:
            point[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return point


def pruning_callbacks(trial: optuna.Trial, model_name: str, binary: bool) -> tuple:
    """optuna-integration's booster callbacks reporting valid AUC each round (binary tasks only).

    LTV boosters stop early on Tweedie deviance (lower is better) while the study maximizes
    Gini, so their trials are not pruned mid-training.
    """
    if not binary or model_name not in PRUNING_METRIC:
        return ()
    if model_name == "lightgbm":
        from optuna_integration.lightgbm import LightGBMPruningCallback

        return (LightGBMPruningCallback(trial, "auc", valid_name="valid"),)
    from optuna_integration.xgboost import XGBoostPruningCallback

    return (XGBoostPruningCallback(trial, "valid-auc"),)


def run_study(make_estimator: Callable[[], SiyuEstimator], model_name: str, space: SearchSpace, *,
              X_train: pd.DataFrame, y_train: np.ndarray, X_valid: pd.DataFrame, y_valid: np.ndarray,
              score: Callable[[np.ndarray, np.ndarray], float], binary: bool, n_trials: int,
              timeout_s: float | None, seed: int, study_name: str,
              callbacks: Sequence[Callable] = ()) -> optuna.Study:
    """Maximize `score(y_valid, predictions)` over `space`; TPE seeded; median pruner."""
    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=10)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner, study_name=study_name)

    def objective(trial: optuna.Trial) -> float:
        estimator = make_estimator().set_params(**suggest(trial, space))
        if "refit" in estimator.get_params():  # a trial is judged on valid: a refit would see it
            estimator.set_params(refit=False)
        estimator.fit(X_train, y_train, X_valid=X_valid, y_valid=y_valid,
                      callbacks=pruning_callbacks(trial, model_name, binary))
        trial.set_user_attr("best_iteration", int(getattr(estimator, "best_iteration_", 0)))
        return float(score(y_valid, estimator.predict_score(X_valid)))

    study.optimize(objective, n_trials=n_trials, timeout=timeout_s, callbacks=list(callbacks),
                   gc_after_trial=False, show_progress_bar=False)
    return study
