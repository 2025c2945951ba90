"""Charts as SVG text, drawn without matplotlib: lines, bars (plain, horizontal, stacked),
histograms, heat maps, scatter plots and shap-style beeswarms.

A training run draws about a hundred small charts (ROC, gains, deciles, SHAP bars, ... per
model). Matplotlib spends 90-125 ms on each, nearly all of it fixed cost (text layout, ticks,
the PNG), holding the GIL while the other training lane's booster waits; these take about a
millisecond. MLflow's artifact viewer shows `.svg` files as images, as browsers do, and the
reports inline them in their HTML, so a page stays one file.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

# matplotlib's default cycle, so charts look as they did
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
GREY = "#808080"
_DASHES = {"solid": "", "dashed": "6 4", "dotted": "2 3"}
# Set once on the root element. Latin text keeps DejaVu's look; a browser takes each Chinese glyph from
# the first CJK family it has (fontconfig on Linux, PingFang / YaHei on a Mac / Windows reader).
_FONT = ("DejaVu Sans, Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, "
         "sans-serif")
# Sequential scales (ColorBrewer's, as matplotlib's Greens / Blues) and shap's blue -> red for feature values.
GREENS = ("#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b")
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
BLUE_RED = ("#008bfb", "#ff0051")
MISSING = "#b0b0b0"  # a dot whose feature value is missing
# Stands for the chart's id in clip paths and gradients; `_svg` puts a digest of the chart there, so
# the charts inlined in one HTML page never share an id (identical charts share identical definitions).
_ID = "__siyu_chart_id__"
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
                left: float = 62, right: float = 14, bottom: float = 44) -> _Frame:
    """The plot area of a `size` chart: room on the left for tick labels, above for the title, below
    for the x label."""
    return _Frame(left, 30, size[0] - left - right, size[1] - 30 - bottom, x_range, y_range)


def _text_width(text: str, size: float = 10) -> float:
    """About how wide `text` draws at font `size`: a Chinese (wide) character takes a full em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.62 * size for c in str(text))


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


def _text(x: float, y: float, text: str, *, size: float = 11, anchor: str = "middle", extra: str = "") -> str:
    return f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}'{extra}>{escape(str(text))}</text>"


def _dash(style: str) -> str:
    dash = _DASHES.get(style, "")
    return f" stroke-dasharray='{dash}'" if dash else ""


def _axes(frame: _Frame, *, title: str, xlabel: str, ylabel: str, x_ticks: Sequence[float] | None,
          y_ticks: Sequence[float] | None, x_labels: Sequence[str] | None = None,
          y_format: Callable[[float], str] | None = None, box: bool = True) -> list[str]:
    """Title, box, ticks with their labels (`x_labels` name the x ticks instead of their values;
    `y_format` writes the y ones) and the axis labels."""
    left, top, w, h = frame.left, frame.top, frame.width, frame.height
    out = [_text(left + w / 2, top - 10, title, size=13)]
    if box:
        out.append(f"<rect x='{left:.1f}' y='{top:.1f}' width='{w:.1f}' height='{h:.1f}' fill='none' stroke='#333'/>")
    x_ticks = [] if x_ticks is None else list(x_ticks)
    for t, name in zip(x_ticks, x_labels or [_label(t, x_ticks) for t in x_ticks], strict=True):
        px = float(frame.px(np.array([t]))[0])
        out.append(f"<line x1='{px:.1f}' y1='{top + h:.1f}' x2='{px:.1f}' y2='{top + h + 4:.1f}' stroke='#333'/>")
        out.append(_text(px, top + h + 16, name, size=10))
    for t in y_ticks or ():
        py = float(frame.py(np.array([t]))[0])
        out.append(f"<line x1='{left - 4:.1f}' y1='{py:.1f}' x2='{left:.1f}' y2='{py:.1f}' stroke='#333'/>")
        out.append(_text(left - 6, py + 3.5, y_format(t) if y_format else _label(t, y_ticks), size=10, anchor="end"))
    out.append(_text(left + w / 2, top + h + 36, xlabel))
    out.append(_text(14, top + h / 2, ylabel, extra=f" transform='rotate(-90 14 {top + h / 2:.1f})'"))
    return out


def _legend(entries: Sequence[tuple[str, str, str]], frame: _Frame, corner: str) -> list[str]:
    """A boxed legend of (label, colour, style) in `corner` ("lower right", "upper left", ...)."""
    entries = [e for e in entries if e[0]]
    if not entries:
        return []
    width = 34 + max(_text_width(e[0]) for e in entries)
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


def _legend_rows(labels: Sequence[str], width: float) -> list[tuple[float, int]]:
    """Where each entry of a legend under the plot goes, in rows no wider than `width`: (x offset, row)."""
    out, x, row = [], 0.0, 0
    for label in labels:
        w = 30 + _text_width(label) + 14
        if x > 0 and x + w > width:
            x, row = 0.0, row + 1
        out.append((x, row))
        x += w
    return out


def _legend_below(entries: Sequence[tuple[str, str, str]], frame: _Frame, y: float) -> list[str]:
    """A frameless legend of (label, colour, style) in rows from `y` down; style "box" draws a square."""
    entries = [e for e in entries if e[0]]
    out = []
    for (label, color, style), (dx, row) in zip(entries, _legend_rows([e[0] for e in entries], frame.width),
                                                strict=True):
        x, cy = frame.left + dx, y + 16 * row
        if style == "box":
            out.append(f"<rect x='{x + 8:.1f}' y='{cy - 5:.1f}' width='10' height='10' fill='{color}'/>")
        else:
            out.append(f"<line x1='{x + 2:.1f}' y1='{cy:.1f}' x2='{x + 24:.1f}' y2='{cy:.1f}' stroke='{color}' "
                       f"stroke-width='2'{_dash(style)}/>")
        out.append(_text(x + 30, cy + 4, label, size=10, anchor="start"))
    return out


def _room_below(labels: Sequence[str], width: float, xlabel: str) -> float:
    """How much taller a chart grows for a legend of `labels` under its plot (and its x label)."""
    rows = _legend_rows([s for s in labels if s], width)
    return 16.0 * (rows[-1][1] + 1) + (18 if xlabel else 0) if rows else 0.0


def _below_top(frame: _Frame, xlabel: str) -> float:
    """The first row of a legend under the plot: under the tick labels and the x label."""
    return frame.top + frame.height + (54 if xlabel else 34)


def _svg(width: float, height: float, body: list[str]) -> str:
    content = "".join(body)
    if _ID in content:
        content = content.replace(_ID, "c" + hashlib.sha1(content.encode("utf-8"), usedforsecurity=False).hexdigest()[:12])
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
            f"viewBox='0 0 {width:.0f} {height:.0f}' font-family='{_FONT}'>"
            f"<rect width='100%' height='100%' fill='white'/>{content}</svg>\n")


def line_chart(lines: Sequence[Line], *, title: str, xlabel: str = "", ylabel: str = "",
               rules: Sequence[Rule] = (), legend: str = "lower right",
               x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None,
               size: tuple[int, int] = (500, 400), x_ticks: Sequence[tuple[float, str]] | None = None,
               y_format: Callable[[float], str] | None = None) -> str:
    """Lines (and reference rules) on shared axes, as an SVG document. `legend` is a corner of the plot
    ("lower right", "upper left", ...) or "below" it (the chart grows to fit); `x_ticks` are (position,
    label) pairs in place of numeric ticks (dates, categories); `y_format` writes the y tick labels."""
    series = [(*_thinned(np.asarray(s.x, dtype="float64"), np.asarray(s.y, dtype="float64")), s) for s in lines]
    xs = np.concatenate([x for x, _, _ in series] + [np.array([r.at]) for r in rules if r.axis == "x"] or [np.zeros(0)])
    ys = np.concatenate([y for _, y, _ in series] + [np.array([r.at]) for r in rules if r.axis == "y"] or [np.zeros(0)])
    labels = [r.label for r in rules] + [s.label for s in lines]
    extra = _room_below(labels, size[0] - 76, xlabel) if legend == "below" else 0.0
    total = (size[0], size[1] + extra)
    frame = _plot_frame(total, x_range or _padded(xs), y_range or _padded(ys), bottom=44 + extra)
    lo, hi = frame.x_range
    ticks = [(at, name) for at, name in x_ticks if lo <= at <= hi] if x_ticks is not None else None
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel,
                 x_ticks=[at for at, _ in ticks] if ticks is not None else nice_ticks(lo, hi),
                 x_labels=[name for _, name in ticks] if ticks is not None else None,
                 y_ticks=nice_ticks(*frame.y_range), y_format=y_format)
    body.append(f"<clipPath id='{_ID}p'><rect x='{frame.left:.1f}' y='{frame.top:.1f}' width='{frame.width:.1f}' "
                f"height='{frame.height:.1f}'/></clipPath><g clip-path='url(#{_ID}p)'>")
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
    if legend == "below":
        body.extend(_legend_below(entries, frame, _below_top(frame, xlabel)))
    else:
        body.extend(_legend(entries, frame, legend))
    return _svg(*total, body)


def bar_chart(labels: Sequence[str], values: Sequence[float] | np.ndarray, *, title: str, xlabel: str = "",
              ylabel: str = "", rules: Sequence[Rule] = (), color: str = PALETTE[0],
              size: tuple[int, int] = (500, 400)) -> str:
    """Vertical bars, one per label, from zero; `rules` are horizontal reference lines."""
    values = np.nan_to_num(np.asarray(values, dtype="float64"))
    spread = np.concatenate([values, [r.at for r in rules if r.axis == "y"]])
    frame = _plot_frame(size, (0.0, max(len(values), 1)), _padded(spread, include_zero=True))
    y_ticks = nice_ticks(*frame.y_range)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel, x_ticks=None, y_ticks=y_ticks)
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
               color: str = PALETTE[0], width: int = 600, notes: Sequence[str] | None = None,
               slot: int = 20) -> str:
    """Horizontal bars, the first label at the top, `slot` pixels apart; the left margin fits the
    longest label. `notes` (one per bar, e.g. "1,338 users · 20.7%") are written right of each bar's
    end; the axis leaves room for them."""
    values = np.nan_to_num(np.asarray(values, dtype="float64"))
    notes = [str(n) for n in notes] if notes is not None else [""] * len(values)
    margin = 12 + max((_text_width(s) for s in labels), default=25)
    height = 30 + 44 + slot * max(len(values), 1)
    lo, hi = _padded(values, include_zero=True)
    room = max((_text_width(n) + 10 for n in notes if n), default=0) / (width - margin - 14)
    x_range = (lo, hi / max(1 - room, 0.4) if hi > 0 else hi)
    frame = _plot_frame((width, height), x_range, (0.0, max(len(values), 1)), left=margin)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel="", x_ticks=nice_ticks(*frame.x_range), y_ticks=None)
    zero = float(frame.px(np.array([0.0]))[0])
    for i, (label, value, note) in enumerate(zip(labels, values, notes, strict=True)):
        end = float(frame.px(np.array([value]))[0])
        y, middle = frame.top + slot * (i + 0.15), frame.top + slot * (i + 0.5) + 3.5
        body.append(f"<rect x='{min(zero, end):.1f}' y='{y:.1f}' width='{abs(end - zero):.1f}' "
                    f"height='{slot * 0.7:.1f}' fill='{color}'><title>{escape(str(label))}: {value:g}</title></rect>")
        body.append(_text(frame.left - 6, middle, str(label), size=10, anchor="end"))
        if note:
            body.append(_text(max(zero, end) + 4, middle, note, size=10, anchor="start", extra=" fill='#333'"))
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
                 y_ticks=nice_ticks(*frame.y_range))
    zero = float(frame.py(np.array([0.0]))[0])
    lefts, rights, tops = frame.px(edges[:-1]), frame.px(edges[1:]), frame.py(counts)
    body.extend(f"<rect x='{a:.1f}' y='{t:.1f}' width='{max(b - a, 0.5):.1f}' height='{zero - t:.1f}' "
                f"fill='{color}'/>" for a, b, t in zip(lefts, rights, tops, strict=True) if zero - t > 0)
    body.extend(frame.rule(rule) for rule in rules)
    return _svg(*size, body)


def _ramp(t: np.ndarray, stops: Sequence[str]) -> list[str]:
    """The colour at each position `t` in [0, 1] along `stops` (evenly spaced, mixed in RGB)."""
    rgb = np.array([[int(s[i:i + 2], 16) for i in (1, 3, 5)] for s in stops], dtype="float64")
    at = np.clip(np.nan_to_num(np.asarray(t, dtype="float64")), 0.0, 1.0) * (len(stops) - 1)
    i = np.minimum(np.floor(at).astype(int), len(stops) - 2)
    f = (at - i)[:, None]
    mixed = np.rint(rgb[i] * (1 - f) + rgb[i + 1] * f).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in mixed]


def _rank01(values: np.ndarray) -> np.ndarray:
    """Each value's mean rank among the finite ones, scaled so the smallest value is 0 and the largest 1
    (a skewed count spreads over the scale; a 0/1 flag is one end or the other); NaN stays NaN."""
    values = np.asarray(values, dtype="float64")
    finite = np.sort(values[np.isfinite(values)])
    if finite.size == 0:
        return np.full(values.shape, np.nan)
    mid = (np.searchsorted(finite, values, "left") + np.searchsorted(finite, values, "right") - 1) / 2
    lo = (np.searchsorted(finite, finite[0], "right") - 1) / 2
    hi = (np.searchsorted(finite, finite[-1], "left") + finite.size - 1) / 2
    scaled = (mid - lo) / (hi - lo) if hi > lo else np.full(values.shape, 0.5)
    return np.where(np.isfinite(values), scaled, np.nan)


def _evenly(n: int, most: int) -> np.ndarray:
    """At most `most` of `n` row positions, evenly spaced: a deterministic sample that keeps the mix of
    rows grouped by band or sorted by anything."""
    return np.arange(n) if n <= most else np.unique(np.linspace(0, n - 1, most).round().astype(int))


def _dot_colours(rank: np.ndarray, stops: Sequence[str]) -> list[str]:
    """Colours of dots by rank in [0, 1] (NaN: `MISSING`), on 24 steps so dots share few colours."""
    steps = np.round(np.nan_to_num(rank) * 23) / 23
    return [MISSING if not ok else c for c, ok in zip(_ramp(steps, stops), np.isfinite(rank), strict=True)]


def _dots(x: np.ndarray, y: np.ndarray, colours: Sequence[str], *, r: float, opacity: float = 1.0) -> list[str]:
    """Dots as one path per colour (a zero-length stroke with round caps each): a dot costs ~14 bytes,
    not the ~60 of a <circle>, which keeps a 10,000-dot beeswarm inside a page."""
    by_colour: dict[str, list[str]] = {}
    for a, b, c in zip(x, y, colours, strict=True):
        by_colour.setdefault(c, []).append(f"M{a:.1f} {b:.1f}h0")
    fade = f" stroke-opacity='{opacity:g}'" if opacity < 1 else ""
    return [f"<path class='dots' d='{''.join(d)}' stroke='{c}' stroke-width='{2 * r:g}' stroke-linecap='round'{fade}/>"
            for c, d in by_colour.items()]


def _swarm(x_px: np.ndarray, bin_px: float) -> np.ndarray:
    """Each dot's layer (0, 1, -1, 2, -2, ...): dots falling in the same `bin_px`-wide column take turns
    above and below the middle line, in input order (shap's beeswarm does the same)."""
    bins = np.floor(np.asarray(x_px, dtype="float64") / bin_px).astype(int)
    order = np.argsort(bins, kind="stable")
    ranked = bins[order]
    k = np.arange(len(order)) - np.searchsorted(ranked, ranked, "left")
    layer = np.empty(len(order))
    layer[order] = np.ceil(k / 2) * np.where(k % 2 == 1, 1, -1)
    return layer


def _colour_bar(x: float, top: float, height: float, *, label: str, low: str, high: str,
                stops: Sequence[str]) -> list[str]:
    """A vertical colour scale, `low` at the bottom and `high` at the top, `label` along its right side."""
    offsets = np.linspace(0, 100, len(stops))
    gradient = "".join(f"<stop offset='{o:.0f}%' stop-color='{c}'/>" for o, c in zip(offsets, stops, strict=True))
    mid = top + height / 2
    return [f"<linearGradient id='{_ID}g' x1='0' y1='1' x2='0' y2='0'>{gradient}</linearGradient>",
            f"<rect x='{x:.1f}' y='{top:.1f}' width='8' height='{height:.1f}' fill='url(#{_ID}g)'/>",
            _text(x + 12, top + 9, high, size=10, anchor="start"),
            _text(x + 12, top + height, low, size=10, anchor="start"),
            _text(x + 46, mid, label, size=10, extra=f" transform='rotate(-90 {x + 46:.1f} {mid:.1f})'")]


def _table(values: Sequence[float] | np.ndarray, n_cols: int) -> np.ndarray:
    """`values` as a (rows, n_cols) float array; an empty list is a table of no rows."""
    values = np.asarray(values, dtype="float64")
    return values if values.ndim == 2 else values.reshape(0, n_cols)


def _swarm_rows(values: np.ndarray, colour_by: np.ndarray, labels: Sequence[str], max_rows: int,
                others: str | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, values, colour rank) per row, the largest mean |value| first; the rest summed in a last,
    grey row named `others` (formatted with n) when there are more than `max_rows` features."""
    n_features = values.shape[1]
    strength = np.abs(values).mean(axis=0) if len(values) else np.zeros(n_features)
    order = np.argsort(-strength, kind="stable")
    cut = others is not None and n_features > max_rows
    shown = order[:max_rows - 1] if cut else order[:max_rows]
    rows = [(str(labels[j]), values[:, j], _rank01(colour_by[:, j])) for j in shown]
    if cut:
        rest = order[max_rows - 1:]
        rows.append((others.format(n=len(rest)), values[:, rest].sum(axis=1), np.full(len(values), np.nan)))
    return rows


def beeswarm(values: np.ndarray, colour_by: np.ndarray, labels: Sequence[str], *, title: str = "",
             xlabel: str = "", colour_label: str = "", low: str = "low", high: str = "high",
             others: str | None = "Sum of {n} other features", max_rows: int = 12, max_dots: int = 1000,
             width: int = 820) -> str:
    """shap's summary plot of `values` (users × features, e.g. SHAP values): a row per feature, the
    largest mean |value| on top; each user a dot at x = its value, stacked where dots crowd, coloured
    by the rank of its `colour_by` value (same shape) from `low` to `high` (missing: grey). Beyond
    `max_rows` features the last row sums the rest (`others`, a format with {n}; None: no such row).
    At most `max_dots` users are drawn (evenly spaced, the same users in every row)."""
    values = _table(values, len(labels))
    colour_by = _table(colour_by, len(labels)).reshape(values.shape)
    keep = _evenly(len(values), max_dots)
    rows = _swarm_rows(values[keep], colour_by[keep], labels, max_rows, others)
    row_h = 34
    left = 20 + max((_text_width(label, 11) for label, _, _ in rows), default=20)
    height = 30 + row_h * max(len(rows), 1) + 44
    xs = np.concatenate([x for _, x, _ in rows] or [np.zeros(0)])
    frame = _plot_frame((width, height), _padded(xs, include_zero=True), (0.0, max(len(rows), 1)), left=left,
                        right=90)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel="", x_ticks=nice_ticks(*frame.x_range), y_ticks=None)
    body.append(frame.rule(Rule(0.0, axis="x", style="solid", color="#999")))
    for i, (label, x, rank) in enumerate(rows):
        middle = frame.top + row_h * (i + 0.5)
        body.append(f"<line x1='{frame.left:.1f}' y1='{middle:.1f}' x2='{frame.left + frame.width:.1f}' "
                    f"y2='{middle:.1f}' stroke='#ddd'{_dash('dotted')}/>")
        body.append(_text(frame.left - 6, middle + 4, label, anchor="end"))
        finite = np.isfinite(x)
        x_px = frame.px(x[finite])
        layer = _swarm(x_px, 4.0)
        step = min(3.0, row_h * 0.45 / max(float(np.abs(layer).max(initial=0)), 1.0))
        body.extend(_dots(x_px, middle + layer * step, _dot_colours(rank[finite], BLUE_RED), r=2.2, opacity=0.9))
    body.extend(_colour_bar(frame.left + frame.width + 16, frame.top + 4, frame.height - 8, label=colour_label,
                            low=low, high=high, stops=BLUE_RED))
    return _svg(width, height, body)


def scatter(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, title: str = "", xlabel: str = "",
            ylabel: str = "", colour_by: Sequence[float] | np.ndarray | None = None, colour_label: str = "",
            low: str = "low", high: str = "high", x_ticks: Sequence[tuple[float, str]] | None = None,
            rules: Sequence[Rule] = (), color: str = PALETTE[0], x_jitter: float = 0.0, max_dots: int = 2000,
            size: tuple[int, int] = (500, 360)) -> str:
    """A dot per (x, y) pair, e.g. a feature's value against its SHAP value. With `colour_by` the dots
    run `low` → `high` by its rank (missing: grey) beside a colour bar, else they are all `color`;
    `x_ticks` are (position, label) pairs (category codes and their names); `x_jitter` spreads dots up
    to that far either side of their x (a fixed sequence, not random), so a count's repeated values
    show their density. Pairs with a missing x or y are left out; at most `max_dots` are drawn."""
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    rank = _rank01(np.asarray(colour_by, dtype="float64")) if colour_by is not None else np.full(len(x), np.nan)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    keep = finite[_evenly(len(finite), max_dots)]
    # the golden-ratio sequence fills [-1, 1) evenly whatever the number of dots
    x = x[keep] + x_jitter * ((np.arange(len(keep)) * 0.6180339887) % 1.0 * 2 - 1)
    y = y[keep]
    x_range = _padded(np.concatenate([x, [t for t, _ in x_ticks or ()]]))
    y_range = _padded(np.concatenate([y, [r.at for r in rules if r.axis == "y"]]))
    frame = _plot_frame(size, x_range, y_range, right=90 if colour_by is not None else 14)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel,
                 x_ticks=[t for t, _ in x_ticks] if x_ticks is not None else nice_ticks(*frame.x_range),
                 x_labels=[name for _, name in x_ticks] if x_ticks is not None else None,
                 y_ticks=nice_ticks(*frame.y_range))
    body.extend(frame.rule(rule) for rule in rules)
    colours = _dot_colours(rank[keep], BLUE_RED) if colour_by is not None else [color] * len(keep)
    body.extend(_dots(frame.px(x), frame.py(y), colours, r=2.5, opacity=0.6))
    if colour_by is not None:
        body.extend(_colour_bar(frame.left + frame.width + 16, frame.top + 4, frame.height - 8, label=colour_label,
                                low=low, high=high, stops=BLUE_RED))
    return _svg(*size, body)


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _cell(x: float, y: float, width: float, height: float, *, fill: str, ink: str, lines: Sequence[str],
          title: str) -> list[str]:
    """One heat-map cell: its colour and its lines of text, centred."""
    out = [f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{height}' fill='{fill}' stroke='white'>"
           f"<title>{escape(title)}</title></rect>"]
    for k, line in enumerate(lines):
        out.append(_text(x + width / 2, y + height / 2 + 3.5 + 12 * (k - (len(lines) - 1) / 2), line, size=9.5,
                         extra=f" fill='{ink}'"))
    return out


def heatmap(values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], *, title: str,
            xlabel: str = "", ylabel: str = "", stops: Sequence[str] = GREENS,
            fmt: Callable[[float], str] = _percent, counts: np.ndarray | None = None, width: int = 600) -> str:
    """A grid of cells, the first row on top, each coloured by its value from 0 (the first of `stops`) to
    the largest value (the last) and labelled `fmt(value)`, with the cell's count under it when `counts`
    (same shape) is given; text is white on dark cells. Missing (NaN) cells stay blank."""
    values = np.asarray(values, dtype="float64").reshape(len(row_labels), len(col_labels))
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    top = top if top > 0 else 1.0
    cell_h = 32 if counts is not None else 22
    left = 34 + max((_text_width(s) for s in row_labels), default=20)
    height = 30 + cell_h * max(len(row_labels), 1) + 44
    frame = _plot_frame((width, height), (0.0, max(len(col_labels), 1)), (0.0, max(len(row_labels), 1)), left=left)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel, x_ticks=[j + 0.5 for j in range(len(col_labels))],
                 x_labels=[str(c) for c in col_labels], y_ticks=None, box=False)
    cell_w = frame.width / max(len(col_labels), 1)
    fills = _ramp((np.nan_to_num(values) / top).ravel(), stops) if values.size else []
    for i, label in enumerate(row_labels):
        y = frame.top + cell_h * i
        body.append(_text(frame.left - 6, y + cell_h / 2 + 3.5, str(label), size=10, anchor="end"))
        for j, col in enumerate(col_labels):
            value = values[i, j]
            if not np.isfinite(value):
                continue
            text = fmt(value)
            body.extend(_cell(frame.left + cell_w * j, y, cell_w, cell_h, fill=fills[i * len(col_labels) + j],
                              ink="white" if value > 0.6 * top else "#1f2933",  # dark cells get white text
                              lines=[text] if counts is None else [text, f"{int(np.asarray(counts)[i, j]):,}"],
                              title=f"{label} · {col}: {text}"))
    return _svg(width, height, body)


def stacked_bar_chart(labels: Sequence[str], stacks: Sequence[tuple[str, Sequence[float] | np.ndarray]], *,
                      title: str, xlabel: str = "", ylabel: str = "", colors: Sequence[str] = PALETTE,
                      size: tuple[int, int] = (600, 360)) -> str:
    """A column per label with the `stacks` (name, a value per label) piled from zero, the first at the
    bottom, and a legend under the plot. Missing and negative values count as zero."""
    heights = np.array([np.clip(np.nan_to_num(np.asarray(v, dtype="float64")), 0, None) for _, v in stacks]
                       ).reshape(len(stacks), len(labels))
    names = [str(name) for name, _ in stacks]
    extra = _room_below(names, size[0] - 76, xlabel)
    total = (size[0], size[1] + extra)
    frame = _plot_frame(total, (0.0, max(len(labels), 1)), _padded(heights.sum(axis=0), include_zero=True),
                        bottom=44 + extra)
    body = _axes(frame, title=title, xlabel=xlabel, ylabel=ylabel, x_ticks=None, y_ticks=nice_ticks(*frame.y_range))
    slot = frame.width / max(len(labels), 1)
    every = max(1, math.ceil((max((_text_width(s) for s in labels), default=0) + 8) / slot))
    bottoms = np.vstack([np.zeros(len(labels)), heights.cumsum(axis=0)])
    for j, label in enumerate(labels):
        x = frame.left + slot * (j + 0.1)
        for i, name in enumerate(names):
            lo, hi = frame.py(np.array([bottoms[i, j], bottoms[i + 1, j]]))
            if lo - hi > 0:
                body.append(f"<rect x='{x:.1f}' y='{hi:.1f}' width='{slot * 0.8:.1f}' height='{lo - hi:.1f}' "
                            f"fill='{colors[i % len(colors)]}'><title>{escape(f'{label} · {name}: {heights[i, j]:g}')}"
                            "</title></rect>")
        if j % every == 0:
            body.append(_text(x + slot * 0.4, frame.top + frame.height + 16, str(label), size=10))
    entries = [(name, colors[i % len(colors)], "box") for i, name in enumerate(names)]
    body.extend(_legend_below(entries, frame, _below_top(frame, xlabel)))
    return _svg(*total, body)
