"""Bands on probabilities and quantiles, and hysteresis between runs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.config import BandConfig
from siyu.scoring import assign_bands, quantile_rank

CHURN = BandConfig(tag="churn_risk", task="churn", labels=("high", "medium", "low"), edges=(0.5, 0.2),
                   hysteresis=0.05)
LTV = BandConfig(tag="ltv_tier", task="ltv", labels=("A", "B", "C", "D"), method="quantile",
                 edges=(0.9, 0.7, 0.4), hysteresis=0.05)


def test_threshold_bands_include_the_edge_in_the_higher_band():
    scores = np.array([0.9, 0.5, 0.49, 0.2, 0.19, 0.0])
    assert list(assign_bands(scores, CHURN)) == ["high", "high", "medium", "medium", "low", "low"]


def test_quantile_bands_follow_the_rank_not_the_scale():
    scores = np.arange(100, dtype=float) ** 3  # heavily skewed, like spend
    labels = assign_bands(scores, LTV)
    assert (labels == "A").sum() == 11  # ranks 0.90..1.00 (the rank of the edge user is included)
    assert (labels == "D").sum() == 39
    assert list(assign_bands(scores * 1000 + 5, LTV)) == list(labels)  # monotone transform: same tiers


def test_quantile_rank_ties_share_one_rank():
    assert list(quantile_rank(np.array([1.0, 1.0, 2.0, 3.0]))) == [0.5, 0.5, 0.75, 1.0]


def test_hysteresis_keeps_a_user_near_the_edge_in_the_previous_band():
    previous = np.array(["high", "medium", "high", "low", None], dtype=object)
    scores = np.array([0.47, 0.53, 0.44, 0.23, 0.47])
    # 0.47 within 0.05 of the 0.5 edge: stays high; 0.53 stays medium; 0.44 moved 0.06 past: medium;
    # 0.23 stays low (0.03 above 0.2); a new user gets the plain band
    assert list(assign_bands(scores, CHURN, previous)) == ["high", "medium", "medium", "low", "medium"]


def test_hysteresis_on_quantile_bands_uses_the_rank():
    scores = np.arange(100, dtype=float)
    previous = np.array(["B"] * 100, dtype=object)
    labels = assign_bands(scores, LTV, previous)
    ranks = quantile_rank(scores)
    assert set(labels[(ranks >= 0.65) & (ranks < 0.95)]) == {"B"}
    assert labels[ranks >= 0.96].tolist() == ["A"] * int((ranks >= 0.96).sum())
    assert labels[ranks < 0.64].tolist() == [assign_bands(scores, LTV)[i] for i in np.flatnonzero(ranks < 0.64)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.data())
def test_hysteresis_never_flips_back_without_moving_past_the_margin(scores, data):
    """Re-banding the same scores with the previous labels changes nothing (no flip-flop)."""
    s = np.array(scores)
    first = assign_bands(s, CHURN)
    jitter = np.array(data.draw(st.lists(st.floats(-0.049, 0.049), min_size=len(s), max_size=len(s))))
    second = assign_bands(np.clip(s + jitter, 0, 1), CHURN, first)
    assert list(second) == list(first)


def test_no_previous_labels_means_plain_bands():
    s = np.array([0.1, 0.3, 0.6])
    assert list(assign_bands(s, CHURN, None)) == list(assign_bands(s, CHURN.model_copy(update={"hysteresis": 0})))


def test_nan_scores_are_an_error_naming_the_band():
    with pytest.raises(ValueError, match="churn_risk.*1 NaN score"):
        assign_bands(np.array([0.1, np.nan]), CHURN)


def test_previous_labels_must_align():
    with pytest.raises(ValueError, match="2 previous labels for 3 scores"):
        assign_bands(np.array([0.1, 0.2, 0.3]), CHURN, np.array(["low", "low"], dtype=object))


def test_band_config_rejects_ascending_edges_and_wrong_counts():
    with pytest.raises(ValueError, match="descending"):
        BandConfig(tag="x", task="churn", labels=("a", "b", "c"), edges=(0.2, 0.5))
    with pytest.raises(ValueError, match="3 labels need 2 edges"):
        BandConfig(tag="x", task="churn", labels=("a", "b", "c"), edges=(0.5,))
