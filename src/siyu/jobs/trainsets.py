"""Jobs: features at an as-of date, and one training set per task (read clean files, write work/)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from siyu.config import SiyuConfig, TaskConfig
from siyu.features import (
    FeatureSet,
    build_features,
    parse_feature_specs,
    to_feature_frame,
    write_features,
)
from siyu.features.specs import SpecError
from siyu.io.duck import connect
from siyu.labels import build_labels, data_bounds
from siyu.trainsets import (
    SPLITS,
    assemble_trainset,
    cutoff_grid,
    data_digest,
    split_cutoffs,
    trainset_manifest,
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


def load_feature_specs(path: str | Path) -> FeatureSet:
    """Parse configs/features.yaml (or another specs file) into a FeatureSet."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: feature specs file not found (feature_specs_path in configs/siyu.yaml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_feature_specs(data)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc


def _inputs(cfg: SiyuConfig) -> tuple[Path, Path | None]:
    events = cfg.paths.clean_events
    if not events.exists():
        raise FileNotFoundError(f"{events}: no clean events; run `siyu validate --config ...` first")
    users = cfg.paths.clean_users
    return events, (users if users.exists() else None)


def _connect(cfg: SiyuConfig):
    return connect(memory_limit=cfg.memory_limit, threads=cfg.threads, temp_directory=cfg.paths.work_dir / "tmp")


def build_features_at(cfg: SiyuConfig, as_of: date, specs: FeatureSet | None = None) -> Path:
    """Write `work/features/features_<as_of>.parquet` (one row per user known before `as_of`),
    streamed by DuckDB; read it back with `load_features`. `specs`: the feature set to build
    (scoring passes its champions' own); default the configured one."""
    specs = specs if specs is not None else load_feature_specs(cfg.feature_specs_path)
    events, users = _inputs(cfg)
    out = cfg.paths.work_dir / "features" / f"features_{as_of.isoformat()}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    con = _connect(cfg)
    try:
        write_features(con, specs, events, users, [as_of], tmp)
    finally:
        con.close()
    os.replace(tmp, out)
    return out


def load_features(path: str | Path, specs: FeatureSet) -> pd.DataFrame:
    """A features file written by `build_features_at`, with categoricals and float64 restored."""
    return to_feature_frame(pd.read_parquet(path), specs)


def build_trainset(cfg: SiyuConfig, task: str) -> TrainsetSummary:
    """Build `work/trainsets/<task>/{trainset.parquet, manifest.json}` on the Monday cutoff grid."""
    return build_trainsets(cfg, [task])[0]


def build_trainsets(cfg: SiyuConfig, tasks: Sequence[str]) -> list[TrainsetSummary]:
    """Build the training sets of several tasks, with ONE feature query for the union of their
    cutoffs (the grids share the Monday `step_days` grid, so they overlap); each task's rows,
    labels and manifest are the same as when it is built alone."""
    task_cfgs = [cfg.task(t) for t in tasks]
    specs = load_feature_specs(cfg.feature_specs_path)

    def plan(task_cfg: TaskConfig, grid: list[date]) -> list[dict[str, tuple[date, ...]]]:
        return [split_cutoffs(grid, cfg.trainset, horizon_days=task_cfg.horizon_days)]

    built, digest, data_end = labelled_sets(cfg, task_cfgs, specs, plan)
    out = []
    for task_cfg, splits, df in built:
        manifest = trainset_manifest(task_cfg, df, specs, data_digest=digest, data_end=data_end, splits=splits)
        path = write_trainset(df, manifest, cfg.paths.trainsets_dir / task_cfg.name)
        out.append(_summary(task_cfg.name, path, manifest))
    return out


SplitPlan = Callable[[TaskConfig, list[date]], list[dict[str, tuple[date, ...]]]]


def labelled_sets(
    cfg: SiyuConfig, task_cfgs: Sequence[TaskConfig], specs: FeatureSet, plan: SplitPlan
) -> tuple[list[tuple[TaskConfig, dict[str, tuple[date, ...]], pd.DataFrame]], str, date]:
    """([(task, splits, assembled frame)] for every split `plan` gives each task on its cutoff
    grid, data digest, data_end): one feature pass over the union of all their cutoffs."""
    events, users = _inputs(cfg)
    con = _connect(cfg)
    try:
        first_event, data_end = data_bounds(con, events)
        plans = []
        for task_cfg in task_cfgs:
            grid = cutoff_grid(
                first_event, data_end, horizon_days=task_cfg.horizon_days, step_days=cfg.trainset.step_days,
                min_history_days=cfg.trainset.min_history_days,
            )
            plans += [(task_cfg, splits, [c for name in SPLITS for c in splits[name]])
                      for splits in plan(task_cfg, grid)]
        union = sorted({c for _, _, cuts in plans for c in cuts})
        features = build_features(con, specs, events, users, union)
        labelled = [
            (task_cfg, splits, cuts, build_labels(con, task_cfg, events, users, cuts, data_end=data_end))
            for task_cfg, splits, cuts in plans
        ]
        digest = data_digest(con, events)
    finally:
        con.close()
    built = [(task_cfg, splits, assemble_trainset(_task_rows(features, cuts, specs), labels, splits))
             for task_cfg, splits, cuts, labels in labelled]
    return built, digest, data_end


def _task_rows(features: pd.DataFrame, cuts: Sequence[date], specs: FeatureSet) -> pd.DataFrame:
    """The feature rows of one task's cutoffs, with categorical levels recomputed from them alone
    (as a build for these cutoffs only would give)."""
    rows = features[features["cutoff"].isin(pd.to_datetime(list(cuts)))]
    if len(rows) == len(features):
        return features
    return to_feature_frame(rows.reset_index(drop=True), specs)


def _summary(task: str, out: Path, manifest: dict[str, Any]) -> TrainsetSummary:
    return TrainsetSummary(
        task=task, path=out, n_features=len(manifest["features"]), cutoffs=manifest["cutoffs"],
        splits=manifest["splits"], feature_spec_hash=manifest["feature_spec_hash"],
        data_digest=manifest["data_digest"],
    )


def latest_as_of(cfg: SiyuConfig) -> date:
    """The day after the last clean event: the natural as-of date for scoring."""
    events, _ = _inputs(cfg)
    con = _connect(cfg)
    try:
        return data_bounds(con, events)[1]
    finally:
        con.close()


__all__ = ["TrainsetSummary", "build_features_at", "build_trainset", "build_trainsets", "labelled_sets",
           "latest_as_of", "load_feature_specs", "load_features"]
