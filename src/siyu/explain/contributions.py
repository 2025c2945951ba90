"""Per-feature contributions of every champion kind, and summaries of them.

- Tree models: exact path-dependent TreeSHAP from the boosters' native code (LightGBM
  `pred_contrib=True`, XGBoost `pred_contribs=True`), much faster than shap's Python entry
  point and with the same numbers. The report draws its own charts (`siyu.explain.plots`);
  `to_explanation` hands contributions to shap's plots in a notebook.
- Linear pipelines (logistic, Tweedie GLM): each coefficient times its transformed value's
  distance from the rows' mean, summed back to the source column (exact Shapley values of a
  linear margin with the mean as reference).
- Models reading a few named inputs (the recency rule, BG/NBD): exact Shapley values over those
  inputs against the rows' medians (2^k evaluations, k <= 5); every other column gets 0.

Per row, `base_value + values.sum(axis=1)` equals the model margin (log-odds for classifiers,
the raw or log output for regressors).
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


def _linear_pipeline(estimator: Any) -> Any:
    pipeline = getattr(estimator, "pipeline_", None)
    steps = getattr(pipeline, "named_steps", {})
    return pipeline if "prep" in steps and hasattr(steps.get("model"), "coef_") else None


def _source_of(prep: Any) -> list[str]:
    """The source column of each column of a fitted linear preprocessor's output: the numeric
    columns, then their missing-value indicators, then each categorical's one-hot columns."""
    out: list[str] = []
    for name, transformer, cols in prep.transformers_:
        cols = list(cols)
        if name == "num":
            out += cols
            indicator = getattr(transformer.named_steps["impute"], "indicator_", None)
            out += [cols[i] for i in (indicator.features_ if indicator is not None else [])]
        elif name == "cat" and cols:
            out += [max((c for c in cols if n.startswith(f"{c}_")), key=len)
                    for n in transformer.get_feature_names_out(cols)]
    return out


def _linear_contributions(estimator: Any, X: pd.DataFrame) -> Contributions:
    from siyu.models.baselines import as_model_input

    pipeline = _linear_pipeline(estimator)
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    frame = as_model_input(X)
    design = np.asarray(prep.transform(frame), dtype=np.float64)
    coef = np.ravel(model.coef_)
    sources = _source_of(prep)
    if len(sources) != design.shape[1]:
        raise ValueError(f"linear contributions: {design.shape[1]} design columns but {len(sources)} traced "
                         "back to features; the pipeline's layout is not the one siyu builds")
    centred = (design - design.mean(axis=0)) * coef
    values = pd.DataFrame(0.0, index=X.index, columns=list(X.columns))
    for j, col in enumerate(sources):
        values[col] += centred[:, j]
    base = float(np.ravel(model.intercept_)[0]) + float(design.mean(axis=0) @ coef)
    return Contributions(values=values, base_value=np.full(len(X), base), data=X)


def _to_margin(estimator: Any, score: np.ndarray) -> np.ndarray:
    if getattr(estimator, "binary", True):
        p = np.clip(score, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))
    return np.log1p(np.clip(score, 0, None))


def _input_shapley(estimator: Any, X: pd.DataFrame) -> Contributions:
    """Exact Shapley values over the few columns the model reads, reference = the rows' medians."""
    from itertools import combinations
    from math import factorial

    inputs = [c for c in dict.fromkeys(getattr(estimator, "inputs_", {}).values()) if c]
    k = len(inputs)
    reference = X[inputs].median(numeric_only=True).reindex(inputs)
    values = pd.DataFrame(0.0, index=X.index, columns=list(X.columns))
    cache: dict[frozenset, np.ndarray] = {}

    def f(present: frozenset) -> np.ndarray:
        if present not in cache:
            frame = X.copy()
            for col in inputs:
                if col not in present:
                    frame[col] = reference[col]
            cache[present] = _to_margin(estimator, np.asarray(estimator.predict_score(frame), dtype=np.float64))
        return cache[present]

    for col in inputs:
        others = [c for c in inputs if c != col]
        total = np.zeros(len(X))
        for size in range(k):
            weight = factorial(size) * factorial(k - size - 1) / factorial(k)
            for subset in combinations(others, size):
                s = frozenset(subset)
                total += weight * (f(s | {col}) - f(s))
        values[col] = total
    return Contributions(values=values, base_value=f(frozenset()), data=X)


def contribution_method(estimator: Any) -> str:
    """How `estimator`'s contributions are computed: tree_shap, linear, inputs; else a TypeError
    naming what the model lacks."""
    if hasattr(estimator, "tree_model_") and hasattr(estimator, "model_input"):
        return "tree_shap"
    if _linear_pipeline(estimator) is not None:
        return "linear"
    if 0 < len([c for c in getattr(estimator, "inputs_", {}).values() if c]) <= 5:
        return "inputs"
    _check_estimator(estimator)
    raise AssertionError("unreachable")  # _check_estimator raised


def iter_contributions(
    estimator: TreeEstimator, X: pd.DataFrame, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[Contributions]:
    """`Contributions` for consecutive row batches of `X`, so memory stays bounded for any size."""
    if batch_rows <= 0:
        raise ValueError(f"batch_rows: expected a positive number of rows, got {batch_rows}")
    method = contribution_method(estimator)
    if method != "tree_shap":
        for start in range(0, len(X), batch_rows):
            part = X.iloc[start : start + batch_rows]
            yield _linear_contributions(estimator, part) if method == "linear" else _input_shapley(estimator, part)
        return
    booster = _check_estimator(estimator)
    derived = getattr(estimator, "derived_sources_", None) or {}
    for start in range(0, len(X), batch_rows):
        frame = estimator.model_input(X.iloc[start : start + batch_rows])
        raw = _native_contributions(booster, frame)
        values = pd.DataFrame(raw[:, :-1], index=frame.index, columns=list(frame.columns))
        yield Contributions(values=_folded(values, derived), base_value=raw[:, -1].copy(),
                            data=frame.drop(columns=[c for c in derived if c in frame.columns]))


def _folded(values: pd.DataFrame, derived: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Each derived column's SHAP value (a BTYD output the model computes from summary columns)
    shared equally by the columns it is computed from: reasons then name features, and the
    contributions still add up to the margin."""
    if not derived:
        return values
    out = values.drop(columns=[c for c in derived if c in values.columns])
    for column, sources in derived.items():
        if column in values.columns:
            share = values[column] / len(sources)
            out = out.assign(**{s: out[s] + share for s in sources})
    return out


def shap_contributions(
    estimator: TreeEstimator, X: pd.DataFrame, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Contributions:
    """Exact TreeSHAP values of `estimator` for every row of `X` (computed in batches)."""
    parts = list(iter_contributions(estimator, X, batch_rows=batch_rows))
    if not parts:
        frame = estimator.model_input(X) if hasattr(estimator, "model_input") else X
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
        data=feature_numbers(contrib.data),
        feature_names=labels,
    )


def feature_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Feature values as a (rows x columns) float matrix to place or colour dots by: a category
    becomes its code (NaN when missing)."""
    cols = []
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.float64)
            cols.append(np.where(codes < 0, np.nan, codes))
        else:
            cols.append(pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))
