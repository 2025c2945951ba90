"""Line and bar charts as SVG text, drawn without matplotlib.

A training run draws about a hundred small charts (ROC, gains, deciles, SHAP bars, ... per
model). Matplotlib spends 90-125 ms on each, nearly all of it fixed cost (text layout, ticks,
the PNG), holding the GIL while the other training lane's booster waits; these take about a
millisecond. MLflow's artifact viewer shows `.svg` files as images, as browsers do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

# matplotlib's default cycle, so charts look as they did
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
GREY = "#808080"
_DASHES = {"solid": "", "dashed": "6 4", "dotted": "2 3"}
_FONT = "font-family='DejaVu Sans, Noto Sans CJK SC, sans-serif'"
_MAX_POINTS = 400  # a 20k-point ROC curve drawn at 400 points looks the same in a 500-px chart


@dataclass(frozen=True)
class Line:
    """One series of a line chart; `color=None` takes the next palette colour."""

    x: Sequence[float] | np.ndarray
    y: Sequence[float] | np.ndarray
    label: str = ""
    style: str = "solid"  # solid | dashed | dotted
    color: str | None = None
    markers: bool = False
    width: float = 1.5


@dataclass(frozen=True)
class Rule:
    """A horizontal (`axis="y"`) or vertical (`axis="x"`) reference line across the plot."""

    at: float
    axis: str = "y"
    label: str = ""
    style: str = "dashed"
    color: str = GREY


@dataclass(frozen=True)
class _Frame:
    """Pixel geometry of one plot area and the data ranges it maps."""

    left: float
    top: float
    width: float
    height: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def px(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.x_range
        return self.left + (np.asarray(x, dtype="float64") - lo) / (hi - lo) * self.width

    def py(self, y: np.ndarray) -> np.ndarray:
        lo, hi = self.y_range
        return self.top + self.height - (np.asarray(y, dtype="float64") - lo) / (hi - lo) * self.height

    def rule(self, rule: Rule) -> str:
        """`rule` as an SVG line across the plot area."""
        if rule.axis == "x":
            at = float(self.px(np.array([rule.at]))[0])
            coords = f"x1='{at:.1f}' y1='{self.top:.1f}' x2='{at:.1f}' y2='{self.top + self.height:.1f}'"
        else:
            at = float(self.py(np.array([rule.at]))[0])
            coords = f"x1='{self.left:.1f}' y1='{at:.1f}' x2='{self.left + self.width:.1f}' y2='{at:.1f}'"
        return f"<line {coords} stroke='{rule.color}' stroke-width='1'{_dash(rule.style)}/>"


def _plot_frame(size: tuple[float, float], x_range: tuple[float, float], y_range: tuple[float, float], *,
                left: float = 62) -> _Frame:
    """The plot area of a `size` chart: room on the left for tick labels, above for the title, below
    for the x label."""
    return _Frame(left, 30, size[0] - left - 14, size[1] - 30 - 44, x_range, y_range)


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k) inside [lo, hi], the step whose count of
    ticks is nearest `target` + 1 (the fewer on a tie)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    power = 10.0 ** math.floor(math.log10((hi - lo) / max(target, 1)))

    def ticks(step: float) -> list[float]:
        first = math.ceil(lo / step - 1e-9) * step
        return [round(first + i * step, 12) for i in range(int(math.floor((hi - first) / step + 1e-9)) + 1)]

    options = [ticks(m * power) for m in (1, 2, 2.5, 5, 10)]
    return min(options, key=lambda t: (abs(len(t) - target - 1), len(t)))


def _label(value: float, ticks: Sequence[float]) -> str:
    """`value` with as many decimals as the tick step needs (0.25 -> 2, 20 -> 0)."""
    if max(abs(t) for t in ticks) >= 1e6:
        return f"{value:.3g}"
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = next((d for d in range(10) if abs(round(step, d) - step) <= step * 1e-6), 10)
    return f"{value:,.{digits}f}" if abs(value) >= 1e4 else f"{value:.{digits}f}"


def _padded(values: np.ndarray, *, include_zero: bool = False) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        return (lo - 0.5, hi + 0.5) if lo == 0 else (lo - abs(lo) * 0.1, hi + abs(hi) * 0.1)
    pad = (hi - lo) * 0.04
    return (lo if include_zero and lo == 0 else lo - pad, hi + pad)


def _thinned(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) > _MAX_POINTS:
        idx = np.unique(np.linspace(0, len(x) - 1, _MAX_POINTS).round().astype(int))
        x, y = x[idx], y[idx]
    return x, y


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "middle", extra: str = "") -> str:
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' {_FONT}{extra}>"
            f"{escape(text)}</text>")


def _dash(style: str) -> str:
    dash = _DASHES.get(style, "")
    return f" stroke-dasharray='{dash}'" if dash else ""


def _axes(frame: _Frame, *, title: str, xlabel: str, ylabel: str, x_ticks: Sequence[float] | None,
          y_ticks: Sequence[float] | None, total: tuple[float, float]) -> list[str]:
    """Title, box, ticks with their labels and the axis labels."""
    left, top, w, h = frame.left, frame.top, frame.width, frame.height
    out = [_text(left + w / 2, top - 10, title, size=13)]
    out.append(f"<rect x='{left:.1f}' y='{top:.1f}' width='{w:.1f}' height='{h:.1f}' fill='none' stroke='#333'/>")
    for t in x_ticks or ():
        px = float(frame.px(np.array([t]))[0])
        out.append(f"<line x1='{px:.1f}' y1='{top + h:.1f}' x2='{px:.1f}' y2='{top + h + 4:.1f}' stroke='#333'/>")
        out.append(_text(px, top + h + 16, _label(t, x_ticks), size=10))
    for t in y_ticks or ():
        py = float(frame.py(np.array([t]))[0])
        out.append(f"<line x1='{left - 4:.1f}' y1='{py:.1f}' x2='{left:.1f}' y2='{py:.1f}' stroke='#333'/>")
        out.append(_text(left - 6, py + 3.5, _label(t, y_ticks), size=10, anchor="end"))
    out.append(_text(left + w / 2, total[1] - 8, xlabel))
    out.append(_text(14, top + h / 2, ylabel, extra=f" transform='rotate(-90 14 {top + h / 2:.1f})'"))
    return out


def _legend(entries: Sequence[tuple[str, str, str]], frame: _Frame, corner: str) -> list[str]:
    """A boxed legend of (label, colour, style) in `corner` ("lower right", "upper left", ...)."""
    entries = [e for e in entries if e[0]]
    if not entries:
        return []
    width = 34 + 6.2 * max(len(e[0]) for e in entries)
    height = 8 + 16 * len(entries)
    x = frame.left + 8 if "left" in corner else frame.left + frame.width - width - 8
    y = frame.top + 8 if "upper" in corner else frame.top + frame.height - height - 8
    out = [f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{height}' fill='white' "
           "fill-opacity='0.85' stroke='#ccc'/>"]
    for i, (label, color, style) in enumerate(entries):
        cy = y + 12 + 16 * i
        out.append(f"<line x1='{x + 6:.1f}' y1='{cy:.1f}' x2='{x + 26:.1f}' y2='{cy:.1f}' stroke='{color}' "
                   f"stroke-width='2'{_dash(style)}/>")
        out.append(_text(x + 30, cy + 4, label, size=10, anchor="start"))
    return out


def _svg(width: float, height: float, body: list[str]) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
            f"viewBox='0 0 {width:.0f} {height:.0f}'><rect width='100%' height='100%' fill='white'/>"
            + "".join(body) + "</svg>\n")


def line_chart(lines: Sequence[Line], *, title: str, xlabel: str = "", ylabel: str = "",
               rules: Sequence[Rule] = (), legend: str = "lower right",
               x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None,
               size: tuple[int, int] = (500, 400)) -> str:
    """Lines (and reference rules) on shared axes, as an SVG document."""
    series = [(*_thinned(np.asarray(s.x, dtype="float64"), np.asarray(s.y, dtype="float64")), s) for s in lines]
    xs = np.concatenate([x for x, _, _ in series] + [np.array([r.at]) for r in rules if r.axis == "x"] or [np.zeros(0)])
    ys = np.concatenate([y for _, y, _ in series] + [np.array([r.at]) for r in rules if r.axis == "y"] or [np.zeros(0)])
    frame = _plot_frame(size, x_range or _padded(xs), y_range or _padded(ys))
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel, x_ticks=nice_ticks(*frame.x_range),
                 y_ticks=nice_ticks(*frame.y_range), total=size)
    body.append(f"<clipPath id='plot'><rect x='{frame.left}' y='{frame.top}' width='{frame.width}' "
                f"height='{frame.height}'/></clipPath><g clip-path='url(#plot)'>")
    entries, colors = [], iter(PALETTE)
    for rule in rules:
        body.append(frame.rule(rule))
        entries.append((rule.label, rule.color, rule.style))
    for x, y, s in series:
        color = s.color or next(colors, GREY)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(frame.px(x), frame.py(y), strict=True))
        body.append(f"<polyline points='{points}' fill='none' stroke='{color}' stroke-width='{s.width}'"
                    f"{_dash(s.style)}/>")
        if s.markers:
            body.extend(f"<circle cx='{a:.1f}' cy='{b:.1f}' r='3' fill='{color}'/>"
                        for a, b in zip(frame.px(x), frame.py(y), strict=True))
        entries.append((s.label, color, s.style))
    body.append("</g>")
    body.extend(_legend(entries, frame, legend))
    return _svg(*size, body)


def bar_chart(labels: Sequence[str], values: Sequence[float] | np.ndarray, *, title: str, xlabel: str = "",
              ylabel: str = "", rules: Sequence[Rule] = (), color: str = PALETTE[0],
              size: tuple[int, int] = (500, 400)) -> str:
    """Vertical bars, one per label, from zero; `rules` are horizontal reference lines."""
    values = np.nan_to_num(np.asarray(values, dtype="float64"))
    spread = np.concatenate([values, [r.at for r in rules if r.axis == "y"]])
    frame = _plot_frame(size, (0.0, max(len(values), 1)), _padded(spread, include_zero=True))
    y_ticks = nice_ticks(*frame.y_range)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel, x_ticks=None, y_ticks=y_ticks, total=size)
    zero = float(frame.py(np.array([0.0]))[0])
    slot = frame.width / max(len(values), 1)
    every = max(1, math.ceil(len(values) * 7 * max((len(str(s)) for s in labels), default=1) / frame.width))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        top = float(frame.py(np.array([value]))[0])
        x = frame.left + slot * (i + 0.1)
        body.append(f"<rect x='{x:.1f}' y='{min(top, zero):.1f}' width='{slot * 0.8:.1f}' "
                    f"height='{abs(zero - top):.1f}' fill='{color}'><title>{escape(str(label))}: {value:g}</title></rect>")
        if i % every == 0:
            body.append(_text(x + slot * 0.4, frame.top + frame.height + 16, str(label), size=10))
    body.extend(frame.rule(rule) for rule in rules)
    return _svg(*size, body)


def barh_chart(labels: Sequence[str], values: Sequence[float] | np.ndarray, *, title: str, xlabel: str = "",
               color: str = PALETTE[0], width: int = 600) -> str:
    """Horizontal bars, the first label at the top; the left margin fits the longest label."""
    values = np.nan_to_num(np.asarray(values, dtype="float64"))
    margin = 12 + 6.3 * max((len(str(s)) for s in labels), default=4)
    height = 30 + 44 + 20 * max(len(values), 1)
    frame = _plot_frame((width, height), _padded(values, include_zero=True), (0.0, max(len(values), 1)),
                        left=margin)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel="", x_ticks=nice_ticks(*frame.x_range), y_ticks=None,
                 total=(width, height))
    zero = float(frame.px(np.array([0.0]))[0])
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        end = float(frame.px(np.array([value]))[0])
        y = frame.top + 20 * i + 3
        body.append(f"<rect x='{min(zero, end):.1f}' y='{y:.1f}' width='{abs(end - zero):.1f}' height='14' "
                    f"fill='{color}'><title>{escape(str(label))}: {value:g}</title></rect>")
        body.append(_text(frame.left - 6, y + 11, str(label), size=10, anchor="end"))
    return _svg(width, height, body)


def histogram(values: Sequence[float] | np.ndarray, *, title: str, xlabel: str = "", ylabel: str = "",
              bins: int = 50, rules: Sequence[Rule] = (), color: str = PALETTE[0],
              size: tuple[int, int] = (600, 350)) -> str:
    """Counts of the finite `values` in `bins` equal-width bins on a numeric axis; `rules` at x."""
    values = np.asarray(values, dtype="float64")
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(values, bins=bins) if values.size else (np.zeros(1), np.array([0.0, 1.0]))
    marks = [r.at for r in rules if r.axis == "x"]
    x_range = _padded(np.concatenate([edges, marks]))
    frame = _plot_frame(size, x_range, _padded(counts.astype("float64"), include_zero=True))
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel, x_ticks=nice_ticks(*frame.x_range),
                 y_ticks=nice_ticks(*frame.y_range), total=size)
    zero = float(frame.py(np.array([0.0]))[0])
    lefts, rights, tops = frame.px(edges[:-1]), frame.px(edges[1:]), frame.py(counts)
    body.extend(f"<rect x='{a:.1f}' y='{t:.1f}' width='{max(b - a, 0.5):.1f}' height='{zero - t:.1f}' "
                f"fill='{color}'/>" for a, b, t in zip(lefts, rights, tops, strict=True) if zero - t > 0)
    body.extend(frame.rule(rule) for rule in rules)
    return _svg(*size, body)
