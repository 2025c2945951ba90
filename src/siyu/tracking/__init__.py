"""siyu.tracking: the only MLflow code (runs, datasets, registry, champion loading, tuning runs).

Exports load lazily: a registered model unpickles `siyu.tracking.pyfunc` (its wrapper) in an
environment that has only the model's own requirements, so importing this package must not
pull the training stack (matplotlib, the feature engine) in with it.
"""

from siyu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("CHALLENGER", "CHAMPION", "Champion", "NoModelError", "VersionInfo", "list_versions",
                     "load_champion", "load_run_manifest", "load_test_by_cutoff", "load_test_scores", "load_version_estimator",
                     "set_alias", "tag_version", "version_by_alias"), "siyu.tracking.registry"),
    **dict.fromkeys(("LoggedVersion", "RunRecord", "log_training_run"), "siyu.tracking.runs"),
    **dict.fromkeys(("log_backtest_run", "log_study_summary", "study_run", "training_runs", "trial_callback"),
                    "siyu.tracking.search"),
    **dict.fromkeys(("connect", "registered_name"), "siyu.tracking.store"),
    **dict.fromkeys(("SegmentRunRecord", "log_segment_run"), "siyu.tracking.segments"),
    "version_spark_udf": "siyu.tracking.spark_udf",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
