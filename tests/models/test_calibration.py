"""Calibration on validation scores: better reliability, same ranking."""

import numpy as np
import pytest

from siyu.evaluation import expected_calibration_error
from siyu.models import Calibrator


@pytest.fixture
def overconfident():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.02, 0.6, 5000)
    y = rng.binomial(1, truth).astype(float)
    raw = np.clip(truth * 1.6, 0, 0.999)  # systematically too high
    return raw, y


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_lowers_ece_and_keeps_the_order(method, overconfident):
    raw, y = overconfident
    calibrated = Calibrator(method).fit(raw, y).transform(raw)
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, raw) / 2
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(calibrated[order]) >= -1e-12)


def test_unknown_method_is_named(overconfident):
    with pytest.raises(ValueError, match="'isotonic' or 'platt'"):
        Calibrator("beta").fit(*overconfident)


def test_transform_before_fit_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        Calibrator().transform(np.array([0.5]))


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_probabilities_keep_a_floor_set_by_the_validation_rows(method):
    """A lowest block without any event says about one in 2n, not the 1e-6 bound of the fit."""
    rng = np.random.default_rng(1)
    raw = rng.uniform(0, 1, 4000)
    y = (rng.uniform(0, 1, 4000) < np.where(raw < 0.3, 0.0, raw)).astype(float)
    cal = Calibrator(method).fit(raw, y)
    low = cal.transform(np.array([0.0, 0.01]))
    assert (low >= cal.floor_ - 1e-7).all()
    assert cal.floor_ > 1e-4
    assert cal.transform(np.array([1.0]))[0] < 1.0
