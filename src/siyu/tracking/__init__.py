"""siyu.tracking: the only MLflow code (runs, datasets, registry, champion loading, tuning runs)."""

from siyu.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    Champion,
    NoModelError,
    VersionInfo,
    list_versions,
    load_champion,
    load_test_by_cutoff,
    load_test_scores,
    load_version_estimator,
    set_alias,
    tag_version,
    version_by_alias,
)
from siyu.tracking.runs import LoggedVersion, RunRecord, log_training_run
from siyu.tracking.search import (
    log_backtest_run,
    log_study_summary,
    study_run,
    training_runs,
    trial_callback,
)
from siyu.tracking.store import connect, registered_name

__all__ = [
    "CHALLENGER", "CHAMPION", "Champion", "LoggedVersion", "NoModelError", "RunRecord", "VersionInfo",
    "connect", "list_versions", "load_champion", "load_test_by_cutoff", "load_test_scores", "load_version_estimator", "log_backtest_run", "log_training_run",
    "log_study_summary", "registered_name", "set_alias", "study_run", "tag_version", "training_runs",
    "trial_callback", "version_by_alias",
]
