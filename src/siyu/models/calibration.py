"""Probability calibration fitted on the validation cutoffs: isotonic or Platt scaling."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _smoothed_rate(y: np.ndarray) -> float:
    """(events + 0.5) / (rows + 1): a rate that is never 0 for a block without events."""
    return (float(np.sum(y)) + 0.5) / (len(y) + 1)


class Calibrator:
    """Maps raw probabilities to calibrated ones; `method` is "isotonic" or "platt".

    Probabilities stay inside [floor_, ceiling_]: for isotonic, the end blocks' rates smoothed
    by half an event ((k + 0.5) / (n + 1)), so a lowest block without a purchase says "about
    one in 2n", not 1e-6, and a top block of only positives never says 1; Platt is bounded the
    same way by the number of validation rows.
    """

    def __init__(self, method: Literal["isotonic", "platt"] = "isotonic") -> None:
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on raw probability-like scores and 0/1 outcomes of the validation rows."""
        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip").fit(raw, y)
            fitted = self.model_.predict(raw)
            low, high = fitted <= fitted.min() + 1e-12, fitted >= fitted.max() - 1e-12
            self.floor_ = _smoothed_rate(y[low])
            self.ceiling_ = max(1.0 - _smoothed_rate(1.0 - y[high]), self.floor_)
        elif self.method == "platt":
            self.model_ = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)
            self.floor_ = 0.5 / (len(y) + 1)
            self.ceiling_ = 1.0 - self.floor_
        else:
            raise ValueError(f"calibration: method must be 'isotonic' or 'platt', got {self.method!r}")
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw scores."""
        if not hasattr(self, "model_"):
            raise RuntimeError("Calibrator.transform: not fitted; call fit(raw, y) first")
        raw = np.asarray(raw, dtype=float)
        # Calibrators pickled before the bounds existed keep the fit's own.
        floor, ceiling = getattr(self, "floor_", _EPS), getattr(self, "ceiling_", 1 - _EPS)
        if self.method == "isotonic":
            # A tiny monotone term breaks isotonic ties so the ranking (AUC, lift) of the raw
            # scores survives calibration; it moves probabilities by less than 1e-7.
            bounded = np.clip(self.model_.predict(raw), floor, ceiling)
            return np.asarray(bounded, dtype=float) + 1e-7 * (np.clip(raw, 0, 1) - 0.5)
        return np.clip(self.model_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1], floor, ceiling)
