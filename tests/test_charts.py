"""SVG charts: well-formed documents whose marks sit where the data says, for any labels."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from siyu.charts import Line, Rule, bar_chart, barh_chart, histogram, line_chart, nice_ticks

NS = "{http://www.w3.org/2000/svg}"


def _marks(svg: str) -> list[ET.Element]:
    """The data rectangles (each carries a <title> with its label and value)."""
    return [r for r in ET.fromstring(svg).iter(f"{NS}rect") if r.find(f"{NS}title") is not None]


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
                histogram([], title="t")):
        assert ET.fromstring(svg).tag == f"{NS}svg"
