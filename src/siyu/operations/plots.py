"""Charts of the operations report, as SVG text (`siyu.charts`; nothing is written here). Labels come
in the caller's language; colours follow meaning (retention and conversion in greens, loss in reds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from siyu import charts

SEQUENTIAL = charts.GREENS
FLOW = charts.BLUES
PALETTE = ("#2680c2", "#3e9b5f", "#f0b429", "#8e6ac8", "#e07a5f", "#52606d", "#17a2b8", "#c2185b", "#7b8794")
_SIZE = (540, 320)  # two to a row at the page's width, drawn about at scale


def stacked_bars(frame: pd.DataFrame, *, title: str, ylabel: str, labels: Mapping[str, str]) -> str:
    """Columns stacked per row (index: period labels), a legend below."""
    stacks = [(labels.get(col, col), frame[col].to_numpy(dtype="float64")) for col in frame.columns]
    return charts.stacked_bar_chart([str(i) for i in frame.index], stacks, title=title, ylabel=ylabel,
                                    colors=PALETTE, size=_SIZE)


def _x_axis(index: pd.Index) -> tuple[np.ndarray, list[tuple[float, str]], tuple[float, float]]:
    """Positions, labelled ticks and the x range of an index: dates by day (ticks on the first of each
    month when there are a few, else evenly spaced), anything else as evenly spaced categories."""
    if not len(index):
        return np.zeros(0), [], (0.0, 1.0)
    if pd.api.types.is_datetime64_any_dtype(index) or (len(index) and isinstance(index[0], date)):
        days = pd.DatetimeIndex(index)
        x = ((days - days[0]) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
        firsts = np.flatnonzero(days.day == 1)
        picks = firsts if 2 <= len(firsts) <= 8 else np.unique(np.linspace(0, len(days) - 1, 6).round().astype(int))
        return x, [(x[i], days[i].strftime("%Y-%m-%d")) for i in picks], (x[0] - 1, x[-1] + 1)
    x = np.arange(len(index), dtype="float64")
    return x, [(float(i), str(v)) for i, v in enumerate(index)], (-0.25, len(index) - 0.75)


def lines(frame: pd.DataFrame, *, title: str, ylabel: str, labels: Mapping[str, str],
          percent: bool = False, markers: bool = False) -> str:
    """One line per column over the index (dates or categories), from zero up; a legend below."""
    x, ticks, x_range = _x_axis(frame.index)
    series = [charts.Line(x, frame[col].to_numpy(dtype="float64"), label=labels.get(col, col),
                          color=PALETTE[i % len(PALETTE)], markers=markers, width=1.8)
              for i, col in enumerate(frame.columns)]
    values = frame.to_numpy(dtype="float64")
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    return charts.line_chart(series, title=title, ylabel=ylabel, legend="below", x_ticks=ticks,
                             x_range=x_range, y_range=(0.0, top * 1.08 if top > 0 else 1.0),
                             y_format=(lambda v: f"{v:.0%}") if percent else None, size=_SIZE)


def heatmap(matrix: pd.DataFrame, *, title: str, xlabel: str, ylabel: str, cmap: Sequence[str] = SEQUENTIAL,
            fmt: Callable[[float], str] = lambda v: f"{v:.0%}", counts: pd.DataFrame | None = None) -> str:
    """Cells coloured by value on the `cmap` colours (NaN: blank), annotated with `fmt(value)` (and the
    count below)."""
    return charts.heatmap(matrix.to_numpy(dtype="float64"), [str(i) for i in matrix.index],
                          [str(c) for c in matrix.columns], title=title, xlabel=xlabel, ylabel=ylabel, stops=cmap,
                          fmt=fmt, counts=None if counts is None else counts.to_numpy(), width=_SIZE[0])


def funnel(steps: Sequence[str], users: Sequence[int], conversion: Sequence[float], *, title: str,
           note: Callable[[int, float], str]) -> str:
    """Horizontal bars, first step on top, each labelled with `note(users, conversion from the first)`."""
    notes = [note(int(u), float(c)) for u, c in zip(users, conversion, strict=True)]
    return charts.barh_chart(list(steps), list(users), title=title, color="#3e9b5f", width=_SIZE[0], notes=notes,
                             slot=32)


def hbars(labels: Sequence[str], values: Sequence[float], *, title: str, note: Callable[[float], str],
          color: str = "#2680c2") -> str:
    """Horizontal bars, first label on top, each with `note(value)`."""
    return charts.barh_chart(list(labels), list(values), title=title, color=color, width=_SIZE[0],
                             notes=[note(float(v)) for v in values], slot=26)
