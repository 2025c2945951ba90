"""BTYD outputs as booster features: fitted on the training rows only, read per row from its own
point-in-time summary, folded back into the summary columns for explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siyu.explain.contributions import shap_contributions
from siyu.models import btyd
from siyu.models.boosting import LightGBMClassifier, LightGBMRegressor, TwoPartLTV
from siyu.models.btyd_features import fit_btyd_features

TRUE = btyd.BGNBDParams(r=0.8, alpha=20.0, a=0.6, b=2.5)


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of BG/NBD customers (summaries) plus a noise feature; label: a purchase in 14 days."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(30, 300, n)
    x, t_x = btyd.simulate_bgnbd(TRUE, T, rng)
    buyer = rng.random(n) < 0.8  # the rest have no purchase yet: NaN summaries
    p = btyd.bgnbd_p_any_purchase(TRUE, 14.0, x, t_x, T)
    X = pd.DataFrame({
        "btyd_x": np.where(buyer, x, np.nan), "btyd_t_x_days": np.where(buyer, t_x, np.nan),
        "btyd_T_days": np.where(buyer, T, np.nan),
        "btyd_spend_mean": np.where(buyer, rng.gamma(5, 20, n), np.nan), "noise": rng.normal(size=n),
    })
    y = (rng.random(n) < np.where(buyer, p, 0.02)).astype(float)
    return X, y


def test_fitted_on_the_training_rows_and_read_per_row():
    X, _ = _frame(4000, 1)
    made = fit_btyd_features(X, 14, spend=True)
    assert made is not None and made.columns == ("btyd_p_alive", "btyd_p_any_14d", "btyd_expected_14d",
                                                 "btyd_expected_spend")
    fitted = btyd.fit_bgnbd(*(X[c].dropna() for c in ("btyd_x", "btyd_t_x_days", "btyd_T_days")))
    assert made.bgnbd.r == pytest.approx(fitted.r, rel=1e-3) and made.bgnbd.a == pytest.approx(fitted.a, rel=1e-3)
    out = made.transform(X)
    # A row's values depend on its own summary only: another row changed leaves it as it was.
    changed = X.copy()
    changed.loc[1:, ["btyd_x", "btyd_T_days"]] = [50.0, 999.0]
    assert made.transform(changed).iloc[0].equals(out.iloc[0])
    assert out[X["btyd_x"].isna()].isna().all().all() and out[X["btyd_x"].notna()].notna().all().all()


def test_without_summaries_or_repeat_buyers_nothing_is_added():
    X, y = _frame(500, 2)
    assert fit_btyd_features(X.drop(columns=["btyd_x"]), 14, spend=False) is None
    assert fit_btyd_features(X.assign(btyd_x=np.where(X["btyd_x"].notna(), 0.0, np.nan)), 14, spend=False) is None
    model = LightGBMClassifier(calibration="none", n_estimators=20, btyd_horizon_days=None).fit(X, y)
    assert list(model.model_input(X).columns) == list(X.columns)


@pytest.mark.parametrize("make", [
    lambda: LightGBMClassifier(calibration="none", n_estimators=60, btyd_horizon_days=14),
    lambda: LightGBMRegressor(n_estimators=60, btyd_horizon_days=14),
    lambda: TwoPartLTV(n_estimators=60, btyd_horizon_days=14),
])
def test_the_booster_sees_them_and_explanations_fold_them_back(make):
    X, y = _frame(3000, 3)
    Xv, yv = _frame(1000, 4)
    model = make()
    if not model.binary:
        y, yv = y * 80.0, yv * 80.0
    model.fit(X, y, X_valid=Xv, y_valid=yv)
    seen = model.model_input(Xv)
    assert "btyd_p_alive" in seen.columns and len(seen.columns) > len(X.columns)
    contrib = shap_contributions(model, Xv.head(200))
    assert list(contrib.values.columns) == list(X.columns)  # reasons speak of features only
    assert np.allclose(contrib.margin, model.margin(Xv.head(200)), atol=1e-6)
    # The refit on train + valid keeps the parameters fitted on the training rows.
    own = model.btyd_ if hasattr(model, "btyd_") and model.btyd_ is not None else model.buy_model_.btyd_
    assert own.bgnbd == fit_btyd_features(X, 14, spend=own.spend is not None).bgnbd
