"""Baselines find their inputs by name and say which feature is missing."""

import numpy as np
import pandas as pd
import pytest

from siyu.models import BGNBDModel, MissingFeatureError, RecencyRule, btyd, find_feature


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


def _btyd_rows(log, cutoffs, horizon_days):
    """Summary rows (X: the btyd_* columns) and any-purchase labels in [C, C + h) per cutoff."""
    import duckdb

    from siyu.features.btyd_summary import BTYD_COLUMNS, btyd_summaries

    con = duckdb.connect()
    con.register("events", log)
    rows = btyd_summaries(con, "events", cutoffs)
    later = log[["user_id", "ts"]].merge(rows[["user_id", "cutoff"]], on="user_id")
    later = later[(later["ts"] >= later["cutoff"]) & (later["ts"] < later["cutoff"] + pd.Timedelta(days=horizon_days))]
    bought = set(zip(later["user_id"], later["cutoff"], strict=True))
    y = np.array([(u, c) in bought for u, c in zip(rows["user_id"], rows["cutoff"], strict=True)], dtype=float)
    return rows[list(BTYD_COLUMNS)], y


def test_bgnbd_on_event_summaries_pools_cutoffs_and_predicts_the_purchase_rate():
    from datetime import date

    from siyu.models import btyd
    from siyu.synth.btyd import bgnbd_transaction_log

    true = btyd.BGNBDParams(r=0.8, alpha=40.0, a=0.6, b=2.5)
    log = bgnbd_transaction_log(true, btyd.GammaGammaParams(6.0, 4.0, 150.0), customers=3000,
                                start=date(2025, 1, 6), days=400, acquisition_days=150, rng=np.random.default_rng(3))
    weeks = pd.date_range("2025-06-02", periods=10, freq="7D")
    X, y = _btyd_rows(log, weeks[:6], 28)
    Xv, yv = _btyd_rows(log, weeks[9:], 28)
    model = BGNBDModel(label="any_purchase", horizon_days=28).fit(X, y, X_valid=Xv, y_valid=yv)
    assert model.source_ == "events"
    assert model.params_.r == pytest.approx(true.r, rel=0.25) and model.params_.alpha == pytest.approx(true.alpha, rel=0.3)
    assert set(model.valid_auc_) == {"p_any", "expected", "p_alive"}
    assert model.valid_auc_[model.score_] == max(model.valid_auc_.values())
    p_any = BGNBDModel(label="any_purchase", horizon_days=28, score="p_any").fit(X, y)
    assert p_any.predict_score(Xv).mean() == pytest.approx(yv.mean(), abs=0.03)


def test_bgnbd_names_an_unknown_score():
    X = pd.DataFrame({"btyd_x": [1.0] * 20, "btyd_t_x_days": [3.0] * 20, "btyd_T_days": [9.0] * 20,
                      "btyd_spend_mean": [5.0] * 20})
    with pytest.raises(ValueError, match="score must be 'auto' or one of"):
        BGNBDModel(label="any_purchase", score="median").fit(X, np.r_[np.zeros(10), np.ones(10)])


def test_a_bgnbd_pickled_before_event_summaries_still_scores_in_its_weeks(toy_data):
    """Older champions were fitted on every row in weeks, without today's attributes."""
    data = toy_data["purchase_intent"]
    (X, y), (Xt, _) = data["train"], data["test"]
    model = BGNBDModel(label="any_purchase", horizon_days=7, score="p_any").fit(X, y)
    now = model.predict_score(Xt)
    old = BGNBDModel(label="any_purchase", horizon_days=7)
    old.__dict__.update({k: v for k, v in model.__dict__.items()
                         if k not in ("source_", "score_", "non_buyer_score_", "alive_scale_", "valid_auc_")})
    old.params_ = btyd.BGNBDParams(model.params_.r, model.params_.alpha / 7.0, model.params_.a, model.params_.b)
    scored = old.predict_score(Xt)
    buyers = Xt[old.inputs_["count"]].fillna(0).to_numpy() >= 1
    assert scored[buyers] == pytest.approx(now[buyers], rel=1e-6)  # α in weeks: the same model


def test_the_column_median_imputer_equals_scikit_learns_median_strategy():
    import numpy as np
    from sklearn.impute import SimpleImputer

    from siyu.models.baselines import _median

    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 6))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:, 2] = np.nan  # an empty column: kept and filled with 0 by both
    X[:, 4] = 1.0
    ours = SimpleImputer(strategy=_median, add_indicator=True, keep_empty_features=True).fit(X)
    theirs = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True).fit(X)
    np.testing.assert_array_equal(ours.statistics_, theirs.statistics_)
    np.testing.assert_array_equal(ours.transform(X), theirs.transform(X))
