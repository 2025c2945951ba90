"""Uplift estimators: the shared contract, and T- / X-learners recovering a planted
heterogeneous effect of two treatments on a small synthetic frame."""

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


@pytest.mark.parametrize("name", ["tlearner", "xlearner"])
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
    assert models_for_task(TASK)[:5] == ("tlearner", "xlearner", "random", "risk", "response")
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
