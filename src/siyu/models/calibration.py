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


class Calibrator:
    """Maps raw probabilities to calibrated ones; `method` is "isotonic" or "platt"."""

    def __init__(self, method: Literal["isotonic", "platt"] = "isotonic") -> None:
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit on raw probability-like scores and 0/1 outcomes of the validation rows."""
        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip").fit(raw, y)
        elif self.method == "platt":
            self.model_ = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)
        else:
            raise ValueError(f"calibration: method must be 'isotonic' or 'platt', got {self.method!r}")
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw scores."""
        if not hasattr(self, "model_"):
            raise RuntimeError("Calibrator.transform: not fitted; call fit(raw, y) first")
        raw = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            # A tiny monotone term breaks isotonic ties so the ranking (AUC, lift) of the raw
            # scores survives calibration; it moves probabilities by less than 1e-7.
            return np.asarray(self.model_.predict(raw), dtype=float) + 1e-7 * (np.clip(raw, 0, 1) - 0.5)
        return self.model_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
