"""Each guard: its value, its threshold and the offenders it names."""

import numpy as np
import pandas as pd
import pytest

from siyu.config import GuardConfig
from siyu.scoring import (
    GuardFailed,
    GuardReport,
    check_changed_share,
    check_feature_drift,
    check_min_users,
    check_schema,
    check_score_shift,
    feature_psi,
    numeric_entry,
    psi,
)

G = GuardConfig()


def _profile(X: pd.DataFrame) -> dict:
    return {"n_rows": len(X), "features": {c: numeric_entry(X[c]) for c in X.columns}}


def test_psi_is_zero_for_identical_shares_and_grows_with_shift():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0)
    assert psi(np.array([0.5, 0.5]), np.array([0.6, 0.4])) < psi(np.array([0.5, 0.5]), np.array([0.9, 0.1]))


def test_feature_psi_accepts_the_training_profile_format_and_categories():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"spend": rng.gamma(2, 50, 2000)})
    profile = {"features": {**_profile(X)["features"],
                            "stage": {"kind": "categorical", "categories": ["active", "silent"],
                                      "shares": [0.8, 0.2], "missing_share": 0.0}}}
    same = X.assign(stage=pd.Categorical(["active"] * 1600 + ["silent"] * 400))
    table = feature_psi(profile, same)
    assert table["psi"].max() < 0.01
    moved = X.assign(spend=X["spend"] * 3, stage=pd.Categorical(["silent"] * 1500 + ["dormant"] * 500))
    table = feature_psi(profile, moved).set_index("feature")
    assert table.loc["spend", "psi"] > 0.25 and table.loc["stage", "psi"] > 0.25


def test_feature_drift_fails_naming_the_drifted_feature():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"recency": rng.exponential(20, 3000), "spend": rng.gamma(2, 50, 3000)})
    result, table = check_feature_drift("churn", _profile(X), X.assign(recency=X["recency"] + 60), G)
    assert result.status == "fail" and result.guard == "feature_drift[churn]"
    assert result.offenders[0].startswith("recency=") and result.value == 0.5  # 1 of 2 features drifted
    assert "1 of 2 feature(s) over PSI 0.25" in result.detail
    assert set(table.columns) == {"task", "feature", "kind", "psi", "status"}
    assert "feature_drift[churn]: FAIL value" in result.describe()
    ok, _ = check_feature_drift("churn", _profile(X), X, G)
    assert ok.status == "ok"


def test_one_drifted_feature_among_many_warns_and_a_drifted_share_fails():
    rng = np.random.default_rng(4)
    X = pd.DataFrame({f"f{i}": rng.normal(0, 1, 2000) for i in range(20)})
    one = X.assign(f0=X["f0"] + 5)  # e.g. tenure in a growing user base: expected between retrains
    result, _ = check_feature_drift("ltv", _profile(X), one, G)
    assert result.status == "warn" and result.offenders[0].startswith("f0=")
    many = X.assign(**{f"f{i}": X[f"f{i}"] + 5 for i in range(3)})  # 3 of 20 = 15 % > 10 %
    result, _ = check_feature_drift("ltv", _profile(X), many, G)
    assert result.status == "fail" and result.value == pytest.approx(0.15)


def test_feature_drift_warns_between_the_thresholds():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"spend": rng.normal(100, 10, 5000)})
    result, _ = check_feature_drift("ltv", _profile(X), X.assign(spend=X["spend"] + 3.5), G)
    assert result.status == "warn", result


def test_schema_guard_names_missing_and_wrongly_typed_columns():
    X = pd.DataFrame({"recency": [1.0, 2.0], "spend": ["12", "13"]})
    profile = {"features": {"recency": numeric_entry(X["recency"]), "spend": numeric_entry(np.array([1.0, 2.0]))}}
    result = check_schema("churn", ["recency", "spend", "visits_30d"], X, profile)
    assert result.status == "fail"
    assert "visits_30d (missing)" in result.offenders
    assert any(o.startswith("spend (expected numeric") for o in result.offenders)


def test_score_shift_against_the_previous_run_names_the_moved_bin():
    rng = np.random.default_rng(3)
    before = rng.beta(2, 8, 5000)
    ok = check_score_shift("churn_risk", rng.beta(2, 8, 5000), before, None, G)
    assert ok.status == "ok"
    bad = check_score_shift("churn_risk", rng.beta(8, 2, 5000), before, None, G)
    assert bad.status == "fail" and bad.value > G.score_shift_fail
    assert "scores in [" in bad.offenders[0] and "last published run" in bad.detail


def test_score_shift_uses_the_training_score_profile_when_there_is_no_previous_run():
    rng = np.random.default_rng(4)
    profile = {"features": {}, "score": numeric_entry(rng.beta(2, 8, 5000))}
    assert check_score_shift("churn_risk", rng.beta(2, 8, 5000), None, profile, G).status == "ok"
    assert check_score_shift("churn_risk", rng.beta(8, 2, 5000), None, profile, G).status == "fail"
    assert check_score_shift("churn_risk", rng.beta(8, 2, 5000), None, {}, G).status == "skipped"


def test_changed_share_counts_only_users_tagged_in_both_runs():
    prev = pd.Series(["high", "low", "low", None, "medium"])
    cur = np.array(["low", "low", "high", "low", "medium"], dtype=object)
    result = check_changed_share("churn_risk", prev, cur, GuardConfig(max_changed_share=0.4))
    assert result.value == pytest.approx(2 / 4)
    assert result.status == "fail"
    assert set(result.offenders) == {"high -> low: 1", "low -> high: 1"}
    assert check_changed_share("churn_risk", None, cur, G).status == "skipped"


def test_min_users_guard():
    assert check_min_users(0, GuardConfig(min_users=1)).status == "fail"
    assert check_min_users(5, GuardConfig(min_users=1)).status == "ok"


def test_guard_failed_message_names_guard_value_threshold_and_offenders():
    prev = pd.Series(["high"] * 10)
    result = check_changed_share("churn_risk", prev, np.array(["low"] * 10, dtype=object), G)
    report = GuardReport((result,))
    with pytest.raises(GuardFailed, match=r"changed_share\[churn_risk\]: FAIL value 1 \(threshold 0.5\); "
                                          r"top offenders: high -> low: 10") as info:
        report.raise_if_failed("20260302-x")
    assert "--force" in str(info.value) and "20260302-x" in str(info.value)


def test_broken_profile_is_reported():
    X = pd.DataFrame({"spend": [1.0, 2.0]})
    with pytest.raises(ValueError, match="reference profile of 'spend': 1 edges need 2 shares"):
        feature_psi({"features": {"spend": {"kind": "numeric", "edges": [1.0], "shares": [1.0]}}}, X)


def test_a_closed_cohort_growing_older_is_not_drift_but_a_changed_mix_is():
    """Tenure grows one day per day for everyone: net of the elapsed days it has not moved."""
    from datetime import date

    from siyu.evaluation import reference_profile

    rng = np.random.default_rng(4)
    X = pd.DataFrame({"tenure_days": rng.uniform(30, 400, 3000), "spend": rng.gamma(2, 50, 3000)})
    profile = reference_profile(X, cutoff=date(2025, 3, 3), aging=["tenure_days"])
    assert profile["cutoff"] == "2025-03-03" and profile["features"]["tenure_days"]["ages"] is True
    later = X.assign(tenure_days=X["tenure_days"] + 120)
    ok, table = check_feature_drift("ltv", profile, later, G, as_of=date(2025, 7, 1))
    assert ok.status == "ok" and table.set_index("feature").loc["tenure_days", "psi"] < 0.01
    naive, _ = check_feature_drift("ltv", _profile(X), later, G)
    assert naive.status == "fail"  # what the guard said before tenure was known to age
    newcomers = later.assign(tenure_days=np.where(np.arange(3000) < 1500, rng.uniform(0, 20, 3000),
                                                  later["tenure_days"]))
    moved, _ = check_feature_drift("ltv", profile, newcomers, G, as_of=date(2025, 7, 1))
    assert moved.offenders[0].startswith("tenure_days=")
    unknown, table = check_feature_drift("ltv", profile, later, G)  # no as-of: the aging feature is skipped
    assert "tenure_days" not in set(table["feature"]) and unknown.status == "ok"
