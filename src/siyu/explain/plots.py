"""Plots for the report, returned as PNG bytes (nothing is written to disk here)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import pandas as pd

from siyu.explain.contributions import Contributions, to_explanation

_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                 "Microsoft YaHei",
                 "PingFang SC", "SimHei",
                 # a serif CJK face beats no Chinese at all (axes would fall back to English)
                 "Noto Serif CJK SC", "Source Han Serif SC")


def cjk_font() -> str | None:
    """The name of an installed font that can draw Chinese, or None (plots then use English)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FAMILIES if name in installed), None)


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[object, object]]:
    import matplotlib

    font = cjk_font()
    sans = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": sans, "axes.unicode_minus": False}):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width, height), dpi=100)
        yield fig, fig.add_subplot(111)


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")  # type: ignore[attr-defined]
    return buf.getvalue()


def _pyplot_png(draw, width: float, height: float) -> bytes:
    """shap's plots draw on pyplot's current figure: draw there, then close it."""
    import matplotlib
    import matplotlib.pyplot as plt

    font = cjk_font()
    sans = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": sans, "axes.unicode_minus": False}):
        fig = plt.figure(figsize=(width, height), dpi=100)
        try:
            draw(fig.add_subplot(111))
            return _png(fig)
        finally:
            plt.close(fig)


def beeswarm_png(contrib: Contributions, labels: Mapping[str, str], *, max_display: int = 12,
                 axis_text: Mapping[str, str] | None = None) -> bytes:
    """shap's beeswarm: each user a dot per feature, x = SHAP value, colour = the feature's value.
    `axis_text` (`x`, `colour`, `low`, `high`, `others`) replaces shap's English axis words."""
    import shap

    explanation = to_explanation(contrib, dict(labels))

    def draw(ax):  # noqa: ANN001, ANN202 - a matplotlib Axes
        shap.plots.beeswarm(explanation, max_display=max_display, show=False, ax=ax, plot_size=None)
        if axis_text:
            ax.set_xlabel(axis_text["x"])
            ticks = ax.get_yticklabels()
            for tick in ticks:  # shap's own "Sum of N other features" row
                found = re.match(r"Sum of (\d+) other features", tick.get_text())
                if found and "others" in axis_text:
                    tick.set_text(axis_text["others"].format(n=found.group(1)))
            ax.set_yticks(ax.get_yticks(), ticks)
            for bar in [a for a in ax.figure.axes if a is not ax]:  # the colour bar shap adds
                bar.set_ylabel(axis_text["colour"])
                ticks = bar.get_yticks()
                if len(ticks) == 2:
                    bar.set_yticks(ticks, [axis_text["low"], axis_text["high"]])

    return _pyplot_png(draw, 9, 0.45 * max_display + 1.5)


def dependence_png(contrib: Contributions, feature: str, labels: Mapping[str, str], *, ylabel: str = "SHAP") -> bytes:
    """shap's scatter (dependence) plot of one feature: its value against its SHAP value."""
    import shap

    explanation = to_explanation(contrib, dict(labels))
    position = list(contrib.values.columns).index(feature)
    return _pyplot_png(lambda ax: shap.plots.scatter(explanation[:, position], show=False, ax=ax, hist=False,
                                                     ylabel=ylabel), 5, 3.5)


def bar_png(counts: pd.Series, *, title: str, xlabel: str, color: str = "#1E88E5") -> bytes:
    """A horizontal bar chart of counts (index: labels, in display order)."""
    with _figure(6, 0.45 * max(len(counts), 2) + 1.2) as (fig, ax):
        labels = [str(i) for i in counts.index]
        ax.barh(labels[::-1], counts.to_numpy()[::-1], color=color)  # type: ignore[attr-defined]
        ax.set_title(title)  # type: ignore[attr-defined]
        ax.set_xlabel(xlabel)  # type: ignore[attr-defined]
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)  # type: ignore[attr-defined]
        return _png(fig)


def calibration_png(y_true: np.ndarray, y_score: np.ndarray, *, title: str, xlabel: str, ylabel: str,
                    n_bins: int = 10) -> bytes:
    """Reliability diagram: mean predicted score against the observed rate, per score decile."""
    frame = pd.DataFrame({"y": np.asarray(y_true, dtype=float), "p": np.asarray(y_score, dtype=float)})
    bins = pd.qcut(frame["p"].rank(method="first"), q=min(n_bins, len(frame)), labels=False)
    per_bin = frame.groupby(bins).mean()
    with _figure(4.5, 4.2) as (fig, ax):
        top = float(max(per_bin["p"].max(), per_bin["y"].max(), 0.05)) * 1.05
        ax.plot([0, top], [0, top], color="#999999", linestyle="--", linewidth=1)  # type: ignore[attr-defined]
        ax.plot(per_bin["p"], per_bin["y"], marker="o", color="#D81B60")  # type: ignore[attr-defined]
        ax.set_title(title)  # type: ignore[attr-defined]
        ax.set_xlabel(xlabel)  # type: ignore[attr-defined]
        ax.set_ylabel(ylabel)  # type: ignore[attr-defined]
        return _png(fig)
