"""Training jobs: train, tune, compare and promote models for one task (INTERFACES.md §9).

Each job reads the task's training set (`work/trainsets/<task>/`), calls the pure core
(`siyu.models`, `siyu.evaluation`) and writes through `siyu.tracking` (MLflow) and into
`work/reports/`. The CLI and the notebook call these same functions.
"""

from __future__ import annotations

import csv
import html
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig
from siyu.evaluation import (
    HIGHER_IS_BETTER,
    ORACLE,
    add_oracle_ratio,
    decide_promotion,
    headline_metric,
    reference_profile,
    task_metrics,
)
from siyu.evaluation.leaderboard import ORACLE_OBSERVABLE
from siyu.models import (
    BINARY_TASKS,
    GBM_MODELS,
    MissingFeatureError,
    SiyuEstimator,
    make_model,
    models_for_task,
)

ID_COLUMNS = ("user_id", "cutoff", "split", "label")
TRUTH_COLUMN = {"churn": "p_churn_30d", "purchase_intent": "p_purchase_7d", "ltv": "ltv_net_90d"}
Progress = Callable[[str], None]


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ModelResult:
    """One trained model: its run, registered version, seconds and test metrics (or why skipped)."""

    task: str
    model: str
    run_id: str = ""
    version: str = ""
    seconds: float = 0.0
    metrics: dict | None = None
    skipped: str = ""


@dataclass(frozen=True)
class TrainResult:
    """What `train` did for a task; `challenger` is the version now holding that alias."""

    task: str
    results: tuple[ModelResult, ...]
    challenger: str


@dataclass(frozen=True)
class TuneResult:
    """An Optuna study: best parameters and value on valid, and the refitted version."""

    task: str
    model: str
    best_params: dict
    best_value: float
    metric: str
    n_trials: int
    n_pruned: int
    study_run_id: str
    version: str


@dataclass(frozen=True)
class Leaderboard:
    """Latest run per model on the current test cutoff, plus the oracle, best first."""

    task: str
    table: pd.DataFrame
    csv_path: Path
    html_path: Path
    test_cutoff: str


@dataclass(frozen=True)
class PromotionDecision:
    """A promotion or refusal, with its reason (also recorded in MLflow and promotions.csv)."""

    task: str
    promoted: bool
    challenger_version: str
    champion_version: str
    metric: str
    challenger_value: float
    champion_value: float | None
    reason: str


class TrainsetMissing(FileNotFoundError):
    """The task's training set has not been built."""


# --------------------------------------------------------------------------- inputs
def load_task_data(cfg: SiyuConfig, task: str) -> tuple[pd.DataFrame, dict, list[str]]:
    """(training set, manifest, feature names) of `task`, checked for the three splits."""
    from siyu.trainsets import load_trainset

    directory = cfg.paths.trainsets_dir / task
    if not (directory / "trainset.parquet").exists():
        raise TrainsetMissing(
            f"{directory}/trainset.parquet: not found; build it first with `siyu trainset --task {task}`"
        )
    frame, manifest = load_trainset(directory)
    features = [f["name"] for f in manifest.get("features", [])] or [c for c in frame.columns if c not in ID_COLUMNS]
    missing = [c for c in (*ID_COLUMNS, *features) if c not in frame.columns]
    if missing:
        raise ValueError(f"{directory}: trainset lacks columns {missing[:5]} (manifest lists them)")
    splits = set(frame["split"].astype(str).unique())
    if not {"train", "valid", "test"} <= splits:
        raise ValueError(f"{directory}: need splits train, valid and test; found {sorted(splits)}")
    return frame, manifest, features


def _split(frame: pd.DataFrame, features: list[str], split: str) -> tuple[pd.DataFrame, np.ndarray]:
    part = frame[frame["split"].astype(str) == split]
    return part[features], part["label"].to_numpy(dtype=float)


def test_cutoff_of(frame: pd.DataFrame, manifest: dict) -> str:
    """The test cutoff(s) as ISO dates joined by commas: the key that makes runs comparable."""
    listed = (manifest.get("cutoffs") or {}).get("test")
    values = listed or frame.loc[frame["split"].astype(str) == "test", "cutoff"].unique().tolist()
    return ",".join(sorted(str(pd.Timestamp(v).date()) for v in values))


def _git_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


# --------------------------------------------------------------------------- train
def _figures(task: str, y: np.ndarray, score: np.ndarray, estimator: SiyuEstimator, X: pd.DataFrame,
             cfg: SiyuConfig) -> dict:
    from siyu.evaluation import plots

    figs = {"gains": plots.plot_gains(y, score), "deciles": plots.plot_deciles(y, score)}
    if task in BINARY_TASKS:
        figs |= {"roc": plots.plot_roc(y, score), "pr": plots.plot_pr(y, score),
                 "calibration": plots.plot_calibration(y, score)}
    if hasattr(estimator, "tree_model_"):
        figs["shap_summary"] = plots.plot_shap_summary(estimator, X, max_rows=cfg.training.shap_sample_rows,
                                                        seed=cfg.training.seed)
    return figs


def _scored_splits(estimator: SiyuEstimator, data: dict, seed: int) -> dict:
    """{split: (X, y, scores)}; train is a seeded 50k-row sample (metrics and profile stay cheap)."""
    out = {}
    for split, (X, y) in data.items():
        if split == "train" and len(X) > 50_000:
            idx = np.sort(np.random.default_rng(seed).choice(len(X), 50_000, replace=False))
            X, y = X.iloc[idx], y[idx]
        held_out = getattr(estimator, "valid_scores_", None) if split == "valid" else None
        # A model refitted on train + valid keeps its out-of-sample valid scores: use them.
        out[split] = (X, y, held_out if held_out is not None and len(held_out) == len(X) else estimator.predict_score(X))
    return out


def _split_metrics(task: str, scored: dict) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for split, (_, y, scores) in scored.items():
        try:
            values = task_metrics(task, y, scores)
        except ValueError:  # e.g. one class only in a split: nothing to score there
            continue
        metrics |= {f"{split}_{k}": v for k, v in values.items()}
    return metrics


def fit_and_log(cfg: SiyuConfig, task: str, model: str, estimator: SiyuEstimator, frame: pd.DataFrame,
                manifest: dict, features: list[str], *, nested: bool = False, run_name: str | None = None,
                extra_tags: dict | None = None) -> ModelResult:
    """Fit `estimator` on train (early stopping / calibration on valid), evaluate, log, register."""
    from siyu.tracking import RunRecord, log_training_run

    data = {s: _split(frame, features, s) for s in ("train", "valid", "test")}
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = data["train"], data["valid"], data["test"]
    started = time.perf_counter()
    estimator.fit(X_tr, y_tr, X_valid=X_va, y_valid=y_va)
    seconds = time.perf_counter() - started
    scored = _scored_splits(estimator, data, cfg.training.seed)
    metrics = _split_metrics(task, scored) | {"fit_seconds": seconds}
    figures = _figures(task, y_te, scored["test"][2], estimator, X_te, cfg) if cfg.training.plots else {}
    X_sample, _, train_scores = scored["train"]
    tags = {"kind": "training", "git_sha": _git_sha(), "test_cutoff": test_cutoff_of(frame, manifest),
            "test_rows": str(len(X_te)), "feature_spec_hash": str(manifest.get("feature_spec_hash", "")),
            "data_digest": str(manifest.get("data_digest", "")), **(extra_tags or {})}
    record = RunRecord(
        task=task, model=model, estimator=estimator, X_example=X_te.head(5), metrics=metrics,
        params={"estimator": type(estimator).__name__, **estimator.get_params()}, tags=tags,
        resolved_config=cfg.model_dump(mode="json"), manifest=manifest,
        reference_profile=reference_profile(X_sample, scores=train_scores),
        train_frame=frame[frame["split"].astype(str) == "train"],
        figures=figures, run_name=run_name,
        dataset_source=str((cfg.paths.trainsets_dir / task / "trainset.parquet").resolve()),
    )
    logged = log_training_run(record, cfg.tracking, nested=nested)
    test = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")}
    return ModelResult(task=task, model=model, run_id=logged.run_id, version=logged.version,
                       seconds=seconds, metrics=test)


def _new_model(cfg: SiyuConfig, task: str, model: str) -> SiyuEstimator:
    return make_model(model, task, horizon_days=cfg.task(task).horizon_days, random_state=cfg.training.seed,
                      calibration=cfg.training.calibration, n_jobs=cfg.training.n_jobs)


def train(cfg: SiyuConfig, task: str, model: str, *, progress: Progress | None = None) -> TrainResult:
    """Train `model` (or "all": every configured model that applies) for `task`; log and register.

    Each new version gets the alias `challenger`; after "all", the challenger is the version
    that scored best on the validation cutoffs (the test cutoff stays for the gate).
    """
    from siyu.tracking import set_alias

    say = progress or (lambda _msg: None)
    names = models_for_task(task, cfg.training.models) if model == "all" else (model,)
    frame, manifest, features = load_task_data(cfg, task)
    results = []
    for name in names:
        say(f"{task}: training {name}")
        try:
            results.append(fit_and_log(cfg, task, name, _new_model(cfg, task, name), frame, manifest, features))
        except MissingFeatureError as exc:
            if model != "all":
                raise
            results.append(ModelResult(task=task, model=name, skipped=str(exc)))
    trained = [r for r in results if r.version]
    challenger = trained[-1].version if trained else ""
    if len(trained) > 1:
        challenger = _best_on_valid(cfg, task, trained)
        set_alias(task, "challenger", challenger, cfg.tracking)
    return TrainResult(task=task, results=tuple(results), challenger=challenger)


def _best_on_valid(cfg: SiyuConfig, task: str, trained: list[ModelResult]) -> str:
    from siyu.tracking import list_versions

    metric = f"valid_{headline_metric(task)}"
    by_version = {v.version: v.metrics.get(metric, -np.inf) for v in list_versions(task, cfg.tracking)}
    return max(trained, key=lambda r: by_version.get(r.version, -np.inf)).version


# --------------------------------------------------------------------------- tune
def tune(cfg: SiyuConfig, task: str, model: str, n_trials: int | None = None,
         *, progress: Progress | None = None) -> TuneResult:
    """Optuna study on the time split (train → valid), trials nested under a parent MLflow run;
    the best parameters are refitted, logged and registered as the new challenger."""
    from sklearn.metrics import roc_auc_score

    from siyu.evaluation import normalized_gini
    from siyu.models.tuning import SEARCH_SPACES, run_study
    from siyu.tracking import log_study_summary, study_run, trial_callback

    if model not in SEARCH_SPACES or model not in models_for_task(task):
        tunable = [m for m in models_for_task(task) if m in SEARCH_SPACES]
        raise ValueError(f"tune: model {model!r} cannot be tuned for {task!r}; choose one of {tunable}")
    say = progress or (lambda _msg: None)
    frame, manifest, features = load_task_data(cfg, task)
    (X_tr, y_tr), (X_va, y_va) = _split(frame, features, "train"), _split(frame, features, "valid")
    metric = headline_metric(task)
    score = normalized_gini if task == "ltv" else roc_auc_score
    tuning = cfg.training.tuning
    trials = n_trials or tuning.n_trials
    with study_run(cfg.tracking, task=task, model=model,
                   tags={"git_sha": _git_sha(), "test_cutoff": test_cutoff_of(frame, manifest)}) as parent:
        say(f"{task}: tuning {model}, {trials} trials")
        study = run_study(
            lambda: _new_model(cfg, task, model), model, SEARCH_SPACES[model],
            X_train=X_tr, y_train=y_tr, X_valid=X_va, y_valid=y_va, score=score,
            binary=task in BINARY_TASKS, n_trials=trials, timeout_s=tuning.timeout_s, seed=tuning.seed,
            study_name=f"{task}-{model}",
            callbacks=[trial_callback(cfg.tracking, metric_name=f"valid_{metric}", task=task, model=model)],
        )
        pruned = sum(t.state.name == "PRUNED" for t in study.trials)
        log_study_summary(study.best_params, study.best_value, len(study.trials), pruned, f"valid_{metric}")
        say(f"{task}: refitting {model} with the best parameters")
        best = _new_model(cfg, task, model).set_params(**study.best_params)
        result = fit_and_log(cfg, task, model, best, frame, manifest, features, nested=True,
                             run_name=f"{task}-{model}-tuned", extra_tags={"tuned": "true", "study_run_id": parent})
    return TuneResult(task=task, model=model, best_params=dict(study.best_params), best_value=float(study.best_value),
                      metric=f"valid_{metric}", n_trials=len(study.trials), n_pruned=pruned,
                      study_run_id=parent, version=result.version)


# --------------------------------------------------------------------------- compare
def oracle_metrics(cfg: SiyuConfig, task: str, frame: pd.DataFrame) -> dict[str, tuple[dict[str, float], int]]:
    """Metrics of the ground-truth scores on the test rows, per oracle row: {"oracle": (metrics,
    rows matched)} for the hidden-state truth and "oracle_observable" for the observable oracle
    (`<column>_observable`, absent in older truth files). Empty when the world has no truth file."""
    import pyarrow.parquet as pq

    path = cfg.paths.truth_dir / "truth.parquet"
    if not path.exists():
        return {}
    column = TRUTH_COLUMN[task]
    wanted = {ORACLE: column, ORACLE_OBSERVABLE: f"{column}_observable"}
    present = set(pq.read_schema(path).names)
    wanted = {name: col for name, col in wanted.items() if col in present}
    truth = pd.read_parquet(path, columns=["user_id", "cutoff", *wanted.values()])
    test = frame.loc[frame["split"].astype(str) == "test", ["user_id", "cutoff", "label"]]
    keys = {"user_id": lambda d: d["user_id"].astype(str),
            "cutoff": lambda d: pd.to_datetime(d["cutoff"]).dt.tz_localize(None).astype("datetime64[ns]")}
    joined = test.assign(**keys).merge(truth.assign(**keys), on=["user_id", "cutoff"], how="inner")
    out = {}
    for name, col in wanted.items():
        rows = joined[joined[col].notna()]
        if not rows.empty:
            out[name] = task_metrics(task, rows["label"].to_numpy(float), rows[col].to_numpy(float)), len(rows)
    return out


def _leaderboard_rows(cfg: SiyuConfig, task: str, test_cutoff: str) -> list[dict]:
    from siyu.tracking import list_versions, training_runs

    runs = training_runs(task, cfg.tracking, test_cutoff=test_cutoff)
    if runs.empty:
        return []
    versions = {v.run_id: v for v in list_versions(task, cfg.tracking)}
    rows = []
    for _, run in runs.drop_duplicates("model", keep="first").iterrows():
        version = versions.get(run["run_id"])
        row = {"model": run["model"], "version": version.version if version else "",
               "aliases": ",".join(version.aliases) if version else "", "run_id": run["run_id"]}
        row |= {k: run[k] for k in runs.columns if k.startswith("test_") and pd.notna(run[k])}
        rows.append(row)
    return rows


LEADERBOARD_METRICS = {
    "binary": ("auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_5", "lift_at_10", "capture_at_10",
               "capture_at_20"),
    "ltv": ("gini", "spearman", "mae", "rmse", "top_decile_capture", "capture_at_20", "total_spend_error"),
}


def compare(cfg: SiyuConfig, task: str) -> Leaderboard:
    """Leaderboard of the latest run per model on the current test cutoff, beside the oracles
    (hidden-state and observable, when the world has a truth file) with `oracle_ratio` and
    `observable_ratio`; written to `work/reports/leaderboard_<task>.{csv,html}`."""
    frame, manifest, _ = load_task_data(cfg, task)
    cutoff = test_cutoff_of(frame, manifest)
    rows = _leaderboard_rows(cfg, task, cutoff)
    for name, (values, matched) in oracle_metrics(cfg, task, frame).items():
        rows.append({"model": name, "version": "", "aliases": f"truth rows: {matched}", "run_id": "",
                     **{f"test_{k}": v for k, v in values.items()}})
    wanted = LEADERBOARD_METRICS["ltv" if task == "ltv" else "binary"]
    columns = ["model", "version", "aliases", *[f"test_{m}" for m in wanted], "run_id"]
    board = pd.DataFrame(rows).reindex(columns=columns) if rows else pd.DataFrame(columns=columns)
    if not board.empty:
        board = add_oracle_ratio(board, task)
    reports = cfg.paths.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = reports / f"leaderboard_{task}.csv", reports / f"leaderboard_{task}.html"
    board.to_csv(csv_path, index=False)
    html_path.write_text(_leaderboard_html(task, cutoff, board), encoding="utf-8")
    return Leaderboard(task=task, table=board, csv_path=csv_path, html_path=html_path, test_cutoff=cutoff)


def _leaderboard_html(task: str, cutoff: str, board: pd.DataFrame) -> str:
    table = board.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>siyu leaderboard: {html.escape(task)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}</style></head><body>"
            f"<h1>Leaderboard: {html.escape(task)}</h1><p>Test cutoff {html.escape(cutoff)}. "
            "Two oracles from the synthetic world's truth, scored with the same metrics: "
            "<b>oracle</b> = the exact probabilities (or expected spend) given the generator's hidden "
            "state at the cutoff and each user's latent traits, which no model can observe; "
            "<b>oracle_observable</b> = the Bayes-optimal prediction given only the history a model sees "
            "(events before the cutoff and the users table), the real limit for a model. "
            "oracle_ratio = (AUC-0.5)/(oracle AUC-0.5) and observable_ratio = (AUC-0.5)/(oracle_observable "
            "AUC-0.5), or Gini ratios for LTV; an observable_ratio near 1 means little is left to learn.</p>"
            f"{table}</body></html>")


# --------------------------------------------------------------------------- promote
def _metric_direction(metric: str) -> bool:
    return HIGHER_IS_BETTER.get(metric.split("_", 1)[1] if "_" in metric else metric, True)


def _rescored(cfg: SiyuConfig, task: str, version: str, metric: str) -> float:
    """The metric of a registered version re-computed on the current test split."""
    from siyu.tracking import load_version_estimator

    frame, _, features = load_task_data(cfg, task)
    X, y = _split(frame, features, "test")
    estimator = load_version_estimator(task, version, cfg.tracking)
    return float(task_metrics(task, y, estimator.predict_score(X))[metric.removeprefix("test_")])


def promote(cfg: SiyuConfig, task: str, *, decided_at: datetime | None = None) -> PromotionDecision:
    """Move `champion` to the challenger only if it beats the champion on the same test cutoff by
    the configured margin (no champion yet: the best version on the current test cutoff).
    Every decision is tagged on the challenger version and appended to promotions.csv."""
    from siyu.tracking import NoModelError, list_versions, set_alias, tag_version, version_by_alias

    promotion = cfg.training.promotion
    metric = promotion.metric_by_task.get(task, f"test_{headline_metric(task)}")
    higher = _metric_direction(metric)
    challenger = version_by_alias(task, "challenger", cfg.tracking)
    if challenger is None:
        raise NoModelError(f"{task}: no version has the alias 'challenger'; run `siyu train --task {task}` first")
    champion = version_by_alias(task, "champion", cfg.tracking)
    cutoff = challenger.tags.get("test_cutoff", "")
    if champion is None:
        same = [v for v in list_versions(task, cfg.tracking)
                if v.tags.get("test_cutoff") == cutoff and metric in v.metrics and v.tags.get("kind") == "training"]
        best = max(same, key=lambda v: v.metrics[metric] if higher else -v.metrics[metric])
        gate = decide_promotion(metric, best.metrics[metric], None, margin=promotion.margin, higher_is_better=higher)
        reason = (f"first champion: best of {len(same)} version(s) on test cutoff {cutoff}: "
                  f"v{best.version} ({best.model}) {metric}={best.metrics[metric]:.4f}")
        challenger, champion_value, gate_promote = best, None, gate.promote
    elif champion.version == challenger.version:
        champion_value, gate_promote = champion.metrics.get(metric), False
        reason = f"challenger v{challenger.version} is already the champion"
    else:
        comparable = (champion.tags.get("test_cutoff") == cutoff
                      and champion.tags.get("test_rows") == challenger.tags.get("test_rows"))
        champion_value = champion.metrics.get(metric) if comparable else _rescored(cfg, task, champion.version, metric)
        challenger_value = challenger.metrics[metric] if comparable else _rescored(cfg, task, challenger.version, metric)
        gate = decide_promotion(metric, challenger_value, champion_value, margin=promotion.margin, higher_is_better=higher)
        gate_promote = gate.promote
        note = "" if comparable else f" (both re-scored on test cutoff {cutoff})"
        reason = (f"v{challenger.version} ({challenger.model}) vs champion v{champion.version} "
                  f"({champion.model}): {gate.reason}{note}")
    value = challenger.metrics.get(metric, float("nan"))
    decision = PromotionDecision(task=task, promoted=gate_promote, challenger_version=challenger.version,
                                 champion_version=champion.version if champion else "", metric=metric,
                                 challenger_value=float(value), champion_value=champion_value, reason=reason)
    stamp = decided_at.isoformat() if decided_at else ""
    tag_version(task, challenger.version, {"promotion_decision": "promoted" if gate_promote else "refused",
                                           "promotion_reason": reason, "promotion_decided_at": stamp}, cfg.tracking)
    if gate_promote:
        set_alias(task, "champion", challenger.version, cfg.tracking)
    _append_audit(cfg.paths.reports_dir / "promotions.csv", decision, stamp, cfg.tracking.registry_prefix, promotion.margin)
    return decision


_AUDIT_COLUMNS = ("decided_at", "registered_model", "task", "decision", "challenger_version", "champion_version",
                  "metric", "challenger_value", "champion_value", "margin", "reason")


def _append_audit(path: Path, d: PromotionDecision, stamp: str, prefix: str, margin: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(_AUDIT_COLUMNS)
        writer.writerow([stamp, f"{prefix}-{d.task}", d.task, "promoted" if d.promoted else "refused",
                         d.challenger_version, d.champion_version, d.metric, f"{d.challenger_value:.6f}",
                         "" if d.champion_value is None else f"{d.champion_value:.6f}", margin, d.reason])


__all__ = ["GBM_MODELS", "Leaderboard", "ModelResult", "PromotionDecision", "TrainResult", "TrainsetMissing",
           "TuneResult", "compare", "fit_and_log", "load_task_data", "oracle_metrics", "promote",
           "test_cutoff_of", "train", "tune"]
