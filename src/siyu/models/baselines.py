"""Baselines with the same interface as the boosters: a recency / RFM rule, a logistic (or
Tweedie GLM) pipeline, and BG/NBD + Gamma-Gamma. The columns that play each part (recency of
activity, purchase count, tenure, ...) come from the training set's feature specs
(`inputs`, from `FeatureSet.roles()`); a frame without specs falls back to names
(`FEATURE_CANDIDATES`).
"""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)
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


def _clip_z(a: np.ndarray) -> np.ndarray:
    return np.clip(a, -Z_CLIP, Z_CLIP)


Z_CLIP = 5.0


def _median(column: np.ndarray) -> float:
    """A column's median over its present values (0 when none, as `keep_empty_features` fills).

    The same statistic as SimpleImputer's "median", which takes a masked median of the whole
    matrix: 2.0 s on 59k x 160 against 0.35 s column by column."""
    return float(np.median(column)) if column.size else 0.0


def _linear_preprocessor(X: pd.DataFrame) -> ColumnTransformer:
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    nums = [c for c in X.columns if c not in cats]
    # Standardized values are clipped: a column almost constant in the training rows (say a channel
    # whose campaigns started after them) has a tiny spread, and one later value thousands of
    # standard deviations out would swing a log-link GLM's prediction by e^thousands.
    numeric = Pipeline([("impute", SimpleImputer(strategy=_median, add_indicator=True,
                                                 keep_empty_features=True)),
                        ("log", FunctionTransformer(_signed_log1p)), ("scale", StandardScaler()),
                        ("clip", FunctionTransformer(_clip_z))])
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
BTYD_SCORES: tuple[str, ...] = ("p_any", "expected", "p_alive")


class BGNBDModel(SiyuEstimator):
    """BG/NBD (+ Gamma-Gamma for LTV) on the BTYD summaries of each row, fitted by maximum
    likelihood on the pooled training rows (every training cutoff), time in days.

    The summaries are the `btyd_*` columns (`siyu.features.btyd_summary`: built from the
    events, one purchase per customer-day or order, from the customer's own first purchase).
    A frame without them falls back to summaries derived from the purchase count / recency /
    tenure features, which can only approximate them (a capped window, same-day orders).

    any_purchase: one of `BTYD_SCORES` — P(X(h) > 0), E[X(h)] (as 1 - exp(-E[X(h)])) or
    P(alive) (scaled to the training purchase rate) — `score="auto"` keeps the one that ranks
    best (AUC) on the validation rows. net_spend: E[X(h)] × the Gamma-Gamma spend per
    purchase. Rows without a purchase before the cutoff (no BTYD summary) get the training
    label mean of such rows. The probability is not re-calibrated.
    """

    def __init__(self, *, label: Label = "any_purchase", horizon_days: int = 7, score: str = "auto",
                 inputs: Inputs | None = None) -> None:
        self.label = label
        self.horizon_days = horizon_days
        self.score = score
        self.inputs = inputs

    @property
    def binary(self) -> bool:  # type: ignore[override]
        return self.label != "net_spend"

    def _summary(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per row: buyer (a purchase before the cutoff), x, t_x, T (days), n purchases, m mean spend."""
        if getattr(self, "source_", "features") == "events":
            x, t_x, T, m = (X[c].to_numpy(dtype=float) for c in btyd.SUMMARY_COLUMNS)
            buyer = ~np.isnan(x)
            x, t_x, T = (np.where(buyer, v, 0.0) for v in (x, t_x, T))
            return {"buyer": buyer, "x": x, "t_x": np.minimum(t_x, T), "T": T, "n": np.where(buyer, x + 1, 0.0),
                    "m": np.where(buyer, m, np.nan)}
        s = self._summary_from_features(X)
        if not hasattr(self, "non_buyer_score_"):
            # A model pickled before summaries came from the events: it fitted on every row, in weeks.
            s = s | {"buyer": np.ones(len(X), dtype=bool), "t_x": s["t_x"] / 7.0, "T": s["T"] / 7.0}
        return s

    def _summary_from_features(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        cols = self.inputs_
        n = np.nan_to_num(X[cols["count"]].to_numpy(dtype=float), nan=0.0).clip(0, None)
        first_col = cols["first"] or cols["tenure"]
        age = np.nan_to_num(X[first_col].to_numpy(dtype=float), nan=0.0).clip(0, None)
        if self.window_days_ is not None:  # counts over a window: the age is capped by it
            age = np.minimum(age, self.window_days_)
        last = X[cols["last"]].to_numpy(dtype=float)
        since_last = np.minimum(np.where(np.isnan(last), age, np.clip(last, 0, None)), age)
        t_x = np.where(n >= 2, age - since_last, 0.0)
        spend = np.zeros(len(X)) if cols["spend"] is None else X[cols["spend"]].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(n >= 1, np.nan_to_num(spend, nan=0.0) / np.maximum(n, 1), np.nan)
        return {"buyer": n >= 1, "x": np.maximum(n - 1, 0), "t_x": t_x, "T": age, "n": n, "m": m}

    def _find_inputs(self, X: pd.DataFrame) -> None:
        if all(c in X.columns for c in btyd.SUMMARY_COLUMNS):
            self.source_ = "events"
            # The columns each score reads (explanations take Shapley values over exactly these).
            x, t_x, T, m = btyd.SUMMARY_COLUMNS
            self.inputs_ = {"x": x, "t_x": t_x, "T": T, "m": m if self.label == "net_spend" else None}
            return
        log.warning("BGNBDModel: no BTYD summary columns %s in the training set; deriving them from the "
                    "purchase count / recency / tenure features (an approximation)", list(btyd.SUMMARY_COLUMNS))
        self.source_ = "features"
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

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:
        if self.label not in ("any_purchase", "net_spend"):
            raise ValueError(f"BGNBDModel: label must be any_purchase or net_spend, got {self.label!r}")
        if self.score != "auto" and self.score not in BTYD_SCORES:
            raise ValueError(f"BGNBDModel: score must be 'auto' or one of {list(BTYD_SCORES)}, got {self.score!r}")
        self._find_inputs(X)
        s = self._summary(X)
        buyer = s["buyer"]
        if buyer.sum() < 10:
            raise ValueError(f"BGNBDModel: need at least 10 training rows with a purchase before the cutoff, "
                             f"got {int(buyer.sum())}")
        *rfm, counts = _distinct(s["x"][buyer], s["t_x"][buyer], s["T"][buyer])
        self.params_ = btyd.fit_bgnbd(*rfm, weights=counts)
        self.non_buyer_score_ = float(np.mean(y[~buyer])) if (~buyer).any() else 0.0
        self.spend_params_ = None
        self.alive_scale_ = 1.0
        if self.label == "net_spend":
            n, m, counts = _distinct(s["n"][buyer], np.nan_to_num(s["m"][buyer], nan=0.0))
            self.spend_params_ = btyd.fit_gamma_gamma(n, m, weights=counts)
            self.score_ = "expected"
            return
        alive = btyd.bgnbd_p_alive(self.params_, s["x"][buyer], s["t_x"][buyer], s["T"][buyer])
        self.alive_scale_ = float(np.mean(y[buyer]) / max(np.mean(alive), 1e-12))
        self.valid_auc_ = {}
        if self.score != "auto":
            self.score_ = self.score
        elif X_valid is None or len(np.unique(y_valid)) < 2:
            self.score_ = "p_any"
        else:
            from sklearn.metrics import roc_auc_score

            sv = self._summary(X_valid)
            self.valid_auc_ = {k: float(roc_auc_score(y_valid, self._binary_score(sv, k))) for k in BTYD_SCORES}
            self.score_ = max(BTYD_SCORES, key=lambda k: self.valid_auc_[k])  # ties keep the first

    def _binary_score(self, s: dict[str, np.ndarray], kind: str) -> np.ndarray:
        t, args = self._horizon(), (s["x"], s["t_x"], s["T"])
        if kind == "p_any":
            score = btyd.bgnbd_p_any_purchase(self.params_, t, *args)
        elif kind == "expected":
            score = -np.expm1(-btyd.bgnbd_expected_purchases(self.params_, t, *args))
        else:
            score = np.clip(btyd.bgnbd_p_alive(self.params_, *args) * self.alive_scale_, 0.0, 1.0)
        return np.where(s["buyer"], score, getattr(self, "non_buyer_score_", 0.0))

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        s = self._summary(X)
        if self.label == "any_purchase":
            return self._binary_score(s, getattr(self, "score_", "p_any"))
        purchases = btyd.bgnbd_expected_purchases(self.params_, self._horizon(), s["x"], s["t_x"], s["T"])
        spend = purchases * btyd.gamma_gamma_expected_spend(self.spend_params_, s["n"], s["m"])
        return np.where(s["buyer"], spend, getattr(self, "non_buyer_score_", 0.0))

    def _horizon(self) -> float:
        """The horizon in the fit's time unit: days (weeks for a model pickled before)."""
        return float(self.horizon_days) / (1.0 if hasattr(self, "non_buyer_score_") else 7.0)


def _distinct(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct rows of `columns` and how often each occurs: pooled cutoffs repeat the same
    integer-day summaries many times, and a weighted likelihood of the distinct ones is the same."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return (*(rows[:, i] for i in range(rows.shape[1])), counts.astype(float))
