"""A bar chart of rows loaded and rejected per day, drawn as inline SVG.

Drawn on the server so the page needs no script and no network: the dashboard runs inside
offline Airflow installations.
"""

from __future__ import annotations

from html import escape

WIDTH = 900
HEIGHT = 190
MARGIN_LEFT = 56
MARGIN_BOTTOM = 28
MARGIN_TOP = 12
LOADED_COLOUR = "#2e7d32"
REJECTED_COLOUR = "#c62828"


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value, for a round axis top."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def daily_chart_svg(days: list[dict]) -> str:
    """SVG markup for ``days`` ({day, loaded, rejected}, oldest first): one stacked bar per day,
    loaded at the bottom and rejected on top, each with a tooltip giving the day's numbers."""
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _nice_ceiling(max((d["loaded"] + d["rejected"] for d in days), default=0))
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.7, 1)
    baseline = MARGIN_TOP + plot_height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Rows loaded and rejected per day</title>',
        f'<line x1="{MARGIN_LEFT}" y1="{baseline}" x2="{WIDTH - 8}" y2="{baseline}" class="axis"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{WIDTH - 8}" y2="{MARGIN_TOP}" class="grid"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 4}" class="tick" text-anchor="end">{top:,}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{baseline + 4}" class="tick" text-anchor="end">0</text>',
    ]
    for index, day in enumerate(days):
        x = MARGIN_LEFT + index * slot + (slot - bar_width) / 2
        loaded_height = plot_height * day["loaded"] / top
        rejected_height = plot_height * day["rejected"] / top
        label = escape(day["day"].isoformat())
        tip = f"{label}: {day['loaded']:,} loaded, {day['rejected']:,} rejected"
        parts.append(f'<g class="day" data-day="{label}"><title>{tip}</title>')
        parts.append(
            f'<rect class="loaded" x="{x:.1f}" y="{baseline - loaded_height:.1f}" '
            f'width="{bar_width:.1f}" height="{loaded_height:.1f}" fill="{LOADED_COLOUR}"/>'
        )
        parts.append(
            f'<rect class="rejected" x="{x:.1f}" y="{baseline - loaded_height - rejected_height:.1f}" '
            f'width="{bar_width:.1f}" height="{rejected_height:.1f}" fill="{REJECTED_COLOUR}"/>'
        )
        parts.append("</g>")
        # a date under every seventh bar and the last one keeps the axis readable
        last = len(days) - 1
        if index == last or (index % 7 == 0 and last - index >= 4):
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{HEIGHT - 8}" class="tick" '
                f'text-anchor="middle">{escape(day["day"].strftime("%b %d"))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
