"""Shared plumbing for siyu estimators: input checks, the not-fitted error, calibration hook."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from siyu.models.calibration import Calibrator

ID_COLUMNS: tuple[str, ...] = ("user_id", "cutoff", "split", "label")


class NotFittedError(RuntimeError):
    """A model was asked to predict before `fit` was called."""


def check_features(X: pd.DataFrame, *, where: str) -> pd.DataFrame:
    """Validate a feature frame: a non-empty DataFrame without id / label columns."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{where}: X must be a pandas DataFrame of feature columns, got {type(X).__name__}")
    leaked = [c for c in ID_COLUMNS if c in X.columns]
    if leaked:
        raise ValueError(
            f"{where}: X holds non-feature columns {leaked}; pass feature columns only "
            "(drop user_id / cutoff / split / label first)"
        )
    if len(X) == 0:
        raise ValueError(f"{where}: X has no rows")
    return X


def check_target(y: object, n_rows: int, *, binary: bool, where: str) -> np.ndarray:
    """Validate a target vector: same length as X, finite; 0/1 with both classes when binary."""
    arr = np.asarray(y, dtype=float)
    if arr.shape != (n_rows,):
        raise ValueError(f"{where}: y has shape {arr.shape}, expected ({n_rows},) to match X")
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: y has {int((~np.isfinite(arr)).sum())} missing or infinite values")
    if binary:
        values = set(np.unique(arr).tolist())
        if not values <= {0.0, 1.0}:
            raise ValueError(f"{where}: binary labels must be 0/1, got values {sorted(values)[:5]}")
        if len(values) < 2:
            raise ValueError(f"{where}: y holds one class only ({sorted(values)}); need both 0 and 1")
    return arr


class SiyuEstimator(BaseEstimator):
    """Base of every siyu model: `fit(X, y, *, X_valid, y_valid) -> self`, `predict_score(X)`.

    Subclasses implement `_fit(X, y, X_valid, y_valid, callbacks)` and `_raw_score(X)`.
    Binary models return a probability-like raw score; when `calibration` is not "none" and a
    validation set is given, a calibrator fitted on it maps raw scores to probabilities.
    Models with `refit=True` are then refitted on train + valid (`_refit`); `valid_scores_`
    keeps the out-of-sample valid scores of the train-only model (None without a refit).
    """

    binary: bool = True

    def fit(self, X: pd.DataFrame, y: object, *, X_valid: pd.DataFrame | None = None,
            y_valid: object = None, callbacks: tuple = ()) -> SiyuEstimator:
        """Fit on (X, y); early stopping and calibration use (X_valid, y_valid) when given."""
        name = type(self).__name__
        X = check_features(X, where=f"{name}.fit")
        y_arr = check_target(y, len(X), binary=self.binary, where=f"{name}.fit")
        yv = None
        if X_valid is not None:
            if y_valid is None:
                raise ValueError(f"{name}.fit: X_valid given without y_valid")
            X_valid = check_features(X_valid, where=f"{name}.fit (valid)")
            yv = check_target(y_valid, len(X_valid), binary=False, where=f"{name}.fit (valid)")
            missing = [c for c in X.columns if c not in X_valid.columns]
            if missing:
                raise ValueError(f"{name}.fit: X_valid lacks feature columns {missing[:5]}")
            X_valid = X_valid[list(X.columns)]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        self._fit(X, y_arr, X_valid, yv, tuple(callbacks))
        self.calibrator_ = None
        self.valid_scores_ = None
        method = getattr(self, "calibration", "none")
        refit = bool(getattr(self, "refit", False)) and X_valid is not None
        calibrate = self.binary and method != "none" and X_valid is not None and len(np.unique(yv)) == 2
        valid_raw = self._raw_score(X_valid) if refit or calibrate else None
        if calibrate:
            self.calibrator_ = Calibrator(method).fit(valid_raw, yv)
        if refit:
            # Out-of-sample valid scores are kept before the refit sees the valid rows: they
            # are what valid metrics and model selection must use.
            self.valid_scores_ = valid_raw if self.calibrator_ is None else self.calibrator_.transform(valid_raw)
            self._refit(pd.concat([X, X_valid]), np.concatenate([y_arr, yv]))
        return self

    def predict_score(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability (binary tasks) or expected net spend (LTV), one per row."""
        X = self._checked_input(X, "predict_score")
        raw = self._raw_score(X)
        if self.calibrator_ is not None:
            return self.calibrator_.transform(raw)
        return raw

    def _checked_input(self, X: pd.DataFrame, method: str) -> pd.DataFrame:
        name = type(self).__name__
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError(f"{name}.{method}: this model is not fitted yet; call fit(X, y) first")
        X = check_features(X, where=f"{name}.{method}")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(
                f"{name}.{method}: X lacks {len(missing)} feature column(s) seen in fit, e.g. {missing[:5]}"
            )
        return X[list(self.feature_names_in_)]

    def _fit(self, X, y, X_valid, y_valid, callbacks) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _refit(self, X: pd.DataFrame, y: np.ndarray) -> None:  # pragma: no cover - abstract
        """Refit on train + valid with what early stopping chose (models with a `refit` flag)."""
        raise NotImplementedError
