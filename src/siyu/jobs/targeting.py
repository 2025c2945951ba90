"""The targeting job: features at as-of -> uplift champion (and value) -> contact plan -> one
atomic run of plan tags in the tag store, plus the plan files a readout reads.

`siyu target` publishes `next_action` (a treatment, or `none`), `expected_gain` (score: expected
incremental value of the chosen option) and `holdout` (`true` / `false`) for the uplift task's
population at as-of, as one run of kind `plan` through the same protocol as `siyu score`
(`siyu.io.publishing.publish_once`: lock, unchanged re-runs, guards, blocked / failed runs leave
the previous tags current). A plan run and a scoring run are current side by side (the tag store
keeps the latest run of each kind). It also writes `<reports>/plans/<run_id>.parquet` (one row per
eligible user) and `<run_id>.json` (config, model versions, totals).

The features are built in memory with the champions' own specs (plus the lifecycle and RFM rule
columns, for the report's breakdown), so the scoring run's `features_<as_of>.parquet` (what the
report and `siyu explain` read) is left as scoring wrote it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig, TargetingConfig, TrackingConfig, targeting_problems
from siyu.decisions import PlanInputs, contact_plan, dual_bound, expected_gains, plan_totals
from siyu.features.specs import FeatureSet
from siyu.io.publishing import publish_once
from siyu.io.tagstore import RunRecord, open_tag_store
from siyu.io.workspace import trained_specs
from siyu.scoring import (
    ChampionLike,
    GuardFailed,
    GuardReport,
    GuardResult,
    TagColumn,
    build_tag_table,
    check_feature_drift,
    check_min_users,
    check_schema,
    task_populations,
)
from siyu.scoring.guards import guard_dicts

log = logging.getLogger(__name__)

PLAN_TAGS = ("next_action", "expected_gain", "holdout")
RULE_COLUMNS = ("lifecycle_stage", "rfm_segment")


class TargetingError(ValueError):
    """The targeting config or the models cannot make a plan (the message says what to change or run)."""


@dataclass(frozen=True)
class TargetingDeps:
    """The other stages the job calls; tests swap them."""

    features_at: Callable[[SiyuConfig, dt.date, FeatureSet], pd.DataFrame]  # user_id + features at as-of
    load_champion: Callable[[str, TrackingConfig], ChampionLike]
    default_as_of: Callable[[SiyuConfig], dt.date]
    on_chunk: Callable[[int, int], None] | None = None  # publish progress (tests fail mid-write here)


@dataclass(frozen=True)
class PlanRunSummary:
    """The outcome of `target`: what the CLI prints."""

    run_id: str
    as_of: dt.date
    status: str  # published | unchanged
    totals: dict[str, Any]
    model_versions: dict[str, dict[str, str]]
    guards: tuple[GuardResult, ...]
    timings: dict[str, float]
    forced: bool
    store_url: str
    plan_path: Path | None
    message: str = ""


# ===================================================================== default wiring
def _features_at(cfg: SiyuConfig, as_of: dt.date, specs: FeatureSet) -> pd.DataFrame:
    """The features `specs` at as-of, built in memory (the scoring features file is not touched)."""
    from siyu.features import build_features
    from siyu.io.workspace import clean_history, clean_inputs, connect_work

    events, users = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        return build_features(con, specs, events, users, [as_of], history=clean_history(cfg)).drop(columns=["cutoff"])
    finally:
        con.close()


def _load_champion(task: str, tracking: TrackingConfig) -> ChampionLike:
    from siyu.tracking import load_champion

    return load_champion(task, tracking)


def _default_as_of(cfg: SiyuConfig) -> dt.date:
    from siyu.io.workspace import latest_as_of

    return latest_as_of(cfg)


def default_deps() -> TargetingDeps:
    """The real stages: features from the clean events, champions from the MLflow registry."""
    return TargetingDeps(features_at=_features_at, load_champion=_load_champion, default_as_of=_default_as_of)


# ===================================================================== helpers
def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def plans_dir(cfg: SiyuConfig) -> Path:
    """Where plan files go: `<reports>/plans/<run_id>.{parquet,json}`."""
    return cfg.paths.reports_dir / "plans"


def check_targeting(cfg: SiyuConfig) -> None:
    """Raise TargetingError listing every problem of `targeting:` against the tasks (none: return)."""
    problems = targeting_problems(cfg)
    if problems:
        raise TargetingError("targeting: cannot plan with this config:\n" + "\n".join(f"  - {p}" for p in problems))


def _uplift_champion(cfg: SiyuConfig, deps: TargetingDeps) -> ChampionLike:
    task = cfg.targeting.task
    try:
        champion = deps.load_champion(task, cfg.tracking)
    except LookupError as exc:  # NoModelError names the train / promote commands
        raise TargetingError(f"no uplift champion for task '{task}': {exc}") from None
    estimator = champion.estimator
    if not (hasattr(estimator, "predict_uplift") and hasattr(estimator, "treatments_")):
        raise TargetingError(f"the champion of task '{task}' ({champion.model_name} v{champion.model_version}) is not "
                             "an uplift model (no predict_uplift / treatments_); train one with `siyu train --task "
                             f"{task}` and promote it")
    missing = [t for t in estimator.treatments_ if t not in cfg.targeting.treatments]
    if missing:
        raise TargetingError(f"targeting.treatments: the champion of '{task}' learned {list(estimator.treatments_)}, "
                             f"but no cost is configured for {missing}; add e.g. `{missing[0]}: {{cost: 1.0, "
                             "channel: wecom}`")
    return champion


def _model_versions(champions: Mapping[str, ChampionLike]) -> dict[str, dict[str, str]]:
    return {task: {"model_name": c.model_name, "version": str(c.model_version),
                   "run_id": str(getattr(c, "run_id", ""))} for task, c in champions.items()}


def run_key(as_of: dt.date, versions: Mapping[str, Any], targeting: TargetingConfig) -> str:
    """Identity of a plan's inputs: as-of, champion versions and the targeting config (budget included)."""
    payload = json.dumps({"as_of": as_of.isoformat(), "models": versions, "targeting": targeting.model_dump(mode="json")},
                         sort_keys=True, default=str)
    return f"plan:{as_of.isoformat()}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def _with_rule_columns(cfg: SiyuConfig, specs: FeatureSet) -> FeatureSet:
    """`specs` plus the configured specs of the lifecycle / RFM rule columns (for the breakdown by
    stage), when they fit; without them the plan has no breakdown, never an error."""
    try:
        from siyu.io.workspace import feature_set

        extra = [s for s in feature_set(cfg).specs if set(s.columns) & set(RULE_COLUMNS)
                 and not set(s.columns) & set(specs.columns)]
        return FeatureSet.union([specs, FeatureSet(tuple(extra))])
    except Exception as exc:  # noqa: BLE001 - a breakdown is optional
        log.info("plan breakdown by lifecycle stage skipped: %s", exc)
        return specs


def _values(cfg: SiyuConfig, X_value: pd.DataFrame | None, value_champion: ChampionLike | None, n: int) -> np.ndarray:
    """What one unit of the outcome is worth per user (see TargetingConfig)."""
    t = cfg.targeting
    if not cfg.task(t.task).binary:
        return np.full(n, t.margin)
    if t.value_source == "constant":
        return np.full(n, t.margin * float(t.value_per_conversion or 0.0))
    assert value_champion is not None and X_value is not None
    return t.margin * np.clip(np.asarray(value_champion.predict_score(X_value), dtype="float64"), 0.0, None)


def _guards(cfg: SiyuConfig, features: pd.DataFrame, champions: Mapping[str, ChampionLike], eligible: np.ndarray,
            as_of: dt.date, force: bool) -> GuardReport:
    results = [check_min_users(int(eligible.sum()), cfg.scoring.guards)]
    if not eligible.any():
        raise GuardFailed(results)
    for task, champion in champions.items():
        schema = check_schema(task, champion.feature_names, features, champion.reference_profile)
        results.append(schema)
        if any(o.endswith("(missing)") for o in schema.offenders):
            raise GuardFailed(results)  # a model cannot predict without its features, forced or not
        results.append(check_feature_drift(task, champion.reference_profile,
                                           features.loc[eligible, list(champion.feature_names)],
                                           cfg.scoring.guards, as_of=as_of)[0])
    report = GuardReport(tuple(results), pd.DataFrame())
    if report.failed and not force:
        raise GuardFailed(report.results)
    return report


def plan_tag_columns(plan: pd.DataFrame, model: str, version: str) -> tuple[TagColumn, ...]:
    """The plan's tags: next_action (treatment or none), expected_gain (score), holdout (true / false)."""
    gain = plan["expected_gain"].to_numpy(dtype="float64")
    return (
        TagColumn("next_action", plan["treatment"].to_numpy(dtype=object), None, model, version),
        TagColumn("expected_gain", np.array([f"{g:.2f}" for g in gain], dtype=object), gain, model, version),
        TagColumn("holdout", np.where(plan["holdout"].to_numpy(dtype=bool), "true", "false").astype(object), None,
                  model, version),
    )


# ===================================================================== the job
def target(
    cfg: SiyuConfig,
    as_of: dt.date | None = None,
    budget: float | None = None,
    force: bool = False,
    *,
    deps: TargetingDeps | None = None,
    now: dt.datetime | None = None,
    run_id: str | None = None,
) -> PlanRunSummary:
    """Plan whom to contact with what at `as_of` and publish the plan tags atomically (module docstring).

    `budget` overrides `targeting.budget`. Raises TargetingError (config or models unfit),
    GuardFailed (run recorded blocked), TagStoreLocked (another run holds the lock).
    """
    if budget is not None:
        if budget < 0:
            raise TargetingError(f"--budget {budget}: expected an amount >= 0")
        cfg = cfg.model_copy(update={"targeting": cfg.targeting.model_copy(update={"budget": float(budget)})})
    check_targeting(cfg)
    deps = deps or default_deps()
    started = now or _utcnow()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    t = cfg.targeting
    champions: dict[str, ChampionLike] = {t.task: _uplift_champion(cfg, deps)}
    if cfg.task(t.task).binary and t.value_source == "model":
        try:
            champions[t.value_task] = deps.load_champion(t.value_task, cfg.tracking)
        except LookupError as exc:
            raise TargetingError(f"targeting.value_source is model, but {exc}") from None
    timings["load_models"] = time.perf_counter() - clock
    as_of = as_of or deps.default_as_of(cfg)
    versions = _model_versions(champions)
    key = run_key(as_of, versions, t)
    run_id = run_id or f"plan-{as_of:%Y%m%d}-{started:%H%M%S}-{secrets.token_hex(3)}"
    store = open_tag_store(cfg.scoring.tag_store_url)

    def work() -> PlanRunSummary:
        return _plan_and_publish(cfg, store, deps, run_id, as_of, champions, versions, force, timings)

    def unchanged(done: RunRecord) -> PlanRunSummary:
        message = (f"as-of {as_of} with these champion versions and targeting config is already planned as run "
                   f"{done.run_id}; nothing written (roll it back with `siyu tags rollback --run {done.run_id}` "
                   "to plan again)")
        store.finish_run(run_id, "unchanged", _utcnow(), message=message, counts=done.counts, timings=timings)
        path = plans_dir(cfg) / f"{done.run_id}.parquet"
        totals = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["totals"] \
            if path.with_suffix(".json").exists() else {}
        return PlanRunSummary(run_id, as_of, "unchanged", totals, versions, (), timings, force, store.url,
                              path if path.exists() else None, message)

    try:
        return publish_once(store, run_id=run_id, as_of=as_of, started=started, run_key=key, model_versions=versions,
                            forced=force, work=work, unchanged=unchanged, timings=timings, kind="plan")
    finally:
        store.close()


def _plan_and_publish(cfg: SiyuConfig, store: Any, deps: TargetingDeps, run_id: str, as_of: dt.date,
                      champions: dict[str, ChampionLike], versions: dict, force: bool,
                      timings: dict[str, float]) -> PlanRunSummary:
    t = cfg.targeting
    uplift_champion = champions[t.task]
    clock = time.perf_counter()
    specs = _with_rule_columns(cfg, trained_specs(cfg, champions))
    features = deps.features_at(cfg, as_of, specs)
    timings["features"] = time.perf_counter() - clock
    clock = time.perf_counter()
    eligible = task_populations(features, [cfg.task(t.task)], specs.recency_of("activity"))[t.task]
    report = _guards(cfg, features, champions, eligible, as_of, force)
    rows = features.loc[eligible].reset_index(drop=True)
    treatments = tuple(uplift_champion.estimator.treatments_)
    uplift = np.asarray(uplift_champion.estimator.predict_uplift(rows[list(uplift_champion.feature_names)]),
                        dtype="float64").reshape(len(rows), len(treatments))
    value_champion = champions.get(t.value_task) if t.value_task != t.task else None
    X_value = rows[list(value_champion.feature_names)] if value_champion is not None else None
    value = _values(cfg, X_value, value_champion, len(rows))
    timings["predict"] = time.perf_counter() - clock
    clock = time.perf_counter()
    inputs = PlanInputs(
        treatments=treatments, costs=tuple(t.treatments[x].cost for x in treatments),
        channels=tuple(t.treatments[x].channel for x in treatments), budget=t.budget,
        capacity=tuple(t.treatments[x].capacity for x in treatments), channel_capacity=dict(t.channel_capacity),
        min_gain=t.min_gain, holdout_share=t.holdout_share)
    # the seed and the as-of date: one plan is reproducible, and each day draws its own holdout
    rng = np.random.default_rng([t.seed, as_of.toordinal()])
    plan = contact_plan(rows["user_id"].astype(str).to_numpy(), uplift, value, inputs, rng)
    plan.insert(1, "as_of", pd.Timestamp(as_of))
    for column in RULE_COLUMNS:
        if column in rows.columns:
            plan[column] = rows[column].astype("string").to_numpy()
    totals = plan_totals(plan, t.budget)
    # how far from the best possible plan this one can be, at most (capacities relaxed)
    gains = expected_gains(uplift, value, np.asarray(inputs.costs))
    totals["upper_bound"] = dual_bound(gains, inputs.costs, budget=t.budget, min_gain=t.min_gain)
    timings["plan"] = time.perf_counter() - clock
    clock = time.perf_counter()
    model, version = uplift_champion.model_name, str(uplift_champion.model_version)
    columns = plan_tag_columns(plan, model, version)
    table = build_tag_table(plan["user_id"].to_numpy(), columns, run_id=run_id, as_of=as_of, computed_at=_utcnow())
    counts = {"next_action": {str(k): int(v) for k, v in plan["treatment"].value_counts().sort_index().items()},
              "holdout": {"true": int(plan["holdout"].sum()), "false": int((~plan["holdout"]).sum())}}
    path = _write_plan_files(cfg, run_id, as_of, plan, totals, versions, treatments, report)
    forced_over = [r.guard for r in report.failed]
    message = f"forced past failed guards: {', '.join(forced_over)}" if forced_over else ""
    try:
        store.publish(run_id, table, finished_at=_utcnow(), counts=counts, timings=timings,
                      guards=guard_dicts(report.results), forced=force, message=message, on_chunk=deps.on_chunk)
    except BaseException:
        for stale in (path, path.with_suffix(".json")):  # files of a plan that never published would mislead a readout
            stale.unlink(missing_ok=True)
        raise
    timings["write"] = time.perf_counter() - clock
    store.record_timings(run_id, timings)
    return PlanRunSummary(run_id, as_of, "published", totals, versions, report.results, dict(timings), force,
                          store.url, path, message)


def _write_plan_files(cfg: SiyuConfig, run_id: str, as_of: dt.date, plan: pd.DataFrame, totals: dict,
                      versions: dict, treatments: tuple[str, ...], report: GuardReport) -> Path:
    """`<run_id>.parquet` (the plan rows) and `<run_id>.json` (what it was planned with, totals)."""
    folder = plans_dir(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.parquet"
    plan.to_parquet(path, index=False)
    t = cfg.targeting
    meta = {
        "run_id": run_id, "as_of": as_of.isoformat(), "task": t.task, "horizon_days": cfg.task(t.task).horizon_days,
        "label": cfg.task(t.task).label, "treatments": list(treatments), "model_versions": versions,
        "targeting": t.model_dump(mode="json"), "budget": t.budget, "totals": totals,
        "guards": guard_dicts(report.results), "currency": cfg.dataset.currency,
        "created_at": _utcnow().isoformat(timespec="seconds"),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def latest_plans(cfg: SiyuConfig, n: int = 1) -> list[tuple[dict, pd.DataFrame]]:
    """The `n` newest published plans (meta dict, plan rows), newest first; [] before the first."""
    store = open_tag_store(cfg.scoring.tag_store_url, read_only=True)
    try:
        runs = store.published_runs("plan")[:n]
    finally:
        store.close()
    out = []
    for run in runs:
        path = plans_dir(cfg) / f"{run.run_id}.parquet"
        if path.exists() and path.with_suffix(".json").exists():
            out.append((json.loads(path.with_suffix(".json").read_text(encoding="utf-8")), pd.read_parquet(path)))
    return out


def export_plan(cfg: SiyuConfig, fmt: str, *, out: Path | None = None) -> Path:
    """Write the current contact plan for the SCRM: one row per planned user with `contact` (true:
    send `next_action` now), `next_action` (a treatment or none), `expected_gain`, `holdout` (true:
    chosen but withheld, do NOT contact), `as_of`, `run_id` and
    `model_version_<task>`; CSV with a UTF-8 byte-order mark unless `scoring.csv_bom` is off."""
    from siyu.io.tagexport import write_frame
    from siyu.io.tagstore import TagStoreError

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"export format {fmt!r}: expected csv or parquet")
    store = open_tag_store(cfg.scoring.tag_store_url, read_only=True)
    try:
        run = store.current_run("plan")
        if run is None:
            raise TagStoreError(f"no published contact plan in {store.url}; run `siyu target` first")
        frame = store.read_wide(run.run_id, list(PLAN_TAGS), scores=["expected_gain"])
    finally:
        store.close()
    frame = frame[["user_id", "next_action", "expected_gain_score", "holdout"]].rename(
        columns={"expected_gain_score": "expected_gain"})
    # what the SCRM acts on: a held-out user keeps their planned treatment (the readout needs it) but is NOT contacted
    frame.insert(1, "contact", (frame["next_action"] != "none") & (frame["holdout"] != "true"))
    versions = {f"model_version_{task}": str(v.get("version", "")) for task, v in (run.model_versions or {}).items()}
    frame = frame.assign(as_of=run.as_of, run_id=run.run_id, **versions)
    name = f"plan_{run.as_of:%Y%m%d}_{run.run_id}.{fmt}"
    return write_frame(frame, out or Path(cfg.scoring.exports_dir) / name, fmt, bom=cfg.scoring.csv_bom)
