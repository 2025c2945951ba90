"""Which models exist for which task, and how to build one with its defaults.

A task is data (`siyu.config.TaskConfig`): which models apply follows from its label."""

from __future__ import annotations

from siyu.config import TaskConfig
from siyu.models._base import SiyuEstimator
from siyu.models.baselines import (
    BGNBDModel,
    Inputs,
    LogisticBaseline,
    RecencyRule,
    TweedieGLMBaseline,
)
from siyu.models.boosting import (
    LightGBMClassifier,
    LightGBMRegressor,
    TwoPartLTV,
    XGBoostClassifier,
    XGBoostRegressor,
)

MODELS_BY_LABEL: dict[str, tuple[str, ...]] = {
    "no_activity": ("lightgbm", "xgboost", "rule", "logistic"),
    "any_activity": ("lightgbm", "xgboost", "rule", "logistic"),
    "any_purchase": ("lightgbm", "xgboost", "rule", "logistic", "bgnbd"),
    "net_spend": ("lightgbm", "xgboost", "twopart", "rule", "glm", "bgnbd"),
}
GBM_MODELS: tuple[str, ...] = ("lightgbm", "xgboost", "twopart")


def models_for_task(task: TaskConfig, wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Model names that apply to `task` (by its label; an uplift task: the uplift models whose
    dependencies are installed, `siyu.uplift.models`), in training order, optionally limited to `wanted`."""
    if task.uplift:
        from siyu.uplift.models import uplift_models_available

        return uplift_models_available(wanted)
    names = MODELS_BY_LABEL[task.label]
    return names if wanted is None else tuple(n for n in names if n in wanted)


def make_model(name: str, task: TaskConfig, *, random_state: int = 0, calibration: str = "isotonic",
               n_jobs: int = 2, inputs: Inputs | None = None) -> SiyuEstimator:
    """A fresh, unfitted estimator `name` for `task` with siyu's default hyperparameters;
    `inputs` (`FeatureSet.roles()`) tells the baselines which columns play which part."""
    if task.uplift and name in models_for_task(task):
        from siyu.uplift.models import make_uplift_model

        return make_uplift_model(name, random_state=random_state, n_jobs=n_jobs)
    if name not in models_for_task(task):
        raise ValueError(
            f"model {name!r} does not apply to task {task.name!r} (label {task.label}); "
            f"choose one of {list(models_for_task(task))}"
        )
    if name == "lightgbm":
        if task.binary:
            return LightGBMClassifier(calibration=calibration, n_jobs=n_jobs, random_state=random_state)
        return LightGBMRegressor(n_jobs=n_jobs, random_state=random_state)
    if name == "xgboost":
        if task.binary:
            return XGBoostClassifier(calibration=calibration, n_jobs=n_jobs, random_state=random_state)
        return XGBoostRegressor(n_jobs=n_jobs, random_state=random_state)
    if name == "twopart":
        return TwoPartLTV(n_jobs=n_jobs, random_state=random_state)
    if name == "rule":
        return RecencyRule(label=task.label, horizon_days=task.horizon_days, calibration=calibration,
                           inputs=inputs)
    if name == "logistic":
        return LogisticBaseline(random_state=random_state)
    if name == "glm":
        return TweedieGLMBaseline()
    return BGNBDModel(label=task.label, horizon_days=task.horizon_days, inputs=inputs)
