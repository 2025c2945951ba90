"""Baselines find their inputs by name and say which feature is missing."""

import numpy as np
import pandas as pd
import pytest

from siyu.models import BGNBDModel, MissingFeatureError, RecencyRule, find_feature


def test_find_feature_prefers_exact_names_then_windows():
    cols = ["purchase_count_30d", "purchase_count_365d", "spend_amount_sum_90d", "spend_amount_sum_365d"]
    assert find_feature(cols, "purchase_count") == ("purchase_count_365d", 365)
    assert find_feature(cols, "net_spend", prefer_days=90) == ("spend_amount_sum_90d", 90)
    assert find_feature([*cols, "purchase_count_lifetime"], "purchase_count") == ("purchase_count_lifetime", None)


def test_missing_role_lists_what_was_expected():
    with pytest.raises(MissingFeatureError, match="days_since_last_purchase"):
        find_feature(["tenure_days"], "days_since_last_purchase")


def test_rule_ranks_churn_by_recency(toy_data):
    data = toy_data["churn"]
    (X, y), (Xt, _) = data["train"], data["test"]
    rule = RecencyRule(label="no_activity", calibration="none").fit(X, y)
    scores = rule.predict_score(Xt)
    rec = Xt["days_since_last_activity"].to_numpy()
    assert np.all(np.diff(scores[np.argsort(rec)]) >= 0)


def test_bgnbd_needs_purchase_features(toy_data):
    X, y = toy_data["purchase_intent"]["train"]
    with pytest.raises(MissingFeatureError, match="purchase_count"):
        BGNBDModel(label="any_purchase").fit(X.drop(columns=["purchase_count_90d", "purchase_count_365d"]), y)


def test_bgnbd_refuses_churn(toy_data):
    X, y = toy_data["churn"]["train"]
    with pytest.raises(ValueError, match="label must be any_purchase or net_spend"):
        BGNBDModel(label="no_activity").fit(X, y)


def test_bgnbd_purchase_probability_grows_with_the_horizon(toy_data):
    data = toy_data["purchase_intent"]
    (X, y), (Xt, _) = data["train"], data["test"]
    week = BGNBDModel(label="any_purchase", horizon_days=7).fit(X, y).predict_score(Xt)
    month = BGNBDModel(label="any_purchase", horizon_days=30).fit(X, y).predict_score(Xt)
    assert np.all(month >= week - 1e-12)


def test_baselines_ask_the_feature_specs_which_column_plays_which_part():
    from siyu.features import FeatureSet, Recency, Tenure, Window

    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"quiet_days": rng.exponential(20, n), "buys_60": rng.poisson(1, n).astype(float),
                      "buys_400": rng.poisson(3, n).astype(float), "last_buy_days": rng.exponential(40, n),
                      "member_days": rng.uniform(100, 600, n)})
    y = (X["quiet_days"] + rng.normal(0, 5, n) > 20).astype(float)
    with pytest.raises(MissingFeatureError, match="days_since_last_activity"):
        RecencyRule(label="no_activity", calibration="none").fit(X, y)  # nothing by the usual names
    specs = FeatureSet((Recency(role="activity", name="quiet_days"), Window(60, role="purchase", name="buys_60"),
                        Window(400, role="purchase", name="buys_400"), Recency(role="purchase", name="last_buy_days"),
                        Tenure(name="member_days")))
    rule = RecencyRule(label="no_activity", calibration="none", inputs=specs.roles()).fit(X, y)
    assert rule.inputs_ == {"recency": "quiet_days"}
    bgnbd = BGNBDModel(label="any_purchase", inputs=specs.roles()).fit(X, (X["buys_60"] > 0).astype(float))
    assert bgnbd.inputs_["count"] == "buys_400" and bgnbd.inputs_["tenure"] == "member_days"
    assert np.isfinite(bgnbd.predict_score(X)).all()
