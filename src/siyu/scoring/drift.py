"""Population stability (PSI) of features and scores against a champion's reference profile.

The profile is the one `siyu.evaluation.reference_profile` writes at training time::

    {"n_rows": 1000, "features": {
        "spend_sum_90d": {"kind": "numeric", "edges": [0.0, 12.5, 80.0],
                          "shares": [.4, .3, .2, .1], "missing_share": 0.05},
        "lifecycle_stage": {"kind": "categorical", "categories": ["active", "silent"],
                            "shares": [.7, .3], "missing_share": 0.0}}}

Numeric ``edges`` are the inner cut points (bin i holds ``edges[i-1] <= x < edges[i]``);
``shares`` are over the present values, ``missing_share`` over all rows. A profile may also
carry the training score distribution under ``"score"`` (same shape as a numeric entry).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

_EPS = 1e-4  # share floor: an empty bin must not make PSI infinite
SCORE_KEYS = ("__score__", "score")  # where a profile may hold the training score distribution


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins (0: identical)."""
    e = np.clip(np.asarray(expected, dtype="float64"), _EPS, None)
    a = np.clip(np.asarray(actual, dtype="float64"), _EPS, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_entry(values: pd.Series | np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Profile entry of a numeric column: quantile edges (deduplicated), shares, missing share."""
    x = np.asarray(values, dtype="float64")
    present = x[~np.isnan(x)]
    missing = float(np.isnan(x).mean()) if len(x) else 0.0
    if len(present) == 0:
        return {"kind": "numeric", "edges": [], "shares": [1.0], "missing_share": missing}
    edges = np.unique(np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    return {"kind": "numeric", "edges": edges.tolist(), "shares": (counts / len(present)).tolist(),
            "missing_share": missing}


def _entry(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Normalise one profile entry: kind, edges | categories, shares over all rows, missing."""
    shares = np.asarray(raw.get("shares", raw.get("counts", [])), dtype="float64")
    missing = float(raw.get("missing_share", raw.get("missing", 0.0)) or 0.0)
    if shares.sum() <= 0 and missing <= 0:
        raise ValueError(f"reference profile of '{name}': no shares ({dict(raw)}); retrain to rebuild it")
    # shares are over the present values: scale them to the present part of all rows
    shares = shares / shares.sum() * (1.0 - missing) if shares.sum() > 0 else shares
    if "categories" in raw or raw.get("kind") == "categorical":
        cats = [str(c) for c in raw.get("categories", [])]
        if len(cats) != len(shares):
            raise ValueError(f"reference profile of '{name}': {len(cats)} categories, {len(shares)} shares")
        return {"kind": "categorical", "categories": cats, "shares": shares, "missing": missing}
    edges = np.asarray(raw.get("edges", []), dtype="float64")
    if len(edges) + 1 != len(shares):
        raise ValueError(
            f"reference profile of '{name}': {len(edges)} edges need {len(edges) + 1} shares, "
            f"got {len(shares)}; retrain to rebuild it"
        )
    return {"kind": "numeric", "edges": edges, "shares": shares, "missing": missing}


def _actual_shares(values: pd.Series, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(expected, actual) shares over all rows: the entry's bins, then unseen categories, missing."""
    n = max(len(values), 1)
    if entry["kind"] == "categorical":
        s = pd.Series(values).astype(object)
        counts = s.dropna().astype(str).value_counts()
        known = np.array([counts.get(c, 0) for c in entry["categories"]], dtype="float64")
        unseen = float(counts.sum() - known.sum())
        actual = np.concatenate([known, [unseen, s.isna().sum()]]) / n
        expected = np.concatenate([entry["shares"], [0.0, entry["missing"]]])
        return expected, actual
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    nan = np.isnan(x)
    counts = np.bincount(
        np.searchsorted(entry["edges"], x[~nan], side="right"), minlength=len(entry["shares"])
    )
    actual = np.concatenate([counts, [nan.sum()]]) / n
    expected = np.concatenate([entry["shares"], [entry["missing"]]])
    return expected, actual


def split_profile(profile: Mapping[str, Any] | None) -> tuple[dict[str, Any], Mapping[str, Any] | None]:
    """(feature entries, training score entry or None) of a champion's reference profile."""
    if not profile:
        return {}, None
    score = next((profile[k] for k in SCORE_KEYS if isinstance(profile.get(k), Mapping)), None)
    if isinstance(profile.get("features"), Mapping):
        return dict(profile["features"]), score
    # a flat {feature: entry} mapping is accepted too
    features = {k: v for k, v in profile.items() if k not in SCORE_KEYS and isinstance(v, Mapping)}
    return features, score


def elapsed_days(profile: Mapping[str, Any] | None, as_of: date | None) -> float | None:
    """Days from the profile's cutoff to `as_of` (None when either is unknown)."""
    if not profile or as_of is None or not profile.get("cutoff"):
        return None
    return float((pd.Timestamp(as_of) - pd.Timestamp(profile["cutoff"])).days)


def feature_psi(profile: Mapping[str, Any], X: pd.DataFrame, *, as_of: date | None = None) -> pd.DataFrame:
    """PSI of each profiled feature present in X: columns feature, kind, psi (largest first).

    A feature the profile marks as aging (`"ages": true`: tenure, a customer's age) grows by one
    day per day for everyone, so a closed cohort drifts by the calendar alone; it is compared
    after taking the days from the profile's cutoff to `as_of` off (and skipped when they are
    unknown): what is left is a real change of the population."""
    features, _ = split_profile(profile)
    elapsed = elapsed_days(profile, as_of)
    rows = []
    for name, raw in features.items():
        if name not in X.columns:
            continue  # a missing column is the schema guard's finding, not drift
        values = X[name]
        if raw.get("ages"):
            if elapsed is None:
                continue
            values = pd.to_numeric(values, errors="coerce") - elapsed
        entry = _entry(raw, name)
        expected, actual = _actual_shares(values, entry)
        rows.append({"feature": name, "kind": entry["kind"], "psi": psi(expected, actual)})
    frame = pd.DataFrame(rows, columns=["feature", "kind", "psi"])
    return frame.sort_values("psi", ascending=False, ignore_index=True)


def score_psi(reference: Mapping[str, Any] | np.ndarray, scores: np.ndarray, n_bins: int = 10) -> float:
    """PSI of `scores` vs a reference: a profile entry, or reference scores binned by quantile."""
    if isinstance(reference, Mapping):
        entry = _entry(reference, "score")
    else:
        entry = _entry(numeric_entry(np.asarray(reference, dtype="float64"), n_bins), "score")
    expected, actual = _actual_shares(pd.Series(np.asarray(scores, dtype="float64")), entry)
    return psi(expected, actual)
