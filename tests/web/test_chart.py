"""The inline SVG chart of rows per day."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from courtfeed.web.chart import daily_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def days(values: list[tuple[int, int]]) -> list[dict]:
    start = date(2026, 11, 1)
    return [
        {"day": start + timedelta(days=i), "loaded": loaded, "rejected": rejected}
        for i, (loaded, rejected) in enumerate(values)
    ]


def bars(svg: str) -> list[tuple[float, float, float]]:
    """Per day: (loaded bar height, rejected bar height, rejected bar top)."""
    root = ET.fromstring(svg)
    out = []
    for group in root.iter(f"{SVG}g"):
        loaded, rejected = group.findall(f"{SVG}rect")
        out.append((float(loaded.get("height")), float(rejected.get("height")), float(rejected.get("y"))))
    return out


def test_bars_are_proportional_and_stacked():
    svg = daily_chart_svg(days([(80, 20), (0, 0), (40, 0), (0, 10)]))
    heights = bars(svg)
    assert len(heights) == 4
    (l0, r0, top0), (l1, r1, _), (l2, r2, _), (l3, r3, _) = heights
    assert l0 == 4 * r0 > 0  # 80 : 20
    assert l1 == r1 == 0
    assert l2 * 2 == l0 and r2 == 0
    assert l3 == 0 and r3 == r0 / 2
    # rejected sits on top of loaded
    loaded_top = float(ET.fromstring(svg).find(f"{SVG}g").findall(f"{SVG}rect")[0].get("y"))
    assert abs(top0 + r0 - loaded_top) < 0.11


def test_axis_top_is_a_round_number_at_or_above_the_busiest_day():
    svg = daily_chart_svg(days([(1234, 5), (10, 0)]))
    assert ">2,000</text>" in svg
    assert ">1</text>" in daily_chart_svg(days([(0, 0)] * 30))  # an empty month still draws


def test_each_day_has_a_tooltip_and_labels_do_not_crowd():
    month = days([(i, i % 3) for i in range(30)])
    svg = daily_chart_svg(month)
    assert "<title>2026-11-05: 4 loaded, 1 rejected</title>" in svg
    labels = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert labels == ["Nov 01", "Nov 08", "Nov 15", "Nov 22", "Nov 30"]
