"""The work folder as the stages share it: clean inputs, features at an as-of date, training
sets read back for a task, and features + labels for many cutoff plans in one pass. Jobs call
these; no job imports another."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from siyu.config import SiyuConfig, TaskConfig
from siyu.contract.profile import DataProfile, profile_from_rows, profile_parts, profile_sql
from siyu.features import FeatureSet, build_features, relation_sql, to_feature_frame, write_features
from siyu.features.vocabulary import ResolvedFeatures
from siyu.io.duck import connect
from siyu.io.writers import write_json
from siyu.labels import build_labels, data_bounds, population_mask, task_lacks
from siyu.trainsets import (
    CURRENT_FILE,
    GRID_ORIGIN,
    SPLITS,
    assemble_trainset,
    check_purged,
    cutoff_grid,
    data_digest,
    load_trainset,
)

ID_COLUMNS = ("user_id", "cutoff", "split", "label")
log = logging.getLogger(__name__)


def clean_inputs(cfg: SiyuConfig) -> tuple[Path, Path | None]:
    """(clean events folder, clean users file or None) that `siyu validate` wrote. Read the
    events through `siyu.features.relation_sql` (DuckDB) or `siyu.io.spark.read_events`: the
    folder may be a view over the source (`siyu.io.cleanlog`)."""
    events = cfg.paths.clean_events
    if not events.exists():
        raise FileNotFoundError(f"{events}: no clean events; run `siyu validate --config ...` first")
    users = cfg.paths.clean_users
    return events, (users if users.exists() else None)


def connect_work(cfg: SiyuConfig):  # noqa: ANN201 - a DuckDB connection
    """A DuckDB connection with the project's memory limit and threads, spilling under work/tmp."""
    return connect(memory_limit=cfg.memory_limit, threads=cfg.threads, temp_directory=cfg.paths.work_dir / "tmp")


def profile_clean(con, events: Path, users: Path | None,  # noqa: ANN001 - DuckDB
                  changing: tuple[str, ...] = (), history: Path | None = None, *,
                  users_with_events: int | None = None, groups: list[tuple] | None = None) -> DataProfile:
    """Profile the clean events (and the users' attribute columns) on `con`; `changing`: the
    attributes the dataset declares changing (never features without a history); `history`:
    their clean history, when the dataset has one; `users_with_events`: the distinct users of
    the events when the caller counted them already (validation does: one scan fewer);
    `groups`: `profile_sql`'s groups of the events, when the caller has them."""
    queries = profile_sql(relation_sql(events), count_users=users_with_events is None)
    groups = con.execute(queries["groups"]).fetchall() if groups is None else groups
    n_users = users_with_events if users_with_events is not None else con.execute(queries["users"]).fetchone()[0]
    totals, types, channels = profile_parts(groups, int(n_users))
    attributes: dict[str, int] = {}
    if users is not None:
        rel = relation_sql(users)
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        attrs = [n for n in names if n not in ("user_id", "joined_at")]
        if attrs:
            counts = con.execute("SELECT " + ", ".join(f'count(DISTINCT "{a}")' for a in attrs)
                                 + f" FROM {rel}").fetchall()[0]
            attributes = dict(zip(attrs, (int(c) for c in counts), strict=True))
    found: dict[str, int] = {}
    if history is not None and history.exists() and changing:
        rows = con.execute(f"SELECT attribute, count(DISTINCT value) FROM {relation_sql(history)} "
                           "GROUP BY attribute").fetchall()
        found = {str(a): int(n) for a, n in rows if a in changing and n}
    return profile_from_rows(totals, types, channels, attributes, changing, found)


def _changing(cfg: SiyuConfig) -> tuple[str, ...]:
    return tuple(cfg.dataset.users.changing) if cfg.dataset.users is not None else ()


def clean_history(cfg: SiyuConfig) -> Path | None:
    """The clean history of the changing attributes (`users.history`), when the dataset has one."""
    users = cfg.dataset.users
    path = cfg.paths.clean_history
    return path if users is not None and users.history is not None and path.exists() else None


def profile_path(cfg: SiyuConfig) -> Path:
    return cfg.paths.reports_dir / "profile.json"


def write_profile(cfg: SiyuConfig, con=None, *, users_with_events: int | None = None,  # noqa: ANN001
                  groups: list[tuple] | None = None) -> DataProfile:
    """Profile the clean files and write `work/reports/profile.json` (what `siyu validate` does)."""
    events, users = clean_inputs(cfg)
    own = con is None
    con = connect_work(cfg) if own else con
    try:
        profile = profile_clean(con, events, users, _changing(cfg), clean_history(cfg),
                                users_with_events=users_with_events, groups=groups)
    finally:
        if own:
            con.close()
    write_json(profile.to_dict(), profile_path(cfg))
    return profile


def data_profile(cfg: SiyuConfig) -> DataProfile:
    """The clean data's profile: `work/reports/profile.json` when it is newer than the clean
    events, else profiled now (and written)."""
    path = profile_path(cfg)
    events, _ = clean_inputs(cfg)
    newest = max((f.stat().st_mtime for f in events.rglob("*") if f.is_file()), default=0.0)
    if path.exists() and path.stat().st_mtime >= newest:
        profile = DataProfile.from_dict(json.loads(path.read_text(encoding="utf-8")))
        # Which attributes change is the config's word, today's: not what it said at validation.
        history = {a: n for a, n in profile.history.items() if a in _changing(cfg)} if clean_history(cfg) else {}
        return replace(profile, changing=tuple(c for c in _changing(cfg) if c not in history), history=history)
    return write_profile(cfg)


def feature_set(cfg: SiyuConfig) -> ResolvedFeatures:
    """The configured feature specs resolved against the clean data: selectors become the data's
    own vocabulary, specs it cannot feed are left out with a reason. Before `siyu validate` has
    written clean data, the specs as configured (selectors only checked)."""
    try:
        profile = data_profile(cfg)
    except FileNotFoundError:
        profile = None
    return cfg.features_for(profile)


def supported_tasks(cfg: SiyuConfig, tasks: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """(tasks the clean data can label, {task: why not} for the others, e.g. LTV without amounts).
    Without clean data yet, every task (the command that needs the data says so)."""
    try:
        profile = data_profile(cfg)
    except FileNotFoundError:
        return list(tasks), {}
    why = {t: r for t in tasks if (r := task_lacks(cfg.task(t), profile, min_treated_rows=cfg.uplift.min_treated_rows)
                                   or _uplift_skipped(cfg, t))}
    return [t for t in tasks if t not in why], why


UPLIFT_SKIPPED_FILE = "skipped.txt"  # beside an uplift task's training set: why `--task all` could not build it


def _uplift_skipped(cfg: SiyuConfig, task: str) -> str | None:
    """The reason the last `siyu trainset --task all` recorded for not building an uplift task
    (too few campaigns with both arms, ...), so train / compare / promote skip it too."""
    path = cfg.paths.trainsets_dir / task / UPLIFT_SKIPPED_FILE
    if not cfg.task(task).uplift or not path.exists():
        return None
    return path.read_text(encoding="utf-8").strip() or f"{task}: no uplift training set could be built"


def mark_uplift_skipped(cfg: SiyuConfig, task: str, reason: str | None) -> None:
    """Record (or with None clear) why an uplift task's training set was not built."""
    path = cfg.paths.trainsets_dir / task / UPLIFT_SKIPPED_FILE
    if reason is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason + "\n", encoding="utf-8")


def build_features_at(cfg: SiyuConfig, as_of: date, specs: FeatureSet | None = None, *,
                      on_users: Callable[[int, int], None] | None = None,
                      on_tasks: Callable[[int, int], None] | None = None) -> Path:
    """Write `work/features/features_<as_of>.parquet` (one row per user known before `as_of`),
    on the configured engine: streamed by DuckDB into one file, or written by Spark as a folder
    of part files under the same name (the same rows and schema); read it back with
    `load_features`. `specs`: the feature set to build (scoring passes its champions' own);
    default the configured one. `on_users(done, total)`: the embedded engine's progress, per batch;
    `on_tasks(done, total)`: Spark's, its running stages' tasks (`siyu.io.spark.told_tasks`)."""
    specs = specs if specs is not None else feature_set(cfg).specs
    events, users = clean_inputs(cfg)
    out = features_file(cfg, as_of)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    if cfg.engine == "spark":
        from siyu.io.spark import told_tasks, write_spark_features

        spark = spark_of(cfg)
        with told_tasks(spark, on_tasks):
            write_spark_features(spark, specs, events, users, [as_of], tmp, history=clean_history(cfg))
    else:
        con = connect_work(cfg)
        try:
            write_features(con, specs, events, users, [as_of], tmp, history=clean_history(cfg), on_users=on_users)
        finally:
            con.close()
    _replace(tmp, out)
    return out


def features_file(cfg: SiyuConfig, as_of: date) -> Path:
    """Where `build_features_at` writes the features at `as_of` (a file, or a folder on Spark)."""
    return cfg.paths.work_dir / "features" / f"features_{as_of.isoformat()}.parquet"


def _replace(tmp: Path, out: Path) -> None:
    """Move `tmp` (a file or a folder) to `out`, whichever of the two `out` was before."""
    if out.is_dir() and not out.is_symlink():
        shutil.rmtree(out)
    elif out.exists() and tmp.is_dir():
        out.unlink()
    os.replace(tmp, out)


def spark_of(cfg: SiyuConfig):  # noqa: ANN201 - a SparkSession (pyspark is an optional extra)
    """The Spark session of `cfg.spark` (the running one when there is one)."""
    from siyu.io.spark import spark_session

    return spark_session(cfg.spark.master, cfg.spark.settings)


def load_features(path: str | Path, specs: FeatureSet) -> pd.DataFrame:
    """A features file written by `build_features_at`, with categoricals and float64 restored."""
    return to_feature_frame(pd.read_parquet(path), specs)


SplitPlan = Callable[[TaskConfig, list[date]], list[dict[str, tuple[date, ...]]]]


def current_cutoff(cfg: SiyuConfig, data_end: date) -> date:
    """The newest grid cutoff the data reaches (no label window needed): where a model trained
    now would first be applied."""
    return data_end - timedelta(days=(data_end - GRID_ORIGIN).days % cfg.trainset.step_days)


def labelled_sets(
    cfg: SiyuConfig, task_cfgs: Sequence[TaskConfig], specs: FeatureSet, plan: SplitPlan,
    current: dict[str, pd.DataFrame] | None = None, on_users: Callable[[int, int], None] | None = None,
    on_tasks: Callable[[int, int], None] | None = None,
) -> tuple[list[tuple[TaskConfig, dict[str, tuple[date, ...]], pd.DataFrame]], str, date]:
    """([(task, splits, assembled frame)] for every split `plan` gives each task on its cutoff
    grid, data digest, data_end): one feature pass over the union of all their cutoffs.

    `current`, when given, receives per task its population's feature rows at the current cutoff
    (`current_cutoff`, unlabelled), from the same pass. `on_users` / `on_tasks`: the engines'
    progress, as for `build_features_at`."""
    events, users = clean_inputs(cfg)
    con = connect_work(cfg)
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
        union = {c for _, _, cuts in plans for c in cuts}
        now = current_cutoff(cfg, data_end)
        cutoffs = sorted(union | ({now} if current is not None else set()))
        if cfg.engine == "spark":
            features, labels = _spark_features_labels(cfg, specs, events, users, cutoffs, plans, data_end, on_tasks)
        else:
            features = build_features(con, specs, events, users, cutoffs, history=clean_history(cfg), on_users=on_users)
            labels = [build_labels(con, task_cfg, events, users, cuts, data_end=data_end)
                      for task_cfg, _, cuts in plans]
        labelled = [(task_cfg, splits, cuts, lab) for (task_cfg, splits, cuts), lab in zip(plans, labels, strict=True)]
        digest = data_digest(con, events)
    finally:
        con.close()
    if current is not None:
        rows = _task_rows(features, [now], specs)
        recency = specs.recency_of("activity")
        for task_cfg in task_cfgs:
            try:
                mask = population_mask(task_cfg, rows[recency].to_numpy(dtype="float64") if recency in rows else None)
            except ValueError:  # the specs cannot say who is in the population: the caller falls back
                continue
            current[task_cfg.name] = rows if mask is None else rows[mask].reset_index(drop=True)
        features = features[features["cutoff"] != pd.Timestamp(now)] if now not in union else features
    built = [(task_cfg, splits, assemble_trainset(_task_rows(features, cuts, specs), labels, splits))
             for task_cfg, splits, cuts, labels in labelled]
    return built, digest, data_end


def load_current_rows(cfg: SiyuConfig, task: str, features: Sequence[str]) -> tuple[date, pd.DataFrame] | None:
    """(current cutoff, the task population's features there), saved beside its training set
    (None for a training set built before they were, or without rows)."""
    path = cfg.paths.trainsets_dir / task / CURRENT_FILE
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    # The manifest alone: reading the whole training set again for its categories cost each
    # trained model a second or more.
    manifest = json.loads((cfg.paths.trainsets_dir / task / "manifest.json").read_text(encoding="utf-8"))
    cats = {f["name"]: f.get("categories") for f in manifest["features"] if f["dtype"] == "categorical"}
    for col, levels in cats.items():
        if col in frame:
            frame[col] = pd.Categorical(frame[col].astype(object), categories=levels)
    missing = [c for c in features if c not in frame]
    if missing or frame.empty:
        return None
    return pd.Timestamp(frame["cutoff"].iloc[0]).date(), frame[list(features)]


def _spark_features_labels(cfg: SiyuConfig, specs: FeatureSet, events: Path, users: Path | None,
                           cutoffs: list[date], plans: list, data_end: date,
                           on_tasks: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Features at every cutoff and each plan's labels, computed on Spark and collected."""
    from siyu.engines.spark import spark_features, spark_labels
    from siyu.io.spark import read_events, read_users, told_tasks

    spark = spark_of(cfg)
    ev, us = read_events(spark, events), read_users(spark, users)
    history = clean_history(cfg)
    with told_tasks(spark, on_tasks):
        features = spark_features(specs, ev, us, cutoffs,
                                  history=None if history is None else spark.read.parquet(str(history)))
        labels = [spark_labels(task_cfg, ev, us, cuts, data_end=data_end) for task_cfg, _, cuts in plans]
    return features, labels


def _task_rows(features: pd.DataFrame, cuts: Sequence[date], specs: FeatureSet) -> pd.DataFrame:
    """The feature rows of one task's cutoffs, with categorical levels recomputed from them alone
    (as a build for these cutoffs only would give)."""
    rows = features[features["cutoff"].isin(pd.to_datetime(list(cuts)))]
    if len(rows) == len(features):
        return features
    return to_feature_frame(rows.reset_index(drop=True), specs)


def data_span(cfg: SiyuConfig) -> tuple[date, date]:
    """(first clean event's local date, the day after the last one's): the history the data holds."""
    events, _ = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        return data_bounds(con, events)
    finally:
        con.close()


def latest_as_of(cfg: SiyuConfig) -> date:
    """The day after the last clean event: the natural as-of date for scoring."""
    return data_span(cfg)[1]


class TrainsetMissing(FileNotFoundError):
    """The task's training set has not been built."""


def load_task_data(cfg: SiyuConfig, task: str, *, features: bool = True) -> tuple[pd.DataFrame, dict, list[str]]:
    """(training set, manifest, feature names) of `task`, checked for the three splits and the purge;
    `features=False` reads the rows' keys, split and label without the feature columns (a
    leaderboard needs no more, and reading them was most of its time)."""
    directory = cfg.paths.trainsets_dir / task
    if not (directory / "trainset.parquet").exists():
        raise TrainsetMissing(
            f"{directory}/trainset.parquet: not found; build it first with `siyu trainset --task {task}`"
        )
    frame, manifest = load_trainset(directory, features=features)
    names = [f["name"] for f in manifest.get("features", [])] or [c for c in frame.columns if c not in ID_COLUMNS]
    missing = [c for c in (*ID_COLUMNS, *(names if features else ())) if c not in frame.columns]
    if missing:
        raise ValueError(f"{directory}: trainset lacks columns {missing[:5]} (manifest lists them)")
    splits = set(frame["split"].astype(str).unique())
    if not {"train", "valid", "test"} <= splits:
        raise ValueError(f"{directory}: need splits train, valid and test; found {sorted(splits)}")
    check_purged(_cutoffs_by_split(frame), int(manifest["horizon_days"]), where=str(directory))
    return frame, manifest, names


def _cutoffs_by_split(frame: pd.DataFrame) -> dict[str, tuple[date, ...]]:
    split = frame["split"].astype(str)
    return {name: tuple(sorted(pd.Timestamp(c).date() for c in frame.loc[split == name, "cutoff"].unique()))
            for name in SPLITS}


def trained_specs(cfg: SiyuConfig, champions: Mapping[str, Any]) -> FeatureSet:
    """The feature specs the champions were trained on (their union): scoring builds exactly
    these, whatever `features.yaml` says today. A champion logged before specs travelled with
    models falls back to the configured specs, with a warning."""
    sets = [c.feature_specs for c in champions.values() if getattr(c, "feature_specs", None) is not None]
    if len(sets) < len(champions):
        older = [t for t, c in champions.items() if getattr(c, "feature_specs", None) is None]
        log.warning("champion(s) %s carry no feature specs (trained before they travelled with the model); "
                    "building their features from %s", older, cfg.feature_specs_path)
        sets.append(feature_set(cfg).specs)
    return FeatureSet.union(sets)
