"""siyu.evaluation: metrics, leaderboards, reference profiles and plots (pure; figures returned)."""

from siyu.evaluation.gate import GateDecision, decide_promotion
from siyu.evaluation.leaderboard import ORACLE, ORACLE_OBSERVABLE, add_oracle_ratio, headline_metric
from siyu.evaluation.metrics import (
    HIGHER_IS_BETTER,
    capture_at,
    classification_metrics,
    decile_capture,
    expected_calibration_error,
    lift_at,
    normalized_gini,
    regression_metrics,
    task_metrics,
)
from siyu.evaluation.profile import reference_profile

__all__ = [
    "HIGHER_IS_BETTER", "ORACLE", "ORACLE_OBSERVABLE", "GateDecision", "decide_promotion", "add_oracle_ratio", "capture_at", "classification_metrics",
    "decile_capture", "expected_calibration_error", "headline_metric", "lift_at", "normalized_gini",
    "reference_profile", "regression_metrics", "task_metrics",
]
