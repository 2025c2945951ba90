import numpy as np
import pandas as pd
import pytest

from siyu.explain.contributions import (
    Contributions,
    global_importance,
    iter_contributions,
    segment_drivers,
    shap_contributions,
    to_explanation,
)


def test_base_plus_contributions_equals_margin(model, frame):
    X, _ = frame
    contrib = shap_contributions(model, X)
    assert list(contrib.values.columns) == list(X.columns)
    assert contrib.values.index.equals(X.index)
    np.testing.assert_allclose(contrib.margin, model.margin(X), rtol=1e-5, atol=1e-5)


def test_categorical_feature_gets_its_own_contribution(model, frame):
    X, _ = frame
    contrib = shap_contributions(model, X)
    stage = contrib.values["lifecycle_stage"]
    # churned users were made riskier: their stage pushes the margin up more than for active users
    assert stage[X["lifecycle_stage"] == "churned"].mean() > stage[X["lifecycle_stage"] == "active"].mean()


def test_native_values_match_shap_tree_explainer(lgb_model, frame):
    import shap

    X, _ = frame
    contrib = shap_contributions(lgb_model, X.head(50))
    reference = shap.TreeExplainer(lgb_model.tree_model_)(X.head(50))
    np.testing.assert_allclose(contrib.values.to_numpy(), reference.values, atol=1e-9)
    np.testing.assert_allclose(contrib.base_value, reference.base_values, atol=1e-9)


def test_batches_give_the_same_values_as_one_pass(lgb_model, frame):
    X, _ = frame
    whole = shap_contributions(lgb_model, X, batch_rows=len(X))
    batched = shap_contributions(lgb_model, X, batch_rows=37)
    assert len(list(iter_contributions(lgb_model, X, batch_rows=37))) == int(np.ceil(len(X) / 37))
    pd.testing.assert_frame_equal(whole.values, batched.values)


def test_empty_input_gives_empty_contributions(lgb_model, frame):
    X, _ = frame
    contrib = shap_contributions(lgb_model, X.head(0))
    assert contrib.values.shape == (0, X.shape[1])


def test_global_importance_is_sorted_and_shares_sum_to_one(lgb_model, frame):
    X, _ = frame
    imp = global_importance(shap_contributions(lgb_model, X))
    assert list(imp.columns) == ["feature", "mean_abs_shap", "share"]
    assert imp["mean_abs_shap"].is_monotonic_decreasing
    assert imp["share"].sum() == pytest.approx(1.0)
    assert set(imp["feature"]) == set(X.columns)


def test_segment_drivers_rank_the_features_pushing_each_segment_up(lgb_model, frame):
    X, _ = frame
    contrib = shap_contributions(lgb_model, X)
    band = pd.Series(np.where(lgb_model.predict_score(X) > 0.5, "high", "low"), index=X.index)
    drivers = segment_drivers(contrib, band, top_n=3)
    assert set(drivers["segment"]) == set(band)
    high = drivers[drivers["segment"] == "high"]
    assert list(high["rank"]) == [1, 2, 3]
    assert high["mean_shap"].is_monotonic_decreasing
    assert high["users"].iloc[0] == int((band == "high").sum())
    expected_top = contrib.values[band == "high"].mean().idxmax()
    assert high["feature"].iloc[0] == expected_top


def test_segment_drivers_need_one_segment_per_row(lgb_model, frame):
    X, _ = frame
    contrib = shap_contributions(lgb_model, X)
    with pytest.raises(ValueError, match="segments: index must match"):
        segment_drivers(contrib, pd.Series(["high"] * 3))


def test_to_explanation_uses_readable_labels(lgb_model, frame):
    X, _ = frame
    contrib = shap_contributions(lgb_model, X.head(20))
    expl = to_explanation(contrib, {"spend_sum_90d": "Spend, last 90 days"})
    assert "Spend, last 90 days" in expl.feature_names
    assert expl.values.shape == (20, X.shape[1])
    assert np.isfinite(expl.data[:, list(X.columns).index("lifecycle_stage")]).all()


def test_non_tree_estimator_is_refused(frame):
    X, _ = frame
    with pytest.raises(TypeError, match="has no tree_model_"):
        shap_contributions(object(), X)


def test_unknown_booster_is_refused(frame):
    X, _ = frame

    class Logistic:
        tree_model_ = object()

        def model_input(self, X):
            return X

    with pytest.raises(TypeError, match="expected a lightgbm.Booster or xgboost.Booster"):
        shap_contributions(Logistic(), X)


def test_batch_rows_must_be_positive(lgb_model, frame):
    X, _ = frame
    with pytest.raises(ValueError, match="batch_rows: expected a positive"):
        shap_contributions(lgb_model, X, batch_rows=0)


def test_margin_property_adds_base_and_values():
    contrib = Contributions(pd.DataFrame({"a": [1.0, -1.0], "b": [0.5, 0.0]}), np.array([0.1, 0.2]),
                            pd.DataFrame({"a": [1, 2], "b": [3, 4]}))
    np.testing.assert_allclose(contrib.margin, [1.6, -0.8])
