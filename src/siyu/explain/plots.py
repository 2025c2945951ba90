"""Charts of the report and the model card, as SVG text (`siyu.charts`; nothing is written here).
Labels come in the caller's language: the page is read in a browser, which has the fonts to draw it."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from siyu import charts
from siyu.explain.contributions import Contributions, feature_numbers

# shap's own axis words, for a caller that gives none
_SHAP_WORDS = {"x": "SHAP value (impact on model output)", "colour": "Feature value", "low": "Low",
               "high": "High", "others": "Sum of {n} other features"}


def beeswarm(contrib: Contributions, labels: Mapping[str, str], *, max_display: int = 12,
             axis_text: Mapping[str, str] | None = None) -> str:
    """shap's beeswarm: each user a dot per feature, x = SHAP value, colour = the feature's value.
    `axis_text` (`x`, `colour`, `low`, `high`, `others`) replaces shap's English axis words."""
    words = {**_SHAP_WORDS, **(axis_text or {})}
    names = list(contrib.values.columns)
    return charts.beeswarm(contrib.values.to_numpy(dtype="float64"), feature_numbers(contrib.data[names]),
                           [labels.get(n, n) for n in names],
                           xlabel=words["x"], colour_label=words["colour"], low=words["low"], high=words["high"],
                           others=words["others"], max_rows=max_display)


def dependence(contrib: Contributions, feature: str, labels: Mapping[str, str], *, ylabel: str = "SHAP") -> str:
    """shap's scatter (dependence) plot of one feature: its value against its SHAP value."""
    column = contrib.data[feature]
    ticks = (list(enumerate(str(c) for c in column.cat.categories))
             if isinstance(column.dtype, pd.CategoricalDtype) else None)
    x = feature_numbers(contrib.data[[feature]])[:, 0]
    return charts.scatter(x, contrib.values[feature].to_numpy(dtype="float64"), xlabel=labels.get(feature, feature),
                          ylabel=ylabel, x_ticks=ticks, x_jitter=_jitter(x),
                          rules=[charts.Rule(0.0, style="solid", color="#ccc")], color="#1E88E5", size=(340, 290))


def _jitter(x: np.ndarray) -> float:
    """A quarter of the step between a discrete feature's values (a count, a category: at most 30 of
    them), as shap spreads those; 0 for a continuous one."""
    distinct = np.unique(x[np.isfinite(x)])
    return 0.25 * float(np.diff(distinct).min()) if 1 < len(distinct) <= 30 else 0.0


def bars(counts: pd.Series, *, title: str, xlabel: str, color: str = "#1E88E5") -> str:
    """Horizontal bars of counts (index: labels, in display order, the first on top), each with its count."""
    values = counts.to_numpy(dtype="float64")
    return charts.barh_chart([str(i) for i in counts.index], values, title=title, xlabel=xlabel, color=color,
                             width=460, notes=[f"{v:,.0f}" for v in values], slot=36)


def calibration(y_true: np.ndarray, y_score: np.ndarray, *, title: str, xlabel: str, ylabel: str,
                n_bins: int = 10) -> str:
    """Reliability diagram: mean predicted score against the observed rate, per score decile."""
    frame = pd.DataFrame({"y": np.asarray(y_true, dtype=float), "p": np.asarray(y_score, dtype=float)})
    bins = pd.qcut(frame["p"].rank(method="first"), q=min(n_bins, len(frame)), labels=False)
    per_bin = frame.groupby(bins).mean()
    top = float(max(per_bin["p"].max(), per_bin["y"].max(), 0.05)) * 1.05
    return charts.line_chart(
        [charts.Line([0, top], [0, top], style="dashed", color="#999999", width=1),
         charts.Line(per_bin["p"].to_numpy(), per_bin["y"].to_numpy(), color="#D81B60", markers=True)],
        title=title, xlabel=xlabel, ylabel=ylabel, x_range=(0, top), y_range=(0, top), size=(380, 360))
