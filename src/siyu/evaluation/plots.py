"""Evaluation charts as SVG text (`siyu.charts`; the caller logs them).

ROC, precision-recall, reliability (calibration), cumulative gains, decile chart, SHAP summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from siyu.charts import GREY, Line, Rule, bar_chart, barh_chart, line_chart
from siyu.evaluation.metrics import decile_capture

_UNIT = (-0.02, 1.02)


def plot_roc(y: np.ndarray, prob: np.ndarray, *, title: str = "ROC") -> str:
    """ROC curve with the chance diagonal."""
    fpr, tpr, _ = roc_curve(y, prob)
    return line_chart([Line(fpr, tpr, "model"), Line([0, 1], [0, 1], "chance", "dashed", GREY, width=1)],
                      title=title, xlabel="false positive rate", ylabel="true positive rate",
                      x_range=_UNIT, y_range=_UNIT)


def plot_pr(y: np.ndarray, prob: np.ndarray, *, title: str = "Precision-recall") -> str:
    """Precision-recall curve with the base rate."""
    precision, recall, _ = precision_recall_curve(y, prob)
    return line_chart([Line(recall, precision, "model")], rules=[Rule(float(np.mean(y)), label="base rate")],
                      title=title, xlabel="recall", ylabel="precision", legend="upper right",
                      x_range=_UNIT, y_range=_UNIT)


def reliability_table(y: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Columns bin, mean_prob, observed_rate, rows: equal-width probability bins that hold rows."""
    y, prob = np.asarray(y, dtype=float), np.asarray(prob, dtype=float)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "prob": prob, "y": y})
    out = frame.groupby("bin").agg(mean_prob=("prob", "mean"), observed_rate=("y", "mean"), rows=("y", "size"))
    return out.reset_index()


def plot_calibration(y: np.ndarray, prob: np.ndarray, *, title: str = "Reliability") -> str:
    """Reliability diagram: observed rate against mean predicted probability per bin."""
    table = reliability_table(y, prob)
    return line_chart([Line([0, 1], [0, 1], "perfect", "dashed", GREY, width=1),
                       Line(table["mean_prob"], table["observed_rate"], "model", markers=True)],
                      title=title, xlabel="mean predicted probability", ylabel="observed rate",
                      legend="upper left", x_range=_UNIT, y_range=_UNIT)


def plot_gains(y: np.ndarray, score: np.ndarray, *, title: str = "Cumulative gains") -> str:
    """Cumulative share of positives (or value) captured against share of users contacted."""
    y = np.clip(np.asarray(y, dtype=float), 0, None)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    captured = np.concatenate([[0.0], np.cumsum(y[order]) / max(y.sum(), 1e-12)])
    share = np.linspace(0, 1, len(captured))
    perfect = np.concatenate([[0.0], np.cumsum(np.sort(y)[::-1]) / max(y.sum(), 1e-12)])
    return line_chart([Line(share, captured, "model"), Line(share, perfect, "perfect", "dotted"),
                       Line([0, 1], [0, 1], "random", "dashed", GREY, width=1)],
                      title=title, xlabel="share of users (by score)", ylabel="share captured",
                      x_range=_UNIT, y_range=_UNIT)


def plot_deciles(y: np.ndarray, score: np.ndarray, *, title: str = "Deciles") -> str:
    """Bar chart of the share of total value (or positives) per score decile, top decile first."""
    shares = decile_capture(y, score)
    return bar_chart([str(d) for d in range(1, 11)], shares, rules=[Rule(0.1)], title=title,
                     xlabel="score decile (1 = highest)", ylabel="share of total")


def shap_importance(estimator: object, X: pd.DataFrame, *, max_rows: int = 500, seed: int = 0,
                    top: int = 20) -> pd.Series:
    """Mean |SHAP| per feature on a sample of `max_rows` rows, the `top` largest, smallest first
    (path-dependent TreeSHAP on the raw margin scale, from the booster's own code: shap's
    TreeExplainer first copies every tree into Python, about a second per model for the same numbers)."""
    from siyu.explain.contributions import shap_contributions

    sample = X if len(X) <= max_rows else X.sample(max_rows, random_state=seed)
    values = shap_contributions(estimator, sample).values
    return values.abs().mean(axis=0).sort_values().tail(top)


def plot_shap_summary(estimator: object, X: pd.DataFrame, *, max_rows: int = 500, seed: int = 0,
                      title: str = "SHAP: mean |contribution|") -> str:
    """Bar chart of mean |SHAP| per feature (`shap_importance`), the largest at the top."""
    importance = shap_importance(estimator, X, max_rows=max_rows, seed=seed)[::-1]
    return barh_chart(list(importance.index), importance.to_numpy(), title=title,
                      xlabel="mean |SHAP value| (margin)")
