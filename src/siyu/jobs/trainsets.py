"""Jobs: one training set per task (read clean files, write work/trainsets/); features at an
as-of date and the shared readers live in `siyu.io.workspace`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from siyu.config import SiyuConfig, TaskConfig
from siyu.io.workspace import build_features_at, labelled_sets, latest_as_of, load_features
from siyu.trainsets import split_cutoffs, trainset_manifest, write_trainset


@dataclass(frozen=True)
class TrainsetSummary:
    """What `build_trainset` wrote: folder, feature count and per-split rows / label statistics."""

    task: str
    path: Path
    n_features: int
    cutoffs: dict[str, list[str]]
    splits: dict[str, dict[str, float]]
    feature_spec_hash: str
    data_digest: str


def build_trainset(cfg: SiyuConfig, task: str) -> TrainsetSummary:
    """Build `work/trainsets/<task>/{trainset.parquet, manifest.json}` on the Monday cutoff grid."""
    return build_trainsets(cfg, [task])[0]


def build_trainsets(cfg: SiyuConfig, tasks: Sequence[str]) -> list[TrainsetSummary]:
    """Build the training sets of several tasks, with ONE feature query for the union of their
    cutoffs (the grids share the Monday `step_days` grid, so they overlap); each task's rows,
    labels and manifest are the same as when it is built alone."""
    task_cfgs = [cfg.task(t) for t in tasks]
    specs = cfg.features

    def plan(task_cfg: TaskConfig, grid: list[date]) -> list[dict[str, tuple[date, ...]]]:
        return [split_cutoffs(grid, cfg.trainset, horizon_days=task_cfg.horizon_days)]

    built, digest, data_end = labelled_sets(cfg, task_cfgs, specs, plan)
    out = []
    for task_cfg, splits, df in built:
        manifest = trainset_manifest(task_cfg, df, specs, data_digest=digest, data_end=data_end, splits=splits)
        path = write_trainset(df, manifest, cfg.paths.trainsets_dir / task_cfg.name)
        out.append(_summary(task_cfg.name, path, manifest))
    return out


def _summary(task: str, out: Path, manifest: dict[str, Any]) -> TrainsetSummary:
    return TrainsetSummary(
        task=task, path=out, n_features=len(manifest["features"]), cutoffs=manifest["cutoffs"],
        splits=manifest["splits"], feature_spec_hash=manifest["feature_spec_hash"],
        data_digest=manifest["data_digest"],
    )


__all__ = ["TrainsetSummary", "build_features_at", "build_trainset", "build_trainsets", "labelled_sets",
           "latest_as_of", "load_features"]
