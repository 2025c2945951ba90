"""Read training runs back for leaderboards, and the MLflow side of an Optuna study."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from siyu.config import TrackingConfig
from siyu.tracking.local_store import open_local
from siyu.tracking.store import connect


def training_runs(task: str, cfg: TrackingConfig, *, test_cutoff: str | None = None) -> pd.DataFrame:
    """Finished training runs of `task` (newest first), optionally on one test cutoff.

    Columns: run_id, start_time, model, test_cutoff, dataset_digest, artifact_uri, and `metrics.*`
    as `<name>`.
    """
    wanted = {"task": task, "kind": "training", **({"test_cutoff": test_cutoff} if test_cutoff is not None else {})}
    if (store := open_local(str(cfg.uri))) is not None:
        experiment_id = store.experiment_id(cfg.experiment)
        stored = store.search_runs(experiment_id, wanted, "FINISHED")[:5000] if experiment_id is not None else []
        runs = [(r.run_id, r.start_time, r.tags, r.metrics, r.artifact_uri) for r in stored]
    else:
        client, experiment_id = connect(cfg)
        query = " and ".join([*(f"tags.{k} = '{v}'" for k, v in wanted.items()), "attributes.status = 'FINISHED'"])
        runs = [(r.info.run_id, r.info.start_time, r.data.tags, r.data.metrics, r.info.artifact_uri)
                for r in client.search_runs([experiment_id], query, order_by=["attributes.start_time DESC"],
                                            max_results=5000)]
    rows = []
    for run_id, start_time, tags, metrics, artifact_uri in runs:
        row = {"run_id": run_id, "start_time": start_time, "model": tags.get("model", ""),
               "test_cutoff": tags.get("test_cutoff", ""), "dataset_digest": tags.get("dataset_digest", ""),
               "artifact_uri": artifact_uri}
        row.update(metrics)
        rows.append(row)
    return pd.DataFrame(rows)


def log_backtest_run(cfg: TrackingConfig, *, task: str, model: str, table: pd.DataFrame, metric: str,
                     tags: dict[str, str]) -> str:
    """One run for a walk-forward backtest: `metric` and its bounds per fold (step = fold), the
    fold table as an artifact; nothing is registered. Returns the run id."""
    import mlflow

    _, experiment_id = connect(cfg)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"backtest-{task}-{model}") as run:
        mlflow.set_tags({"task": task, "model": model, "kind": "backtest", **tags})
        for _, row in table.iterrows():
            mlflow.log_metrics({name: float(row[name]) for name in (metric, f"{metric}_ci_low", f"{metric}_ci_high")
                                if pd.notna(row[name])}, step=int(row["fold"]))
        mlflow.log_metric(f"{metric}_mean", float(table[metric].mean()))
        mlflow.log_table(table, "backtest/folds.json")
        return run.info.run_id


@contextmanager
def study_run(cfg: TrackingConfig, *, task: str, model: str, tags: dict[str, str]) -> Iterator[str]:
    """A parent MLflow run for an Optuna study; yields its run id (trials nest under it)."""
    import mlflow

    _, experiment_id = connect(cfg)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"tune-{task}-{model}") as run:
        mlflow.set_tags({"task": task, "model": model, "kind": "study", **tags})
        yield run.info.run_id


def trial_callback(cfg: TrackingConfig, *, metric_name: str, task: str, model: str) -> object:
    """optuna-integration's MLflowCallback logging each trial as a nested run of the active run."""
    from optuna_integration.mlflow import MLflowCallback

    _, experiment_id = connect(cfg)
    return MLflowCallback(tracking_uri=cfg.uri, metric_name=metric_name, create_experiment=False,
                          mlflow_kwargs={"experiment_id": experiment_id, "nested": True,
                                         "tags": {"task": task, "model": model, "kind": "trial"}})


def log_study_summary(best_params: dict, best_value: float, n_trials: int, n_pruned: int, metric_name: str) -> None:
    """Log the study's outcome on the active (parent) run."""
    import mlflow

    mlflow.log_params({f"best_{k}": v for k, v in best_params.items()})
    mlflow.log_metrics({f"best_{metric_name}": best_value, "n_trials": n_trials, "n_pruned": n_pruned})
