"""The segmentation job: point-in-time features at as-of -> K-Means segments named by rules and
kept stable against the registered segmentation -> MLflow (registered, champion) and the
segment profile under `work/reports/operations/segments.{parquet,csv}`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from siyu.config import SiyuConfig
from siyu.features import FeatureSet, build_features, feature_spec_hash, feature_specs_data
from siyu.io.tables import write_tables
from siyu.io.workspace import clean_history, clean_inputs, connect_work, feature_set, latest_as_of
from siyu.operations.lifecycle_flow import lifecycle_rule
from siyu.segments import NamingRule, SegmentModel, agreement, segment_features, silhouette_table


@dataclass(frozen=True)
class SegmentSummary:
    """What `fit_segments` found and wrote."""

    as_of: date
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    profile: pd.DataFrame
    model_name: str
    model_version: str
    run_id: str
    previous_version: str | None
    agreement_with_previous: float | None  # share of users keeping their segment key under the refit
    folder: Path
    seconds: float
    timings: dict[str, float]


def naming_rule(specs: FeatureSet) -> NamingRule:
    """Segment naming thresholds that follow the lifecycle rule of the feature set."""
    rule = lifecycle_rule(specs)
    return NamingRule(new_days=rule.new_days, active_days=rule.active_days, churned_days=rule.churned_days)


def _previous(cfg: SiyuConfig):  # noqa: ANN202 - a siyu.tracking.Champion or None
    from siyu.tracking import NoModelError, load_champion

    try:
        return load_champion(cfg.segments.registry_name, cfg.tracking)
    except NoModelError:
        return None


def fit_segments(cfg: SiyuConfig, as_of: date | None = None) -> SegmentSummary:
    """Fit, name and register the segmentation at `as_of` (default: the day after the newest event)."""
    from siyu.tracking import SegmentRunRecord, log_segment_run

    clock = time.perf_counter()
    timings: dict[str, float] = {}
    seg = cfg.segments
    as_of = as_of or latest_as_of(cfg)
    configured = feature_set(cfg).specs
    specs, parts = segment_features(configured, seg.features)
    events, users = clean_inputs(cfg)
    con = connect_work(cfg)
    try:
        X = build_features(con, specs, events, users, [as_of], history=clean_history(cfg))[list(specs.columns)]
    finally:
        con.close()
    timings["features"] = time.perf_counter() - clock
    previous = _previous(cfg)
    timings["load_previous"] = time.perf_counter() - clock - sum(timings.values())
    model = SegmentModel(parts, k_min=seg.k_min, k_max=seg.k_max, silhouette_sample=seg.silhouette_sample,
                         n_init=seg.n_init, random_state=seg.seed, naming=naming_rule(configured))
    model.fit(X, previous=previous.estimator if previous is not None else None)
    timings["fit"] = time.perf_counter() - clock - sum(timings.values())
    kept = agreement(previous.estimator.predict(X), model.predict(X)) if _same_features(previous, model) else None
    profile = model.profile()
    silhouettes = silhouette_table(model)
    folder = cfg.paths.reports_dir / "operations"
    write_tables({"segments": profile, "segment_silhouettes": silhouettes}, folder, bom=cfg.scoring.csv_bom)
    metrics = {"k": model.k_, "silhouette": model.silhouettes_[model.k_],
               **{f"silhouette_k{k}": s for k, s in model.silhouettes_.items()}}
    if kept is not None:
        metrics["agreement_with_previous"] = kept
    record = SegmentRunRecord(
        name=seg.registry_name, estimator=model, X_example=X.head(5), metrics=metrics,
        params={**seg.model_dump(mode="json"), "as_of": as_of.isoformat(), "users": len(X), "parts": parts},
        tags={"feature_spec_hash": feature_spec_hash(specs), "as_of": as_of.isoformat()},
        manifest={"task": seg.registry_name, "as_of": as_of.isoformat(), "feature_specs": feature_specs_data(specs),
                  "feature_spec_hash": feature_spec_hash(specs), "parts": parts},
        profile=profile, silhouettes=silhouettes)
    logged = log_segment_run(record, cfg.tracking)
    timings["mlflow"] = time.perf_counter() - clock - sum(timings.values())
    return SegmentSummary(as_of, model.k_, model.silhouettes_[model.k_], dict(model.silhouettes_), profile,
                          logged.model_name, logged.version, logged.run_id,
                          previous.model_version if previous is not None else None, kept, folder,
                          time.perf_counter() - clock, {k: round(v, 2) for k, v in timings.items()})


def _same_features(previous, model: SegmentModel) -> bool:  # noqa: ANN001 - a Champion or None
    return previous is not None and list(getattr(previous.estimator, "feature_names_", [])) == model.feature_names_
