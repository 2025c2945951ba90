"""Which models exist for which task, and how to build one with its defaults.

A task is data (`siyu.config.TaskConfig`): which models apply follows from its label."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from siyu.config import TaskConfig
from siyu.evaluation.gate import transactions_only

if TYPE_CHECKING:
    from siyu.models._base import SiyuEstimator
    from siyu.models.baselines import Inputs

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


def btyd_features_wanted(setting: str, roles_in_use: Iterable[str]) -> bool:
    """Whether the boosters get the BTYD outputs as features: `training.btyd_features` `on`, or
    `auto` on an order history alone (the data the promotion gate holds to BG/NBD)."""
    return setting == "on" or (setting == "auto" and transactions_only(roles_in_use))


def make_model(name: str, task: TaskConfig, *, random_state: int = 0, calibration: str = "isotonic",
               n_jobs: int = 2, inputs: Inputs | None = None, btyd_features: bool = False) -> SiyuEstimator:
    """A fresh, unfitted estimator `name` for `task` with siyu's default hyperparameters;
    `inputs` (`FeatureSet.roles()`) tells the baselines which columns play which part;
    `btyd_features` gives the boosters the fitted BTYD outputs over the task's horizon as
    features (`siyu.models.btyd_features`)."""
    from siyu.models.baselines import BGNBDModel, LogisticBaseline, RecencyRule, TweedieGLMBaseline
    from siyu.models.boosting import (
        LightGBMClassifier,
        LightGBMRegressor,
        TwoPartLTV,
        XGBoostClassifier,
        XGBoostRegressor,
    )

    if task.uplift and name in models_for_task(task):
        from siyu.uplift.models import make_uplift_model

        return make_uplift_model(name, random_state=random_state, n_jobs=n_jobs)
    if name not in models_for_task(task):
        raise ValueError(
            f"model {name!r} does not apply to task {task.name!r} (label {task.label}); "
            f"choose one of {list(models_for_task(task))}"
        )
    btyd = {"btyd_horizon_days": task.horizon_days if btyd_features else None}
    if name == "lightgbm":
        if task.binary:
            return LightGBMClassifier(calibration=calibration, n_jobs=n_jobs, random_state=random_state, **btyd)
        return LightGBMRegressor(n_jobs=n_jobs, random_state=random_state, **btyd)
    if name == "xgboost":
        if task.binary:
            return XGBoostClassifier(calibration=calibration, n_jobs=n_jobs, random_state=random_state, **btyd)
        return XGBoostRegressor(n_jobs=n_jobs, random_state=random_state, **btyd)
    if name == "twopart":
        return TwoPartLTV(n_jobs=n_jobs, random_state=random_state, **btyd)
    if name == "rule":
        return RecencyRule(label=task.label, horizon_days=task.horizon_days, calibration=calibration,
                           inputs=inputs)
    if name == "logistic":
        return LogisticBaseline(random_state=random_state)
    if name == "glm":
        return TweedieGLMBaseline()
    return BGNBDModel(label=task.label, horizon_days=task.horizon_days, inputs=inputs)
