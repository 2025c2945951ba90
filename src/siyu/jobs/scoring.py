"""The batch scoring job: features at as-of -> champions -> tags -> guards -> one atomic publish.

Also the tag exports for the SCRM and rollback. The steps that touch other stages (features,
champions, reasons, MLflow) are injected through `ScoringDeps`, so tests and benchmarks can
swap them; `default_deps()` wires the real ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig, TrackingConfig
from siyu.features.specs import FeatureSet
from siyu.io.publishing import publish_once
from siyu.io.tagstore import RunRecord, TagStore, TagStoreError, open_tag_store
from siyu.io.workspace import supported_tasks, trained_specs
from siyu.scoring import (
    ChampionLike,
    GuardResult,
    ReasonsFn,
    build_tag_table,
    score_users,
    segment_tag,
    tag_counts,
    task_populations,
)
from siyu.scoring.guards import guard_dicts

log = logging.getLogger(__name__)


class FeaturesFn(Protocol):
    """(cfg, as_of, specs) -> features; `on_users(done, total)` is told as the embedded engine's
    users are done, `on_tasks(done, total)` as the Spark engine's tasks are."""

    def __call__(self, cfg: SiyuConfig, as_of: dt.date, specs: FeatureSet, *,
                 on_users: Callable[[int, int], None] | None = None,
                 on_tasks: Callable[[int, int], None] | None = None) -> pd.DataFrame: ...


ChampionFn = Callable[[str, TrackingConfig], ChampionLike]
ReasonsFactory = Callable[[SiyuConfig, FeatureSet], ReasonsFn | None]
MlflowFn = Callable[[SiyuConfig, "ScoringRunSummary", "RunArtifacts"], str | None]


class EngineScoresFn(Protocol):
    """(cfg, as_of, champions, user_ids of the features) -> per task one score per user, computed
    on Spark; `on_tasks(done, total)` is told as its tasks are done."""

    def __call__(self, cfg: SiyuConfig, as_of: dt.date, champions: Mapping[str, ChampionLike], user_ids: np.ndarray,
                 *, on_tasks: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]: ...


Progress = Callable[[str], None]  # told each step as it starts (a spinner's text)


@dataclass(frozen=True)
class ScoringDeps:
    """The other stages the job calls; swap any of them in tests and benchmarks."""

    features_at: FeaturesFn
    load_champion: ChampionFn
    newest_event: Callable[[SiyuConfig], dt.datetime]
    reasons: ReasonsFactory | None = None
    log_mlflow: MlflowFn | None = None
    on_chunk: Callable[[int, int], None] | None = None  # publish progress (tests fail mid-write here)
    # The registered segmentation whose `segment` tag joins the others (None: no segment tag).
    load_segmenter: Callable[[SiyuConfig], ChampionLike | None] | None = None
    # With `engine: spark`: the champions' scores computed on Spark (the driver still cuts the
    # bands, runs the guards and publishes, exactly as for the embedded engine).
    spark_scores: EngineScoresFn | None = None


@dataclass(frozen=True)
class RunArtifacts:
    """What the MLflow run of a scoring run gets: raw scores per tag and the drift table."""

    scores: dict[str, np.ndarray]
    drift: pd.DataFrame
    band_edges: dict[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoringRunSummary:
    """The outcome of `score`: what the CLI prints."""

    run_id: str
    as_of: dt.date
    status: str  # published | unchanged
    n_users: int
    n_rows: int
    counts: dict[str, dict[str, int]]
    model_versions: dict[str, dict[str, str]]
    guards: tuple[GuardResult, ...]
    timings: dict[str, float]
    forced: bool
    previous_run_id: str | None
    store_url: str
    message: str = ""
    mlflow_run_id: str | None = None


# ===================================================================== default wiring
def _features_at(cfg: SiyuConfig, as_of: dt.date, specs: FeatureSet, *,
                 on_users: Callable[[int, int], None] | None = None,
                 on_tasks: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Features `specs` at as-of, also kept as `work/features/features_<as_of>.parquet` so the
    report and `siyu explain` read the very rows this run scored instead of building them again."""
    from siyu.io.workspace import build_features_at, load_features

    path = build_features_at(cfg, as_of, specs, on_users=on_users, on_tasks=on_tasks)
    return load_features(path, specs).drop(columns=["cutoff"])


def _newest_event(cfg: SiyuConfig) -> dt.datetime:
    from siyu.features import relation_sql
    from siyu.io.cleanlog import has_clean_events
    from siyu.io.duck import connect

    clean = cfg.paths.clean_events
    if not has_clean_events(clean):
        raise ValueError(f"{clean}: no validated events to find the newest one; run `siyu validate` "
                         "first or pass --as-of DATE")
    con = connect(memory_limit=cfg.memory_limit, threads=cfg.threads)
    try:
        newest = con.execute(f"SELECT max(ts) FROM {relation_sql(clean)}").fetchone()[0]
    finally:
        con.close()
    if newest is None:
        raise ValueError(f"{cfg.paths.clean_events}: no events; run `siyu validate` first or pass --as-of")
    return newest


def _reasons_factory(cfg: SiyuConfig, specs: FeatureSet) -> ReasonsFn | None:
    try:
        from siyu.explain.reasons import top_reasons
    except ImportError as exc:
        log.warning("reason tags skipped: %s (siyu.explain.reasons.top_reasons unavailable)", exc)
        return None
    from siyu.features.catalog import feature_catalog

    catalog = feature_catalog(specs)

    def reasons(task: str, champion: ChampionLike, X: pd.DataFrame, *,
                on_rows: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        return top_reasons(champion.estimator, X, catalog, lang=cfg.scoring.lang, k=cfg.scoring.reasons_top_k,
                           currency=cfg.dataset.currency, on_rows=on_rows)

    return reasons


def _load_champion(task: str, tracking: TrackingConfig) -> ChampionLike:
    from siyu.tracking import load_champion

    return load_champion(task, tracking)


def _load_segmenter(cfg: SiyuConfig) -> ChampionLike | None:
    """The champion segmentation when `segments.enabled` (a NoModelError says to run `siyu segment`)."""
    if not cfg.segments.enabled:
        return None
    from siyu.tracking import NoModelError, load_champion

    try:
        return load_champion(cfg.segments.registry_name, cfg.tracking)
    except NoModelError as exc:
        raise NoModelError(f"{exc}; segments.enabled is on: fit one first with `siyu segment`") from None


def _spark_scores(cfg: SiyuConfig, as_of: dt.date, champions: Mapping[str, ChampionLike], user_ids: np.ndarray, *,
                  on_tasks: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Each champion, loaded from the registry by `mlflow.pyfunc.spark_udf`, applied on Spark to
    the features at as-of the Spark engine just wrote."""
    from siyu.engines.spark import spark_scores
    from siyu.io.spark import told_tasks
    from siyu.io.workspace import features_file, spark_of
    from siyu.tracking import version_spark_udf

    spark = spark_of(cfg)
    features = spark.read.parquet(str(features_file(cfg, as_of)))
    models = {task: (version_spark_udf(spark, c.model_name, str(c.model_version), cfg.tracking), c.feature_names)
              for task, c in champions.items()}
    with told_tasks(spark, on_tasks):
        return spark_scores(features, models, user_ids)


def default_deps() -> ScoringDeps:
    """The real stages: siyu.features, siyu.tracking champions, siyu.explain reasons, MLflow."""
    return ScoringDeps(features_at=_features_at, load_champion=_load_champion, newest_event=_newest_event,
                       reasons=_reasons_factory, log_mlflow=log_scoring_run, load_segmenter=_load_segmenter,
                       spark_scores=_spark_scores)


# ===================================================================== helpers
def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def default_as_of(newest_event: dt.datetime) -> dt.date:
    """The day after the newest event (local date): every event is before the as-of midnight."""
    return newest_event.date() + dt.timedelta(days=1)


def run_key(as_of: dt.date, model_versions: Mapping[str, Any], cfg: SiyuConfig) -> str:
    """Identity of a run's inputs: as-of, champion versions and the tagging config."""
    payload = json.dumps({"as_of": as_of.isoformat(), "models": model_versions,
                          "scoring": cfg.scoring.model_dump(mode="json", exclude={"guards", "csv_bom"})},
                         sort_keys=True, default=str)
    return f"{as_of.isoformat()}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def _model_versions(champions: Mapping[str, ChampionLike]) -> dict[str, dict[str, str]]:
    return {task: {"model_name": c.model_name, "version": str(c.model_version),
                   "run_id": str(getattr(c, "run_id", ""))} for task, c in champions.items()}


def _guard_dicts(results: tuple[GuardResult, ...]) -> list[dict[str, Any]]:
    return guard_dicts(results)


def open_store(cfg: SiyuConfig) -> TagStore:
    """The configured tag store, schema ready."""
    return open_tag_store(cfg.scoring.tag_store_url)


def open_reader(cfg: SiyuConfig) -> TagStore:
    """The configured tag store for reading only: never waits for a publish, never writes."""
    return open_tag_store(cfg.scoring.tag_store_url, read_only=True)


# ===================================================================== the job
def score(
    cfg: SiyuConfig,
    as_of: dt.date | None = None,
    force: bool = False,
    *,
    deps: ScoringDeps | None = None,
    now: dt.datetime | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> ScoringRunSummary:
    """Score every user at `as_of` and publish the tags atomically; see the module docstring.

    `progress` is told each step as it starts: each champion loaded, the features, each task
    scored, the guards, the tag rows published so far, the MLflow run.
    Raises GuardFailed (run recorded as blocked), TagStoreLocked (another run holds the lock).
    Re-running an as-of with the same champions and config publishes nothing (status unchanged).
    """
    deps = deps or default_deps()
    say = progress or (lambda _msg: None)
    started = now or _utcnow()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    if as_of is None:
        say("scoring: finding the newest event")
        as_of = default_as_of(deps.newest_event(cfg))
    tasks, unsupported = supported_tasks(cfg, list(dict.fromkeys(b.task for b in cfg.scoring.bands)))
    for reason in unsupported.values():
        log.warning("not scored: %s", reason)
    if unsupported:  # the run (bands, reasons, guards, exports) then knows only the tasks it scores
        scoring = cfg.scoring.model_copy(update={
            "bands": tuple(b for b in cfg.scoring.bands if b.task in tasks),
            "reason_tasks": tuple(t for t in cfg.scoring.reason_tasks if t in tasks)})
        cfg = cfg.model_copy(update={"scoring": scoring})
    champions = {}
    for i, task in enumerate(tasks, start=1):
        say(f"scoring: loading the {task} champion ({i} of {len(tasks)})")
        champions[task] = deps.load_champion(task, cfg.tracking)
    segmenter = None
    if deps.load_segmenter is not None:
        if cfg.segments.enabled:
            say("scoring: loading the segmentation")
        segmenter = deps.load_segmenter(cfg)
    timings["load_models"] = time.perf_counter() - clock
    versions = _model_versions(champions)
    if segmenter is not None:
        versions.update(_model_versions({cfg.segments.tag: segmenter}))
    key = run_key(as_of, versions, cfg)
    run_id = run_id or f"{as_of:%Y%m%d}-{started:%H%M%S}-{secrets.token_hex(3)}"
    store = open_store(cfg)
    try:
        outcome = publish_once(
            store, run_id=run_id, as_of=as_of, started=started, run_key=key, model_versions=versions, forced=force,
            timings=timings,
            work=lambda: _score_and_publish(cfg, store, deps, run_id, as_of, champions, versions, force, timings,
                                            started, segmenter, say),
            unchanged=lambda done: _unchanged(store, cfg, run_id, as_of, done, versions, force, timings, started))
    finally:
        store.close()
    if isinstance(outcome, ScoringRunSummary):  # unchanged: nothing published, nothing to log
        return outcome
    return _log_to_mlflow(cfg, deps, *outcome, say)


def _unchanged(store: TagStore, cfg: SiyuConfig, run_id: str, as_of: dt.date, done: RunRecord,
               versions: dict, force: bool, timings: dict, started: dt.datetime) -> ScoringRunSummary:
    message = (f"as-of {as_of} with these champion versions is already published as run {done.run_id}; "
               f"nothing written (roll it back with `siyu tags rollback --run {done.run_id}` to recompute)")
    store.finish_run(run_id, "unchanged", _utcnow(), message=message, counts=done.counts, timings=timings)
    counts = done.counts or {}
    first_band = cfg.scoring.bands[0].tag if cfg.scoring.bands else ""
    n_users = sum(counts.get(first_band, {}).values())
    return ScoringRunSummary(run_id, as_of, "unchanged", n_users, 0, counts, versions, (), timings, force,
                             done.run_id, store.url, message)


def _score_and_publish(cfg, store, deps, run_id, as_of, champions, versions, force, timings, started,
                       segmenter=None, say: Progress = lambda _msg: None):
    clock = time.perf_counter()
    specs = trained_specs(cfg, champions if segmenter is None else {**champions, cfg.segments.tag: segmenter})
    say(f"scoring: computing {len(specs.columns)} features at as-of {as_of} on the {cfg.engine} engine")
    doing = f"scoring: computing features at as-of {as_of}"
    features = deps.features_at(cfg, as_of, specs, on_users=_told(say, doing, "users"),
                                on_tasks=_told(say, doing, "Spark tasks"))
    timings["features"] = time.perf_counter() - clock
    if cfg.engine == "spark":
        say(f"scoring: applying {len(champions)} champions on Spark to {len(features):,} users")
    given = _engine_scores(cfg, deps, as_of, champions, features, timings,
                           on_tasks=_told(say, f"scoring: applying {len(champions)} champions on Spark", "Spark tasks"))
    say("scoring: reading the previous run's tags")
    clock = time.perf_counter()
    previous = store.current_run()
    prev_wide = _previous_tags(store, cfg, previous)
    timings["read_previous"] = time.perf_counter() - clock
    reasons = deps.reasons(cfg, specs) if deps.reasons is not None else None
    populations = task_populations(features, [cfg.task(t) for t in champions], specs.recency_of("activity"))
    scored = score_users(features, champions, cfg.scoring, prev_wide, force=force, reasons=reasons,
                         populations=populations, as_of=as_of, scores=given, progress=say)
    timings.update(scored.timings)
    clock = time.perf_counter()
    columns = scored.columns
    if segmenter is not None:
        columns += (segment_tag(features, segmenter, cfg.segments.tag),)
    computed_at = _utcnow()
    table = build_tag_table(scored.user_ids, columns, run_id=run_id, as_of=as_of, computed_at=computed_at)
    counts = tag_counts(columns)
    timings["build_table"] = time.perf_counter() - clock
    forced_over = [r.guard for r in scored.report.failed]
    message = f"forced past failed guards: {', '.join(forced_over)}" if forced_over else ""
    clock = time.perf_counter()
    say(f"scoring: publishing {len(table):,} tag rows")
    written = store.publish(run_id, table, finished_at=_utcnow(), counts=counts, timings=timings,
                            guards=_guard_dicts(scored.report.results), forced=force, message=message,
                            on_chunk=_publish_progress(say, len(table), deps.on_chunk))
    timings["write"] = time.perf_counter() - clock
    store.record_timings(run_id, timings)
    summary = ScoringRunSummary(
        run_id, as_of, "published", len(scored.user_ids), written, counts, versions, scored.report.results,
        dict(timings), force, previous.run_id if previous else None, store.url, message)
    scores = {b.tag: scored.scores[b.task] for b in cfg.scoring.bands}
    edges = {b.tag: b.edges for b in cfg.scoring.bands if b.method == "threshold"}
    return summary, RunArtifacts(scores, scored.report.drift, edges)


def _told(say: Progress, doing: str, unit: str) -> Callable[[int, int], None]:
    """An engine's `(done, total)` progress as the spinner's text: "<doing>, 3 of 40 <unit>"."""
    return lambda done, total: say(f"{doing}, {done:,} of {total:,} {unit}")


def _engine_scores(cfg: SiyuConfig, deps: ScoringDeps, as_of: dt.date, champions: Mapping[str, ChampionLike],
                   features: pd.DataFrame, timings: dict[str, float], *,
                   on_tasks: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray] | None:
    """The champions' scores from the Spark engine (None on the embedded one: the champions
    predict on the driver inside `score_users`)."""
    if cfg.engine != "spark":
        return None
    if deps.spark_scores is None:
        raise ValueError("engine: spark, but these scoring stages have no Spark scorer (ScoringDeps.spark_scores)")
    clock = time.perf_counter()
    scores = deps.spark_scores(cfg, as_of, champions, features["user_id"].astype(str).to_numpy(), on_tasks=on_tasks)
    timings["spark_predict"] = time.perf_counter() - clock
    return scores


def _previous_tags(store: TagStore, cfg: SiyuConfig, previous: RunRecord | None) -> pd.DataFrame | None:
    if previous is None:
        return None
    band_tags = [b.tag for b in cfg.scoring.bands]
    wide = store.read_wide(previous.run_id, band_tags + list(cfg.scoring.rule_tags), scores=band_tags)
    return wide.set_index("user_id")


def _publish_progress(say: Progress, total: int,
                      on_chunk: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
    """`TagStore.publish`'s chunk callback: says the rows written so far, then calls `on_chunk`."""
    def chunk(index: int, written: int) -> None:
        say(f"scoring: publishing, {written:,} of {total:,} tag rows written")
        if on_chunk is not None:
            on_chunk(index, written)

    return chunk


def _log_to_mlflow(cfg: SiyuConfig, deps: ScoringDeps, summary: ScoringRunSummary,
                   artifacts: RunArtifacts, say: Progress = lambda _msg: None) -> ScoringRunSummary:
    if deps.log_mlflow is None:
        return summary
    say(f"scoring: run {summary.run_id} published; logging it to MLflow")
    clock = time.perf_counter()
    try:
        mlflow_run = deps.log_mlflow(cfg, summary, artifacts)
    except Exception as exc:  # the tags are published; a tracking outage must not undo that
        log.warning("scoring run %s published, but logging it to MLflow failed: %s", summary.run_id, exc)
        return summary
    timings = {**summary.timings, "mlflow": time.perf_counter() - clock}
    return _replace(summary, mlflow_run_id=mlflow_run, timings=timings)


def _replace(summary: ScoringRunSummary, **changes: Any) -> ScoringRunSummary:
    from dataclasses import replace

    return replace(summary, **changes)


def log_scoring_run(cfg: SiyuConfig, summary: ScoringRunSummary, artifacts: RunArtifacts) -> str:
    """One MLflow run in `cfg.scoring.experiment`: counts per tag value, score histograms, drift."""
    from siyu.scoring.runlog import scoring_run_log
    from siyu.tracking.scoring_runs import log_scoring_payload

    payload = scoring_run_log(
        run_id=summary.run_id, as_of=summary.as_of.isoformat(), forced=summary.forced, counts=summary.counts,
        model_versions=summary.model_versions, timings=summary.timings, scores=artifacts.scores,
        band_edges=artifacts.band_edges, drift=artifacts.drift,
        guards_json=json.dumps(_guard_dicts(summary.guards), indent=2, default=str))
    return log_scoring_payload(cfg.tracking, cfg.scoring.experiment, f"score-{summary.as_of}", payload)


# ===================================================================== export, rollback
def _pii_columns(cfg: SiyuConfig) -> set[str]:
    pii = set(cfg.scoring.pii_columns) | set(cfg.dataset.pii)
    if cfg.dataset.users is not None:
        pii |= set(cfg.dataset.users.pii)
    return {p.lower() for p in pii}


def assert_no_pii(columns: list[str], cfg: SiyuConfig) -> None:
    """Raise if an export column is (or is derived from) a declared PII column."""
    pii = _pii_columns(cfg)
    bad = [c for c in columns if c.lower() in pii or c.lower().removesuffix("_score") in pii]
    if bad:
        raise ValueError(f"export refused: PII column(s) {bad} would leave siyu; PII never goes to the SCRM")


def export_tags(cfg: SiyuConfig, fmt: str, changes_only: bool = False, *, out: Path | None = None) -> Path:
    """Write the current tags for the SCRM (one row per user, a column per tag, scores beside),
    with the recommended play (`next_action`, when a playbook is configured) and stamped with the
    run: `as_of`, `run_id` and `model_version_<task>` for each model behind it
    (docs/EXPORT_COLUMNS.md is the column dictionary).

    With `changes_only`: user_id, tag, old, new for users whose tags moved since the previous
    published run, with `as_of`, `run_id` and `previous_run_id`. Returns the file written (under
    `cfg.scoring.exports_dir` by default); CSV carries a UTF-8 byte-order mark unless
    `scoring.csv_bom` is off.
    """
    from siyu.io.tagexport import write_frame
    from siyu.scoring.playbook import next_actions

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"export format {fmt!r}: expected csv or parquet")
    store = open_reader(cfg)
    try:
        runs = store.published_runs()
        if not runs:
            raise TagStoreError(f"no published scoring run in {store.url}; run `siyu score` first")
        current = runs[0]
        band_tags = [b.tag for b in cfg.scoring.bands]
        if changes_only:
            if len(runs) < 2:
                raise TagStoreError(f"only one published run ({current.run_id}): nothing to compare with yet")
            frame = store.changes(runs[1].run_id, current.run_id, band_tags + list(cfg.scoring.rule_tags))
            frame = frame.assign(as_of=current.as_of, run_id=current.run_id, previous_run_id=runs[1].run_id)
            name = f"tag_changes_{runs[1].run_id}_to_{current.run_id}.{fmt}"
        else:
            tags = store.run_tags(current.run_id)
            ordered = [t for t in band_tags + list(cfg.scoring.rule_tags) if t in tags]
            ordered += [t for t in tags if t not in ordered]
            frame = store.read_wide(current.run_id, ordered, scores=[t for t in band_tags if t in tags])
            frame = frame[["user_id"] + [c for t in ordered for c in (t, f"{t}_score") if c in frame.columns]]
            if cfg.playbook.plays:
                frame = frame.assign(next_action=next_actions(frame, cfg.playbook.plays, cfg.scoring.lang))
            frame = frame.assign(as_of=current.as_of, run_id=current.run_id, **_version_columns(current, cfg))
            name = f"tags_{current.as_of:%Y%m%d}_{current.run_id}.{fmt}"
    finally:
        store.close()
    assert_no_pii(list(frame.columns), cfg)
    return write_frame(frame, out or Path(cfg.scoring.exports_dir) / name, fmt, bom=cfg.scoring.csv_bom)


def _version_columns(run: RunRecord, cfg: SiyuConfig) -> dict[str, str]:
    """`model_version_<task>` -> the registered version that produced the run's tags of that task,
    in the order of the bands (then the segmentation)."""
    versions = run.model_versions or {}
    order = list(dict.fromkeys([b.task for b in cfg.scoring.bands if b.task in versions] + sorted(versions)))
    return {f"model_version_{key}": str(versions[key].get("version", "")) for key in order}


def rollback(cfg: SiyuConfig, run_id: str, *, now: dt.datetime | None = None) -> RunRecord | None:
    """Mark the current run `run_id` rolled back; returns the run the current tags now come from."""
    store = open_store(cfg)
    try:
        return store.rollback(run_id, now or _utcnow())
    finally:
        store.close()
