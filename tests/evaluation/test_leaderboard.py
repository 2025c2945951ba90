"""Leaderboard ratio to the oracle, the promotion gate and the reference profile."""

import numpy as np
import pandas as pd
import pytest

from siyu.evaluation import ORACLE, add_oracle_ratio, decide_promotion, reference_profile
from siyu.evaluation.leaderboard import ORACLE_OBSERVABLE


def test_oracle_ratio_uses_auc_above_chance():
    board = pd.DataFrame({"model": ["lightgbm", ORACLE, "rule"], "test_auc": [0.77, 0.80, 0.65]})
    out = add_oracle_ratio(board, "churn")
    assert list(out["model"]) == [ORACLE, "lightgbm", "rule"]
    assert out.set_index("model")["oracle_ratio"]["lightgbm"] == pytest.approx(0.27 / 0.30)


def test_oracle_ratio_for_ltv_is_a_gini_ratio():
    board = pd.DataFrame({"model": ["lightgbm", ORACLE], "test_gini": [0.6, 0.8]})
    assert add_oracle_ratio(board, "ltv").set_index("model")["oracle_ratio"]["lightgbm"] == pytest.approx(0.75)


def test_without_oracle_the_ratio_is_missing():
    out = add_oracle_ratio(pd.DataFrame({"model": ["rule"], "test_auc": [0.6]}), "churn")
    assert out["oracle_ratio"].isna().all()


def test_gate_refuses_a_worse_or_barely_better_challenger():
    worse = decide_promotion("test_auc", 0.70, 0.72, margin=0.002)
    barely = decide_promotion("test_auc", 0.7210, 0.7200, margin=0.002)
    better = decide_promotion("test_auc", 0.73, 0.72, margin=0.002)
    assert (worse.promote, barely.promote, better.promote) == (False, False, True)
    assert "does not beat" in worse.reason and "0.7200" in worse.reason
    assert decide_promotion("test_auc", 0.6, None, margin=0.002).promote


def test_gate_for_lower_is_better_metrics():
    assert decide_promotion("test_log_loss", 0.30, 0.35, margin=0.01, higher_is_better=False).promote
    assert not decide_promotion("test_log_loss", 0.35, 0.30, margin=0.01, higher_is_better=False).promote


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
    out = add_oracle_ratio(board, "churn").set_index("model")
    assert out.loc["lightgbm", "observable_ratio"] == pytest.approx(0.27 / 0.30)
    assert out.loc["lightgbm", "oracle_ratio"] == pytest.approx(0.27 / 0.40)
    assert out.loc[ORACLE_OBSERVABLE, "observable_ratio"] == pytest.approx(1.0)
    assert out.loc[ORACLE, "observable_ratio"] > 1  # the hidden state is worth more than the history


def test_without_the_observable_oracle_only_its_ratio_is_missing():
    out = add_oracle_ratio(pd.DataFrame({"model": ["rule", ORACLE], "test_gini": [0.3, 0.6]}), "ltv")
    assert out["observable_ratio"].isna().all() and out["oracle_ratio"].notna().all()
