"""Stand-in score models for the targeting tests (churn for the scoring run, LTV for the value),
registered through the real MLflow registry like a training run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig
from siyu.features import FeatureSet, feature_specs_data

TREATMENTS = ("campaign_contact", "coupon_push")
FEATURES_YAML = """features:
  - {family: recency, role: [activity, interaction, purchase]}
  - {family: window, agg: count, role: [activity, purchase, contact], days: [30, 90]}
  - {family: window, agg: sum, role: spend, days: [90]}
  - {family: tenure}
  - {family: attribute, column: member_level}
  - {family: lifecycle, new_days: 30, active_days: 30, churned_days: 90}
  - {family: rfm}
"""


class StandInScore:
    """A score that rises with days since the last activity (a churn-like probability) times `scale`."""

    def __init__(self, recency: str, scale: float = 1.0) -> None:
        self.recency = recency
        self.scale = scale

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        days = X[self.recency].fillna(365.0).to_numpy(dtype="float64")
        return self.scale * (1.0 - np.exp(-days / 20.0))


def register_champion(cfg: SiyuConfig, task: str, estimator: object, X: pd.DataFrame, specs: FeatureSet) -> str:
    """Log `estimator` for `task` like a training run (its specs in the manifest) and make it champion."""
    from siyu.tracking import RunRecord, log_training_run, set_alias

    record = RunRecord(task=task, model="standin", estimator=estimator, X_example=X.head(20), metrics={}, params={},
                       tags={}, resolved_config={}, manifest={"feature_specs": feature_specs_data(specs)},
                       reference_profile={})
    logged = log_training_run(record, cfg.tracking)
    set_alias(task, "champion", logged.version, cfg.tracking)
    return logged.version
