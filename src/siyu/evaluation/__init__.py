"""siyu.evaluation: metrics, leaderboards, reference profiles and plots (pure; figures returned).

Exports load lazily: a command that needs one module (a report's protocol text, explain) does
not compile the bootstrap kernels' numba (about 0.3 s) nor import scipy with them.
"""

from siyu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("BTYD_MODEL", "GateDecision", "decide_against_btyd", "decide_promotion", "transactions_only",
                     "validation_winner"), "siyu.evaluation.gate"),
    **dict.fromkeys(("heldout_metrics", "interval_metrics", "metrics_by_cutoff"), "siyu.evaluation.heldout"),
    **dict.fromkeys(("Interval", "bootstrap_interval", "paired_difference"), "siyu.evaluation.intervals"),
    **dict.fromkeys(("LEAK_WORDS", "ORACLE", "ORACLE_OBSERVABLE", "add_oracle_ratio", "headline_metric",
                     "leaderboard_html", "leak_alarm"), "siyu.evaluation.leaderboard"),
    **dict.fromkeys(("HIGHER_IS_BETTER", "capture_at", "classification_metrics", "decile_capture",
                     "expected_calibration_error", "lift_at", "normalized_gini", "regression_metrics",
                     "task_metrics"), "siyu.evaluation.metrics"),
    "reference_profile": "siyu.evaluation.profile",
    "protocol_text": "siyu.evaluation.protocol",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
