"""Evaluation plots as matplotlib Figures (the caller saves them; backend chosen by the caller).

ROC, precision-recall, reliability (calibration), cumulative gains, decile chart, SHAP summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from siyu.evaluation.metrics import decile_capture


def _figure(title: str) -> tuple[Figure, object]:
    fig = Figure(figsize=(5, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    return fig, ax


def png(fig: Figure) -> bytes:
    """`fig` drawn as PNG bytes (rendered where the figure was made: a training lane draws its
    own figures while the other lane's booster runs, instead of queueing them for the logger)."""
    import io

    buffer = io.BytesIO()
    # zlib's fastest level: two thirds of the default's time for the same pixels, the file about 8 % larger
    # (a training run draws about a hundred of them)
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def plot_roc(y: np.ndarray, prob: np.ndarray, *, title: str = "ROC") -> Figure:
    """ROC curve with the chance diagonal."""
    fpr, tpr, _ = roc_curve(y, prob)
    fig, ax = _figure(title)
    ax.plot(fpr, tpr, label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    return fig


def plot_pr(y: np.ndarray, prob: np.ndarray, *, title: str = "Precision-recall") -> Figure:
    """Precision-recall curve with the base rate."""
    precision, recall, _ = precision_recall_curve(y, prob)
    fig, ax = _figure(title)
    ax.plot(recall, precision, label="model")
    ax.axhline(float(np.mean(y)), linestyle="--", color="grey", label="base rate")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(loc="upper right")
    return fig


def reliability_table(y: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Columns bin, mean_prob, observed_rate, rows: equal-width probability bins that hold rows."""
    y, prob = np.asarray(y, dtype=float), np.asarray(prob, dtype=float)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "prob": prob, "y": y})
    out = frame.groupby("bin").agg(mean_prob=("prob", "mean"), observed_rate=("y", "mean"), rows=("y", "size"))
    return out.reset_index()


def plot_calibration(y: np.ndarray, prob: np.ndarray, *, title: str = "Reliability") -> Figure:
    """Reliability diagram: observed rate against mean predicted probability per bin."""
    table = reliability_table(y, prob)
    fig, ax = _figure(title)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot(table["mean_prob"], table["observed_rate"], marker="o", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.legend(loc="upper left")
    return fig


def plot_gains(y: np.ndarray, score: np.ndarray, *, title: str = "Cumulative gains") -> Figure:
    """Cumulative share of positives (or value) captured against share of users contacted."""
    y = np.clip(np.asarray(y, dtype=float), 0, None)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    captured = np.concatenate([[0.0], np.cumsum(y[order]) / max(y.sum(), 1e-12)])
    share = np.linspace(0, 1, len(captured))
    perfect = np.concatenate([[0.0], np.cumsum(np.sort(y)[::-1]) / max(y.sum(), 1e-12)])
    fig, ax = _figure(title)
    ax.plot(share, captured, label="model")
    ax.plot(share, perfect, linestyle=":", label="perfect")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    ax.set_xlabel("share of users (by score)")
    ax.set_ylabel("share captured")
    ax.legend(loc="lower right")
    return fig


def plot_deciles(y: np.ndarray, score: np.ndarray, *, title: str = "Deciles") -> Figure:
    """Bar chart of the share of total value (or positives) per score decile, top decile first."""
    shares = decile_capture(y, score)
    fig, ax = _figure(title)
    ax.bar(range(1, 11), shares)
    ax.axhline(0.1, linestyle="--", color="grey")
    ax.set_xlabel("score decile (1 = highest)")
    ax.set_ylabel("share of total")
    return fig


def plot_shap_summary(estimator: object, X: pd.DataFrame, *, max_rows: int = 500, seed: int = 0,
                      title: str = "SHAP: mean |contribution|") -> Figure:
    """Bar chart of mean |SHAP| per feature (path-dependent TreeSHAP on the raw margin scale, from
    the booster's own code: shap's TreeExplainer first copies every tree into Python, about a
    second per model for the same numbers)."""
    from siyu.explain.contributions import shap_contributions

    sample = X if len(X) <= max_rows else X.sample(max_rows, random_state=seed)
    values = shap_contributions(estimator, sample).values
    importance = values.abs().mean(axis=0).sort_values().tail(20)
    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(importance.index, importance.to_numpy())
    ax.set_title(title)
    ax.set_xlabel("mean |SHAP value| (margin)")
    fig.tight_layout()
    return fig
