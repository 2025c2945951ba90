"""Jobs: one training set per task (read clean files, write work/trainsets/); features at an
as-of date and the shared readers live in `siyu.io.workspace`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from siyu.config import SiyuConfig, TaskConfig
from siyu.features.vocabulary import Omission
from siyu.io.workspace import (
    build_features_at,
    data_span,
    feature_set,
    labelled_sets,
    latest_as_of,
    load_features,
    supported_tasks,
)
from siyu.trainsets import (
    CURRENT_FILE,
    check_horizon,
    check_label,
    horizon_fit,
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
    warnings: tuple[str, ...] = ()  # e.g. a horizon that leaves fewer training cutoffs than asked for


log = logging.getLogger(__name__)


class TaskUnsupported(ValueError):
    """A configured task the data cannot label (e.g. net spend without amounts)."""


def build_trainset(cfg: SiyuConfig, task: str) -> TrainsetSummary:
    """Build `work/trainsets/<task>/{trainset.parquet, manifest.json}` on the Monday cutoff grid."""
    return build_trainsets(cfg, [task])[0]


def build_trainsets(cfg: SiyuConfig, tasks: Sequence[str], *,
                    on_users: Callable[[int, int], None] | None = None,
                    on_tasks: Callable[[int, int], None] | None = None) -> list[TrainsetSummary]:
    """Build the training sets of several tasks, with ONE feature query for the union of their
    cutoffs (the grids share the Monday `step_days` grid, so they overlap); each task's rows,
    labels and manifest are the same as when it is built alone.

    The feature set is the configured one resolved against the data's profile; per task, columns
    empty or constant in its training rows are dropped and listed in its manifest. A task the
    data cannot label raises TaskUnsupported, a label without both classes LabelError, a horizon
    that leaves no training cutoff where a shorter one would HorizonTooLong; one that leaves fewer
    than asked for (the task's `n_train_cutoffs`, else the trainset's) is logged and written to
    the manifest's `warnings` (`siyu.trainsets.horizon`). `on_users` / `on_tasks`: the feature pass's progress on the
    embedded engine (users done) or on Spark (tasks done), as `build_features_at` tells it."""
    _, unsupported = supported_tasks(cfg, tasks)
    if unsupported:
        raise TaskUnsupported("; ".join(unsupported.values()))
    uplift = [t for t in tasks if cfg.task(t).uplift]
    if uplift:  # built on campaign cutoffs, not on the grid: one task at a time
        rest = [t for t in tasks if t not in uplift]
        done = {s.task: s for s in (build_trainsets(cfg, rest) if rest else [])}
        done |= {t: build_uplift_trainset(cfg, t) for t in uplift}
        return [done[t] for t in tasks]
    task_cfgs = [cfg.task(t) for t in tasks]
    first_event, end = data_span(cfg)
    warnings = {t.name: check_horizon(horizon_fit(t, first_event, end, cfg.trainset)) for t in task_cfgs}
    for message in filter(None, warnings.values()):
        log.warning("%s", message)
    resolved = feature_set(cfg)
    specs = resolved.specs

    def plan(task_cfg: TaskConfig, grid: list[date]) -> list[dict[str, tuple[date, ...]]]:
        return [split_cutoffs(grid, cfg.trainset.for_task(task_cfg), horizon_days=task_cfg.horizon_days)]

    current: dict = {}
    built, digest, data_end = labelled_sets(cfg, task_cfgs, specs, plan, current=current, on_users=on_users,
                                            on_tasks=on_tasks)
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
        manifest["warnings"] = [w for w in (warnings[task_cfg.name],) if w]
        path = write_trainset(df, manifest, cfg.paths.trainsets_dir / task_cfg.name)
        now = current.get(task_cfg.name)
        if now is not None:
            keep = [c for c in df.columns if c in now and c not in ("user_id", "cutoff")]
            write_current(now[["user_id", "cutoff", *keep]], path)
        else:
            (path / CURRENT_FILE).unlink(missing_ok=True)
        out.append(_summary(task_cfg.name, path, manifest, resolved.omitted, tuple(dropped)))
    return out


def build_uplift_trainset(cfg: SiyuConfig, task: str) -> TrainsetSummary:
    """Build an uplift task's `work/trainsets/<task>/{trainset.parquet, manifest.json}` from the
    campaigns in the clean events (`siyu.uplift.trainset`): `user_id, cutoff, campaign_id, split,
    treatment, propensity, label, <features...>`, one row per user eligible at each campaign's
    cutoff, with point-in-time features at that cutoff (ts < cutoff) and the label over
    [cutoff, cutoff + horizon). The manifest adds `treatments`, `campaigns` (ids per split),
    `skipped_campaigns`, `arms`, `propensity`, `overlap_auc` and `warnings`."""
    from siyu.features import relation_sql
    from siyu.features.build import build_features
    from siyu.io.workspace import (
        clean_history,
        clean_inputs,
        connect_work,
        data_profile,
        mark_uplift_skipped,
    )
    from siyu.labels import build_labels, data_bounds, task_treatments
    from siyu.trainsets import GridError, data_digest
    from siyu.uplift import trainset as ut
    from siyu.uplift.campaigns import assignments_sql, campaigns_sql

    task_cfg = cfg.task(task)
    if not task_cfg.uplift:
        raise TaskUnsupported(f"{task} is not an uplift task (it has no `treatments`)")
    mark_uplift_skipped(cfg, task, None)  # building again: an earlier skip no longer holds
    _, unsupported = supported_tasks(cfg, [task])
    if unsupported:
        raise TaskUnsupported(unsupported[task])
    treatments = task_treatments(task_cfg, data_profile(cfg))
    resolved = feature_set(cfg)
    specs = resolved.specs
    events, users = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        first_event, data_end = data_bounds(con, events)
        rel = relation_sql(events)
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
        if "campaign_id" not in columns:  # clean events written before the column: campaigns are days
            rel = f"(SELECT *, CAST(NULL AS VARCHAR) AS campaign_id FROM {rel})"
        listed = con.execute(campaigns_sql(rel)).df()
        campaigns, skipped = ut.usable_campaigns(listed, treatments, first_event=first_event, data_end=data_end,
                                                 horizon_days=task_cfg.horizon_days,
                                                 min_history_days=cfg.trainset.min_history_days)
        if campaigns.empty:
            raise GridError(f"{task}: no campaign with {list(treatments)} has its {task_cfg.horizon_days}-day "
                               f"outcome window inside the data ({len(listed)} campaign(s) in the contacts)")
        cutoffs = sorted({c.date() for c in campaigns["cutoff"]})
        population = build_labels(con, task_cfg, events, users, cutoffs, data_end=data_end)
        assignments = con.execute(assignments_sql(rel, list(campaigns["campaign_id"]))).df()
        rows = ut.campaign_rows(population.assign(user_id=population["user_id"].astype(str)), campaigns,
                                assignments.assign(user_id=assignments["user_id"].astype(str)), treatments)
        kept, one_arm = ut.arms_check(rows, cfg.uplift.min_arm_rows)
        skipped += one_arm
        splits = ut.split_campaigns(campaigns[campaigns["campaign_id"].isin(kept)], cfg.uplift,
                                    horizon_days=task_cfg.horizon_days)
        split_of = {c: name for name, ids in splits.items() for c in ids}
        rows = rows[rows["campaign_id"].isin(split_of)]
        rows = rows.assign(split=pd.Categorical(rows["campaign_id"].map(split_of), categories=["train", "valid", "test"]))
        dates = ut.split_dates(rows, splits)
        features = build_features(con, specs, events, users, sorted({d for ds in dates.values() for d in ds}),
                                  history=clean_history(cfg))
        digest = data_digest(con, events)
    finally:
        con.close()
    features = features.assign(user_id=features["user_id"].astype(str))
    frame = rows.merge(features, on=["user_id", "cutoff"], how="inner", validate="many_to_one")
    frame = ut.with_propensity(frame, cfg.uplift.propensity_clip)
    feature_cols = [c for c in features.columns if c not in ("user_id", "cutoff")]
    frame = frame[[*ut.UPLIFT_COLUMNS, *feature_cols]].sort_values(["cutoff", "campaign_id", "user_id"],
                                                                   ignore_index=True)
    if task_cfg.binary:
        frame = frame.assign(label=frame["label"].astype("int64"))
    check_label(frame, task_cfg)
    _, dropped = screen_columns(frame, specs.columns)
    frame = frame.drop(columns=[d.name for d in dropped])
    kept_cols = [c for c in specs.columns if c in frame]
    overlap, warnings = ut.overlap_report(frame, kept_cols, [t for t in treatments if (frame["treatment"] == t).any()],
                                          cfg.uplift, seed=cfg.training.seed, n_jobs=cfg.training.n_jobs)
    manifest = trainset_manifest(task_cfg, frame, prune_specs(specs, kept_cols), data_digest=digest,
                                 data_end=data_end, splits=dates, omitted=resolved.omitted, dropped=dropped)
    manifest |= {
        "kind": "uplift", "treatments": list(treatments), "engine": "embedded",
        "campaigns": {k: list(v) for k, v in splits.items()},
        "skipped_campaigns": [{"campaign_id": s.campaign_id, "reason": s.reason} for s in skipped],
        "arms": ut.arm_stats(frame), "propensity": ut.propensity_table(frame),
        "propensity_clip": cfg.uplift.propensity_clip, "overlap_auc": overlap, "warnings": warnings,
    }
    path = write_trainset(frame, manifest, cfg.paths.trainsets_dir / task)
    (path / CURRENT_FILE).unlink(missing_ok=True)
    return _summary(task, path, manifest, resolved.omitted, tuple(dropped))


def _summary(task: str, out: Path, manifest: dict[str, Any], omitted: tuple[Omission, ...],
             dropped: tuple[Omission, ...]) -> TrainsetSummary:
    return TrainsetSummary(
        task=task, path=out, n_features=len(manifest["features"]), cutoffs=manifest["cutoffs"],
        splits=manifest["splits"], feature_spec_hash=manifest["feature_spec_hash"],
        data_digest=manifest["data_digest"], omitted=omitted, dropped=dropped,
        warnings=() if manifest.get("kind") == "uplift" else tuple(manifest.get("warnings", ())),
    )


__all__ = ["TaskUnsupported", "TrainsetSummary", "supported_tasks", "build_features_at", "build_trainset", "build_trainsets",
           "build_uplift_trainset", "labelled_sets",
           "latest_as_of", "load_features"]
