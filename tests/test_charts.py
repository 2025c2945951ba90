"""SVG charts: well-formed documents whose marks sit where the data says, for any labels."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from siyu.charts import (
    BLUE_RED,
    GREENS,
    MISSING,
    Line,
    Rule,
    bar_chart,
    barh_chart,
    beeswarm,
    heatmap,
    histogram,
    line_chart,
    nice_ticks,
    scatter,
    stacked_bar_chart,
)

NS = "{http://www.w3.org/2000/svg}"


def _marks(svg: str) -> list[ET.Element]:
    """The data rectangles (each carries a <title> with its label and value)."""
    return [r for r in ET.fromstring(svg).iter(f"{NS}rect") if r.find(f"{NS}title") is not None]


def _dots(svg: str) -> list[tuple[float, float, str]]:
    """Every dot of a beeswarm or scatter: (x, y, colour)."""
    return [(float(x), float(y), path.get("stroke")) for path in ET.fromstring(svg).iter(f"{NS}path")
            if path.get("class") == "dots" for x, y in re.findall(r"M([-\d.]+) ([-\d.]+)h0", path.get("d"))]


def _texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{NS}text") if t.text]


def _red(colour: str) -> int:
    return int(colour[1:3], 16)


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (-0.02, 1.02, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (0.0, 0.1, [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]),
    (13.0, 87.0, [20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]),
    (0.0, 12_500.0, [0.0, 2500.0, 5000.0, 7500.0, 10000.0, 12500.0]),
])
def test_ticks_are_round_numbers_inside_the_range(lo, hi, expected):
    assert nice_ticks(lo, hi) == pytest.approx(expected)


def test_ticks_of_an_empty_or_broken_range():
    assert nice_ticks(3.0, 3.0) == [3.0]
    assert nice_ticks(float("nan"), 1.0) == []


def test_a_line_chart_maps_its_points_and_labels_its_legend():
    svg = line_chart([Line([0, 1], [0, 1], "model <v2> & co"), Line([0, 1], [1, 0], "", "dashed")],
                     rules=[Rule(0.5, label="base rate")], title="t", x_range=(0, 1), y_range=(0, 1))
    root = ET.fromstring(svg)  # the label's < and & are escaped, or this would not parse
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "model <v2> & co" in texts and "base rate" in texts
    first = next(root.iter(f"{NS}polyline"))
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in first.get("points").split())
    assert x0 < x1 and y0 > y1  # up and to the right: SVG's y grows downwards
    assert sum(1 for t in texts if t in {"model <v2> & co", "base rate"}) == 2  # the unlabelled line has no entry


def test_long_lines_are_thinned_and_missing_points_dropped():
    x = np.linspace(0, 1, 20_000)
    y = x.copy()
    y[5] = np.nan
    points = next(ET.fromstring(line_chart([Line(x, y)], title="t")).iter(f"{NS}polyline")).get("points").split()
    assert 100 < len(points) <= 400
    assert all("nan" not in p for p in points)


def test_bars_stand_on_zero_both_ways():
    svg = bar_chart(["a", "b", "流失"], [2.0, -1.0, 0.5], title="t", rules=[Rule(0.1)])
    bars = _marks(svg)
    assert [b.find(f"{NS}title").text for b in bars] == ["a: 2", "b: -1", "流失: 0.5"]
    a, b = (float(x.get("y")) for x in bars[:2])
    assert float(bars[0].get("y")) + float(bars[0].get("height")) == pytest.approx(b)  # a ends where b starts: at 0
    assert a < b


def test_horizontal_bars_put_the_first_label_on_top():
    svg = barh_chart(["spend_sum_90d", "days_since_last_purchase"], [0.3, 0.1], title="t")
    first, second = _marks(svg)
    assert float(first.get("y")) < float(second.get("y"))
    assert float(first.get("width")) == pytest.approx(3 * float(second.get("width")), rel=0.02)


def test_a_histogram_counts_the_finite_values_and_draws_its_rules():
    values = np.array([0.1, 0.1, 0.9, np.nan])
    root = ET.fromstring(histogram(values, bins=2, title="t", rules=[Rule(0.5, axis="x")]))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("fill") not in ("white", "none")]
    heights = sorted(float(b.get("height")) for b in bars)
    assert heights[1] == pytest.approx(2 * heights[0])
    assert any(line.get("stroke-dasharray") for line in root.iter(f"{NS}line"))


def test_empty_data_still_draws_a_chart():
    for svg in (line_chart([], title="t"), bar_chart([], [], title="t"), barh_chart([], [], title="t"),
                histogram([], title="t"), beeswarm(np.zeros((0, 2)), np.zeros((0, 2)), ["a", "b"]),
                beeswarm([], [], []), scatter([], [], title="t", colour_by=[]), heatmap([], [], [], title="t"),
                heatmap(np.full((2, 2), np.nan), ["a", "b"], ["x", "y"], title="t"),
                stacked_bar_chart([], [], title="t"), line_chart([], title="t", legend="below")):
        assert ET.fromstring(svg).tag == f"{NS}svg"


def test_a_beeswarm_has_a_row_per_feature_strongest_on_top_and_a_dot_per_user():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 3)) * [0.1, 1.0, 0.5]  # feature b matters most, then c, then a
    svg = beeswarm(values, rng.normal(size=(50, 3)), ["a", "b", "c"], xlabel="SHAP")
    rows = sorted((float(t.get("y")), t.text) for t in ET.fromstring(svg).iter(f"{NS}text")
                  if t.get("text-anchor") == "end")
    assert [label for _, label in rows] == ["b", "c", "a"]
    assert len(_dots(svg)) == 50 * 3


def test_beeswarm_colours_run_from_low_to_high_by_rank_and_missing_values_are_grey():
    shap_values = np.arange(10.0)[:, None]
    feature = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 1e6])[:, None]  # an outlier does not wash out the rest
    feature_with_gap = np.where(np.arange(10)[:, None] == 4, np.nan, feature)
    dots = sorted(_dots(beeswarm(shap_values, feature_with_gap, ["spend"])))
    colours = [c for _, _, c in dots]
    assert colours[0] == BLUE_RED[0] and colours[-1] == BLUE_RED[-1]
    assert colours[4] == MISSING
    shown = [_red(c) for c in colours if c != MISSING]
    assert shown == sorted(shown) and len(set(shown)) == 9  # evenly spread by rank, low to high
    flag = sorted(_dots(beeswarm(shap_values, (np.arange(10) >= 7).astype(float)[:, None], ["is_member"])))
    assert {c for _, _, c in flag} == {BLUE_RED[0], BLUE_RED[-1]}  # a 0/1 flag is one end or the other


def test_beeswarm_sums_the_weaker_features_into_one_named_grey_row():
    values = np.array([[3.0, 0.2, 0.1, -0.05, 1.0]] * 4)
    svg = beeswarm(values, np.ones((4, 5)), ["a", "b", "c", "d", "e"], max_rows=3, others="{n} others <&>")
    labels = [t for t in _texts(svg) if t in {"a", "b", "c", "d", "e", "3 others <&>"}]
    assert labels == ["a", "e", "3 others <&>"]
    others_row = [(x, c) for x, y, c in _dots(svg) if y > 30 + 34 * 2]
    assert len(others_row) == 4 and {c for _, c in others_row} == {MISSING}
    no_others = beeswarm(values, np.ones((4, 5)), list("abcde"), max_rows=3, others=None)
    assert [t for t in _texts(no_others) if t in set("abcde")] == ["a", "e", "b"]


def test_a_large_beeswarm_draws_an_even_sample_the_same_every_time():
    rng = np.random.default_rng(1)
    values, colours = rng.normal(size=(20_000, 2)), rng.normal(size=(20_000, 2))
    svg = beeswarm(values, colours, ["a", "b"], max_dots=500)
    assert len(_dots(svg)) == 2 * 500
    assert svg == beeswarm(values, colours, ["a", "b"], max_dots=500)
    assert len(svg) < 40_000  # about 14 bytes a dot


def test_a_scatter_drops_missing_pairs_and_colours_by_rank_with_a_colour_bar():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    y = np.array([0.1, 0.2, 0.3, np.nan, 0.5])
    plain = scatter(x, y, xlabel="days", ylabel="SHAP")
    assert len(_dots(plain)) == 3 and "linearGradient" not in plain
    coloured = scatter(x, y, colour_by=[5.0, 4.0, 3.0, 2.0, 1.0], colour_label="spend", low="lo", high="hi")
    dots = sorted(_dots(coloured))
    assert [c for _, _, c in dots] == [BLUE_RED[-1], *[c for _, _, c in dots[1:2]], BLUE_RED[0]]
    assert _red(dots[0][2]) > _red(dots[1][2]) > _red(dots[2][2])
    assert {"spend", "lo", "hi"} <= set(_texts(coloured))
    ticks = scatter([0, 1, 2, 1], [0.1, -0.2, 0.3, 0.0], x_ticks=[(0, "active"), (1, "silent"), (2, "churned")])
    assert {"active", "silent", "churned"} <= set(_texts(ticks))


def test_jitter_spreads_repeated_values_but_keeps_each_beside_its_own_value():
    x = np.repeat([0.0, 1.0, 2.0], 30)
    dots = _dots(scatter(x, np.zeros(90), x_jitter=0.25))  # one colour: dots come in input order
    bands = [np.array([px for px, _, _ in dots[30 * i:30 * (i + 1)]]) for i in range(3)]
    unit = bands[1].mean() - bands[0].mean()
    assert bands[2].mean() - bands[1].mean() == pytest.approx(unit, rel=0.05)
    for band in bands:
        assert 0.4 * unit < band.max() - band.min() <= 0.5 * unit + 0.2  # spread, by at most ±0.25
    assert bands[0].max() < bands[1].min() and bands[1].max() < bands[2].min()


def test_a_heatmap_colours_cells_by_value_and_leaves_missing_cells_blank():
    values = np.array([[0.5, 0.25, np.nan], [1.0, 0.0, np.nan]])
    counts = np.array([[1234, 10, 0], [7, 0, 0]])
    svg = heatmap(values, ["week <1>", "week 2"], ["D1", "D7", "D30"], title="t", counts=counts)
    cells = _marks(svg)
    assert len(cells) == 4  # the two NaN cells draw nothing
    by_title = {c.find(f"{NS}title").text: c.get("fill") for c in cells}
    assert by_title["week 2 · D1: 100%"] == GREENS[-1] and by_title["week 2 · D7: 0%"] == GREENS[0]
    order = [by_title[k] for k in ("week 2 · D7: 0%", "week <1> · D7: 25%", "week <1> · D1: 50%",
                                   "week 2 · D1: 100%")]
    assert [_red(c) for c in order] == sorted((_red(c) for c in order), reverse=True)  # darker with value
    texts = {t.text: t.get("fill") for t in ET.fromstring(svg).iter(f"{NS}text")}
    assert "1,234" in texts and texts["100%"] == "white" and texts["25%"] != "white"
    assert not any(t.startswith("nan") for t in texts if t)


def test_stacked_bars_pile_up_from_the_first_series_with_a_legend():
    svg = stacked_bar_chart(["w1", "w2"], [("group <chat>", [10, 20]), ("live", [30, np.nan])], title="t")
    bars = {b.find(f"{NS}title").text: b for b in _marks(svg)}
    assert set(bars) == {"w1 · group <chat>: 10", "w1 · live: 30", "w2 · group <chat>: 20"}
    bottom, top = bars["w1 · group <chat>: 10"], bars["w1 · live: 30"]
    assert float(top.get("y")) + float(top.get("height")) == pytest.approx(float(bottom.get("y")), abs=0.15)
    assert float(top.get("height")) == pytest.approx(3 * float(bottom.get("height")), rel=0.02)
    assert bottom.get("fill") != top.get("fill")
    assert {"group <chat>", "live"} <= set(_texts(svg))


def test_horizontal_bars_write_their_notes_inside_the_chart_beside_each_bar():
    notes = ["6,456 users · 100.0%", "3,689 users · 57.1%"]
    svg = barh_chart(["article_read", "purchase"], [6456, 3689], title="t", notes=notes, width=500)
    root = ET.fromstring(svg)
    written = {t.text: float(t.get("x")) for t in root.iter(f"{NS}text") if t.text in notes}
    for bar, note in zip(_marks(svg), notes, strict=True):
        assert written[note] > float(bar.get("x")) + float(bar.get("width"))
        assert written[note] + 6.2 * len(note) <= 500  # the axis left room for the longest note


def test_line_chart_formats_y_ticks_names_x_ticks_and_puts_its_legend_below():
    svg = line_chart([Line([0, 1, 2], [0.4, 0.35, 0.3], "store")], title="t", y_range=(0, 0.5),
                     y_format=lambda v: f"{v:.0%}", x_ticks=[(0, "D1"), (1, "D7"), (2, "D30"), (9, "off axis")],
                     legend="below", size=(500, 300))
    texts = _texts(svg)
    assert {"0%", "50%", "D1", "D7", "D30"} <= set(texts) and "off axis" not in texts
    root = ET.fromstring(svg)
    legend = next(t for t in root.iter(f"{NS}text") if t.text == "store")
    assert float(legend.get("y")) > 300 - 44  # under the plot, not over the line
    assert float(root.get("height")) > 300  # the chart grew to hold it


def test_charts_inlined_in_one_page_never_share_an_id():
    charts = [line_chart([Line([0, 1], [0, 1])], title="a"), line_chart([Line([0, 1], [1, 0])], title="b"),
              beeswarm(np.ones((3, 1)), np.arange(3.0)[:, None], ["x"]),
              scatter([1, 2], [1, 2], colour_by=[1, 2])]
    ids = [i for svg in charts for i in re.findall(r"\bid='([^']+)'", svg)]
    assert len(ids) == 4 and len(set(ids)) == 4  # the line charts' clip paths and the colour bars' gradients
    for svg in charts:
        assert set(re.findall(r"url\(#([^)]+)\)", svg)) <= set(re.findall(r"\bid='([^']+)'", svg))
