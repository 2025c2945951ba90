"""Exact TreeSHAP contributions from the boosters' native code, and summaries of them.

LightGBM (`pred_contrib=True`) and XGBoost (`pred_contribs=True`) compute exact path-dependent
TreeSHAP in C++, much faster than shap's Python entry point and with the same numbers; shap is
used for the plots only (`to_explanation`). Per row, `base_value + values.sum(axis=1)` equals
the model margin (log-odds for classifiers, the raw output for regressors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

DEFAULT_BATCH_ROWS = 100_000


class TreeEstimator(Protocol):
    """What SHAP needs from a siyu tree estimator (INTERFACES.md §6)."""

    tree_model_: Any

    def model_input(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def margin(self, X: pd.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class Contributions:
    """SHAP values of one model for some rows.

    `values`: one column per model feature, index aligned with the input; `base_value`: per row
    (the expected margin); `data`: the frame the booster saw, same index and columns.
    """

    values: pd.DataFrame
    base_value: np.ndarray
    data: pd.DataFrame

    @property
    def margin(self) -> np.ndarray:
        """The model margin the contributions add up to."""
        return self.base_value + self.values.to_numpy().sum(axis=1)


def booster_kind(booster: Any) -> str:
    """'lightgbm' or 'xgboost' for a fitted booster; a clear error for anything else."""
    module = type(booster).__module__
    if module.startswith("lightgbm"):
        return "lightgbm"
    if module.startswith("xgboost"):
        return "xgboost"
    raise TypeError(
        f"tree_model_: expected a lightgbm.Booster or xgboost.Booster, got {type(booster).__name__} "
        f"from {module}; SHAP reasons need one of siyu's tree models (lightgbm, xgboost)"
    )


def _native_contributions(booster: Any, frame: pd.DataFrame) -> np.ndarray:
    """(rows, features + 1) array: contributions then the base value, from the booster's C++ code."""
    if booster_kind(booster) == "lightgbm":
        out = booster.predict(frame, pred_contrib=True)
    else:
        import xgboost as xgb

        matrix = xgb.DMatrix(frame, enable_categorical=True)
        out = booster.predict(matrix, pred_contribs=True)
    out = np.asarray(out, dtype=np.float64)
    if out.ndim != 2 or out.shape[1] != frame.shape[1] + 1:
        raise ValueError(
            f"SHAP contributions: expected {frame.shape[1] + 1} columns (one per feature + base) "
            f"for a single-output model, got shape {out.shape}; multi-class models are not supported"
        )
    return out


def _check_estimator(estimator: Any) -> Any:
    missing = [a for a in ("tree_model_", "model_input") if not hasattr(estimator, a)]
    if missing:
        raise TypeError(
            f"{type(estimator).__name__}: has no {', '.join(missing)}; SHAP needs a fitted siyu tree "
            f"model (lightgbm or xgboost) exposing tree_model_ and model_input(X)"
        )
    return estimator.tree_model_


def iter_contributions(
    estimator: TreeEstimator, X: pd.DataFrame, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[Contributions]:
    """`Contributions` for consecutive row batches of `X`, so memory stays bounded for any size."""
    if batch_rows <= 0:
        raise ValueError(f"batch_rows: expected a positive number of rows, got {batch_rows}")
    booster = _check_estimator(estimator)
    for start in range(0, len(X), batch_rows):
        frame = estimator.model_input(X.iloc[start : start + batch_rows])
        raw = _native_contributions(booster, frame)
        yield Contributions(
            values=pd.DataFrame(raw[:, :-1], index=frame.index, columns=list(frame.columns)),
            base_value=raw[:, -1].copy(),
            data=frame,
        )


def shap_contributions(
    estimator: TreeEstimator, X: pd.DataFrame, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Contributions:
    """Exact TreeSHAP values of `estimator` for every row of `X` (computed in batches)."""
    parts = list(iter_contributions(estimator, X, batch_rows=batch_rows))
    if not parts:
        frame = estimator.model_input(X)
        return Contributions(
            values=pd.DataFrame(np.zeros((0, frame.shape[1])), index=frame.index, columns=list(frame.columns)),
            base_value=np.zeros(0),
            data=frame,
        )
    return Contributions(
        values=pd.concat([p.values for p in parts]),
        base_value=np.concatenate([p.base_value for p in parts]),
        data=pd.concat([p.data for p in parts]),
    )


def global_importance(contrib: Contributions) -> pd.DataFrame:
    """Columns `feature, mean_abs_shap, share` (share of the total), largest first."""
    mean_abs = contrib.values.abs().mean(axis=0)
    total = float(mean_abs.sum()) or 1.0
    out = pd.DataFrame(
        {"feature": mean_abs.index, "mean_abs_shap": mean_abs.to_numpy(), "share": mean_abs.to_numpy() / total}
    )
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


def segment_drivers(contrib: Contributions, segments: pd.Series, *, top_n: int = 5) -> pd.DataFrame:
    """What drives each segment: columns `segment, rank, feature, mean_shap, users`.

    `segments` (index aligned with the contributions) names each row's segment, e.g. its band;
    per segment, the `top_n` features with the largest mean SHAP value (pushing the score up most).
    """
    if not segments.index.equals(contrib.values.index):
        raise ValueError(
            "segments: index must match the contributions' rows (one segment per scored user), "
            f"got {len(segments)} segments for {len(contrib.values)} rows"
        )
    grouped = contrib.values.groupby(segments.to_numpy(), observed=True, sort=True)
    means, sizes = grouped.mean(), grouped.size()
    rows = []
    for segment, row in means.iterrows():
        top = row.sort_values(ascending=False, kind="stable").head(top_n)
        for rank, (feature, value) in enumerate(top.items(), start=1):
            rows.append({"segment": segment, "rank": rank, "feature": feature, "mean_shap": float(value),
                         "users": int(sizes[segment])})
    return pd.DataFrame(rows, columns=["segment", "rank", "feature", "mean_shap", "users"])


def to_explanation(contrib: Contributions, feature_labels: dict[str, str] | None = None) -> Any:
    """A `shap.Explanation` for shap's plots; features may be shown under readable labels."""
    import shap

    labels = [(feature_labels or {}).get(c, c) for c in contrib.values.columns]
    return shap.Explanation(
        values=contrib.values.to_numpy(),
        base_values=contrib.base_value,
        data=_plot_data(contrib.data),
        feature_names=labels,
    )


def _plot_data(frame: pd.DataFrame) -> np.ndarray:
    """Numbers shap can colour by: categories become their codes (NaN when missing)."""
    cols = []
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.float64)
            cols.append(np.where(codes < 0, np.nan, codes))
        else:
            cols.append(pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))
