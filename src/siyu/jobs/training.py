"""Training jobs: train, tune, compare and promote models for one task (INTERFACES.md §9).

Each job reads the task's training set (`work/trainsets/<task>/`), calls the pure core
(`siyu.models`, `siyu.evaluation`) and writes through `siyu.tracking` (MLflow) and into
`work/reports/`. The CLI and the notebook call these same functions.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from siyu.config import SiyuConfig
from siyu.evaluation import (
    BTYD_MODEL,
    ORACLE,
    ORACLE_OBSERVABLE,
    Interval,
    add_oracle_ratio,
    decide_against_btyd,
    decide_promotion,
    headline_metric,
    heldout_metrics,
    leaderboard_html,
    leak_alarm,
    metrics_by_cutoff,
    paired_difference,
    protocol_text,
    reference_profile,
    task_metrics,
    transactions_only,
    validation_winner,
)
from siyu.features import parse_feature_specs
from siyu.io.audit import append_promotion
from siyu.io.workspace import TrainsetMissing, load_current_rows, load_task_data
from siyu.models.catalog import GBM_MODELS, btyd_features_wanted, make_model, models_for_task
from siyu.models.rounds import RoundCounter, counting_rounds

if TYPE_CHECKING:
    from siyu.models import SiyuEstimator
    from siyu.tracking import LoggedVersion, RunRecord, VersionInfo

Progress = Callable[[str], None]
_Named = TypeVar("_Named")  # a ModelResult or a VersionInfo: anything with the `model` it is

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ModelResult:
    """One trained model: its run, registered version, seconds and test metrics (or why skipped)."""

    task: str
    model: str
    run_id: str = ""
    version: str = ""
    seconds: float = 0.0
    metrics: dict | None = None  # test metrics, pooled over the test cutoffs, with `<metric>_ci_low/high`
    skipped: str = ""
    failed: str = ""  # `train --model all` goes on past a failing model and names it here
    valid: dict | None = None  # validation metrics (what the choice of challenger reads)


@dataclass(frozen=True)
class TrainResult:
    """What `train` did for a task; `challenger` is the version now holding that alias."""

    task: str
    results: tuple[ModelResult, ...]
    challenger: str
    warnings: tuple[str, ...] = ()  # the training set's own (e.g. a horizon that left few training cutoffs)


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
    """Latest run per model on the current test cutoffs, best on validation first, then the oracles."""

    task: str
    table: pd.DataFrame
    csv_path: Path
    html_path: Path
    test_cutoff: str
    by_cutoff: pd.DataFrame  # model, cutoff, test_<headline metric>: one row per model and test cutoff


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
    difference: Interval | None = None  # paired (challenger - champion) on the test cutoffs


def _rows(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    return frame[frame["split"].astype(str) == split]


def _split(frame: pd.DataFrame, features: list[str], split: str) -> tuple[pd.DataFrame, np.ndarray]:
    part = _rows(frame, split)
    return part[features], part["label"].to_numpy(dtype=float)


def _keys(part: pd.DataFrame) -> pd.DataFrame:
    """`user_id, cutoff` of `part`'s rows, in their order."""
    keys = part[["user_id", "cutoff"]]
    return keys.assign(user_id=keys["user_id"].astype(str)).reset_index(drop=True)


def _test_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """`user_id, cutoff` of the test rows, in the order `_split(..., "test")` returns them."""
    return _keys(_rows(frame, "test"))


SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class _Cut:
    """A task's training set cut into its splits ONCE for all the task's models (`_TaskData`):
    cutting it again for every model copied the whole frame twice per split, and `train` spent a
    fifth of its CPU zeroing fresh pages for such copies (perf). The models only read what they are
    given; the label arrays are read-only, so one that tried to write would fail, not corrupt its
    neighbours."""

    parts: dict  # {split: (X, y)}; an uplift task's {split: `_uplift_split`}
    train_frame: pd.DataFrame  # every column of the train rows: the dataset logged with each run
    test_keys: pd.DataFrame | None = None  # `user_id, cutoff` of the test rows, in `parts["test"]` order
    current: tuple | None = None  # `load_current_rows`: the task's population at its newest cutoff


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


def _cut(cfg: SiyuConfig, task: str, frame: pd.DataFrame, features: list[str]) -> _Cut:
    split = frame["split"].astype(str).to_numpy()
    rows = {s: frame[split == s] for s in SPLITS}
    if cfg.task(task).uplift:
        parts = {s: _uplift_split(part, features) for s, part in rows.items()}
        for part in parts.values():
            for key in ("y", "treatment", "propensity"):
                _read_only(part[key])
        return _Cut(parts, rows["train"])
    return _Cut({s: (part[features], _read_only(part["label"].to_numpy(dtype=float, copy=True)))
                 for s, part in rows.items()},
                rows["train"], _keys(rows["test"]), load_current_rows(cfg, task, features))


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
             cfg: SiyuConfig) -> dict[str, str]:
    """The test split's charts as SVG text, by name."""
    from siyu.evaluation import plots

    figs = {"gains": plots.plot_gains(y, score), "deciles": plots.plot_deciles(y, score)}
    if cfg.task(task).binary:
        figs |= {"roc": plots.plot_roc(y, score), "pr": plots.plot_pr(y, score),
                 "calibration": plots.plot_calibration(y, score)}
    if hasattr(estimator, "tree_model_"):
        figs["shap_summary"] = plots.plot_shap_summary(estimator, X, max_rows=cfg.training.shap_sample_rows,
                                                        seed=cfg.training.seed)
    return figs


def _scored_splits(estimator: SiyuEstimator, data: dict, seed: int) -> dict:
    """{split: (X, y, scores)}; train is a seeded 50k-row sample (its metrics stay cheap)."""
    out = {}
    for split, (X, y) in data.items():
        if split == "train" and len(X) > 50_000:
            idx = np.sort(np.random.default_rng(seed).choice(len(X), 50_000, replace=False))
            X, y = X.iloc[idx], y[idx]
        held_out = getattr(estimator, "valid_scores_", None) if split == "valid" else None
        # A model refitted on train + valid keeps its out-of-sample valid scores: use them.
        out[split] = (X, y, held_out if held_out is not None and len(held_out) == len(X) else estimator.predict_score(X))
    return out


def _split_metrics(kind: str, scored: dict, test_users: pd.Series, cfg: SiyuConfig) -> dict[str, float]:
    """`{split}_{metric}` for every split; the test split pooled over its cutoffs, with the
    95 % intervals of a bootstrap over users (`test_auc_ci_low`, ...)."""
    metrics: dict[str, float] = {}
    for split, (_, y, scores) in scored.items():
        try:
            if split == "test":
                values = heldout_metrics(kind, y, scores, test_users, n_boot=cfg.training.n_bootstrap,
                                         seed=cfg.training.seed)
            else:
                values = task_metrics(kind, y, scores)
        except ValueError:  # e.g. one class only in a split: nothing to score there
            continue
        metrics |= {f"{split}_{k}": v for k, v in values.items()}
    return metrics


def _aging_features(manifest: dict, features: list[str]) -> list[str]:
    """The features that grow by one day per day for every user, as their families say (tenure, a
    customer's BTYD age): the drift guard takes the elapsed days off them instead of calling a
    closed cohort drifted."""
    specs = manifest.get("feature_specs")
    aging = {c for s in parse_feature_specs(specs) for c in s.aging_columns} if specs else set()
    return [f for f in features if f in aging]


def fit_and_log(cfg: SiyuConfig, task: str, model: str, estimator: SiyuEstimator, frame: pd.DataFrame,
                manifest: dict, features: list[str], *, nested: bool = False, run_name: str | None = None,
                extra_tags: dict | None = None) -> ModelResult:
    """Fit `estimator` on train (early stopping / calibration on valid), evaluate, log, register.

    The test cutoffs are scored once, after every choice is made: metrics pooled with intervals,
    per cutoff, and the test rows' scores kept for the paired gate and the leak alarm."""
    from siyu.tracking import log_training_run

    record, result = _fit_and_evaluate(cfg, task, model, estimator, frame, manifest, features, run_name=run_name,
                                       extra_tags=extra_tags)
    return _logged(result, log_training_run(record, cfg.tracking, nested=nested))


def _logged(result: ModelResult, logged: LoggedVersion) -> ModelResult:
    return replace(result, run_id=logged.run_id, version=logged.version)


def _fit_and_evaluate(cfg: SiyuConfig, task: str, model: str, estimator: SiyuEstimator, frame: pd.DataFrame,
                      manifest: dict, features: list[str], *, run_name: str | None = None,
                      extra_tags: dict | None = None, train_digest: str = "",
                      cut: _Cut | None = None) -> tuple[RunRecord, ModelResult]:
    """`fit_and_log` up to the logging: what to log, and the result without its run and version
    (`train_digest` and `cut`: the training rows' digest and splits when the caller made them for
    all its models)."""
    from siyu.tracking import RunRecord

    cut = cut or _cut(cfg, task, frame, features)
    data = cut.parts
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = data["train"], data["valid"], data["test"]
    started = time.perf_counter()
    estimator.fit(X_tr, y_tr, X_valid=X_va, y_valid=y_va)
    seconds = time.perf_counter() - started
    scored = _scored_splits(estimator, data, cfg.training.seed)
    keys = cut.test_keys
    kind = cfg.task(task).kind
    metrics = _split_metrics(kind, scored, keys["user_id"], cfg) | {"fit_seconds": seconds}
    test_scores = keys.assign(label=y_te, score=scored["test"][2])
    figures = _figures(task, y_te, scored["test"][2], estimator, X_te, cfg) if cfg.training.plots else {}
    # The drift guards compare a scoring run with the task's population at the newest cutoff the
    # data reaches (what the model is first applied to, same population rule), scored by this
    # model; a training set without those rows falls back to the last test cutoff, the nearest
    # labelled rows (a 90-day task's are three months older than its first scoring run).
    latest = (keys["cutoff"] == keys["cutoff"].max()).to_numpy()
    current = cut.current
    aging = _aging_features(manifest, features)
    if current is not None and len(current[1]):
        newest, X_now = current
        profile = reference_profile(X_now, scores=np.asarray(estimator.predict_score(X_now), dtype="float64"),
                                    cutoff=newest, aging=aging)
    else:
        profile = reference_profile(X_te[latest], scores=scored["test"][2][latest],
                                    cutoff=keys["cutoff"].max(), aging=aging)
    tags = {"kind": "training", "git_sha": _git_sha(), "test_cutoff": test_cutoff_of(frame, manifest),
            "test_rows": str(len(X_te)), "feature_spec_hash": str(manifest.get("feature_spec_hash", "")),
            "data_digest": str(manifest.get("data_digest", "")), **(extra_tags or {})}
    record = RunRecord(
        task=task, model=model, estimator=estimator, X_example=X_te.head(5), metrics=metrics,
        params={"estimator": type(estimator).__name__, **estimator.get_params()}, tags=tags,
        resolved_config=cfg.redacted(), manifest=manifest,
        reference_profile=profile,
        train_frame=cut.train_frame,
        figures=figures, run_name=run_name,
        dataset_source=str((cfg.paths.trainsets_dir / task / "trainset.parquet").resolve()),
        dataset_digest=train_digest, test_scores=test_scores,
        test_by_cutoff=metrics_by_cutoff(kind, y_te, test_scores["score"], test_scores["cutoff"]),
    )
    return record, _unlogged(task, model, seconds, metrics)


def _unlogged(task: str, model: str, seconds: float, metrics: dict[str, float]) -> ModelResult:
    test = {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")}
    valid = {k.removeprefix("valid_"): v for k, v in metrics.items() if k.startswith("valid_")}
    return ModelResult(task=task, model=model, seconds=seconds, metrics=test, valid=valid)


def _new_model(cfg: SiyuConfig, task: str, model: str, manifest: dict) -> SiyuEstimator:
    """A fresh `model` whose baselines ask the training set's feature specs which column plays which part."""
    specs = manifest.get("feature_specs")
    inputs = parse_feature_specs(specs).roles() if specs else None  # older training sets: found by name
    return make_model(model, cfg.task(task), inputs=inputs, **cfg.training.model_kwargs,
                      btyd_features=btyd_features_wanted(cfg.training.btyd_features, cfg.dataset.roles.in_use()))


def train(cfg: SiyuConfig, task: str, model: str, *, progress: Progress | None = None) -> TrainResult:
    """Train `model` (or "all": every configured model that applies) for `task`; log and register.

    Each new version gets the alias `challenger`; after "all", the challenger is the version
    that scored best on the validation cutoffs (the test cutoff stays for the gate).
    """
    (result,) = train_tasks(cfg, [task], model, progress=progress)
    return result


class _TaskData:
    """A task's training set, read by the first of its models to start and let go after the last
    has fitted, so side-by-side fits hold at most the tasks they are working on."""

    def __init__(self, cfg: SiyuConfig, task: str, n_models: int) -> None:
        self._cfg, self._task, self._left = cfg, task, n_models
        self._lock = threading.Lock()
        self._data: tuple[pd.DataFrame, dict, list[str]] | None = None
        self._cut: _Cut | None = None
        self._digest = ""

    def take(self) -> tuple[pd.DataFrame, dict, list[str], str, _Cut]:
        """(frame, manifest, features, the training rows' digest, its splits), read, hashed and cut once."""
        from siyu.trainsets.store import frame_digest

        with self._lock:
            if self._data is None:
                self._data = load_task_data(self._cfg, self._task)
                frame, _, features = self._data
                self._cut = _cut(self._cfg, self._task, frame, features)
                self._digest = frame_digest(self._cut.train_frame)
            return (*self._data, self._digest, self._cut)

    def done(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self._data = self._cut = None


def train_tasks(cfg: SiyuConfig, tasks: list[str], model: str, *,
                progress: Progress | None = None) -> Iterator[TrainResult]:
    """`train` for several tasks at once, each task's result as soon as its last model is logged.

    Every (task, model) fit goes to one pool of `training.n_jobs` threads, each model on one thread
    (`siyu.models.threads`: on the demo's 60-70k-row training sets one model at a time left a core
    idle). Uplift tasks start first: the X-learner is the longest fit, and the other thread works
    through the other models meanwhile. This thread logs to MLflow whichever fit is ready (pickling,
    copying the model, figures, registering: Python and file work), each task's models in their
    configured order, so versions are numbered as one model at a time numbered them."""
    from siyu.models.threads import member_threads, one_thread_per_call

    say = progress or (lambda _msg: None)
    names, warnings = {}, {}
    for task in tasks:
        spec = cfg.task(task)
        wanted = cfg.uplift.models if spec.uplift else cfg.training.models
        names[task] = models_for_task(spec, wanted) if model == "all" else (model,)
        # keys only: a missing or unusable training set stops the run before any model fits
        manifest = load_task_data(cfg, task, features=False)[1]
        warnings[task] = () if spec.uplift else tuple(manifest.get("warnings", ()))
    n_models = sum(len(v) for v in names.values())
    lanes, threads = min(cfg.training.n_jobs, n_models), member_threads(cfg.training.n_jobs, n_models)
    data = {task: _TaskData(cfg, task, len(names[task])) for task in tasks}
    board = _Board(say, n_models)

    def fit(task: str, name: str) -> tuple[RunRecord, ModelResult]:
        rounds = board.started(f"{task} {name}")
        try:
            frame, manifest, features, digest, cut = data[task].take()
            evaluate = _fit_and_evaluate_uplift if cfg.task(task).uplift else _fit_and_evaluate
            estimator = _new_model(cfg, task, name, manifest)
            # a learner that fits its boosters side by side shares all the threads among them itself
            if not getattr(estimator, "fits_side_by_side", False) and "n_jobs" in estimator.get_params():
                estimator.set_params(n_jobs=threads)
            with counting_rounds(rounds):  # the board shows each booster's round as it fits
                return evaluate(cfg, task, name, estimator, frame, manifest, features, train_digest=digest, cut=cut)
        finally:
            data[task].done()
            board.fitted(f"{task} {name}")

    first = sorted(tasks, key=lambda t: not cfg.task(t).uplift)  # stable: configured order otherwise
    # This thread logs each model (predicting on its example rows) while the lanes fit the next: with
    # several models, even on one lane, LightGBM calls overlap, and its thread count is process-wide
    # (a prediction raised it under a one-thread fit: a segfault in CI, `n_jobs: 1`, uplift models).
    # Whenever models overlap each already fits on one thread, so the cap costs nothing.
    with one_thread_per_call() if n_models > 1 else contextlib.nullcontext(), \
            ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="siyu-fit") as fitter:
        fits = {(task, name): fitter.submit(fit, task, name) for task in first for name in names[task]}
        queues = {task: list(names[task]) for task in tasks}
        settled: dict[str, list[ModelResult]] = {task: [] for task in tasks}
        try:
            while queues:
                heads = {fits[(task, queue[0])]: task for task, queue in queues.items()}
                ready, _ = wait(heads, return_when=FIRST_COMPLETED)
                for future in ready:
                    task = heads[future]
                    name = queues[task].pop(0)
                    settled[task].append(_settled(task, name, future, model, cfg))
                    board.logged()
                    if not queues[task]:
                        del queues[task]
                        yield _challenged(cfg, task, settled[task], warnings[task])
        finally:  # a model asked for by name failed, or the caller stopped: fit nothing more
            for future in fits.values():
                future.cancel()


class _Board:
    """What `train_tasks` says while it runs: models logged of all, and those fitting now with the
    round each booster is at (no time left is told: one model costs 100 times another)."""

    def __init__(self, say: Progress, total: int) -> None:
        self._say, self._total, self._done = say, total, 0
        self._fitting: dict[str, RoundCounter] = {}
        self._lock = threading.Lock()

    def started(self, model: str) -> RoundCounter:
        """`model` starts fitting: the counter its boosters report their rounds to (the board is
        said again at most twice a second while they run)."""
        with self._lock:
            counter = self._fitting[model] = RoundCounter(self._refresh)
            self._show()
        return counter

    def fitted(self, model: str) -> None:
        with self._lock:
            del self._fitting[model]
            self._show()

    def logged(self) -> None:
        with self._lock:
            self._done += 1
            self._show()

    def _refresh(self) -> None:
        with self._lock:
            self._show()

    def _show(self) -> None:
        models = [f"{m} ({c.text()})" if c.text() else m for m, c in self._fitting.items()]
        now = f"; fitting {', '.join(models)}" if models else ""
        self._say(f"training: {self._done} of {self._total} models logged{now}")


def _settled(task: str, name: str, fitted: Future, model: str, cfg: SiyuConfig) -> ModelResult:
    """A model's result once it is fitted and logged, or the failure of either."""
    from siyu.tracking import log_training_run

    try:
        record, result = fitted.result()
        return _logged(result, log_training_run(record, cfg.tracking))
    except Exception as exc:  # noqa: BLE001 - `all` trains every model and reports each failure
        return _failed(task, name, exc, model)


def _challenged(cfg: SiyuConfig, task: str, results: list[ModelResult], warnings: tuple[str, ...]) -> TrainResult:
    """A task's results, the best on validation made its challenger when there are several."""
    from siyu.tracking import set_alias

    trained = [r for r in results if r.version]
    challenger = trained[-1].version if trained else ""
    if len(trained) > 1:
        challenger = _best_on_valid(cfg, task, trained)
        set_alias(task, "challenger", challenger, cfg.tracking)
    return TrainResult(task=task, results=tuple(results), challenger=challenger, warnings=warnings)


def _failed(task: str, name: str, exc: Exception, model: str) -> ModelResult:
    """A model that could not be fitted or logged: re-raised when it was the one asked for."""
    if model != "all":
        raise exc
    from siyu.models import MissingFeatureError

    if isinstance(exc, MissingFeatureError):
        return ModelResult(task=task, model=name, skipped=str(exc))
    log.error("%s %s failed", task, name, exc_info=exc)
    return ModelResult(task=task, model=name, failed=f"{type(exc).__name__}: {exc}")


def _best_on_valid(cfg: SiyuConfig, task: str, trained: list[ModelResult]) -> str:
    from siyu.tracking import list_versions

    metric = f"valid_{cfg.task(task).headline_metric}"
    by_version = {v.version: v.metrics.get(metric, -np.inf) for v in list_versions(task, cfg.tracking)}
    return validation_winner({r.version: by_version.get(r.version, -np.inf)
                              for r in challenger_candidates(cfg.task(task).uplift, trained)})


def challenger_candidates(uplift: bool, trained: list[_Named]) -> list[_Named]:
    """The models (results or versions) a challenger or a first champion is chosen from: for an
    uplift task its effect learners, not the yardsticks (`siyu.uplift.YARDSTICKS`),
    unless only yardsticks were trained."""
    if not uplift:
        return trained
    from siyu.uplift import estimates_effects

    return [r for r in trained if estimates_effects(r.model)] or trained


# --------------------------------------------------------------------------- tune
def tune(cfg: SiyuConfig, task: str, model: str, n_trials: int | None = None,
         *, progress: Progress | None = None) -> TuneResult:
    """Optuna study on the time split (train → valid), trials nested under a parent MLflow run;
    the best parameters are refitted, logged and registered as the new challenger."""
    from sklearn.metrics import roc_auc_score

    from siyu.evaluation import normalized_gini
    from siyu.models.tuning import SEARCH_SPACES, run_study
    from siyu.tracking import log_study_summary, study_run, trial_callback

    spec = cfg.task(task)
    if model not in SEARCH_SPACES or model not in models_for_task(spec):
        tunable = [m for m in models_for_task(spec) if m in SEARCH_SPACES]
        raise ValueError(f"tune: model {model!r} cannot be tuned for {task!r}; choose one of {tunable}")
    say = progress or (lambda _msg: None)
    frame, manifest, features = load_task_data(cfg, task)
    (X_tr, y_tr), (X_va, y_va) = _split(frame, features, "train"), _split(frame, features, "valid")
    metric = spec.headline_metric
    score = roc_auc_score if spec.binary else normalized_gini
    tuning = cfg.training.tuning
    trials = n_trials or tuning.n_trials
    with study_run(cfg.tracking, task=task, model=model,
                   tags={"git_sha": _git_sha(), "test_cutoff": test_cutoff_of(frame, manifest)}) as parent:
        board = _Trials(say, f"{task}: tuning {model}", trials, f"valid_{metric}")
        board.show()
        with counting_rounds(board.rounds):
            study = run_study(
                lambda: _new_model(cfg, task, model, manifest), model, SEARCH_SPACES[model],
                X_train=X_tr, y_train=y_tr, X_valid=X_va, y_valid=y_va, score=score,
                binary=spec.binary, n_trials=trials, timeout_s=tuning.timeout_s, seed=tuning.seed,
                study_name=f"{task}-{model}",
                callbacks=[trial_callback(cfg.tracking, metric_name=f"valid_{metric}", task=task, model=model),
                           board.trial_done],
            )
        pruned = sum(t.state.name == "PRUNED" for t in study.trials)
        log_study_summary(study.best_params, study.best_value, len(study.trials), pruned, f"valid_{metric}")
        say(f"{task}: refitting {model} with the best parameters")
        best = _new_model(cfg, task, model, manifest).set_params(**study.best_params)
        result = fit_and_log(cfg, task, model, best, frame, manifest, features, nested=True,
                             run_name=f"{task}-{model}-tuned", extra_tags={"tuned": "true", "study_run_id": parent})
    return TuneResult(task=task, model=model, best_params=dict(study.best_params), best_value=float(study.best_value),
                      metric=f"valid_{metric}", n_trials=len(study.trials), n_pruned=pruned,
                      study_run_id=parent, version=result.version)


class _Trials:
    """What `tune` says while its study runs: the trial under way of all, its booster's round and
    the best value so far (no time left is told: trials differ many times in cost)."""

    def __init__(self, say: Progress, label: str, n_trials: int, metric: str) -> None:
        self._say, self._label, self._n, self._metric = say, label, n_trials, metric
        self._done, self._best = 0, float("nan")
        self.rounds = RoundCounter(self.show)

    def trial_done(self, study, trial) -> None:  # noqa: ANN001 - an Optuna study callback
        self._done += 1
        if any(t.state.name == "COMPLETE" for t in study.trials):
            self._best = study.best_value
        self.rounds.forget_done()
        self.show()

    def show(self) -> None:
        now = self.rounds.text()
        trial = f"trial {self._done + 1} of {self._n}" if self._done < self._n else f"{self._n} trials done"
        best = f"; best {self._metric} {self._best:.4f}" if self._best == self._best else ""
        self._say(f"{self._label}, {trial}{f' ({now})' if now else ''}{best}")


# --------------------------------------------------------------------------- compare
def _oracle_rows(cfg: SiyuConfig, task: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The test rows joined to the truth file (user_id, cutoff, label, one column per oracle) and
    {oracle row name: truth column}; empty when the world has no truth file."""
    import pyarrow.parquet as pq

    path = cfg.paths.truth_dir / "truth.parquet"
    if not path.exists():
        return pd.DataFrame(), {}
    column = cfg.task(task).truth_column
    if column is None:
        return pd.DataFrame(), {}
    wanted = {ORACLE: column, ORACLE_OBSERVABLE: f"{column}_observable"}
    present = set(pq.read_schema(path).names)
    wanted = {name: col for name, col in wanted.items() if col in present}
    truth = pd.read_parquet(path, columns=["user_id", "cutoff", *wanted.values()])
    test = frame.loc[frame["split"].astype(str) == "test", ["user_id", "cutoff", "label"]]
    joined = _keyed(test).merge(_keyed(truth), on=["user_id", "cutoff"], how="inner")
    return joined, wanted


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """`user_id` as text and `cutoff` as naive datetime64[ns], so frames from any source join."""
    return frame.assign(user_id=frame["user_id"].astype(str),
                        cutoff=pd.to_datetime(frame["cutoff"]).dt.tz_localize(None).astype("datetime64[ns]"))


def oracle_metrics(cfg: SiyuConfig, task: str, frame: pd.DataFrame) -> dict[str, tuple[dict[str, float], int]]:
    """Metrics of the ground-truth scores on the test rows, with the same intervals as the models:
    {"oracle": (metrics, rows matched)} for the hidden-state truth and "oracle_observable" for
    the observable oracle (`<column>_observable`, absent in older truth files). Empty when the
    world has no truth file."""
    return _oracle_values(cfg, task, *_oracle_rows(cfg, task, frame))


def _oracle_values(cfg: SiyuConfig, task: str, joined: pd.DataFrame,
                   wanted: dict[str, str]) -> dict[str, tuple[dict[str, float], int]]:
    out = {}
    for name, col in wanted.items():
        rows = joined[joined[col].notna()]
        if not rows.empty:
            values = heldout_metrics(cfg.task(task).kind, rows["label"].to_numpy(float), rows[col].to_numpy(float),
                                     rows["user_id"], n_boot=cfg.training.n_bootstrap, seed=cfg.training.seed)
            out[name] = values, len(rows)
    return out


def _above_observable(cfg: SiyuConfig, task: str, scores: pd.DataFrame | None, truth: pd.DataFrame,
                      observable: str | None) -> Interval | None:
    """Paired interval of (model - observable oracle) on the test rows both scored, or None."""
    if scores is None or observable is None:
        return None
    rows = _keyed(scores).merge(truth[["user_id", "cutoff", observable]], on=["user_id", "cutoff"], how="inner")
    rows = rows[rows[observable].notna()]
    spec = cfg.task(task)
    if rows.empty or (spec.binary and rows["label"].nunique() < 2):
        return None
    return paired_difference(spec.headline_metric, rows["label"], rows["score"], rows[observable], rows["user_id"],
                             n_boot=cfg.training.n_bootstrap, rng=np.random.default_rng(cfg.training.seed),
                             above_only=True)


def _leaderboard_rows(cfg: SiyuConfig, task: str, test_cutoff: str, truth: pd.DataFrame,
                      wanted: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """(one row per model: its latest run on these test cutoffs, with the leak alarm; the
    per-cutoff headline metric of each model and oracle, long format)."""
    from siyu.tracking import list_versions, load_test_by_cutoff, load_test_scores, training_runs

    runs = training_runs(task, cfg.tracking, test_cutoff=test_cutoff)
    if runs.empty:
        return [], []
    observable = wanted.get(ORACLE_OBSERVABLE)
    kind = cfg.task(task).kind
    headline = headline_metric(kind)
    versions = {v.run_id: v for v in list_versions(task, cfg.tracking)}
    rows, by_cutoff = [], []
    for _, run in runs.drop_duplicates("model", keep="first").iterrows():
        version = versions.get(run["run_id"])
        row = {"model": run["model"], "version": version.version if version else "",
               "aliases": ",".join(version.aliases) if version else "", "run_id": run["run_id"]}
        row |= {k: run[k] for k in runs.columns if k.startswith(("test_", "valid_")) and pd.notna(run[k])}
        where = {"cfg": cfg.tracking, "artifact_uri": run["artifact_uri"]}
        scores = load_test_scores(run["run_id"], **where) if observable else None
        row["leak_alarm"] = leak_alarm(_above_observable(cfg, task, scores, truth, observable))
        rows.append(row)
        by_cutoff += [{"model": run["model"], "cutoff": c, f"test_{headline}": m.get(headline)}
                      for c, m in load_test_by_cutoff(run["run_id"], **where).items()]
    for name, col in wanted.items():
        known = truth[truth[col].notna()]
        per = metrics_by_cutoff(kind, known["label"], known[col], known["cutoff"]) if not known.empty else {}
        by_cutoff += [{"model": name, "cutoff": c, f"test_{headline}": m.get(headline)} for c, m in per.items()]
    return rows, by_cutoff


LEADERBOARD_METRICS = {  # by task kind
    "binary": ("auc", "auc_ci_low", "auc_ci_high", "pr_auc", "pr_auc_ci_low", "pr_auc_ci_high", "log_loss", "brier",
               "ece", "lift_at_5", "lift_at_10", "capture_at_10", "capture_at_20"),
    "amount": ("gini", "gini_ci_low", "gini_ci_high", "spearman", "mae", "rmse", "top_decile_capture", "capture_at_20",
            "total_spend_error"),
}


def _with_versus_btyd(cfg: SiyuConfig, task: str, rows: list[dict]) -> list[dict]:
    """Rows with `vs_bgnbd` (paired test difference against BG/NBD with its interval) and `gate`
    (whether the transaction-only gate lets the model be champion), said plainly."""
    from siyu.tracking import load_test_scores

    metric = cfg.training.promotion.metric_by_task.get(task, f"test_{cfg.task(task).headline_metric}")
    base = next((r for r in rows if r["model"] == BTYD_MODEL and r.get("run_id")), None)
    theirs = load_test_scores(base["run_id"], cfg.tracking) if base else None
    out = []
    for row in rows:
        if not row.get("run_id"):  # an oracle
            out.append(row)
            continue
        difference = None
        if row["model"] != BTYD_MODEL and theirs is not None:
            ours = load_test_scores(row["run_id"], cfg.tracking)
            if ours is not None:
                both = _keyed(ours).merge(_keyed(theirs)[["user_id", "cutoff", "score"]], on=["user_id", "cutoff"],
                                          suffixes=("", "_b"))
                difference = paired_difference(metric.removeprefix("test_"), both["label"], both["score"],
                                               both["score_b"], both["user_id"], n_boot=cfg.training.n_bootstrap,
                                               rng=np.random.default_rng(cfg.training.seed))
        held = decide_against_btyd(metric, row["model"], difference, margin=cfg.training.promotion.margin)
        shown = "" if difference is None else f"{difference.value:+.4f} [{difference.low:+.4f}, {difference.high:+.4f}]"
        verdict = ("baseline" if row["model"] == BTYD_MODEL else "no BG/NBD judged on these test cutoffs"
                   if base is None else "beats BG/NBD" if held.promote else
                   "does not beat BG/NBD: BG/NBD stays champion")
        out.append(row | {"vs_bgnbd": shown, "gate": verdict})
    return out


def compare(cfg: SiyuConfig, task: str) -> Leaderboard:
    """Leaderboard of the latest run per model on the current test cutoffs, best on validation
    first with test beside it (pooled, with 95 % intervals over users), the oracles below (when
    the world has a truth file) with `oracle_ratio` and `observable_ratio`, and a leak alarm on
    any model above the observable oracle beyond its interval. Written to
    `work/reports/leaderboard_<task>.{csv,html}` and `leaderboard_<task>_by_cutoff.csv`. An
    uplift task gets its own board (`compare_uplift`)."""
    if cfg.task(task).uplift:
        return compare_uplift(cfg, task)
    frame, manifest, _ = load_task_data(cfg, task, features=False)
    cutoff = test_cutoff_of(frame, manifest)
    truth, wanted = _oracle_rows(cfg, task, frame)  # read once: model rows, oracle rows and the alarm
    rows, by_cutoff = _leaderboard_rows(cfg, task, cutoff, truth, wanted)
    for name, (values, matched) in _oracle_values(cfg, task, truth, wanted).items():
        rows.append({"model": name, "version": "", "aliases": f"truth rows: {matched}", "run_id": "",
                     **{f"test_{k}": v for k, v in values.items()}})
    kind = cfg.task(task).kind
    headline = headline_metric(kind)
    wanted = LEADERBOARD_METRICS[kind]
    versus_btyd = _btyd_rule(cfg, task)
    if versus_btyd:
        rows = _with_versus_btyd(cfg, task, rows)
    columns = ["model", "version", "aliases", f"valid_{headline}", *[f"test_{m}" for m in wanted], "leak_alarm",
               *(["vs_bgnbd", "gate"] if versus_btyd else []), "run_id"]
    board = pd.DataFrame(rows).reindex(columns=columns) if rows else pd.DataFrame(columns=columns)
    if not board.empty:
        board = add_oracle_ratio(board, kind).assign(leak_alarm=lambda b: b["leak_alarm"].fillna(""))
    per_cutoff = pd.DataFrame(by_cutoff, columns=["model", "cutoff", f"test_{headline}"])
    reports = cfg.paths.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = reports / f"leaderboard_{task}.csv", reports / f"leaderboard_{task}.html"
    board.to_csv(csv_path, index=False)
    per_cutoff.to_csv(reports / f"leaderboard_{task}_by_cutoff.csv", index=False)
    protocol = protocol_text(manifest, cfg.training.n_bootstrap, "en")
    html_path.write_text(leaderboard_html(task, cutoff, board, per_cutoff, protocol), encoding="utf-8")
    return Leaderboard(task=task, table=board, csv_path=csv_path, html_path=html_path, test_cutoff=cutoff,
                       by_cutoff=per_cutoff)


# --------------------------------------------------------------------------- promote
def _test_scores_of(cfg: SiyuConfig, task: str, version: VersionInfo, frame: pd.DataFrame,
                    with_features: Callable[[], tuple[pd.DataFrame, list[str]]], cutoff: str) -> pd.DataFrame:
    """`user_id, cutoff, label, score` of a version on the current test rows: the scores its run
    logged when it was judged on these very rows, else the model re-scored on them (the training
    set's feature columns read then, through `with_features`)."""
    from siyu.tracking import load_test_scores, load_version_estimator

    keys = _test_keys(frame)
    if version.tags.get("test_cutoff") == cutoff:
        logged = load_test_scores(version.run_id, cfg.tracking)
        if logged is not None and len(logged) == len(keys):
            return _keyed(logged)
    X, y = _split(*with_features(), "test")
    estimator = load_version_estimator(task, version.version, cfg.tracking)
    return _keyed(keys.assign(label=y, score=estimator.predict_score(X)))


def _reader_of_features(cfg: SiyuConfig, task: str) -> Callable[[], tuple[pd.DataFrame, list[str]]]:
    """(training set with its feature columns, feature names) of `task`, read on the first call."""

    @functools.cache
    def read() -> tuple[pd.DataFrame, list[str]]:
        frame, _, names = load_task_data(cfg, task)
        return frame, names

    return read


def _btyd_rule(cfg: SiyuConfig, task: str) -> bool:
    """Whether the transaction-only gate applies: an order history alone, and a task BG/NBD models."""
    return transactions_only(cfg.dataset.roles.in_use()) and BTYD_MODEL in models_for_task(cfg.task(task))


def _latest_btyd(versions: list[VersionInfo]) -> VersionInfo | None:
    """The newest BG/NBD version among `versions` (registry versions are numbered in order)."""
    btyd = [v for v in versions if v.model == BTYD_MODEL]
    return max(btyd, key=lambda v: int(v.version)) if btyd else None


@dataclass(frozen=True)
class _Versus:
    """Paired interval of (a - b) on the current test rows, for two registered versions. `frame`:
    the training set's keys, split and label; `with_features`: it with its feature columns and
    their names, read once when a version must be re-scored."""

    cfg: SiyuConfig
    task: str
    frame: pd.DataFrame
    with_features: Callable[[], tuple[pd.DataFrame, list[str]]]
    cutoff: str
    metric: str

    def __call__(self, a: VersionInfo, b: VersionInfo | None) -> Interval | None:
        if b is None:
            return None
        ours = _test_scores_of(self.cfg, self.task, a, self.frame, self.with_features, self.cutoff)
        theirs = _test_scores_of(self.cfg, self.task, b, self.frame, self.with_features, self.cutoff)
        both = ours.merge(theirs[["user_id", "cutoff", "score"]], on=["user_id", "cutoff"], suffixes=("", "_b"))
        return paired_difference(self.metric.removeprefix("test_"), both["label"], both["score"], both["score_b"],
                                 both["user_id"], n_boot=self.cfg.training.n_bootstrap,
                                 rng=np.random.default_rng(self.cfg.training.seed))


def promote(cfg: SiyuConfig, task: str, *, decided_at: datetime | None = None) -> PromotionDecision:
    """Move `champion` to the challenger only if the paired bootstrap over users of
    (challenger - champion) on the test cutoffs has its lower 95 % bound above the margin. With no
    champion yet, the validation winner among the versions judged on these test cutoffs becomes
    champion: the test cutoffs pick nothing. On transaction-only data a model other than BG/NBD
    must also beat BG/NBD on the test cutoffs beyond its interval, or BG/NBD stays (or becomes)
    champion. Every decision, with its difference and interval,
    is tagged on the challenger version and appended to promotions.csv."""
    from siyu.tracking import NoModelError, list_versions, set_alias, tag_version, version_by_alias

    promotion = cfg.training.promotion
    metric = promotion.metric_by_task.get(task, f"test_{cfg.task(task).headline_metric}")
    challenger = version_by_alias(task, "challenger", cfg.tracking)
    if challenger is None:
        raise NoModelError(f"{task}: no version has the alias 'challenger'; run `siyu train --task {task}` first")
    champion = version_by_alias(task, "champion", cfg.tracking)
    # Keys and labels only: the logged test scores answer every comparison on these test rows,
    # and reading the feature columns was the largest part of a promotion.
    frame, manifest, _ = load_task_data(cfg, task, features=False)
    cutoff = test_cutoff_of(frame, manifest)
    difference = None
    versus = (_UpliftVersus if cfg.task(task).uplift else _Versus)(cfg, task, frame, _reader_of_features(cfg, task),
                                                                   cutoff, metric)
    if champion is None:
        valid_metric = "valid_" + metric.removeprefix("test_")
        same = challenger_candidates(cfg.task(task).uplift, [
            v for v in list_versions(task, cfg.tracking)
            if v.tags.get("test_cutoff") == cutoff and valid_metric in v.metrics and v.tags.get("kind") == "training"])
        if not same:
            raise NoModelError(f"{task}: no trained version was judged on test cutoffs {cutoff}; run "
                               f"`siyu train --task {task}` on the current training set first")
        winner = validation_winner({v.version: v.metrics[valid_metric] for v in same})
        challenger = next(v for v in same if v.version == winner)
        gate_promote = True
        reason = (f"first champion: best on validation of {len(same)} version(s): v{challenger.version} "
                  f"({challenger.model}) {valid_metric}={challenger.metrics[valid_metric]:.4f}; "
                  f"{metric}={challenger.metrics.get(metric, float('nan')):.4f} on test cutoffs {cutoff}")
        if _btyd_rule(cfg, task):
            btyd = _latest_btyd(same)
            held = decide_against_btyd(metric, challenger.model, versus(challenger, btyd), margin=promotion.margin)
            if not held.promote and btyd is not None:
                challenger = btyd
                reason = (f"first champion: BG/NBD v{btyd.version} stays champion; the validation winner "
                          f"failed the transaction-only gate: {held.reason}")
            elif not held.promote:
                gate_promote, reason = False, held.reason
            else:
                reason += f"; {held.reason}"
    elif champion.version == challenger.version:
        gate_promote = False
        reason = f"challenger v{challenger.version} is already the champion"
    elif seen := _champion_saw_test(cfg, task, champion, manifest):
        # The champion's test metric would read outcomes it learned from (the training set was
        # rebuilt with another split): it is judged through a refit of its model on the current
        # training set instead.
        what = "campaigns that are test campaigns" if cfg.task(task).uplift else "the outcomes of test cutoffs"
        stale = (f"champion v{champion.version} ({champion.model}) was fitted on {what} "
                 f"now ({', '.join(seen[:3])}{', ...' if len(seen) > 3 else ''})")
        refits = [v for v in list_versions(task, cfg.tracking)
                  if v.model == champion.model and v.tags.get("test_cutoff") == cutoff and v.version != champion.version]
        if not refits:
            gate_promote = False
            reason = (f"{stale}: no fair comparison on them; refit its model on the current training set (`siyu "
                      f"train --task {task} --model {champion.model}`) and promote again")
        elif refits[0].version == challenger.version:
            gate_promote = True
            reason = f"{stale}; v{challenger.version}, its model refit on the current training set, replaces it"
        else:
            difference = versus(challenger, refits[0])
            gate = decide_promotion(metric, difference, margin=promotion.margin)
            gate_promote = gate.promote
            reason = (f"{stale}, so v{challenger.version} ({challenger.model}) is judged against v{refits[0].version}, "
                      f"its model refit on the current training set, on test cutoffs {cutoff}: {gate.reason}")
    else:
        difference = versus(challenger, champion)
        gate = decide_promotion(metric, difference, margin=promotion.margin)
        gate_promote = gate.promote
        reason = (f"v{challenger.version} ({challenger.model}) vs champion v{champion.version} "
                  f"({champion.model}) on test cutoffs {cutoff}: {gate.reason}")
        if gate_promote and champion.model != BTYD_MODEL and _btyd_rule(cfg, task):
            judged = [v for v in list_versions(task, cfg.tracking) if v.tags.get("test_cutoff") == cutoff]
            held = decide_against_btyd(metric, challenger.model, versus(challenger, _latest_btyd(judged)),
                                       margin=promotion.margin)
            gate_promote = held.promote
            reason += f"; {held.reason}"
    decision = PromotionDecision(
        task=task, promoted=gate_promote, challenger_version=challenger.version,
        champion_version=champion.version if champion else "", metric=metric,
        challenger_value=float(challenger.metrics.get(metric, float("nan"))),
        champion_value=champion.metrics.get(metric) if champion else None, reason=reason, difference=difference)
    stamp = decided_at.isoformat() if decided_at else ""
    interval_tags = {} if difference is None else {"promotion_difference": f"{difference.value:.6f}",
                                                   "promotion_ci_low": f"{difference.low:.6f}",
                                                   "promotion_ci_high": f"{difference.high:.6f}"}
    tag_version(task, challenger.version, {"promotion_decision": "promoted" if gate_promote else "refused",
                                           "promotion_reason": reason, "promotion_decided_at": stamp,
                                           **interval_tags}, cfg.tracking)
    if gate_promote:
        set_alias(task, "champion", challenger.version, cfg.tracking)
    _append_audit(cfg.paths.reports_dir / "promotions.csv", decision, stamp, cfg.tracking.registry_prefix, promotion.margin)
    return decision


# --------------------------------------------------------------------------- uplift tasks (issue 15)
def _uplift_split(part: pd.DataFrame, features: list[str]) -> dict:
    """One split's rows of an uplift training set, as the estimators and the readouts take them."""
    return {"X": part[features], "y": part["label"].to_numpy(dtype=float),
            "treatment": part["treatment"].astype(str).to_numpy(), "propensity": part["propensity"].to_numpy(float),
            "keys": part[["user_id", "cutoff", "campaign_id"]].assign(user_id=part["user_id"].astype(str))
            .reset_index(drop=True)}


def _uplift_scores(estimator, data: dict) -> pd.DataFrame:  # noqa: ANN001 - an uplift estimator
    """`user_id, cutoff, campaign_id, treatment, label, score, uplift__<t>...` of one split's rows."""
    uplift = estimator.predict_uplift(data["X"])
    cols = {f"uplift__{t}": uplift[:, j] for j, t in enumerate(estimator.treatments_)}
    return data["keys"].assign(treatment=data["treatment"], label=data["y"], score=uplift.max(axis=1), **cols)


def _uplift_matrix(scores: pd.DataFrame, treatments: tuple[str, ...]) -> np.ndarray:
    return scores[[f"uplift__{t}" for t in treatments]].to_numpy(dtype=float)


def _uplift_eval(cfg: SiyuConfig, scores: pd.DataFrame, treatments: tuple[str, ...], *, n_boot: int) -> dict:
    from siyu.uplift.metrics import uplift_metrics

    return uplift_metrics(scores["label"], scores["treatment"], _uplift_matrix(scores, treatments), treatments,
                          scores["user_id"], strata=scores["campaign_id"], n_boot=n_boot, seed=cfg.training.seed)


def _uplift_by_campaign(cfg: SiyuConfig, scores: pd.DataFrame, treatments: tuple[str, ...]) -> dict:
    """{"<cutoff> <campaign>": metrics} of each test campaign (no intervals)."""
    out = {}
    for (cutoff, campaign), part in scores.groupby(["cutoff", "campaign_id"], sort=True):
        try:
            out[f"{pd.Timestamp(cutoff).date()} {campaign}"] = _uplift_eval(cfg, part, treatments, n_boot=0)
        except ValueError:
            continue
    return out


def _qini_figure(scores: pd.DataFrame, treatments: tuple[str, ...]) -> str:
    """Each treatment's Qini curve on the test rows against random targeting, as SVG text."""
    from siyu.charts import GREY, Line, line_chart
    from siyu.uplift.metrics import qini_curve

    lines = []
    for t in treatments:
        rows = scores[scores["treatment"].isin([t, "control"])]
        curve = qini_curve(rows["label"], rows["treatment"] == t, rows[f"uplift__{t}"])
        lines += [Line(curve["share"], curve["qini"], t),
                  Line(curve["share"], curve["random"], "random" if t == treatments[0] else "", "dashed", GREY, width=0.8)]
    return line_chart(lines, title="Qini", xlabel="share of users, ranked by predicted effect",
                      ylabel="incremental outcomes (Qini)", legend="upper left", size=(600, 400))


def _fit_and_evaluate_uplift(cfg: SiyuConfig, task: str, model: str, estimator, frame: pd.DataFrame,  # noqa: ANN001
                             manifest: dict, features: list[str], *, train_digest: str = "",
                             cut: _Cut | None = None) -> tuple[RunRecord, ModelResult]:
    """Fit an uplift estimator on the train campaigns (early stopping on valid), judge it on the
    test campaigns once (Qini, AUUC, uplift@k with intervals over users), and return what to log
    like every model (`{split}_{metric}`, `evaluation/test_scores.parquet` with `treatment`,
    `campaign_id` and `uplift__<t>` columns for the gate, per-campaign metrics) with the result
    still without its run and version: `train` logs it beside the next model's fit."""
    from siyu.tracking import RunRecord

    cut = cut or _cut(cfg, task, frame, features)
    data = cut.parts
    tr, va, te = data["train"], data["valid"], data["test"]
    started = time.perf_counter()
    estimator.fit(tr["X"], tr["y"], treatment=tr["treatment"], propensity=tr["propensity"], X_valid=va["X"],
                  y_valid=va["y"], treatment_valid=va["treatment"], propensity_valid=va["propensity"],
                  groups=tr["keys"]["user_id"], groups_valid=va["keys"]["user_id"])
    seconds = time.perf_counter() - started
    treatments = tuple(estimator.treatments_)
    valid_scores, test_scores = _uplift_scores(estimator, va), _uplift_scores(estimator, te)
    held_out = getattr(estimator, "valid_uplift_", None)
    if held_out is not None and len(held_out) == len(valid_scores):  # a model refit on train + valid
        valid_scores = valid_scores.assign(score=held_out.max(axis=1),
                                           **{f"uplift__{t}": held_out[:, j] for j, t in enumerate(treatments)})
    metrics: dict[str, float] = {"fit_seconds": seconds}
    for split, scores, n_boot in (("valid", valid_scores, 0), ("test", test_scores, cfg.training.n_bootstrap)):
        try:
            metrics |= {f"{split}_{k}": v for k, v in _uplift_eval(cfg, scores, treatments, n_boot=n_boot).items()}
        except ValueError:
            continue
    latest = (test_scores["cutoff"] == test_scores["cutoff"].max()).to_numpy()
    profile = reference_profile(te["X"][latest], scores=test_scores["score"].to_numpy()[latest],
                                cutoff=test_scores["cutoff"].max(), aging=_aging_features(manifest, features))
    tags = {"kind": "training", "git_sha": _git_sha(), "test_cutoff": test_cutoff_of(frame, manifest),
            "test_rows": str(len(te["y"])), "feature_spec_hash": str(manifest.get("feature_spec_hash", "")),
            "data_digest": str(manifest.get("data_digest", "")), "uplift": "true", "treatments": ",".join(treatments)}
    record = RunRecord(
        task=task, model=model, estimator=estimator, X_example=te["X"].head(5), metrics=metrics,
        params={"estimator": type(estimator).__name__, **estimator.get_params()}, tags=tags,
        resolved_config=cfg.redacted(), manifest=manifest, reference_profile=profile,
        train_frame=cut.train_frame,
        figures={"qini": _qini_figure(test_scores, treatments)} if cfg.training.plots else {}, run_name=None,
        dataset_source=str((cfg.paths.trainsets_dir / task / "trainset.parquet").resolve()),
        dataset_digest=train_digest, test_scores=test_scores,
        test_by_cutoff=_uplift_by_campaign(cfg, test_scores, treatments),
    )
    return record, _unlogged(task, model, seconds, metrics)


UPLIFT_ORACLE = "oracle"
UPLIFT_LEADERBOARD_METRICS = ("qini", "qini_ci_low", "qini_ci_high", "auuc", "auuc_ci_low", "auuc_ci_high",
                              "uplift_at_10", "uplift_at_10_ci_low", "uplift_at_10_ci_high", "uplift_at_30",
                              "true_qini")


def _uplift_truth(cfg: SiyuConfig, task: str, test: pd.DataFrame,
                  treatments: tuple[str, ...]) -> tuple[pd.DataFrame | None, str]:
    """The test rows (`user_id, cutoff, campaign_id`) joined to the generated world's effects
    (`truth/uplift.parquet`): the true ones `tau_<label>_<h>d__<treatment>` as `tau__<treatment>`
    and, when the world has them, the observable oracle's (`..._observable`) as
    `tau_observable__<treatment>`; or (None, why not)."""
    import pyarrow.parquet as pq

    path = cfg.paths.truth_dir / "uplift.parquet"
    if not path.exists():
        return None, f"no true effects ({path} not found: not a generated world, or an older one)"
    spec = cfg.task(task)
    present = set(pq.read_schema(path).names)
    wanted = {}
    for t in treatments:
        name = f"tau_{spec.label}_{spec.horizon_days}d__{t}"
        wanted |= {name: f"tau__{t}", f"{name}_observable": f"tau_observable__{t}"}
    found = {c: alias for c, alias in wanted.items() if c in present}
    if not any(alias.startswith("tau__") for alias in found.values()):
        return None, f"no true effects for {task}: {path} has none of {sorted(c for c in wanted if 'observable' not in c)}"
    truth = pd.read_parquet(path, columns=["user_id", "cutoff", *found])
    truth = _keyed(truth).drop_duplicates(["user_id", "cutoff"]).rename(columns=found)
    joined = _keyed(test).merge(truth, on=["user_id", "cutoff"], how="left")
    have = sorted({alias.split("__", 1)[1] for alias in found.values() if alias.startswith("tau__")})
    missing = [t for t in treatments if t not in have]
    note = f"true effects for {have}" + (f"; none for {missing}" if missing else "")
    if not any(alias.startswith("tau_observable__") for alias in found.values()):
        note += "; no observable-oracle effects (a world generated before they existed)"
    return joined, note


def _effect_matrix(frame: pd.DataFrame, prefix: str, treatments: tuple[str, ...]) -> np.ndarray:
    """(rows, T) of the `<prefix><treatment>` columns; 0 where a treatment has none."""
    return np.column_stack([frame[f"{prefix}{t}"].to_numpy(float) if f"{prefix}{t}" in frame
                            else np.zeros(len(frame)) for t in treatments])


def _uplift_oracle_rows(truth: pd.DataFrame,
                        treatments: tuple[str, ...]) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """{oracle row name: (its test rows, its effects (rows, T), 0 for a treatment without any)}:
    `oracle` ranks by the true effects, `oracle_observable` by the observable oracle's (the best a
    model of the history can do); each on the rows where all of its known effects are."""
    out = {}
    for name, prefix in ((UPLIFT_ORACLE, "tau__"), (ORACLE_OBSERVABLE, "tau_observable__")):
        cols = [f"{prefix}{t}" for t in treatments if f"{prefix}{t}" in truth]
        known = truth.dropna(subset=cols) if cols else truth.iloc[:0]
        if not known.empty:
            out[name] = (known, _effect_matrix(known, prefix, treatments))
    return out


def _true_metrics(scores: pd.DataFrame, truth: pd.DataFrame | None, treatments: tuple[str, ...]) -> dict:
    from siyu.uplift.metrics import true_uplift_metrics

    if truth is None:
        return {}
    cols = [f"tau__{t}" for t in treatments]
    rows = _keyed(scores).merge(truth[["user_id", "cutoff", "campaign_id", *[c for c in cols if c in truth]]],
                                on=["user_id", "cutoff", "campaign_id"], how="inner")
    tau = np.column_stack([rows[c].to_numpy(float) if c in rows else np.full(len(rows), np.nan) for c in cols])
    return true_uplift_metrics(rows["treatment"], _uplift_matrix(rows, treatments), tau, treatments)


def _uplift_leak_alarm(cfg: SiyuConfig, scores: pd.DataFrame | None, known: pd.DataFrame, tau: np.ndarray,
                       treatments: tuple[str, ...]) -> str:
    """'likely leakage: ...' when a run's test Qini (its logged `scores`) beats the observable
    oracle's on the same rows beyond the paired interval (no model of the history can rank
    better than the posterior mean effect), else ''."""
    from siyu.uplift.metrics import paired_uplift_difference

    if scores is None or not all(f"uplift__{t}" in scores for t in treatments):
        return ""
    oracle = known.assign(**{f"oracle__{t}": tau[:, j] for j, t in enumerate(treatments)})
    both = _keyed(scores).merge(oracle[["user_id", "cutoff", "campaign_id", *[f"oracle__{t}" for t in treatments]]],
                                on=["user_id", "cutoff", "campaign_id"], how="inner")
    if both.empty:
        return ""
    try:
        versus = paired_uplift_difference("qini", both["label"], both["treatment"], _uplift_matrix(both, treatments),
                                          _effect_matrix(both, "oracle__", treatments), treatments, both["user_id"],
                                          n_boot=cfg.training.n_bootstrap, rng=np.random.default_rng(cfg.training.seed),
                                          strata=both["campaign_id"], above_only=True)
    except ValueError:
        return ""
    return leak_alarm(versus)


def compare_uplift(cfg: SiyuConfig, task: str) -> Leaderboard:
    """The uplift leaderboard: the latest run per model on the current test campaigns, sorted by
    validation Qini, test Qini / AUUC / uplift@k with 95 % intervals beside it; on a generated
    world an `oracle` row (ranking by the true effects, scored on the same outcomes) and an
    `oracle_observable` row (ranking by the observable oracle's effects: the posterior mean given
    the history, the best a model can do), each model's `oracle_ratio` / `observable_ratio` (test
    Qini over theirs), its `true_qini` (its ranking judged on the true effects) and a leak alarm
    when it beats the observable oracle beyond the paired interval. Written to
    `work/reports/leaderboard_<task>.{csv,html}` and `leaderboard_<task>_by_cutoff.csv` (Qini per
    test campaign)."""
    from siyu.tracking import list_versions, load_test_by_cutoff, load_test_scores, training_runs
    from siyu.uplift.metrics import uplift_metrics

    frame, manifest, _ = load_task_data(cfg, task, features=False)
    cutoff = test_cutoff_of(frame, manifest)
    treatments = tuple(manifest.get("treatments") or sorted(set(frame["treatment"].astype(str)) - {"control"}))
    test = frame.loc[frame["split"].astype(str) == "test", ["user_id", "cutoff", "campaign_id", "treatment", "label"]]
    truth, note = _uplift_truth(cfg, task, test, treatments)
    runs = training_runs(task, cfg.tracking, test_cutoff=cutoff)
    versions = {v.run_id: v for v in list_versions(task, cfg.tracking)} if not runs.empty else {}
    rows, by_campaign, logged = [], [], {}
    for _, run in (runs.drop_duplicates("model", keep="first").iterrows() if not runs.empty else []):
        version = versions.get(run["run_id"])
        row = {"model": run["model"], "version": version.version if version else "",
               "aliases": ",".join(version.aliases) if version else "", "run_id": run["run_id"]}
        row |= {k: run[k] for k in runs.columns if k.startswith(("test_", "valid_")) and pd.notna(run[k])}
        where = {"cfg": cfg.tracking, "artifact_uri": run["artifact_uri"]}
        scores = logged[run["run_id"]] = load_test_scores(run["run_id"], **where)
        if scores is not None and truth is not None:
            row |= {f"test_{k}": v for k, v in _true_metrics(scores, truth, treatments).items()}
        rows.append(row)
        by_campaign += [{"model": run["model"], "cutoff": c, "test_qini": m.get("qini")}
                        for c, m in load_test_by_cutoff(run["run_id"], **where).items()]
    oracles = _uplift_oracle_rows(truth, treatments) if truth is not None else {}
    for name, (known, tau) in oracles.items():
        values = uplift_metrics(known["label"], known["treatment"], tau, treatments, known["user_id"],
                                strata=known["campaign_id"], n_boot=cfg.training.n_bootstrap, seed=cfg.training.seed)
        ranked = known[["user_id", "cutoff", "campaign_id", "treatment"]].assign(
            **{f"uplift__{t}": tau[:, j] for j, t in enumerate(treatments)})
        true = _true_metrics(ranked, truth, treatments)
        rows.append({"model": name, "version": "", "aliases": f"truth rows: {len(known)}", "run_id": "",
                     **{f"test_{k}": v for k, v in values.items()}, **{f"test_{k}": v for k, v in true.items()}})
    if ORACLE_OBSERVABLE in oracles:
        for row in rows:
            if row["run_id"]:
                row["leak_alarm"] = _uplift_leak_alarm(cfg, logged.get(row["run_id"]), *oracles[ORACLE_OBSERVABLE],
                                                       treatments)
    columns = ["model", "version", "aliases", "valid_qini", *[f"test_{m}" for m in UPLIFT_LEADERBOARD_METRICS],
               "oracle_ratio", "observable_ratio", "leak_alarm", "run_id"]
    extra = sorted({k for r in rows for k in r if "__" in k and k.startswith(("test_", "valid_"))})
    board = pd.DataFrame(rows).reindex(columns=[*columns, *extra]) if rows else pd.DataFrame(columns=columns)
    if not board.empty:
        ratios = {}
        for reference, column in ((UPLIFT_ORACLE, "oracle_ratio"), (ORACLE_OBSERVABLE, "observable_ratio")):
            value = board.loc[board["model"] == reference, "test_qini"]
            ref = float(value.iloc[0]) if len(value) and pd.notna(value.iloc[0]) else float("nan")
            ratios[column] = board["test_qini"] / ref if ref == ref and ref != 0 else np.nan
        board = board.assign(**ratios, leak_alarm=board["leak_alarm"].astype(object).fillna(""))
        board = board.sort_values(["valid_qini", "test_qini"], ascending=False, kind="stable",
                                  na_position="last").reset_index(drop=True)
    per_campaign = pd.DataFrame(by_campaign, columns=["model", "cutoff", "test_qini"])
    reports = cfg.paths.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = reports / f"leaderboard_{task}.csv", reports / f"leaderboard_{task}.html"
    board.to_csv(csv_path, index=False)
    per_campaign.to_csv(reports / f"leaderboard_{task}_by_cutoff.csv", index=False)
    html_path.write_text(_uplift_board_html(task, cutoff, board, manifest, note, cfg.training.n_bootstrap),
                         encoding="utf-8")
    return Leaderboard(task=task, table=board, csv_path=csv_path, html_path=html_path, test_cutoff=cutoff,
                       by_cutoff=per_campaign)


def _uplift_board_html(task: str, cutoff: str, board: pd.DataFrame, manifest: dict, note: str, n_boot: int) -> str:
    import html

    campaigns = ", ".join((manifest.get("campaigns") or {}).get("test", []))
    table = board.drop(columns=["run_id"], errors="ignore").to_html(index=False, float_format=lambda v: f"{v:.4f}",
                                                                     na_rep="", border=0)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>siyu uplift leaderboard: {html.escape(task)}"
            "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}</style></head><body>"
            f"<h1>Uplift leaderboard: {html.escape(task)}</h1><p>Test campaigns {html.escape(campaigns)} "
            f"(cutoffs {html.escape(cutoff)}), scored once after every choice; rows sorted by validation Qini. "
            "qini / auuc: area between the model's Qini (uplift) curve and the random line over the same area "
            "for the perfect ranking of the observed outcomes (1 = perfect, 0 = random); uplift_at_k: treated "
            "minus control outcome rate among the top k % by predicted effect. Each treatment is judged on its "
            "arm against control; the headline is their treated-row weighted mean. 95 % intervals from "
            f"{n_boot} bootstrap resamples of users. oracle: ranking by the generator's true effects (it knows "
            "each user's hidden state); oracle_observable: ranking by each user's expected effect given only the "
            "history before the campaign (the best any model can do); oracle_ratio / observable_ratio = qini over "
            "theirs; true_qini: the ranking judged on the true effects; leak_alarm: a model above "
            "oracle_observable beyond its paired interval. "
            f"{html.escape(note)}.</p>{table}</body></html>")


def _champion_saw_test(cfg: SiyuConfig, task: str, champion: VersionInfo, manifest: dict) -> list[str]:
    """What of the current test rows the champion's fit already read the outcomes of, from its
    run's logged manifest: for an uplift task the test campaigns it used for train or valid, for
    the others the test cutoffs whose label windows overlap those of its train or valid cutoffs
    (its refit read them); [] when none or unknown."""
    from siyu.tracking import load_run_manifest

    theirs = load_run_manifest(champion.run_id, cfg.tracking) or {}
    if cfg.task(task).uplift:
        fitted = {c for split in ("train", "valid") for c in (theirs.get("campaigns") or {}).get(split, [])}
        return [c for c in (manifest.get("campaigns") or {}).get("test", []) if c in fitted]
    return seen_test_cutoffs(theirs, manifest)


def seen_test_cutoffs(theirs: dict, ours: dict) -> list[str]:
    """The test cutoffs of the training set `ours` whose label window overlaps the label window
    of a train or valid cutoff of `theirs` (two manifests): a model fitted on `theirs` has read
    outcomes that `ours` keeps for its test. A cutoff's window is [cutoff, cutoff + horizon)."""
    def days(manifest: dict, splits: tuple[str, ...]) -> tuple[list[date], int]:
        cutoffs = manifest.get("cutoffs")
        if not isinstance(cutoffs, dict):
            return [], 0
        return ([date.fromisoformat(str(c)[:10]) for s in splits for c in cutoffs.get(s, [])],
                int(manifest.get("horizon_days") or 0))

    fitted, theirs_h = days(theirs, ("train", "valid"))
    tested, ours_h = days(ours, ("test",))
    return [c.isoformat() for c in tested
            if any(f < c + timedelta(days=ours_h) and c < f + timedelta(days=theirs_h) for f in fitted)]


@dataclass(frozen=True)
class _UpliftVersus(_Versus):
    """Paired interval of (a - b) on the uplift headline (Qini) over the current test campaigns."""

    def __call__(self, a: VersionInfo, b: VersionInfo | None) -> Interval | None:
        from siyu.uplift.metrics import paired_uplift_difference

        if b is None:
            return None
        ours, theirs = self._scores(a), self._scores(b)
        treatments = tuple(c.removeprefix("uplift__") for c in ours.columns if c.startswith("uplift__"))
        both = ours.merge(theirs[["user_id", "cutoff", "campaign_id", *[f"uplift__{t}" for t in treatments]]],
                          on=["user_id", "cutoff", "campaign_id"], suffixes=("", "_b"))
        return paired_uplift_difference(
            self.metric.removeprefix("test_"), both["label"], both["treatment"], _uplift_matrix(both, treatments),
            both[[f"uplift__{t}_b" for t in treatments]].to_numpy(float), treatments, both["user_id"],
            n_boot=self.cfg.training.n_bootstrap, rng=np.random.default_rng(self.cfg.training.seed),
            strata=both["campaign_id"])

    def _scores(self, version: VersionInfo) -> pd.DataFrame:
        """The version's logged test scores on these campaigns, else the model re-scored on them."""
        from siyu.tracking import load_test_scores, load_version_estimator

        test = self.frame[self.frame["split"].astype(str) == "test"]
        if version.tags.get("test_cutoff") == self.cutoff:
            logged = load_test_scores(version.run_id, self.cfg.tracking)
            if logged is not None and len(logged) == len(test) and "campaign_id" in logged:
                return _keyed(logged)
        estimator = load_version_estimator(self.task, version.version, self.cfg.tracking)
        frame, features = self.with_features()
        return _keyed(_uplift_scores(estimator, _uplift_split(_rows(frame, "test"), features)))


def _append_audit(path: Path, d: PromotionDecision, stamp: str, prefix: str, margin: float) -> None:
    diff = d.difference
    append_promotion(path, {
        "decided_at": stamp, "registered_model": f"{prefix}-{d.task}", "task": d.task,
        "decision": "promoted" if d.promoted else "refused", "challenger_version": d.challenger_version,
        "champion_version": d.champion_version, "metric": d.metric, "challenger_value": f"{d.challenger_value:.6f}",
        "champion_value": "" if d.champion_value is None else f"{d.champion_value:.6f}", "margin": margin,
        "difference": "" if diff is None else f"{diff.value:.6f}", "ci_low": "" if diff is None else f"{diff.low:.6f}",
        "ci_high": "" if diff is None else f"{diff.high:.6f}", "reason": d.reason,
    })


__all__ = ["GBM_MODELS", "Leaderboard", "ModelResult", "PromotionDecision", "TrainResult", "TrainsetMissing",
           "TuneResult", "compare", "compare_uplift", "fit_and_log", "load_task_data", "oracle_metrics", "promote",
           "test_cutoff_of", "train", "tune"]
