"""Reference profile of the training features, for the scoring job's PSI guard.

JSON-ready: `{"n_rows": int, "features": {name: {"kind": "numeric", "edges": [...],
"shares": [...], "missing_share": float} | {"kind": "categorical", "categories": [...],
"shares": [...], "missing_share": float}}, "score": {numeric entry}}` (the last only when
training scores are given), `"cutoff": "YYYY-MM-DD"` (the rows' cutoff) when given, and
`"ages": true` on the entries of features that grow by one day per day (tenure, a customer's
age): the drift guard compares those after taking the elapsed days off. Numeric bins are quantile edges (inner edges
only: bin i holds edges[i-1] <= x < edges[i]; len(shares) == len(edges) + 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd


def _numeric(values: pd.Series, n_bins: int) -> dict:
    arr = values.to_numpy(dtype=float)
    present = arr[~np.isnan(arr)]
    missing = float(np.isnan(arr).mean()) if len(arr) else 0.0
    if len(present) == 0:
        return {"kind": "numeric", "edges": [], "shares": [1.0], "missing_share": missing}
    edges = np.unique(np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    return {"kind": "numeric", "edges": edges.tolist(), "shares": (counts / len(present)).tolist(),
            "missing_share": missing}


def _categorical(values: pd.Series) -> dict:
    shares = values.astype(object).value_counts(normalize=True, dropna=True)
    return {"kind": "categorical", "categories": [str(c) for c in shares.index],
            "shares": shares.to_numpy(dtype=float).tolist(), "missing_share": float(values.isna().mean())}


def reference_profile(X: pd.DataFrame, *, scores: np.ndarray | None = None, n_bins: int = 10,
                      cutoff: date | None = None, aging: Sequence[str] = ()) -> dict:
    """Per-feature bins and shares of `X` (numeric: quantile bins; categorical: levels), and of
    the model's training `scores` when given (for the score-shift guard). `cutoff`: the one
    cutoff of X's rows; `aging`: the features that grow one day per day after it."""
    features = {}
    for col in X.columns:
        if isinstance(X[col].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(X[col]):
            features[col] = _categorical(X[col])
        else:
            features[col] = _numeric(X[col], n_bins)
    for col in aging:
        if col in features and features[col]["kind"] == "numeric":
            features[col]["ages"] = True
    profile: dict = {"n_rows": int(len(X)), "features": features}
    if cutoff is not None:
        profile["cutoff"] = pd.Timestamp(cutoff).date().isoformat()
    if scores is not None:
        profile["score"] = _numeric(pd.Series(np.asarray(scores, dtype=float)), n_bins)
    return profile
