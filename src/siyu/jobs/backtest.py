"""Walk-forward backtest: refit one model K times, each fold purged against its own test cutoffs,
and report the held-out metric per fold with its interval (`siyu backtest`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig, TaskConfig
from siyu.evaluation import headline_metric, heldout_metrics, metrics_by_cutoff
from siyu.features import FeatureSet
from siyu.io.workspace import feature_set, labelled_sets
from siyu.models import btyd_features_wanted, make_model
from siyu.trainsets import screen_columns, walk_forward_splits

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BacktestResult:
    """One row per fold (latest first): test cutoffs, rows, the headline metric with its interval."""

    task: str
    model: str
    table: pd.DataFrame
    csv_path: Path
    run_id: str


def _fold_row(cfg: SiyuConfig, task: str, model: str, fold: int, splits: dict[str, tuple[date, ...]],
              frame: pd.DataFrame, specs: FeatureSet) -> dict:
    features, _ = screen_columns(frame, specs.columns)  # as the training set keeps them, fold by fold
    part = {name: frame[frame["split"].astype(str) == name] for name in ("train", "valid", "test")}
    estimator = make_model(model, cfg.task(task), inputs=specs.roles(), **cfg.training.model_kwargs,
                           btyd_features=btyd_features_wanted(cfg.training.btyd_features, cfg.dataset.roles.in_use()))
    estimator.fit(part["train"][features], part["train"]["label"].to_numpy(float),
                  X_valid=part["valid"][features], y_valid=part["valid"]["label"].to_numpy(float))
    test = part["test"]
    y, score = test["label"].to_numpy(float), estimator.predict_score(test[features])
    kind = cfg.task(task).kind
    metric = headline_metric(kind)
    pooled = heldout_metrics(kind, y, score, test["user_id"].astype(str), n_boot=cfg.training.n_bootstrap,
                             seed=cfg.training.seed)
    per = metrics_by_cutoff(kind, y, score, test["cutoff"])
    return {
        "fold": fold, "test_cutoffs": ",".join(c.isoformat() for c in splits["test"]),
        "last_train_cutoff": max(splits["train"]).isoformat(), "train_rows": len(part["train"]),
        "valid_rows": len(part["valid"]), "test_rows": len(test), f"test_{metric}": pooled[metric],
        f"test_{metric}_ci_low": pooled[f"{metric}_ci_low"], f"test_{metric}_ci_high": pooled[f"{metric}_ci_high"],
        f"test_{metric}_by_cutoff": " ".join(f"{c}:{m[metric]:.4f}" for c, m in per.items()),
    }


def backtest(cfg: SiyuConfig, task: str, model: str, folds: int, *, progress: Progress | None = None) -> BacktestResult:
    """Refit `model` for `task` on `folds` purged walk-forward splits of the task's cutoff grid
    (fold 1 = the training set's own split, each next fold one test block earlier); write
    `work/reports/backtest_<task>_<model>.csv` and log one MLflow run with a metric per fold."""
    from siyu.tracking import log_backtest_run

    say = progress or (lambda _msg: None)
    task_cfg = cfg.task(task)
    specs = feature_set(cfg).specs

    def plan(t: TaskConfig, grid: list[date]) -> list[dict[str, tuple[date, ...]]]:
        return walk_forward_splits(grid, cfg.trainset.for_task(t), horizon_days=t.horizon_days, folds=folds)

    say(f"{task}: features and labels for {folds} fold(s)")
    built, digest, _ = labelled_sets(cfg, [task_cfg], specs, plan)
    rows = []
    for k, (_, splits, frame) in enumerate(built, start=1):
        say(f"{task}: fold {k} of {folds}: fitting {model}")
        rows.append(_fold_row(cfg, task, model, k, splits, frame, specs))
    table = pd.DataFrame(rows)
    reports = cfg.paths.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    csv_path = reports / f"backtest_{task}_{model}.csv"
    table.to_csv(csv_path, index=False)
    metric = f"test_{task_cfg.headline_metric}"
    run_id = log_backtest_run(cfg.tracking, task=task, model=model, table=table, metric=metric,
                              tags={"data_digest": digest, "folds": str(folds),
                                    "horizon_days": str(task_cfg.horizon_days)})
    say(f"{task}: {model} {metric} mean {float(np.mean(table[metric])):.4f} over {folds} fold(s)")
    return BacktestResult(task=task, model=model, table=table, csv_path=csv_path, run_id=run_id)


__all__ = ["BacktestResult", "backtest"]
