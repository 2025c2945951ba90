"""Plots are figures with the expected content; SHAP works for both boosters with categoricals."""

import numpy as np
import pytest

from siyu.evaluation import plots
from siyu.models import LightGBMClassifier, XGBoostClassifier
from siyu.models.synthetic import toy_trainset


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 400)
    return rng.binomial(1, p).astype(float), p


@pytest.mark.parametrize("fn", [plots.plot_roc, plots.plot_pr, plots.plot_calibration, plots.plot_gains,
                                plots.plot_deciles])
def test_each_plot_draws_one_axis_with_data(fn, scored):
    fig = fn(*scored)
    (ax,) = fig.axes
    assert ax.lines or ax.patches


def test_reliability_table_rows_add_up(scored):
    table = plots.reliability_table(*scored)
    assert table["rows"].sum() == 400
    assert (table["observed_rate"].between(0, 1)).all()


@pytest.mark.parametrize("cls", [LightGBMClassifier, XGBoostClassifier])
def test_shap_summary_for_both_boosters(cls):
    frame = toy_trainset("churn", n_users=200, n_cutoffs=3, rng=np.random.default_rng(1))
    X = frame.drop(columns=["user_id", "cutoff", "split", "label"])
    model = cls(n_estimators=20, n_jobs=1).fit(X, frame["label"])
    fig = plots.plot_shap_summary(model, X, max_rows=100)
    bars = fig.axes[0].patches
    assert len(bars) == min(20, X.shape[1])
    # The booster's own TreeSHAP: the numbers shap's TreeExplainer gives for the same rows.
    import shap
    import xgboost

    sample = model.model_input(X.sample(100, random_state=0))
    data = xgboost.DMatrix(sample, enable_categorical=True) if cls is XGBoostClassifier else sample
    values = np.asarray(shap.TreeExplainer(model.tree_model_).shap_values(data))
    values = values[..., -1] if values.ndim == 3 else values
    expected = np.sort(np.abs(values).mean(axis=0))[-20:]
    np.testing.assert_allclose(sorted(b.get_width() for b in bars), expected, rtol=1e-5, atol=1e-9)
