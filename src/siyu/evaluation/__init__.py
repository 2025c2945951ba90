"""siyu.evaluation: metrics, leaderboards, reference profiles and plots (pure; figures returned)."""

from siyu.evaluation.gate import (
    BTYD_MODEL,
    GateDecision,
    decide_against_btyd,
    decide_promotion,
    transactions_only,
    validation_winner,
)
from siyu.evaluation.heldout import heldout_metrics, interval_metrics, metrics_by_cutoff
from siyu.evaluation.intervals import Interval, bootstrap_interval, paired_difference
from siyu.evaluation.leaderboard import (
    LEAK_WORDS,
    ORACLE,
    ORACLE_OBSERVABLE,
    add_oracle_ratio,
    headline_metric,
    leaderboard_html,
    leak_alarm,
)
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
from siyu.evaluation.protocol import protocol_text

__all__ = [
    "BTYD_MODEL", "HIGHER_IS_BETTER", "LEAK_WORDS", "ORACLE", "ORACLE_OBSERVABLE", "GateDecision", "Interval", "add_oracle_ratio",
    "bootstrap_interval", "capture_at", "classification_metrics", "decide_against_btyd", "decide_promotion", "decile_capture",
    "expected_calibration_error", "headline_metric", "heldout_metrics", "interval_metrics", "leak_alarm", "leaderboard_html", "lift_at",
    "metrics_by_cutoff", "normalized_gini", "paired_difference", "protocol_text", "reference_profile", "regression_metrics",
    "task_metrics", "transactions_only", "validation_winner",
]
