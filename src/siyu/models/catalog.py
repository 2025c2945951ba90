"""Which models exist for which task, and how to build one with its defaults."""

from __future__ import annotations

from siyu.models._base import SiyuEstimator
from siyu.models.baselines import BGNBDModel, LogisticBaseline, RecencyRule, TweedieGLMBaseline
from siyu.models.boosting import (
    LightGBMClassifier,
    LightGBMRegressor,
    TwoPartLTV,
    XGBoostClassifier,
    XGBoostRegressor,
)

BINARY_TASKS: tuple[str, ...] = ("churn", "purchase_intent")
MODELS_BY_TASK: dict[str, tuple[str, ...]] = {
    "churn": ("lightgbm", "xgboost", "rule", "logistic"),
    "purchase_intent": ("lightgbm", "xgboost", "rule", "logistic", "bgnbd"),
    "ltv": ("lightgbm", "xgboost", "twopart", "rule", "glm", "bgnbd"),
}
GBM_MODELS: tuple[str, ...] = ("lightgbm", "xgboost", "twopart")


def models_for_task(task: str, wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Model names that apply to `task`, in training order, optionally limited to `wanted`."""
    if task not in MODELS_BY_TASK:
        raise ValueError(f"unknown task {task!r}; expected one of {list(MODELS_BY_TASK)}")
    names = MODELS_BY_TASK[task]
    return names if wanted is None else tuple(n for n in names if n in wanted)


def make_model(name: str, task: str, *, horizon_days: int, random_state: int = 0,
               calibration: str = "isotonic", n_jobs: int = 2) -> SiyuEstimator:
    """A fresh, unfitted estimator `name` for `task` with siyu's default hyperparameters."""
    if name not in MODELS_BY_TASK.get(task, ()):
        raise ValueError(
            f"model {name!r} does not apply to task {task!r}; choose one of {list(MODELS_BY_TASK.get(task, ()))}"
        )
    binary = task in BINARY_TASKS
    if name == "lightgbm":
        if binary:
            return LightGBMClassifier(calibration=calibration, n_jobs=n_jobs, random_state=random_state)
        return LightGBMRegressor(n_jobs=n_jobs, random_state=random_state)
    if name == "xgboost":
        if binary:
            return XGBoostClassifier(calibration=calibration, n_jobs=n_jobs, random_state=random_state)
        return XGBoostRegressor(n_jobs=n_jobs, random_state=random_state)
    if name == "twopart":
        return TwoPartLTV(n_jobs=n_jobs, random_state=random_state)
    if name == "rule":
        return RecencyRule(task=task, horizon_days=horizon_days, calibration=calibration)
    if name == "logistic":
        return LogisticBaseline(random_state=random_state)
    if name == "glm":
        return TweedieGLMBaseline()
    return BGNBDModel(task=task, horizon_days=horizon_days, random_state=random_state)
