"""Reasons for every champion kind: linear pipelines by coefficient × centred transformed value,
rule and BG/NBD by exact Shapley values over their few inputs. Each adds up to the model's
margin row by row, and top_reasons gives sentences for each."""

from __future__ import annotations

import numpy as np
import pytest

from siyu.config import DEFAULT_TASKS
from siyu.explain.contributions import contribution_method, shap_contributions
from siyu.explain.reasons import top_reasons
from siyu.features.catalog import FeatureInfo
from siyu.models import make_model
from siyu.models.synthetic import toy_trainset

TASKS = {t.name: t for t in DEFAULT_TASKS}
ID = ["user_id", "cutoff", "split", "label"]


def _fitted(task: str, model: str):
    frame = toy_trainset(task, n_users=300, n_cutoffs=4, rng=np.random.default_rng(5))
    train, valid = frame[frame["split"] == "train"], frame[frame["split"] == "valid"]
    est = make_model(model, TASKS[task], random_state=0, calibration="none")
    est.fit(train.drop(columns=ID), train["label"].to_numpy(float),
            X_valid=valid.drop(columns=ID), y_valid=valid["label"].to_numpy(float))
    return est, frame[frame["split"] == "test"].drop(columns=ID).head(60)


def _catalog(X):
    return [FeatureInfo(c, "window", "categorical" if str(X[c].dtype) == "category" else "numeric",
                        "category" if str(X[c].dtype) == "category" else "count", f"特征{c}", f"feature {c}")
            for c in X.columns]


@pytest.mark.parametrize(("task", "model", "method"), [
    ("churn", "logistic", "linear"),
    ("ltv", "glm", "linear"),
    ("churn", "rule", "inputs"),
    ("purchase_intent", "bgnbd", "inputs"),
])
def test_contributions_add_up_to_the_margin(task, model, method):
    est, X = _fitted(task, model)
    assert contribution_method(est) == method
    contrib = shap_contributions(est, X)
    assert list(contrib.values.columns) == list(X.columns) and contrib.values.index.equals(X.index)
    score = est.predict_score(X)
    if method == "linear" and model == "logistic":
        expected = est.pipeline_.decision_function(__import__("siyu.models.baselines", fromlist=["x"]).as_model_input(X))
    elif method == "linear":
        expected = np.log(est.pipeline_.predict(__import__("siyu.models.baselines", fromlist=["x"]).as_model_input(X)))
    else:
        p = np.clip(score, 1e-6, 1 - 1e-6)
        expected = np.log(p / (1 - p)) if est.binary else np.log1p(score)
    np.testing.assert_allclose(contrib.margin, expected, rtol=1e-9, atol=1e-9)
    used = contrib.values.columns[(contrib.values != 0).any()]
    if method == "inputs":
        assert set(used) <= set(c for c in est.inputs_.values() if c)
    reasons = top_reasons(est, X, _catalog(X), lang="en", k=2)
    assert reasons.index.equals(X.index) and (reasons["reason_1"] != "").any()


def test_a_model_with_nothing_to_explain_says_so():
    with pytest.raises(TypeError, match="tree_model_"):
        contribution_method(object())


@pytest.mark.parametrize("task", ["purchase_intent", "ltv"])
def test_bgnbd_on_event_summaries_is_explained_over_them(task):
    from datetime import date

    import duckdb
    import pandas as pd

    from siyu.features.btyd_summary import BTYD_COLUMNS, btyd_summaries
    from siyu.models.btyd import BGNBDParams, GammaGammaParams
    from siyu.synth.btyd import bgnbd_transaction_log

    log = bgnbd_transaction_log(BGNBDParams(0.8, 40.0, 0.6, 2.5), GammaGammaParams(6.0, 4.0, 150.0), customers=600,
                                start=date(2025, 1, 6), days=300, acquisition_days=120, rng=np.random.default_rng(4))
    con = duckdb.connect()
    con.register("events", log)
    rows = btyd_summaries(con, "events", pd.date_range("2025-06-02", periods=3, freq="28D").date.tolist())
    X = rows[list(BTYD_COLUMNS)].assign(noise=np.random.default_rng(0).normal(size=len(rows)))
    y = np.random.default_rng(1).binomial(1, 0.3, len(rows)).astype(float)
    if task == "ltv":
        y = y * 100.0
    est = make_model("bgnbd", TASKS[task]).fit(X, y)
    assert contribution_method(est) == "inputs"
    contrib = shap_contributions(est, X.head(40))
    used = set(contrib.values.columns[(contrib.values != 0).any()])
    assert used <= set(BTYD_COLUMNS) and "btyd_x" in used
    assert ("btyd_spend_mean" in used) == (task == "ltv")
    score = est.predict_score(X.head(40))
    expected = np.log(np.clip(score, 1e-6, 1 - 1e-6) / (1 - np.clip(score, 1e-6, 1 - 1e-6))) if est.binary \
        else np.log1p(score)
    np.testing.assert_allclose(contrib.margin, expected, rtol=1e-9, atol=1e-9)
