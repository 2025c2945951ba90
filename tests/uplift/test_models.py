"""Uplift estimators: the shared contract, and T- / X- / DR-learners recovering a planted
heterogeneous effect of two treatments on a small synthetic frame."""

import pickle

import numpy as np
import pandas as pd
import pytest

from siyu.config import TaskConfig
from siyu.models import NotFittedError, make_model, models_for_task
from siyu.uplift.models import UPLIFT_MODELS, make_uplift_model, uplift_models_available

TASK = TaskConfig(name="uplift_purchase", horizon_days=7, label="any_purchase", treatments=("msg", "coupon"))


def _frame(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "tier": pd.Categorical(rng.choice(["x", "y"], size=n))})
    treatment = rng.choice(["control", "msg", "coupon"], size=n, p=[0.6, 0.25, 0.15])
    tau = {"coupon": 0.3 * (X["a"] > 0) - 0.1 * (X["tier"] == "y"), "msg": 0.15 * (X["a"] > 0)}
    p = 1 / (1 + np.exp(-(-2 + X["b"])))
    for t, effect in tau.items():
        p = np.where(treatment == t, np.clip(p + effect, 0, 1), p)
    y = (rng.random(n) < p).astype(float)
    return X, y, treatment, {t: np.asarray(v, dtype=float) for t, v in tau.items()}


@pytest.fixture(scope="module")
def data():
    return _frame(8000, 0), _frame(2000, 1), _frame(3000, 2)


def _fit(name, data):
    (X, y, t, _), (Xv, yv, tv, _), _ = data
    return make_model(name, TASK, n_jobs=1).fit(X, y, treatment=t, propensity=np.full(len(y), 0.3), X_valid=Xv,
                                                y_valid=yv, treatment_valid=tv)


@pytest.mark.parametrize("name", ["tlearner", "xlearner", "drlearner"])
def test_learners_recover_the_planted_effect(name, data):
    model = _fit(name, data)
    X, _, _, tau = data[2]
    uplift = model.predict_uplift(X)
    assert model.treatments_ == ("coupon", "msg") and uplift.shape == (len(X), 2)
    for j, t in enumerate(model.treatments_):
        assert np.corrcoef(uplift[:, j], tau[t])[0, 1] > 0.45, t  # ~1,200 coupon rows: a weak arm
        assert uplift[:, j].mean() == pytest.approx(tau[t].mean(), abs=0.04)
    assert len(model.valid_uplift_) == len(data[1][0])  # out-of-sample valid effects, kept before the refit


@pytest.mark.parametrize("name", [n for n in UPLIFT_MODELS if n in uplift_models_available()])
def test_every_uplift_model_keeps_the_contract(name, data):
    model = _fit(name, data)
    X = data[2][0]
    uplift = model.predict_uplift(X)
    assert uplift.shape == (len(X), 2) and np.isfinite(uplift).all()
    np.testing.assert_allclose(model.predict_score(X), uplift.max(axis=1))
    np.testing.assert_allclose(model.predict_uplift(X.iloc[:, ::-1]), uplift)  # columns by name
    assert all(isinstance(t, str) for t in model.treatments_)


def test_baselines_carry_the_average_effect_and_their_own_order(data):
    (X, y, t, _), _, (Xt, _, _, tau) = data
    random = _fit("random", data).predict_uplift(Xt)
    for j, arm in enumerate(("coupon", "msg")):
        naive = y[t == arm].mean() - y[t == "control"].mean()
        assert random[:, j].mean() == pytest.approx(naive, rel=0.1)
        assert abs(np.corrcoef(random[:, j], tau[arm])[0, 1]) < 0.1
    np.testing.assert_array_equal(_fit("random", data).predict_uplift(Xt), random)  # same rows, same order


def test_uplift_tasks_route_to_their_own_models():
    assert models_for_task(TASK)[:6] == ("tlearner", "xlearner", "drlearner", "random", "risk", "response")
    assert models_for_task(TASK, ("tlearner", "lightgbm")) == ("tlearner",)
    with pytest.raises(ValueError, match="does not apply"):
        make_model("lightgbm", TASK)
    with pytest.raises(ValueError, match="choose one of"):
        make_uplift_model("causal_forest")


def test_bad_input_is_refused_with_the_reason(data):
    (X, y, t, _), _, _ = data
    model = make_uplift_model("tlearner", n_jobs=1)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict_uplift(X)
    with pytest.raises(ValueError, match="treatment` is required"):
        model.fit(X, y, treatment=None)
    with pytest.raises(ValueError, match="need control rows and treated rows"):
        model.fit(X, y, treatment=np.full(len(y), "msg"))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        model.fit(X, y, treatment=t, propensity=np.ones(len(y)))


@pytest.mark.parametrize("name", ["tlearner", "xlearner", "drlearner", "risk", "response"])
def test_an_amount_label_gets_effects_in_money(name):
    X, _, treatment, tau = _frame(4000, 3)
    spend = np.random.default_rng(4).gamma(2.0, 50.0, len(X)) * (X["b"] > 0.5) + 80.0 * tau["msg"] * (treatment == "msg")
    model = make_uplift_model(name, n_jobs=1).fit(X, spend, treatment=treatment)
    uplift = model.predict_uplift(X)
    assert np.isfinite(uplift).all() and uplift.shape == (len(X), 2)
    if name in ("tlearner", "xlearner"):
        assert uplift[:, 1].mean() == pytest.approx(80.0 * tau["msg"].mean(), rel=0.5)
    if name == "drlearner":  # its mean is an AIPW estimate: about 2.5 of standard error on 1,000 msg rows
        assert uplift[:, 1].mean() == pytest.approx(80.0 * tau["msg"].mean(), abs=5.0)


def _propensity(t):
    return np.select([t == "control", t == "msg"], [0.6, 0.25], 0.15)


def test_dr_learner_cross_fits_by_group_and_pickles(data):
    """A user's rows share one fold in train and valid alike; the pseudo-outcomes use the known
    propensities; the fitted model predicts the same after a pickle round trip."""
    from siyu.uplift.models import _folds

    (X, y, t, _), (Xv, yv, tv, _), (Xt, _, _, tau) = data
    users, users_valid = np.arange(len(y)) % 700, np.arange(len(yv)) % 700  # users seen in both splits
    folds = _folds(users.astype(str).astype(object), len(y), 2, 0)
    assert set(np.unique(folds)) == {0, 1}
    assert pd.Series(folds).groupby(users).nunique().max() == 1
    folds_valid = _folds(users_valid.astype(str).astype(object), len(yv), 2, 0)
    np.testing.assert_array_equal(folds_valid[:700], folds[:700])  # the same 700 users, the same folds
    model = make_uplift_model("drlearner", n_jobs=1).fit(
        X, y, treatment=t, propensity=_propensity(t), X_valid=Xv, y_valid=yv, treatment_valid=tv,
        propensity_valid=_propensity(tv), groups=users, groups_valid=users_valid)
    assert len(model.fold_models_) == 2 and not hasattr(model, "_fit_extras")
    uplift = model.predict_uplift(Xt)
    for j, arm in enumerate(model.treatments_):
        assert np.corrcoef(uplift[:, j], tau[arm])[0, 1] > 0.6, arm
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict_uplift(Xt), uplift)


def test_dr_learner_refuses_bad_folds_and_groups(data):
    (X, y, t, _), _, _ = data
    with pytest.raises(ValueError, match="n_folds must be at least 2"):
        make_uplift_model("drlearner", n_jobs=1).set_params(n_folds=1).fit(X, y, treatment=t)
    with pytest.raises(ValueError, match="groups has shape"):
        make_uplift_model("drlearner", n_jobs=1).fit(X, y, treatment=t, groups=np.arange(3))


def test_x_learner_averages_effect_boosters_of_distinct_seeds(data):
    """Each side's effect is the mean of `effect_seeds` boosters that differ by seed only; the
    first seed is the random state (one booster is the single-booster X-learner), and two random
    states share no booster."""
    from siyu.uplift.models import _member_seeds

    model = _fit("xlearner", data)
    Xt = data[2][0]
    assert model.effect_seeds == 3
    for side_key, boosters in model.effect_models_.items():
        seeds = [b.random_state for b in boosters]
        assert len(seeds) == 3 and len(set(seeds)) == 3 and seeds[0] == model.random_state, side_key
    manual = []
    for arm in model.treatments_:
        rows, e = model._with_arm(Xt, arm), model.share_[arm]
        control = np.mean([b.predict_score(rows) for b in model.effect_models_[("all", "control")]], axis=0)
        treated = np.mean([b.predict_score(rows) for b in model.effect_models_[("all", "treated")]], axis=0)
        manual.append(e * control + (1 - e) * treated)
    np.testing.assert_allclose(model.predict_uplift(Xt), np.column_stack(manual))
    assert not set(_member_seeds(0, 3)) & set(_member_seeds(1, 3))
    single = make_uplift_model("xlearner", n_jobs=1).set_params(effect_seeds=1)
    single.fit(*data[0][:2], treatment=data[0][2])
    assert all(len(b) == 1 for b in single.effect_models_.values())


def test_x_learner_refuses_no_effect_booster(data):
    (X, y, t, _), _, _ = data
    with pytest.raises(ValueError, match="effect_seeds must be at least 1"):
        make_uplift_model("xlearner", n_jobs=1).set_params(effect_seeds=0).fit(X, y, treatment=t)


@pytest.mark.parametrize("name", ["xlearner", "drlearner"])
def test_boosters_fitted_side_by_side_equal_those_fitted_one_by_one(name, data):
    """With two threads a learner fits its boosters side by side (`siyu.models.threads`); each is
    the booster it would be alone, so the effects are the same."""
    (X, y, t, _), (Xv, yv, tv, _), (Xt, _, _, _) = data
    fitted = [make_model(name, TASK, n_jobs=n_jobs).fit(X, y, treatment=t, X_valid=Xv, y_valid=yv,
                                                        treatment_valid=tv)
              for n_jobs in (1, 2)]
    np.testing.assert_allclose(fitted[0].predict_uplift(Xt), fitted[1].predict_uplift(Xt), rtol=1e-9)


def test_the_yardsticks_are_the_baselines_that_dress_a_ranking_as_an_effect():
    from siyu.uplift import YARDSTICKS, estimates_effects
    from siyu.uplift.models import _ScoreBaseline

    assert {name for name, cls in UPLIFT_MODELS.items() if issubclass(cls, _ScoreBaseline)} == YARDSTICKS
    assert estimates_effects("xlearner") and not estimates_effects("response")
