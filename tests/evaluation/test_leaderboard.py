"""Leaderboard ratio to the oracle, the promotion gate and the reference profile."""

import numpy as np
import pandas as pd
import pytest

from siyu.evaluation import ORACLE, add_oracle_ratio, decide_promotion, reference_profile
from siyu.evaluation.intervals import Interval
from siyu.evaluation.leaderboard import ORACLE_OBSERVABLE, leak_alarm


def test_oracle_ratio_uses_auc_above_chance():
    board = pd.DataFrame({"model": ["lightgbm", ORACLE, "rule"], "test_auc": [0.77, 0.80, 0.65]})
    out = add_oracle_ratio(board, "binary")
    assert list(out["model"]) == [ORACLE, "lightgbm", "rule"]
    assert out.set_index("model")["oracle_ratio"]["lightgbm"] == pytest.approx(0.27 / 0.30)


def test_oracle_ratio_for_ltv_is_a_gini_ratio():
    board = pd.DataFrame({"model": ["lightgbm", ORACLE], "test_gini": [0.6, 0.8]})
    assert add_oracle_ratio(board, "amount").set_index("model")["oracle_ratio"]["lightgbm"] == pytest.approx(0.75)


def test_without_oracle_the_ratio_is_missing():
    out = add_oracle_ratio(pd.DataFrame({"model": ["rule"], "test_auc": [0.6]}), "binary")
    assert out["oracle_ratio"].isna().all()


def _diff(value, low, high):
    return Interval(value, low, high, n_boot=500)


def test_gate_promotes_only_when_the_lower_bound_clears_the_margin():
    worse = decide_promotion("test_auc", _diff(-0.02, -0.03, -0.01), margin=0.0)
    unsure = decide_promotion("test_auc", _diff(0.004, -0.001, 0.009), margin=0.0)
    better = decide_promotion("test_auc", _diff(0.01, 0.004, 0.016), margin=0.0)
    assert (worse.promote, unsure.promote, better.promote) == (False, False, True)
    assert "not above the margin 0" in unsure.reason and "[-0.0010, +0.0090]" in unsure.reason
    assert "500 user resamples" in better.reason
    assert not decide_promotion("test_auc", _diff(0.01, 0.004, 0.016), margin=0.005).promote
    assert decide_promotion("test_auc", None, margin=0.0).promote


def test_sorted_by_validation_with_test_beside_it_and_oracles_last():
    board = pd.DataFrame({"model": ["rule", ORACLE, "lightgbm"], "valid_auc": [0.70, np.nan, 0.75],
                          "test_auc": [0.74, 0.80, 0.73]})
    assert list(add_oracle_ratio(board, "binary")["model"]) == ["lightgbm", "rule", ORACLE]


def test_leak_alarm_only_beyond_the_interval():
    assert leak_alarm(_diff(0.02, 0.01, 0.03)).startswith("likely leakage")
    assert leak_alarm(_diff(0.01, -0.002, 0.02)) == ""
    assert leak_alarm(None) == ""


def test_reference_profile_shapes():
    X = pd.DataFrame({"spend": [0.0, 1.0, 2.0, np.nan, 4.0, 5.0],
                      "stage": pd.Categorical(["a", "a", "b", None, "a", "b"])})
    profile = reference_profile(X, scores=np.linspace(0, 1, 6), n_bins=3)
    spend, stage = profile["features"]["spend"], profile["features"]["stage"]
    assert len(spend["shares"]) == len(spend["edges"]) + 1
    assert sum(spend["shares"]) == pytest.approx(1.0)
    assert spend["missing_share"] == pytest.approx(1 / 6)
    assert stage["categories"] == ["a", "b"] and stage["shares"] == pytest.approx([0.6, 0.4])
    assert profile["n_rows"] == 6 and profile["score"]["kind"] == "numeric"


def test_observable_ratio_is_measured_against_the_observable_oracle():
    board = pd.DataFrame({"model": ["lightgbm", ORACLE, ORACLE_OBSERVABLE, "rule"],
                          "test_auc": [0.77, 0.90, 0.80, 0.65]})
    out = add_oracle_ratio(board, "binary").set_index("model")
    assert out.loc["lightgbm", "observable_ratio"] == pytest.approx(0.27 / 0.30)
    assert out.loc["lightgbm", "oracle_ratio"] == pytest.approx(0.27 / 0.40)
    assert out.loc[ORACLE_OBSERVABLE, "observable_ratio"] == pytest.approx(1.0)
    assert out.loc[ORACLE, "observable_ratio"] > 1  # the hidden state is worth more than the history


def test_without_the_observable_oracle_only_its_ratio_is_missing():
    out = add_oracle_ratio(pd.DataFrame({"model": ["rule", ORACLE], "test_gini": [0.3, 0.6]}), "amount")
    assert out["observable_ratio"].isna().all() and out["oracle_ratio"].notna().all()


def test_the_validation_winner_ignores_everything_but_validation():
    from siyu.evaluation import validation_winner

    assert validation_winner({"3": 0.81, "2": 0.84, "1": 0.84}) == "2"  # ties: the first given


def test_on_orders_alone_only_a_model_that_beats_bgnbd_beyond_its_interval_may_be_champion():
    from siyu.evaluation import decide_against_btyd, transactions_only

    assert transactions_only(["purchase"]) and transactions_only(["purchase", "refund"])
    assert not transactions_only(["purchase", "interaction"]) and not transactions_only(["refund"])
    tie = decide_against_btyd("test_auc", "lightgbm", _diff(0.004, -0.001, 0.008), margin=0.0)
    win = decide_against_btyd("test_auc", "lightgbm", _diff(0.02, 0.01, 0.03), margin=0.0)
    assert (tie.promote, win.promote) == (False, True)
    assert "lightgbm does not beat BG/NBD" in tie.reason and "[-0.0010, +0.0080]" in tie.reason
    assert decide_against_btyd("test_auc", "bgnbd", None, margin=0.0).promote
    unknown = decide_against_btyd("test_auc", "lightgbm", None, margin=0.0)
    assert not unknown.promote and "siyu train --model bgnbd" in unknown.reason
