"""Library chatter kept off the terminal, at the edge (`siyu --debug ...` leaves it on).

What a person reads is siyu's own progress and summary lines. Seen on the demo before this: Optuna's
INFO line for the study and for every trial, and its FutureWarning that a callback siyu uses is
deprecated (a note for siyu's developers, not for whoever runs `siyu tune`); MLflow's log lines and
its tqdm bar per artifact read were already kept off by the model commands and now are for all.
"""

from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries(*, optuna: bool = False) -> None:
    """MLflow's log lines and artifact progress bars, MLflow's and SHAP's warnings, and every
    library's deprecation warnings off; with `optuna`, Optuna's INFO lines too (it imports Optuna)."""
    # MLflow configures its logger from this variable when it is first imported (in siyu.tracking).
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # tqdm bars per artifact read
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")
    warnings.filterwarnings("ignore", module="shap")
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    if optuna:
        import optuna as _optuna  # its logger is set to INFO when Optuna is imported: quiet it after

        _optuna.logging.set_verbosity(_optuna.logging.WARNING)
