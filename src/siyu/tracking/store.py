"""Connect to the MLflow tracking store and registry named by a TrackingConfig."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from siyu.config import TrackingConfig

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

# Aliases and artifact paths every reader of the registry names (here, so that reading the registry
# does not import what logging needs: MLflow's model flavours and datasets, matplotlib).
CHALLENGER = "challenger"
CHAMPION = "champion"
TEST_SCORES_ARTIFACT = "evaluation/test_scores.parquet"
TEST_BY_CUTOFF_ARTIFACT = "evaluation/test_by_cutoff.json"


def registered_name(task: str, cfg: TrackingConfig) -> str:
    """The registered model name of a task: `<prefix>-<task>` (e.g. siyu-churn)."""
    return f"{cfg.registry_prefix}-{task}"


def _artifact_location(cfg: TrackingConfig) -> str:
    root = cfg.artifact_root
    return root if "://" in root else Path(root).resolve().as_uri()


@functools.lru_cache(maxsize=8)
def _client(uri: str) -> MlflowClient:
    # One client per store and process: building one opens the store again (about 20 ms on
    # SQLite), and a leaderboard asks for the registry dozens of times. The experiment is
    # still looked up on every call, so a store replaced under the same URI is seen.
    from mlflow.tracking import MlflowClient

    from siyu.tracking.seed import seed_sqlite_store

    seed_sqlite_store(uri)  # a new SQLite store: a copy of a migrated empty one, not every migration run
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def connect(cfg: TrackingConfig) -> tuple[MlflowClient, str]:
    """Point MLflow at `cfg.uri` (tracking and registry) and return (client, experiment id).

    The experiment is created on first use with its artifacts under `cfg.artifact_root`.
    """
    import mlflow
    from mlflow.utils.logging_utils import disable_logging

    # MLflow's own lines ("Registered model ... Creating a new version", "Created version '5'")
    # repeat what siyu prints in its summary, once per model; errors still arrive as exceptions.
    disable_logging()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a tqdm bar per artifact read
    mlflow.set_tracking_uri(cfg.uri)
    mlflow.set_registry_uri(cfg.uri)
    client = _client(cfg.uri)
    experiment = client.get_experiment_by_name(cfg.experiment)
    if experiment is None:
        experiment_id = client.create_experiment(cfg.experiment, artifact_location=_artifact_location(cfg))
    else:
        experiment_id = experiment.experiment_id
    return client, experiment_id
