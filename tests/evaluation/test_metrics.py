"""Metrics against values computed by hand on four- and ten-row examples."""

import math

import numpy as np
import pytest

from siyu.evaluation import (
    capture_at,
    classification_metrics,
    decile_capture,
    expected_calibration_error,
    lift_at,
    normalized_gini,
    regression_metrics,
    task_metrics,
)

Y = np.array([1.0, 0.0, 1.0, 0.0])
P = np.array([0.9, 0.8, 0.3, 0.1])


def test_classification_metrics_by_hand():
    m = classification_metrics(Y, P)
    assert m["auc"] == pytest.approx(3 / 4)  # positives beat negatives in 3 of 4 pairs
    assert m["brier"] == pytest.approx((0.01 + 0.64 + 0.49 + 0.01) / 4)
    assert m["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.2) + math.log(0.3) + math.log(0.9)) / 4)
    assert m["ece"] == pytest.approx((0.1 + 0.8 + 0.7 + 0.1) / 4)  # one row per bin
    assert m["positive_rate"] == 0.5


def test_lift_and_capture_at_the_top_quarter():
    assert lift_at(Y, P, 0.25) == pytest.approx(2.0)  # top row positive; base rate 1/2
    assert capture_at(Y, P, 0.25) == pytest.approx(0.5)  # 1 of 2 positives
    assert capture_at(Y, P, 1.0) == pytest.approx(1.0)


def test_ece_of_a_perfectly_calibrated_bin_is_zero():
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(0.0)


def test_normalized_gini_by_hand():
    y, pred = np.array([10.0, 0.0, 5.0, 0.0]), np.array([4.0, 3.0, 2.0, 1.0])
    # model order captures 10,10,15,15 of 15; the perfect order 10,15,15,15
    assert normalized_gini(y, pred) == pytest.approx((10 / 15 + 10 / 15 + 1 + 1 - 2.5) / (10 / 15 + 3 - 2.5))
    assert normalized_gini(y, y) == pytest.approx(1.0)
    assert normalized_gini(y, -y) < 0


def test_decile_capture_sums_to_one_and_ranks_the_top_decile_first():
    y = np.arange(10, dtype=float)
    shares = decile_capture(y, y)
    assert shares[0] == pytest.approx(9 / 45)
    assert sum(shares) == pytest.approx(1.0)


def test_regression_metrics_by_hand():
    y, pred = np.array([0.0, 10.0, 0.0, 30.0]), np.array([1.0, 8.0, 1.0, 20.0])
    m = regression_metrics(y, pred)
    assert m["mae"] == pytest.approx((1 + 2 + 1 + 10) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((1 + 4 + 1 + 100) / 4))
    assert m["total_spend_error"] == pytest.approx((30 - 40) / 40)
    assert m["spearman"] == pytest.approx(np.corrcoef([1.5, 3, 1.5, 4], [1.5, 3, 1.5, 4])[0, 1])


def test_task_metrics_picks_the_family():
    assert "auc" in task_metrics("binary", Y, P)
    assert "gini" in task_metrics("amount", Y, P)


def test_one_class_is_refused_with_the_class_named():
    with pytest.raises(ValueError, match="need both classes"):
        classification_metrics(np.zeros(3), np.array([0.1, 0.2, 0.3]))


def test_nan_scores_are_counted():
    with pytest.raises(ValueError, match="1 scores are NaN"):
        classification_metrics(Y, np.array([0.1, np.nan, 0.2, 0.3]))


def test_length_mismatch_is_named():
    with pytest.raises(ValueError, match="one length"):
        regression_metrics(Y, P[:3])


def test_the_numpy_metrics_equal_scikit_learn_and_scipy_with_ties():
    """AUC, average precision, log loss, Brier and Spearman are written out in numpy (importing
    scikit-learn's metrics cost every `siyu compare` about 1 s); they must equal the libraries'."""
    from scipy.stats import spearmanr
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    from siyu.evaluation.metrics import average_precision, roc_auc

    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(2, 2000))
        y = (rng.random(n) < rng.uniform(0.02, 0.9)).astype(float)
        if y.min() == y.max():
            continue
        score = np.round(rng.random(n), int(rng.integers(1, 4)))  # few decimals: many ties
        clipped = np.clip(score, 1e-7, 1 - 1e-7)
        assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        assert average_precision(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
        metrics = classification_metrics(y, score)
        assert metrics["log_loss"] == pytest.approx(log_loss(y, clipped, labels=[0, 1]), abs=1e-12)
        assert metrics["brier"] == pytest.approx(brier_score_loss(y, clipped), abs=1e-12)
        spend = np.round(rng.gamma(0.5, 40, size=n) * (rng.random(n) < 0.3))  # zero-inflated, tied
        if spend.std() > 0 and score.std() > 0:
            expected = spearmanr(spend, score).statistic
            assert regression_metrics(spend, score)["spearman"] == pytest.approx(expected, abs=1e-12)
