"""Jobs: one training set per task (read clean files, write work/trainsets/); features at an
as-of date and the shared readers live in `siyu.io.workspace`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from siyu.config import SiyuConfig, TaskConfig
from siyu.features.vocabulary import Omission
from siyu.io.workspace import (
    build_features_at,
    feature_set,
    labelled_sets,
    latest_as_of,
    load_features,
    supported_tasks,
)
from siyu.trainsets import (
    CURRENT_FILE,
    check_label,
    prune_specs,
    screen_columns,
    split_cutoffs,
    trainset_manifest,
    write_current,
    write_trainset,
)


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
    omitted: tuple[Omission, ...] = ()  # specs the data cannot feed
    dropped: tuple[Omission, ...] = ()  # columns empty or constant in the training rows


class TaskUnsupported(ValueError):
    """A configured task the data cannot label (e.g. net spend without amounts)."""


def build_trainset(cfg: SiyuConfig, task: str) -> TrainsetSummary:
    """Build `work/trainsets/<task>/{trainset.parquet, manifest.json}` on the Monday cutoff grid."""
    return build_trainsets(cfg, [task])[0]


def build_trainsets(cfg: SiyuConfig, tasks: Sequence[str]) -> list[TrainsetSummary]:
    """Build the training sets of several tasks, with ONE feature query for the union of their
    cutoffs (the grids share the Monday `step_days` grid, so they overlap); each task's rows,
    labels and manifest are the same as when it is built alone.

    The feature set is the configured one resolved against the data's profile; per task, columns
    empty or constant in its training rows are dropped and listed in its manifest. A task the
    data cannot label raises TaskUnsupported, a label without both classes LabelError."""
    _, unsupported = supported_tasks(cfg, tasks)
    if unsupported:
        raise TaskUnsupported("; ".join(unsupported.values()))
    task_cfgs = [cfg.task(t) for t in tasks]
    resolved = feature_set(cfg)
    specs = resolved.specs

    def plan(task_cfg: TaskConfig, grid: list[date]) -> list[dict[str, tuple[date, ...]]]:
        return [split_cutoffs(grid, cfg.trainset, horizon_days=task_cfg.horizon_days)]

    current: dict = {}
    built, digest, data_end = labelled_sets(cfg, task_cfgs, specs, plan, current=current)
    out = []
    screened = []
    for task_cfg, splits, df in built:  # every label is checked before anything is written
        check_label(df, task_cfg)
        _, dropped = screen_columns(df, specs.columns)
        screened.append((task_cfg, splits, df.drop(columns=[d.name for d in dropped]), dropped))
    for task_cfg, splits, df, dropped in screened:
        manifest = trainset_manifest(task_cfg, df, prune_specs(specs, [c for c in specs.columns if c in df]),
                                     data_digest=digest, data_end=data_end, splits=splits,
                                     omitted=resolved.omitted, dropped=dropped)
        path = write_trainset(df, manifest, cfg.paths.trainsets_dir / task_cfg.name)
        now = current.get(task_cfg.name)
        if now is not None:
            keep = [c for c in df.columns if c in now and c not in ("user_id", "cutoff")]
            write_current(now[["user_id", "cutoff", *keep]], path)
        else:
            (path / CURRENT_FILE).unlink(missing_ok=True)
        out.append(_summary(task_cfg.name, path, manifest, resolved.omitted, tuple(dropped)))
    return out


def _summary(task: str, out: Path, manifest: dict[str, Any], omitted: tuple[Omission, ...],
             dropped: tuple[Omission, ...]) -> TrainsetSummary:
    return TrainsetSummary(
        task=task, path=out, n_features=len(manifest["features"]), cutoffs=manifest["cutoffs"],
        splits=manifest["splits"], feature_spec_hash=manifest["feature_spec_hash"],
        data_digest=manifest["data_digest"], omitted=omitted, dropped=dropped,
    )


__all__ = ["TaskUnsupported", "TrainsetSummary", "supported_tasks", "build_features_at", "build_trainset", "build_trainsets", "labelled_sets",
           "latest_as_of", "load_features"]
