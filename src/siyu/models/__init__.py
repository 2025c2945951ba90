"""siyu.models: estimators for churn, purchase intent and LTV behind one scikit-learn contract.

`fit(X, y, *, X_valid=None, y_valid=None) -> self`; `predict_score(X)` is a calibrated
probability (binary tasks) or expected net spend (LTV). Tree models also expose `tree_model_`,
`model_input(X)` and `margin(X)` for SHAP.

Exports load lazily: `siyu compare` and `siyu promote` read which models a task has
(`siyu.models.catalog`) without paying for scikit-learn, scipy, LightGBM and XGBoost (about 2 s).
"""

from siyu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("NotFittedError", "SiyuEstimator"), "siyu.models._base"),
    **dict.fromkeys(("BGNBDModel", "LogisticBaseline", "MissingFeatureError", "RecencyRule", "TweedieGLMBaseline",
                     "find_feature"), "siyu.models.baselines"),
    **dict.fromkeys(("LightGBMClassifier", "LightGBMRegressor", "TwoPartLTV", "XGBoostClassifier",
                     "XGBoostRegressor"), "siyu.models.boosting"),
    "Calibrator": "siyu.models.calibration",
    **dict.fromkeys(("GBM_MODELS", "MODELS_BY_LABEL", "btyd_features_wanted", "make_model", "models_for_task"),
                    "siyu.models.catalog"),
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
