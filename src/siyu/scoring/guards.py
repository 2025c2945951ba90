"""Guards a scoring run passes before it publishes: schema, drift, score shift, tag churn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from siyu.config import GuardConfig
from siyu.scoring.bands import label_codes
from siyu.scoring.drift import _entry, feature_psi, score_psi, split_profile

Status = Literal["ok", "warn", "fail", "skipped"]


@dataclass(frozen=True)
class GuardResult:
    """One guard's verdict: the measured value against its threshold, and the worst offenders."""

    guard: str  # e.g. "feature_drift[churn]"
    status: Status
    value: float | None
    threshold: float | None
    offenders: tuple[str, ...] = ()
    detail: str = ""

    def describe(self) -> str:
        """One line naming the guard, the value, the threshold and the top offenders."""
        value = "n/a" if self.value is None else f"{self.value:.4g}"
        limit = "n/a" if self.threshold is None else f"{self.threshold:.4g}"
        text = f"{self.guard}: {self.status.upper()} value {value} (threshold {limit})"
        if self.offenders:
            text += "; top offenders: " + ", ".join(self.offenders)
        if self.detail:
            text += f" — {self.detail}"
        return text


class GuardFailed(Exception):
    """A scoring run stopped before publishing because one or more guards failed."""

    def __init__(self, results: Sequence[GuardResult], run_id: str = "") -> None:
        self.results = tuple(results)
        self.run_id = run_id
        failed = [r for r in self.results if r.status == "fail"]
        lines = [f"scoring run {run_id} stopped: {len(failed)} guard(s) failed, nothing published"]
        lines += [f"  - {r.describe()}" for r in failed]
        lines.append("  Inspect the offenders; rerun with --force to publish anyway (recorded in scoring_runs).")
        super().__init__("\n".join(lines))


def _status(value: float, warn: float | None, fail: float) -> Status:
    if value > fail:
        return "fail"
    if warn is not None and value > warn:
        return "warn"
    return "ok"


def check_min_users(n_users: int, cfg: GuardConfig) -> GuardResult:
    """Fail when fewer users than `min_users` were scored (an empty or truncated feature table)."""
    status: Status = "fail" if n_users < cfg.min_users else "ok"
    return GuardResult("min_users", status, float(n_users), float(cfg.min_users),
                       detail="fewer users scored than required" if status == "fail" else "")


def _expected_kind(entry: Mapping[str, Any] | None, name: str) -> str | None:
    return None if entry is None else _entry(entry, name)["kind"]


def check_schema(
    task: str, feature_names: Sequence[str], X: pd.DataFrame, profile: Mapping[str, Any] | None
) -> GuardResult:
    """Fail when a model feature is missing from X or its type differs from the training profile."""
    features, _ = split_profile(profile)
    missing = [f for f in feature_names if f not in X.columns]
    wrong = []
    for name in feature_names:
        if name in missing:
            continue
        kind = _expected_kind(features.get(name), name)
        col = X[name]
        is_num = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if kind == "numeric" and not is_num:
            wrong.append(f"{name} (expected numeric, got {col.dtype})")
        elif kind == "categorical" and is_num:
            wrong.append(f"{name} (expected categorical, got {col.dtype})")
    offenders = tuple([f"{m} (missing)" for m in missing] + wrong)
    status: Status = "fail" if offenders else "ok"
    detail = (
        f"{len(missing)} missing and {len(wrong)} wrongly typed of {len(feature_names)} model features; "
        "rebuild the features with the specs the champion was trained on" if offenders else ""
    )
    return GuardResult(f"schema[{task}]", status, float(len(offenders)), 0.0, offenders, detail)


def check_feature_drift(
    task: str, profile: Mapping[str, Any] | None, X: pd.DataFrame, cfg: GuardConfig, *, as_of: date | None = None
) -> tuple[GuardResult, pd.DataFrame]:
    """Share of features drifted past `psi_fail` vs the champion's training profile, and the table.
    Aging features (tenure) are compared net of the days from the profile's cutoff to `as_of`.

    Fails when that share exceeds `max_drifted_share`; warns when any feature passes `psi_warn`.
    The table has columns task, feature, kind, psi, status (largest PSI first).
    """
    table = feature_psi(profile or {}, X, as_of=as_of)
    if table.empty:
        result = GuardResult(f"feature_drift[{task}]", "skipped", None, cfg.psi_fail,
                             detail="the champion has no reference profile")
        return result, table.assign(task=task, status=pd.Series(dtype=object))
    table = table.assign(
        task=task,
        status=[_status(v, cfg.psi_warn, cfg.psi_fail) for v in table["psi"]],
    )[["task", "feature", "kind", "psi", "status"]]
    worst = float(table["psi"].iloc[0])
    flagged = table[table["status"] != "ok"].head(cfg.top_offenders)
    offenders = tuple(f"{f}={v:.3f}" for f, v in zip(flagged["feature"], flagged["psi"], strict=True))
    n_fail = int((table["status"] == "fail").sum())
    share = n_fail / len(table)
    status = "fail" if share > cfg.max_drifted_share else ("warn" if worst >= cfg.psi_warn else "ok")
    detail = (f"{n_fail} of {len(table)} feature(s) over PSI {cfg.psi_fail} (largest {worst:.3f}); "
              f"the run stops above {cfg.max_drifted_share:.0%} of them") if n_fail else ""
    return GuardResult(f"feature_drift[{task}]", status, share, cfg.max_drifted_share, offenders, detail), table


def _score_bins(reference: Mapping[str, Any] | np.ndarray, scores: np.ndarray, cfg: GuardConfig) -> str:
    """The quantile bin of the reference whose share moved most (for the message)."""
    ref = np.asarray(reference if not isinstance(reference, Mapping) else [], dtype="float64")
    if len(ref) == 0 or len(scores) == 0:
        return ""
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, cfg.psi_bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    a = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1) / len(scores)
    i = int(np.argmax(np.abs(a - e)))
    lo = "-inf" if i == 0 else f"{edges[i - 1]:.3g}"
    hi = "inf" if i == len(edges) else f"{edges[i]:.3g}"
    return f"scores in [{lo}, {hi}): {e[i]:.1%} -> {a[i]:.1%}"


def check_score_shift(
    tag: str,
    scores: np.ndarray,
    previous_scores: np.ndarray | None,
    profile: Mapping[str, Any] | None,
    cfg: GuardConfig,
) -> GuardResult:
    """PSI of this run's scores vs the last published run's, else vs the training reference."""
    _, score_entry = split_profile(profile)
    if previous_scores is not None and len(previous_scores) > 0:
        reference: Mapping[str, Any] | np.ndarray = np.asarray(previous_scores, dtype="float64")
        against = "the last published run"
    elif score_entry is not None:
        reference, against = score_entry, "the training scores"
    else:
        return GuardResult(f"score_shift[{tag}]", "skipped", None, cfg.score_shift_fail,
                           detail="no previous run and no training score profile to compare with")
    value = score_psi(reference, scores, cfg.psi_bins)
    status = _status(value, cfg.score_shift_warn, cfg.score_shift_fail)
    where = _score_bins(reference, np.asarray(scores, dtype="float64"), cfg)
    return GuardResult(f"score_shift[{tag}]", status, value, cfg.score_shift_fail,
                       (where,) if where else (), f"PSI vs {against}")


def check_changed_share(
    tag: str,
    previous: pd.Series | np.ndarray | None,
    current: pd.Categorical | np.ndarray,
    cfg: GuardConfig,
) -> GuardResult:
    """Share of users (tagged in both runs) whose `tag` value changed; names the top moves."""
    if previous is None:
        return GuardResult(f"changed_share[{tag}]", "skipped", None, cfg.max_changed_share,
                           detail="no previous published run")
    cur = pd.Categorical(current) if not isinstance(current, pd.Categorical) else current
    prev = previous.array if isinstance(previous, pd.Series) else previous
    if not isinstance(prev, pd.Categorical):
        prev = pd.Categorical(np.asarray(prev, dtype=object))
    used = prev.categories[np.unique(prev.codes[prev.codes >= 0])]
    labels = list(cur.categories) + sorted(set(map(str, used)) - set(map(str, cur.categories)))
    prev_codes = label_codes(prev, labels)
    cur_codes = cur.codes.astype("int64")
    both = (prev_codes >= 0) & (cur_codes >= 0)
    compared = int(both.sum())
    if compared == 0:
        return GuardResult(f"changed_share[{tag}]", "skipped", None, cfg.max_changed_share,
                           detail="no user tagged in both runs")
    moved = both & (prev_codes != cur_codes)
    share = float(moved.sum() / compared)
    k = len(labels)
    pairs = np.bincount(prev_codes[moved] * k + cur_codes[moved], minlength=k * k)
    top = np.argsort(-pairs, kind="stable")[: cfg.top_offenders]
    offenders = tuple(f"{labels[i // k]} -> {labels[i % k]}: {pairs[i]}" for i in top if pairs[i] > 0)
    status: Status = "fail" if share > cfg.max_changed_share else "ok"
    detail = f"{int(moved.sum())} of {compared} users changed"
    return GuardResult(f"changed_share[{tag}]", status, share, cfg.max_changed_share, offenders, detail)


@dataclass(frozen=True)
class GuardReport:
    """All guard results of one run, and the feature drift table."""

    results: tuple[GuardResult, ...]
    drift: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def failed(self) -> tuple[GuardResult, ...]:
        return tuple(r for r in self.results if r.status == "fail")

    @property
    def warnings(self) -> tuple[GuardResult, ...]:
        return tuple(r for r in self.results if r.status == "warn")

    def raise_if_failed(self, run_id: str = "") -> None:
        """Raise GuardFailed naming every failed guard (no-op when all passed)."""
        if self.failed:
            raise GuardFailed(self.results, run_id)


def guard_dicts(results: Sequence[GuardResult]) -> list[dict[str, Any]]:
    """Guard verdicts as JSON-ready dicts (what a run records in `scoring_runs.guards`)."""
    return [{"guard": r.guard, "status": r.status, "value": r.value, "threshold": r.threshold,
             "offenders": list(r.offenders), "detail": r.detail} for r in results]
