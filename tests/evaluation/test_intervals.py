"""Bootstrap over users: the weighted metrics equal sklearn's, and intervals cover what they should."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from siyu.evaluation import normalized_gini
from siyu.evaluation.heldout import heldout_metrics, metrics_by_cutoff
from siyu.evaluation.intervals import (
    _codes,
    _Ranked,
    bootstrap_interval,
    paired_difference,
    user_draws,
)


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n // 3), 3)  # three cutoffs per user
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * signal))).astype(float)
    score = np.round(signal + rng.normal(0, 0.5, n), 1)  # rounded: many ties
    return y, score, users, rng


def test_weighted_metrics_match_sklearn_and_repeated_rows():
    y, score, users, rng = _data()
    codes, n_users = _codes(users)
    counts = next(user_draws(n_users, 3, rng))  # three replicates at once
    ranked = _Ranked(y, score, codes, n_users)
    for k in range(3):
        w = counts[codes, k]
        assert ranked.auc(counts)[k] == pytest.approx(roc_auc_score(y, score, sample_weight=w))
        assert ranked.pr_auc(counts)[k] == pytest.approx(average_precision_score(y, score, sample_weight=w))
    spend = np.where(y > 0, rng.gamma(2, 50, len(y)), 0.0)
    idx = np.repeat(np.arange(len(y)), counts[codes, 0].astype(int))  # a weight is that many copies of the row
    expected = normalized_gini(spend[idx], score[idx])
    gini = _Ranked(spend, score, codes, n_users).gini(counts, _Ranked(spend, spend, codes, n_users))
    assert gini[0] == pytest.approx(expected)


def test_interval_brackets_the_estimate_and_shrinks_with_more_users():
    y, score, users, _ = _data(600)
    small = bootstrap_interval("auc", y, score, users, n_boot=300, rng=np.random.default_rng(1))
    assert small.low < small.value < small.high and small.value == pytest.approx(roc_auc_score(y, score))
    y2, score2, users2, _ = _data(6000)
    large = bootstrap_interval("auc", y2, score2, users2, n_boot=300, rng=np.random.default_rng(1))
    assert large.high - large.low < (small.high - small.low) / 2


def test_resampling_users_is_wider_than_resampling_rows_when_cutoffs_repeat_a_user():
    rng = np.random.default_rng(3)
    n_users = 400
    signal = np.repeat(rng.normal(size=n_users), 5)  # one user, five near-identical cutoffs
    y = np.repeat((rng.random(n_users) < 0.4).astype(float), 5)
    score = signal + 0.5 * y * 2
    by_user = bootstrap_interval("auc", y, score, np.repeat(np.arange(n_users), 5), n_boot=300, rng=rng)
    by_row = bootstrap_interval("auc", y, score, np.arange(len(y)), n_boot=300, rng=rng)
    assert (by_user.high - by_user.low) > 1.8 * (by_row.high - by_row.low)


def test_paired_difference_is_exactly_zero_for_one_model_and_sees_a_real_gap():
    y, score, users, _ = _data(3000)
    same = paired_difference("auc", y, score, score, users, n_boot=100, rng=np.random.default_rng(0))
    assert same.value == same.low == same.high == 0.0
    noisy = score + np.random.default_rng(5).normal(0, 2, len(score))
    gap = paired_difference("auc", y, score, noisy, users, n_boot=300, rng=np.random.default_rng(0))
    assert gap.low > 0 and gap.value == pytest.approx(roc_auc_score(y, score) - roc_auc_score(y, noisy))


def test_above_only_draws_only_for_a_point_above_zero():
    y, score, users, _ = _data(3000)
    noisy = score + np.random.default_rng(5).normal(0, 2, len(score))
    full = paired_difference("auc", y, score, noisy, users, n_boot=200, rng=np.random.default_rng(0))
    above = paired_difference("auc", y, score, noisy, users, n_boot=200, rng=np.random.default_rng(0), above_only=True)
    assert above == full  # above zero: the same draws and bounds
    below = paired_difference("auc", y, noisy, score, users, n_boot=200, rng=np.random.default_rng(0), above_only=True)
    assert below.value == pytest.approx(-full.value) and below.n_boot == 0
    assert np.isnan(below.low) and np.isnan(below.high)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="metric must be one of"):
        bootstrap_interval("rmse", [0, 1], [0.1, 0.2], ["a", "b"], n_boot=5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="one length"):
        bootstrap_interval("auc", [0, 1], [0.1, 0.2], ["a"], n_boot=5, rng=np.random.default_rng(0))


def test_heldout_metrics_pool_with_intervals_and_split_by_cutoff():
    y, score, users, _ = _data(900)
    cutoffs = np.tile(np.array(["2025-03-03", "2025-03-10", "2025-03-17"], dtype="datetime64[ns]"), 300)
    pooled = heldout_metrics("binary", y, score, users, n_boot=200, seed=0)
    assert pooled["auc_ci_low"] < pooled["auc"] < pooled["auc_ci_high"]
    assert pooled["pr_auc_ci_low"] < pooled["pr_auc"] < pooled["pr_auc_ci_high"]
    per = metrics_by_cutoff("binary", y, score, cutoffs)
    assert list(per) == ["2025-03-03", "2025-03-10", "2025-03-17"]
    first = cutoffs == np.datetime64("2025-03-03")
    assert per["2025-03-03"]["auc"] == pytest.approx(roc_auc_score(y[first], score[first]))
