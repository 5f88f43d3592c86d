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


def recent_files_svg(profile: str, uploads: list[dict], width: int = 720) -> str:
    """A small table of a profile's latest files (status and counts) as an SVG image.

    An image, because the DAG's docs are rendered from Markdown built at parse time: they embed
    this URL and the browser fetches the live figures from the dashboard (same login).
    """
    from html import escape

    row_h, top = 22, 46
    height = top + row_h * max(1, len(uploads)) + 12
    colors = {
        "loaded": "#1b7f3b",
        "partial": "#b26a00",
        "rejected": "#b3261e",
        "failed": "#b3261e",
        "duplicate": "#5f6368",
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="13" role="img" aria-label="latest files of {escape(profile)}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff" stroke="#d0d7de"/>',
        f'<text x="10" y="20" font-weight="bold">Latest files: {escape(profile)}</text>',
        '<text x="10" y="40" fill="#57606a">file</text><text x="380" y="40" fill="#57606a">status</text>'
        '<text x="470" y="40" fill="#57606a">read</text><text x="540" y="40" fill="#57606a">loaded</text>'
        '<text x="620" y="40" fill="#57606a">rejected</text>',
    ]
    if not uploads:
        parts.append(f'<text x="10" y="{top + 14}" fill="#57606a">no files yet</text>')
    for i, u in enumerate(uploads):
        y = top + 14 + i * row_h
        name = str(u.get("file_name") or "")
        if u.get("member"):
            name = f"{name} › {u['member']}"
        name = name if len(name) <= 48 else name[:45] + "…"
        status = str(u.get("status") or "")
        parts.append(
            f'<text x="10" y="{y}">{escape(name)}</text>'
            f'<text x="380" y="{y}" fill="{colors.get(status, "#24292f")}">{escape(status)}</text>'
            f'<text x="470" y="{y}">{int(u.get("rows_read") or 0):,}</text>'
            f'<text x="540" y="{y}">{int(u.get("rows_loaded") or 0):,}</text>'
            f'<text x="620" y="{y}">{int(u.get("rows_rejected") or 0):,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
