"""Tree-model specifics: SHAP hooks, calibration, early stopping, categoricals."""

import numpy as np
import pandas as pd
import pytest

from siyu.models import LightGBMClassifier, TwoPartLTV, XGBoostClassifier, XGBoostRegressor


@pytest.mark.parametrize("cls", [LightGBMClassifier, XGBoostClassifier])
def test_margin_is_the_uncalibrated_log_odds(cls, toy_data):
    data = toy_data["churn"]
    (X, y), (Xv, yv), (Xt, _) = data["train"], data["valid"], data["test"]
    raw = cls(calibration="none", n_jobs=1).fit(X, y, X_valid=Xv, y_valid=yv)
    calibrated = cls(calibration="platt", n_jobs=1).fit(X, y, X_valid=Xv, y_valid=yv)
    np.testing.assert_allclose(raw.predict_score(Xt), 1 / (1 + np.exp(-raw.margin(Xt))), rtol=1e-6)
    np.testing.assert_allclose(calibrated.margin(Xt), raw.margin(Xt))
    # Platt is monotone: calibration never reorders users
    assert (np.argsort(calibrated.predict_score(Xt), kind="stable") ==
            np.argsort(raw.predict_score(Xt), kind="stable")).mean() > 0.99


def test_model_input_keeps_training_categories_for_unseen_levels(toy_data):
    data = toy_data["churn"]
    (X, y), (Xt, _) = data["train"], data["test"]
    model = XGBoostClassifier(n_estimators=20, n_jobs=1).fit(X, y)
    odd = Xt.assign(source_channel=pd.Categorical(["martian"] * len(Xt)))
    seen = model.model_input(odd)
    assert list(seen["source_channel"].cat.categories) == list(X["source_channel"].cat.categories)
    assert seen["source_channel"].isna().all()
    assert np.isfinite(model.predict_score(odd)).all()


def test_early_stopping_keeps_the_best_iteration(toy_data):
    data = toy_data["purchase_intent"]
    (X, y), (Xv, yv) = data["train"], data["valid"]
    model = LightGBMClassifier(n_estimators=500, learning_rate=0.3, early_stopping_rounds=5, n_jobs=1)
    model.fit(X, y, X_valid=Xv, y_valid=yv)
    assert model.best_iteration_ < 500
    assert model.tree_model_.num_trees() == model.best_iteration_


def test_two_part_is_probability_times_spend(toy_data):
    data = toy_data["ltv"]
    (X, y), (Xv, yv), (Xt, _) = data["train"], data["valid"], data["test"]
    model = TwoPartLTV(n_jobs=1).fit(X, y, X_valid=Xv, y_valid=yv)
    expected = model.buy_model_.predict_score(Xt) * model.spend_model_.predict_score(Xt)
    np.testing.assert_allclose(model.predict_score(Xt), expected)
    assert model.tree_model_ is model.buy_model_.tree_model_


def test_tweedie_clips_refund_heavy_negative_labels(toy_data):
    data = toy_data["ltv"]
    X, y = data["train"]
    y = np.where(np.arange(len(y)) % 10 == 0, -50.0, y)
    scores = XGBoostRegressor(n_estimators=30, n_jobs=1).fit(X, y).predict_score(X)
    assert (scores >= 0).all()


def test_text_columns_must_be_categories(toy_data):
    X, y = toy_data["churn"]["train"]
    with pytest.raises(TypeError, match="neither numeric nor pandas 'category'"):
        LightGBMClassifier(n_jobs=1).fit(X.assign(region=["north"] * len(X)), y)


def test_bad_imbalance_option_is_named(toy_data):
    X, y = toy_data["churn"]["train"]
    with pytest.raises(ValueError, match="imbalance must be"):
        LightGBMClassifier(imbalance="double", n_jobs=1).fit(X, y)


@pytest.mark.parametrize("cls", [LightGBMClassifier, XGBoostClassifier])
def test_refit_keeps_out_of_sample_valid_scores_and_the_stopped_rounds(cls, toy_data):
    data = toy_data["purchase_intent"]
    (X, y), (Xv, yv), (Xt, _) = data["train"], data["valid"], data["test"]
    kept = cls(n_estimators=300, learning_rate=0.2, early_stopping_rounds=10, refit=False, n_jobs=1)
    refitted = cls(n_estimators=300, learning_rate=0.2, early_stopping_rounds=10, refit=True, n_jobs=1)
    kept.fit(X, y, X_valid=Xv, y_valid=yv)
    refitted.fit(X, y, X_valid=Xv, y_valid=yv)
    assert kept.valid_scores_ is None
    np.testing.assert_allclose(refitted.valid_scores_, kept.predict_score(Xv))
    assert refitted.best_iteration_ == kept.best_iteration_
    rounds = refitted.tree_model_.current_iteration() if cls is LightGBMClassifier else \
        refitted.tree_model_.num_boosted_rounds()
    assert rounds == refitted.best_iteration_
    assert not np.allclose(refitted.margin(Xt), kept.margin(Xt))  # the refit saw the valid rows


def test_no_valid_rows_means_no_refit(toy_data):
    X, y = toy_data["churn"]["train"]
    model = LightGBMClassifier(n_estimators=20, min_child_samples=5, refit=True, n_jobs=1).fit(X, y)
    assert model.valid_scores_ is None
    assert model.tree_model_.current_iteration() == 20


def test_two_part_refit_retrains_both_parts(toy_data):
    data = toy_data["ltv"]
    (X, y), (Xv, yv), (Xt, _) = data["train"], data["valid"], data["test"]
    kept = TwoPartLTV(n_estimators=50, refit=False, n_jobs=1).fit(X, y, X_valid=Xv, y_valid=yv)
    refitted = TwoPartLTV(n_estimators=50, refit=True, n_jobs=1).fit(X, y, X_valid=Xv, y_valid=yv)
    np.testing.assert_allclose(refitted.valid_scores_, kept.predict_score(Xv))
    assert refitted.tree_model_ is refitted.buy_model_.tree_model_
    assert not np.allclose(refitted.spend_model_.predict_score(Xt), kept.spend_model_.predict_score(Xt))
    assert not np.allclose(refitted.buy_model_.margin(Xt), kept.buy_model_.margin(Xt))


def test_leaf_size_is_capped_on_small_training_sets(toy_data):
    X, y = toy_data["churn"]["train"]
    model = LightGBMClassifier(n_estimators=20, min_child_samples=500, n_jobs=1).fit(X, y)
    assert model.params_["min_child_samples"] == max(20, len(y) // 200) < 500
    assert model.tree_model_.current_iteration() == 20  # it still grows trees


def _members(seeds, n_jobs=1):
    from siyu.models.boosting import ObjectiveRegressor

    return [ObjectiveRegressor(n_estimators=60, num_leaves=7, early_stopping_rounds=5, refit=False, n_jobs=n_jobs,
                               random_state=seed) for seed in seeds]


def test_boosters_alike_binned_once_equal_boosters_binned_each_on_their_own():
    """`fits_alike` / `refits_alike` bin the rows once for members that differ by seed only, and
    fit them side by side on that one Dataset. Each booster equals the one fitted alone on its own
    Dataset with the same binning seed: on 60k rows (above LightGBM's 50k-row bin sample, where the
    binning seed matters), with bagging and column sampling, fit and refit."""
    from siyu.models.boosting import fits_alike, refits_alike
    from siyu.models.threads import side_by_side

    rng = np.random.default_rng(0)
    n = 75_000
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    X["tier"] = pd.Categorical(rng.choice(["a", "b", "c"], size=n))
    y = np.exp(X["x0"].to_numpy() * 0.5 + (X["tier"] == "b") * 0.3 + rng.normal(size=n))  # Tweedie: no negatives
    fit_rows, valid_rows = slice(0, 60_000), slice(60_000, None)
    seeds = [0, 7, 11]
    shared = _members(seeds)
    side_by_side(fits_alike(shared, X[fit_rows], y[fit_rows], X[valid_rows], y[valid_rows]), n_jobs=2)
    alone = _members(seeds)
    for m in alone:
        m.bin_seed_ = seeds[0]
        m.fit(X[fit_rows], y[fit_rows], X_valid=X[valid_rows], y_valid=y[valid_rows])
    assert [m.bin_seed_ for m in shared] == [0, 0, 0]
    for a, b in zip(shared, alone, strict=True):
        assert a.tree_model_.model_to_string() == b.tree_model_.model_to_string()
    side_by_side(refits_alike(shared, X, y), n_jobs=2)
    for m in alone:
        m._refit(X, y)
    for a, b in zip(shared, alone, strict=True):
        assert a.tree_model_.model_to_string() == b.tree_model_.model_to_string()
    assert len({m.tree_model_.model_to_string() for m in shared}) == 3  # the seeds still differ


def test_boosters_binned_together_must_differ_by_seed_only():
    from siyu.models.boosting import fits_alike

    X, y = pd.DataFrame({"a": np.arange(100.0)}), np.arange(100.0)
    with pytest.raises(ValueError, match="same parameters but their seed"):
        fits_alike([*_members([0]), *_members([1], n_jobs=2)], X, y, None, None)


def test_boosters_fitted_side_by_side_on_shared_datasets_set_up_in_turn(monkeypatch):
    """lgb.train writes to its Datasets before the first round; two members sharing them must not
    be there at once (they were, and one read the feature names the other was writing: a
    "special JSON characters in feature name" failure now and then). Each setup is slowed down
    here so overlapping ones would be caught."""
    import threading
    import time

    import lightgbm as lgb

    from siyu.models.boosting import fits_alike, refits_alike
    from siyu.models.threads import side_by_side

    inside, most, lock = [0], [0], threading.Lock()
    update = lgb.Dataset._update_params

    def slow_update(self, params):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        try:
            return update(self, params)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(lgb.Dataset, "_update_params", slow_update)
    rng = np.random.default_rng(1)
    X = pd.DataFrame({f"x{i}": rng.normal(size=4000) for i in range(4)})
    y = np.exp(X["x0"].to_numpy() * 0.5 + rng.normal(size=4000))
    members = _members([0, 3, 5, 9])
    side_by_side(fits_alike(members, X[:3000], y[:3000], X[3000:], y[3000:]), n_jobs=2)
    assert most[0] == 1
    side_by_side(refits_alike(members, X, y), n_jobs=2)
    assert most[0] == 1
    assert all(m.tree_model_.current_iteration() > 0 for m in members)
