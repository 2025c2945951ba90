"""Evaluation charts are SVG documents with the expected content; SHAP works for both boosters
with categoricals."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from siyu.evaluation import plots
from siyu.models import LightGBMClassifier, XGBoostClassifier
from siyu.models.synthetic import toy_trainset

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 400)
    return rng.binomial(1, p).astype(float), p


@pytest.mark.parametrize(("fn", "title"), [(plots.plot_roc, "ROC"), (plots.plot_pr, "Precision-recall"),
                                           (plots.plot_calibration, "Reliability"),
                                           (plots.plot_gains, "Cumulative gains"), (plots.plot_deciles, "Deciles")])
def test_each_chart_is_an_svg_with_its_title_and_data(fn, title, scored):
    root = ET.fromstring(fn(*scored))
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert title in texts
    data = list(root.iter(f"{NS}polyline")) + [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert data


def test_the_roc_curve_is_drawn_from_its_points(scored):
    # the model's line starts at (0, 0) and ends at (1, 1): its first and last points are the plot's corners
    root = ET.fromstring(plots.plot_roc(*scored))
    model = next(root.iter(f"{NS}polyline"))
    points = [tuple(map(float, p.split(","))) for p in model.get("points").split()]
    (x0, y0), (x1, y1) = points[0], points[-1]
    assert x0 < x1 and y0 > y1  # SVG's y grows downwards
    assert len(points) <= 400


def test_reliability_table_rows_add_up(scored):
    table = plots.reliability_table(*scored)
    assert table["rows"].sum() == 400
    assert (table["observed_rate"].between(0, 1)).all()


@pytest.mark.parametrize("cls", [LightGBMClassifier, XGBoostClassifier])
def test_shap_summary_for_both_boosters(cls):
    frame = toy_trainset("churn", n_users=200, n_cutoffs=3, rng=np.random.default_rng(1))
    X = frame.drop(columns=["user_id", "cutoff", "split", "label"])
    model = cls(n_estimators=20, n_jobs=1).fit(X, frame["label"])
    importance = plots.shap_importance(model, X, max_rows=100)
    bars = [r for r in ET.fromstring(plots.plot_shap_summary(model, X, max_rows=100)).iter(f"{NS}rect")
            if r.find(f"{NS}title") is not None]
    assert len(bars) == len(importance) == min(20, X.shape[1])
    # the largest bar first, named after its feature
    assert bars[0].find(f"{NS}title").text.startswith(f"{importance.index[-1]}:")
    # The booster's own TreeSHAP: the numbers shap's TreeExplainer gives for the same rows.
    import shap
    import xgboost

    sample = model.model_input(X.sample(100, random_state=0))
    data = xgboost.DMatrix(sample, enable_categorical=True) if cls is XGBoostClassifier else sample
    values = np.asarray(shap.TreeExplainer(model.tree_model_).shap_values(data))
    values = values[..., -1] if values.ndim == 3 else values
    expected = np.sort(np.abs(values).mean(axis=0))[-20:]
    np.testing.assert_allclose(importance.to_numpy(), expected, rtol=1e-5, atol=1e-9)
