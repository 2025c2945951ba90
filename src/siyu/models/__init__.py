"""siyu.models: estimators for churn, purchase intent and LTV behind one scikit-learn contract.

`fit(X, y, *, X_valid=None, y_valid=None) -> self`; `predict_score(X)` is a calibrated
probability (binary tasks) or expected net spend (LTV). Tree models also expose `tree_model_`,
`model_input(X)` and `margin(X)` for SHAP.
"""

from siyu.models._base import NotFittedError, SiyuEstimator
from siyu.models.baselines import (
    BGNBDModel,
    LogisticBaseline,
    MissingFeatureError,
    RecencyRule,
    TweedieGLMBaseline,
    find_feature,
)
from siyu.models.boosting import (
    LightGBMClassifier,
    LightGBMRegressor,
    TwoPartLTV,
    XGBoostClassifier,
    XGBoostRegressor,
)
from siyu.models.calibration import Calibrator
from siyu.models.catalog import (
    GBM_MODELS,
    MODELS_BY_LABEL,
    btyd_features_wanted,
    make_model,
    models_for_task,
)

__all__ = [
    "GBM_MODELS", "MODELS_BY_LABEL", "BGNBDModel", "Calibrator", "LightGBMClassifier",
    "LightGBMRegressor", "LogisticBaseline", "MissingFeatureError", "NotFittedError", "RecencyRule",
    "SiyuEstimator", "TweedieGLMBaseline", "TwoPartLTV", "XGBoostClassifier", "XGBoostRegressor",
    "btyd_features_wanted", "find_feature", "make_model", "models_for_task",
]
