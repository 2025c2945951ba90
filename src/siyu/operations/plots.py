"""Plots of the operations report, as PNG bytes (nothing is written here). Labels come in the
caller's language; colours follow meaning (retention and conversion in greens, loss in reds)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from siyu.explain.plots import cjk_font

SEQUENTIAL = "Greens"
FLOW = "Blues"
PALETTE = ("#2680c2", "#3e9b5f", "#f0b429", "#8e6ac8", "#e07a5f", "#52606d", "#17a2b8", "#c2185b", "#7b8794")


def render(draw: Callable, width: float = 7.0, height: float = 3.6) -> bytes:
    """Draw on one axes with a CJK-capable font, return the PNG."""
    import matplotlib
    from matplotlib.figure import Figure

    font = cjk_font()
    sans = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": sans, "axes.unicode_minus": False,
                                "axes.spines.top": False, "axes.spines.right": False, "font.size": 9}):
        fig = Figure(figsize=(width, height), dpi=100)
        draw(fig, fig.add_subplot(111))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def stacked_bars_png(frame: pd.DataFrame, *, title: str, ylabel: str, labels: Mapping[str, str]) -> bytes:
    """Columns stacked per row (index: period labels)."""
    def draw(fig, ax):
        bottom = np.zeros(len(frame))
        for i, col in enumerate(frame.columns):
            ax.bar(range(len(frame)), frame[col].to_numpy(), bottom=bottom, color=PALETTE[i % len(PALETTE)],
                   label=labels.get(col, col), width=0.8)
            bottom += frame[col].to_numpy()
        step = max(1, len(frame) // 8)
        ax.set_xticks(range(0, len(frame), step), [str(x) for x in frame.index[::step]], rotation=0)
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        ax.legend(ncol=min(4, len(frame.columns)), fontsize=8, frameon=False, loc="upper center",
                  bbox_to_anchor=(0.5, -0.1))
    return render(draw)


def lines_png(frame: pd.DataFrame, *, title: str, ylabel: str, labels: Mapping[str, str],
              percent: bool = False, markers: bool = False) -> bytes:
    """One line per column over the index."""
    def draw(fig, ax):
        for i, col in enumerate(frame.columns):
            ax.plot(frame.index, frame[col].to_numpy(), color=PALETTE[i % len(PALETTE)], label=labels.get(col, col),
                    marker="o" if markers else None, linewidth=1.8)
        if percent:
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, frameon=False, ncol=min(4, len(frame.columns)))
        fig.autofmt_xdate() if not markers else None
    return render(draw)


def heatmap_png(matrix: pd.DataFrame, *, title: str, xlabel: str, ylabel: str, cmap: str = SEQUENTIAL,
                fmt: Callable[[float], str] = lambda v: f"{v:.0%}", counts: pd.DataFrame | None = None,
                height: float | None = None) -> bytes:
    """Cells coloured by value (NaN: blank), annotated with `fmt(value)` (and the count below)."""
    values = matrix.to_numpy(dtype=float)

    def draw(fig, ax):
        masked = np.ma.masked_invalid(values)
        top = np.nanmax(values) if np.isfinite(values).any() else 1.0
        ax.imshow(masked, cmap=cmap, aspect="auto", vmin=0, vmax=top if top > 0 else 1.0)
        ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
        ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
        for (r, c), v in np.ndenumerate(values):
            if np.isnan(v):
                continue
            text = fmt(v) if counts is None else f"{fmt(v)}\n{int(counts.iat[r, c]):,}"
            ax.text(c, r, text, ha="center", va="center", fontsize=7.5, color="white" if v > 0.6 * top else "#1f2933")
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    return render(draw, 7.0, height or max(2.4, 0.32 * matrix.shape[0] + 1.2))


def funnel_png(steps: Sequence[str], users: Sequence[int], conversion: Sequence[float], *, title: str,
               note: Callable[[int, float], str]) -> bytes:
    """Horizontal bars, first step on top, each labelled with `note(users, conversion from the first)`."""
    def draw(fig, ax):
        y = np.arange(len(steps))[::-1]
        ax.barh(y, users, color="#3e9b5f", height=0.6)
        ax.set_yticks(y, list(steps))
        top = max(users) if len(users) and max(users) > 0 else 1
        for yi, u, c in zip(y, users, conversion, strict=True):
            ax.text(u + top * 0.01, yi, note(int(u), float(c)), va="center", fontsize=8)
        ax.set_xlim(0, top * 1.35)
        ax.set_title(title, loc="left")
    return render(draw, 7.0, 0.5 * len(steps) + 1.2)


def hbars_png(labels: Sequence[str], values: Sequence[float], *, title: str, note: Callable[[float], str],
              color: str = "#2680c2") -> bytes:
    """Horizontal bars, first label on top, each with `note(value)`."""
    def draw(fig, ax):
        y = np.arange(len(labels))[::-1]
        ax.barh(y, values, color=color, height=0.6)
        ax.set_yticks(y, list(labels))
        top = max(values) if len(values) and max(values) > 0 else 1
        for yi, v in zip(y, values, strict=True):
            ax.text(v + top * 0.01, yi, note(float(v)), va="center", fontsize=8)
        ax.set_xlim(0, top * 1.25)
        ax.set_title(title, loc="left")
    return render(draw, 7.0, 0.42 * len(labels) + 1.1)
