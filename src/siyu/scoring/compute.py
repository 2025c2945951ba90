"""From features at as-of and the champions to tag columns and guard verdicts (no I/O)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from siyu.config import ScoringConfig, TaskConfig
from siyu.labels import population_mask
from siyu.scoring.guards import (
    GuardFailed,
    GuardReport,
    GuardResult,
    check_changed_share,
    check_feature_drift,
    check_min_users,
    check_schema,
    check_score_shift,
)
from siyu.scoring.tags import TagColumn, band_tag, reason_tags, rule_tags


class ChampionLike(Protocol):
    """What scoring needs of a champion (siyu.tracking.Champion has it)."""

    feature_names: list[str]
    model_name: str
    model_version: str
    reference_profile: Mapping[str, Any]
    estimator: Any

    def predict_score(self, X: pd.DataFrame) -> np.ndarray: ...


class ReasonsFn(Protocol):
    """(task, champion, X of the users to explain) -> DataFrame reason_1..k aligned with X;
    `on_rows(done, total)` is told as users are explained (a run's progress)."""

    def __call__(self, task: str, champion: ChampionLike, X: pd.DataFrame, *,
                 on_rows: Callable[[int, int], None] | None = None) -> pd.DataFrame: ...


@dataclass(frozen=True)
class ScoredUsers:
    """Every user's tags, the raw scores per task, and the guard verdicts of one run."""

    user_ids: np.ndarray
    columns: tuple[TagColumn, ...]
    scores: dict[str, np.ndarray]
    report: GuardReport
    timings: dict[str, float] = field(default_factory=dict)


def _aligned(previous: pd.DataFrame | None, column: str) -> pd.Series | None:
    if previous is None or column not in previous.columns:
        return None
    return previous[column]


def _align_previous(previous: pd.DataFrame, user_ids: np.ndarray) -> pd.DataFrame:
    """The previous run's tags in the order of `user_ids` (NaN for new users), tags as categoricals."""
    frame = previous.set_axis(previous.index.astype(object)).astype(
        {c: "category" for c in previous.columns if not str(c).endswith("_score")})
    # once: every tag below reads the same aligned rows
    return frame.reindex(pd.Index(user_ids, dtype=object))


def _check_schemas(features: pd.DataFrame, champions: Mapping[str, ChampionLike], force: bool) -> list[GuardResult]:
    results = [check_schema(t, c.feature_names, features, c.reference_profile) for t, c in champions.items()]
    missing = [r for r in results if any(o.endswith("(missing)") for o in r.offenders)]
    if missing or (not force and any(r.status == "fail" for r in results)):
        # a model cannot score without its features: --force does not help with missing columns
        raise GuardFailed(results)
    return results


def task_populations(features: pd.DataFrame, tasks: Sequence[TaskConfig],
                     recency_of_activity: str | None) -> dict[str, np.ndarray]:
    """Per task, which rows of `features` belong to its population at as-of: the task's own
    population rule (`siyu.labels.population_mask`), so a model scores the users it was
    trained on (churn: activity within the look-back; the others: every known user).
    `recency_of_activity` names the feature of days since the last activity, as the feature
    set says (`FeatureSet.recency_of("activity")`); None when it has none."""
    present = recency_of_activity is not None and recency_of_activity in features
    recency = features[recency_of_activity].to_numpy(dtype="float64") if present else None
    masks: dict[str, np.ndarray] = {}
    for task in tasks:
        mask = population_mask(task, recency)
        masks[task.name] = np.ones(len(features), dtype=bool) if mask is None else mask
    return masks


def _expand(col: TagColumn, mask: np.ndarray) -> TagColumn:
    """A tag computed on a population, spread back over every user (no tag outside it)."""
    n = len(mask)
    scores = None
    if col.scores is not None:
        scores = np.full(n, np.nan)
        scores[mask] = col.scores
    values = col.values
    if isinstance(values, pd.Categorical):
        codes = np.full(n, -1, dtype=values.codes.dtype)
        codes[mask] = values.codes
        values = pd.Categorical.from_codes(codes, categories=values.categories)
    else:
        full = np.full(n, None, dtype=object)
        full[mask] = values
        values = full
    return TagColumn(col.tag, values, scores, col.model, col.model_version)


def score_users(
    features: pd.DataFrame,
    champions: Mapping[str, ChampionLike],
    cfg: ScoringConfig,
    previous: pd.DataFrame | None = None,
    *,
    force: bool = False,
    reasons: ReasonsFn | None = None,
    populations: Mapping[str, np.ndarray] | None = None,
    as_of: date | None = None,
    scores: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScoredUsers:
    """Score every user with each task's champion and turn the scores into tags.

    `features`: user_id + feature columns at as-of (one row per user). `previous`: the last
    published run's tags, wide and indexed by user_id (columns `<tag>` and `<tag>_score`), for
    hysteresis and the change / shift guards. `populations`: per task, a boolean mask of the
    rows it scores (`task_populations`; default every row); users outside get no tag and a NaN
    score. `as_of`: the features' date, so aging features (tenure) are checked for drift net of
    the days since the champion's reference cutoff. `scores`: per task, scores already computed
    elsewhere (the Spark engine), one per row of `features`; that task's champion is then not
    called, and its population and everything after are the same. `progress` is told each step
    as it starts (one line each, for a spinner). Raises GuardFailed when a guard fails and not
    `force` (the report is on the exception).
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    user_ids = features["user_id"].astype(str).to_numpy()
    if pd.Series(user_ids).duplicated().any():
        dup = pd.Series(user_ids)[pd.Series(user_ids).duplicated()].unique()[:3]
        raise ValueError(f"features: user_id must be unique at one as-of, got duplicates e.g. {list(dup)}")
    results = [check_min_users(len(user_ids), cfg.guards)]
    if len(user_ids) == 0:  # nothing to score or publish, forced or not
        raise GuardFailed(results)
    results += _check_schemas(features, champions, force)
    if previous is not None:
        previous = _align_previous(previous, user_ids)
    everyone = np.ones(len(user_ids), dtype=bool)
    masks = {task: everyone if populations is None else np.asarray(populations.get(task, everyone), dtype=bool)
             for task in champions}
    given, scores = scores or {}, {}
    drift_tables = []
    timings["drift"] = timings["predict"] = 0.0
    for i, (task, champ) in enumerate(champions.items(), start=1):
        say(f"scoring {task} ({i} of {len(champions)}): drift and scores of {int(masks[task].sum()):,} users")
        # one copy of the model's rows at a time, shared by the drift check and the prediction
        X = features[list(champ.feature_names)][masks[task]]
        start = time.perf_counter()
        result, table = check_feature_drift(task, champ.reference_profile, X, cfg.guards, as_of=as_of)
        results.append(result)
        drift_tables.append(table)
        timings["drift"] += time.perf_counter() - start
        start = time.perf_counter()
        scores[task] = np.full(len(user_ids), np.nan)
        if task in given:
            scores[task][masks[task]] = np.asarray(given[task], dtype="float64")[masks[task]]
        elif len(X):
            scores[task][masks[task]] = np.asarray(champ.predict_score(X), dtype="float64")
        timings["predict"] += time.perf_counter() - start
        del X

    say("scoring: bands, rule tags and guards")
    start = time.perf_counter()
    columns: list[TagColumn] = []
    for band in cfg.bands:
        champ, mask = champions[band.task], masks[band.task]
        prev_values = _aligned(previous, band.tag)
        col = band_tag(scores[band.task][mask], band, model=champ.model_name,
                       model_version=str(champ.model_version),
                       previous=None if prev_values is None else prev_values[mask])
        prev_scores = _aligned(previous, f"{band.tag}_score")
        prev_scores = None if prev_scores is None else prev_scores.dropna().to_numpy(dtype="float64")
        results.append(check_score_shift(band.tag, col.scores, prev_scores, champ.reference_profile, cfg.guards))
        col = _expand(col, mask)
        columns.append(col)
        results.append(check_changed_share(band.tag, prev_values, col.values, cfg.guards))
    for col in rule_tags(features, cfg.rule_tags):
        columns.append(col)
        results.append(check_changed_share(col.tag, _aligned(previous, col.tag), col.values, cfg.guards))
    timings["tags"] = time.perf_counter() - start

    drift = pd.concat(drift_tables, ignore_index=True) if drift_tables else pd.DataFrame()
    report = GuardReport(tuple(results), drift)
    if report.failed and not force:
        raise GuardFailed(report.results)

    start = time.perf_counter()
    if reasons is not None:
        columns += _reason_columns(features, champions, cfg, columns, reasons, say)
    timings["reasons"] = time.perf_counter() - start
    return ScoredUsers(user_ids, tuple(columns), scores, report, timings)


def _reasons_done(say: Callable[[str], None], task: str, done: int, total: int) -> None:
    say(f"scoring: {task} reasons, {done:,} of {total:,} users")


def _reason_columns(
    features: pd.DataFrame,
    champions: Mapping[str, ChampionLike],
    cfg: ScoringConfig,
    columns: list[TagColumn],
    reasons: ReasonsFn,
    say: Callable[[str], None],
) -> list[TagColumn]:
    out: list[TagColumn] = []
    by_tag = {c.tag: c for c in columns}
    for task in cfg.reason_tasks:
        if task not in champions or cfg.reasons_top_k == 0:
            continue
        band = next((b for b in cfg.bands if b.task == task), None)
        mask = np.ones(len(features), dtype=bool)
        if band is not None and cfg.reason_bands:
            mask = pd.Series(by_tag[band.tag].values).isin(list(cfg.reason_bands)).to_numpy()
        positions = np.flatnonzero(mask)
        if len(positions) == 0:
            continue
        champ = champions[task]
        say(f"scoring: {task} reasons for {len(positions):,} users")
        X = features[list(champ.feature_names)].iloc[positions]
        texts = reasons(task, champ, X, on_rows=functools.partial(_reasons_done, say, task))
        out += reason_tags(task, texts, len(features), positions, model=champ.model_name,
                           model_version=str(champ.model_version))
    return out
