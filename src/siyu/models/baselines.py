"""Baselines with the same interface as the boosters: a recency / RFM rule, a logistic (or
Tweedie GLM) pipeline, and BG/NBD + Gamma-Gamma. The columns that play each part (recency of
activity, purchase count, tenure, ...) come from the training set's feature specs
(`inputs`, from `FeatureSet.roles()`); a frame without specs falls back to names
(`FEATURE_CANDIDATES`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, TweedieRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from siyu.models import btyd
from siyu.models._base import SiyuEstimator

Label = Literal["no_activity", "any_activity", "any_purchase", "net_spend"]  # siyu.config.TaskLabel

# Which feature plays which part, by name: exact names first, then `pattern` (largest window wins).
FEATURE_CANDIDATES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "days_since_last_activity": (("days_since_last_activity", "days_since_last_interaction",
                                  "recency_days", "days_since_last_event"), None),
    "days_since_last_purchase": (("days_since_last_purchase",), None),
    "days_since_first_purchase": (("days_since_first_purchase",), None),
    "tenure_days": (("tenure_days", "days_since_joined", "days_since_first_activity",
                     "days_since_first_interaction", "days_since_first_event"), None),
    "purchase_count": (("purchase_count_lifetime", "purchase_count_all", "purchase_count_total",
                        "purchase_count", "n_purchases"), r"^purchase_count_(\d+)d$"),
    "net_spend": (("net_spend_lifetime", "spend_sum_lifetime", "spend_sum_all", "net_spend_sum_all",
                   "net_spend", "spend_sum", "monetary"),
                  r"^(?:spend_amount_sum|net_spend_sum|spend_sum|net_spend)_(\d+)d$"),
}


class MissingFeatureError(ValueError):
    """A baseline needs a feature (by role) that the training set does not carry."""


# The feature set's own answer (`FeatureSet.roles()`): per role, (column, window days or None).
Inputs = Mapping[str, Sequence[tuple[str, int | None]]]


def find_feature(columns, role: str, *, required: bool = True, prefer_days: int | None = None,
                 inputs: Inputs | None = None) -> tuple[str | None, int | None]:
    """(column name, window in days or None for lifetime) that plays `role` among `columns`.

    With `inputs` (what the training set's feature specs say plays each role) the columns are
    asked, not guessed; without, they are found by name (`FEATURE_CANDIDATES`). A lifetime
    column wins; among windowed columns the largest window, or with `prefer_days` the
    smallest window covering it (a run-rate over about the horizon).
    """
    names, pattern = FEATURE_CANDIDATES[role]
    cols = list(columns)
    if inputs is not None:
        offered = [(c, d) for c, d in inputs.get(role, ()) if c in cols]
        lifetime = [(c, None) for c, d in offered if d is None]
        windows = [(d, c) for c, d in offered if d is not None]
    else:
        lifetime = [(n, None) for n in names if n in cols]
        windows = [(int(m.group(1)), c) for c in cols if pattern and (m := re.match(pattern, c))]
    if lifetime:
        return lifetime[0]
    if windows:
        covering = sorted(w for w in windows if prefer_days is not None and w[0] >= prefer_days)
        days, col = covering[0] if covering else max(windows)
        return col, days
    if inputs is not None and required:
        raise MissingFeatureError(f"feature for '{role}' not found: the feature specs offer "
                                  f"{[c for c, _ in inputs.get(role, ())] or 'none'}; add one to the specs")
    if required:
        raise MissingFeatureError(
            f"feature for '{role}' not found: expected one of {list(names)}"
            + (f" or a column matching {pattern!r}" if pattern else "")
            + f"; the training set has e.g. {cols[:8]}"
        )
    return None, None


# --------------------------------------------------------------------------- rule
class RecencyRule(SiyuEstimator):
    """Rule baseline, by the task's label. no_activity (churn) / any_activity: days since the
    last activity; any_purchase: recency and frequency of purchases; net_spend: the recent
    spend run-rate scaled to the horizon. Binary scores are calibrated into probabilities on
    the validation cutoffs."""

    def __init__(self, *, label: Label = "no_activity", horizon_days: int = 30,
                 calibration: str = "isotonic", inputs: Inputs | None = None) -> None:
        self.label = label
        self.horizon_days = horizon_days
        self.calibration = calibration
        self.inputs = inputs

    @property
    def binary(self) -> bool:  # type: ignore[override]
        return self.label != "net_spend"

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        if self.label in ("no_activity", "any_activity"):
            self.inputs_ = {"recency": find_feature(X.columns, "days_since_last_activity", inputs=self.inputs)[0]}
        elif self.label == "any_purchase":
            self.inputs_ = {"recency": find_feature(X.columns, "days_since_last_purchase", inputs=self.inputs)[0],
                            "count": find_feature(X.columns, "purchase_count", inputs=self.inputs)[0]}
        elif self.label == "net_spend":
            col, days = find_feature(X.columns, "net_spend", prefer_days=self.horizon_days, inputs=self.inputs)
            tenure = find_feature(X.columns, "tenure_days", required=False, inputs=self.inputs)[0]
            self.inputs_ = {"spend": col, "tenure": tenure}
            self.window_days_ = days
        else:
            raise ValueError(f"RecencyRule: label must be one of {list(Label.__args__)}, got {self.label!r}")
        self.fill_ = {k: float(np.nanmax(X[c].to_numpy(dtype=float))) if k == "recency" else 0.0
                      for k, c in self.inputs_.items() if c}

    def _col(self, X: pd.DataFrame, key: str) -> np.ndarray:
        return np.nan_to_num(X[self.inputs_[key]].to_numpy(dtype=float), nan=self.fill_[key])

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        if self.label in ("no_activity", "any_activity"):
            r = self._col(X, "recency")
            gone = r / (1.0 + r)  # monotone in recency, in [0, 1)
            return gone if self.label == "no_activity" else 1.0 - gone
        if self.label == "any_purchase":
            r, n = self._col(X, "recency"), self._col(X, "count")
            rate = np.log1p(n) / np.log1p(r + 1.0)
            return rate / (1.0 + rate)
        spend = np.clip(self._col(X, "spend"), 0, None)
        window = self.window_days_
        if window is None:  # lifetime spend: spread over the tenure
            tenure = self._col(X, "tenure") if self.inputs_["tenure"] else np.full(len(X), 365.0)
            window = np.maximum(tenure, 1.0)
        return spend * self.horizon_days / window


# --------------------------------------------------------------------------- linear pipelines
def _signed_log1p(a: np.ndarray) -> np.ndarray:
    return np.sign(a) * np.log1p(np.abs(a))


def _linear_preprocessor(X: pd.DataFrame) -> ColumnTransformer:
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    nums = [c for c in X.columns if c not in cats]
    numeric = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True,
                                                 keep_empty_features=True)),
                        ("log", FunctionTransformer(_signed_log1p)), ("scale", StandardScaler())])
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20, sparse_output=False)
    return ColumnTransformer([("num", numeric, nums), ("cat", categorical, cats)])


def as_model_input(X: pd.DataFrame) -> pd.DataFrame:
    """What a linear pipeline sees: categoricals as plain strings, missing as '__missing__'."""
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return X.assign(**{c: X[c].astype(object).where(X[c].notna(), "__missing__").astype(str) for c in cats})


class LogisticBaseline(SiyuEstimator):
    """Logistic regression in a scikit-learn Pipeline: impute, signed log, scale, one-hot."""

    def __init__(self, *, C: float = 0.5, max_iter: int = 300, calibration: str = "none",
                 random_state: int = 0) -> None:
        self.C = C
        self.max_iter = max_iter
        self.calibration = calibration
        self.random_state = random_state

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        self.categorical_ = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        self.pipeline_ = Pipeline([
            ("prep", _linear_preprocessor(X)),
            # Newton-Cholesky: a few exact steps, fast for ~200 columns and 100k+ rows
            ("model", LogisticRegression(C=self.C, max_iter=self.max_iter, solver="newton-cholesky",
                                         random_state=self.random_state)),
        ]).fit(as_model_input(X), y)

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(as_model_input(X))[:, 1]


class TweedieGLMBaseline(SiyuEstimator):
    """LTV baseline: a Tweedie GLM (log link) in the same preprocessing pipeline."""

    binary = False

    def __init__(self, *, power: float = 1.5, alpha: float = 0.01, max_iter: int = 300) -> None:
        self.power = power
        self.alpha = alpha
        self.max_iter = max_iter

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        self.pipeline_ = Pipeline([
            ("prep", _linear_preprocessor(X)),
            ("model", TweedieRegressor(power=self.power, alpha=self.alpha, link="log", max_iter=self.max_iter,
                                        solver="newton-cholesky")),
        ]).fit(as_model_input(X), np.clip(y, 0, None))
        self.max_score_ = float(np.max(y)) * 10 if len(y) else np.inf

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        return np.clip(self.pipeline_.predict(as_model_input(X)), 0, self.max_score_)


# --------------------------------------------------------------------------- BG/NBD
class BGNBDModel(SiyuEstimator):
    """BG/NBD (+ Gamma-Gamma for LTV) on frequency / recency / age derived from the features.

    any_purchase: P(at least one purchase in the horizon); net_spend: expected purchases in the
    horizon × expected spend per purchase. The probability model is not re-calibrated.
    `max_fit_rows` subsamples training rows (seeded) to keep the likelihood fit fast.
    """

    def __init__(self, *, label: Label = "any_purchase", horizon_days: int = 7,
                 max_fit_rows: int = 50_000, random_state: int = 0, inputs: Inputs | None = None) -> None:
        self.label = label
        self.horizon_days = horizon_days
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state
        self.inputs = inputs

    @property
    def binary(self) -> bool:  # type: ignore[override]
        return self.label != "net_spend"

    def _rfm(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per row: x (repeat purchases), t_x and T in weeks, n purchases, m mean spend."""
        cols = self.inputs_
        n = np.nan_to_num(X[cols["count"]].to_numpy(dtype=float), nan=0.0).clip(0, None)
        first_col = cols["first"] or cols["tenure"]
        age_days = np.nan_to_num(X[first_col].to_numpy(dtype=float), nan=0.0).clip(0, None)
        if self.window_days_ is not None:  # counts over a window: the age is capped by it
            age_days = np.minimum(age_days, self.window_days_)
        last = X[cols["last"]].to_numpy(dtype=float)
        since_last = np.where(np.isnan(last), age_days, np.clip(last, 0, None))
        since_last = np.minimum(since_last, age_days)
        T = age_days / 7.0
        t_x = np.where(n >= 2, (age_days - since_last) / 7.0, 0.0)
        spend = np.zeros(len(X)) if cols["spend"] is None else X[cols["spend"]].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(n >= 1, np.nan_to_num(spend, nan=0.0) / np.maximum(n, 1), np.nan)
        return {"x": np.maximum(n - 1, 0), "t_x": t_x, "T": T, "n": n, "m": m}

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        if self.label not in ("any_purchase", "net_spend"):
            raise ValueError(f"BGNBDModel: label must be any_purchase or net_spend, got {self.label!r}")
        ask = self.inputs
        count, window = find_feature(X.columns, "purchase_count", inputs=ask)
        self.inputs_ = {
            "count": count,
            "first": find_feature(X.columns, "days_since_first_purchase", required=False, inputs=ask)[0],
            "tenure": find_feature(X.columns, "tenure_days", required=False, inputs=ask)[0],
            "last": find_feature(X.columns, "days_since_last_purchase", inputs=ask)[0],
            "spend": find_feature(X.columns, "net_spend", required=self.label == "net_spend", inputs=ask)[0],
        }
        if self.inputs_["first"] is None and self.inputs_["tenure"] is None:
            raise MissingFeatureError("BGNBDModel: needs 'days_since_first_purchase' or a tenure feature "
                                      f"({FEATURE_CANDIDATES['tenure_days'][0]})")
        self.window_days_ = window
        rng = np.random.default_rng(self.random_state)
        rows = X if len(X) <= self.max_fit_rows else X.iloc[np.sort(rng.choice(len(X), self.max_fit_rows, replace=False))]
        rfm = self._rfm(rows)
        self.params_ = btyd.fit_bgnbd(rfm["x"], rfm["t_x"], rfm["T"])
        self.spend_params_ = btyd.fit_gamma_gamma(rfm["n"], rfm["m"]) if self.label == "net_spend" else None

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        rfm = self._rfm(X)
        t = self.horizon_days / 7.0
        if self.label == "any_purchase":
            return btyd.bgnbd_p_any_purchase(self.params_, t, rfm["x"], rfm["t_x"], rfm["T"])
        purchases = btyd.bgnbd_expected_purchases(self.params_, t, rfm["x"], rfm["t_x"], rfm["T"])
        return purchases * btyd.gamma_gamma_expected_spend(self.spend_params_, rfm["n"], rfm["m"])
