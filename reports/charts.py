"""Charts as inline SVG strings: no external assets, no JavaScript.

Every chart is `role="img"` with `aria-labelledby` pointing at its own `<title>` and `<desc>`,
and the page that shows it also shows the same figures in a table (the text alternative in full).
Colours pass WCAG AA contrast against white for bars and text.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence
from html import escape

BAR = "#1d70b8"  # GOV.UK blue, 5.2:1 on white
TEXT = "#0b0c0c"
GRID = "#b1b4b6"
PALETTE = ("#1d70b8", "#003078", "#85994b", "#d4351c", "#6f72af", "#f47738")
_ids = itertools.count(1)
LABEL_CHAR_PX = 8


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def bar_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str = "",
    width: int = 640,
    bar_height: int = 22,
) -> str:
    """A horizontal bar chart; None values are drawn as no bar and labelled "not available"."""
    chart_id = f"chart{next(_ids)}"
    # labels are never clipped: as wide as the longest needs (8 px a character at 13 px, which
    # over-estimates Arial), up to 40% of the chart; longer ones wrap onto more lines
    label_width = int(min(width * 0.4, max(80, LABEL_CHAR_PX * max((len(lbl) for lbl in labels), default=4) + 12)))
    wrapped = [textwrap.wrap(label, max(int((label_width - 12) / LABEL_CHAR_PX), 8)) or [""] for label in labels]
    plot_width = width - label_width - 90
    top = 10
    rows = [max(bar_height, 16 * len(lines)) + 8 for lines in wrapped]
    starts = [top + sum(rows[:i]) for i in range(len(rows))]
    height = top + sum(rows) + 10
    numeric = [v for v in values if v is not None]
    high = max([*numeric, 0.0]) or 1.0
    low = min([*numeric, 0.0])
    span = high - low or 1.0
    zero_x = label_width + (0 - low) / span * plot_width
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<line x1="{zero_x:.1f}" y1="{top - 4}" x2="{zero_x:.1f}" y2="{height - 6}" stroke="{GRID}" />',
    ]
    for i, (lines, value) in enumerate(zip(wrapped, values, strict=True)):
        y = starts[i]
        spans = "".join(
            f'<tspan x="{label_width - 8}" dy="{0 if n == 0 else 16}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="13" '
            f'fill="{TEXT}">{spans}</text>'
        )
        if value is None:
            parts.append(
                f'<text x="{zero_x + 4:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12" fill="{TEXT}">'
                "not available</text>"
            )
            continue
        x_end = label_width + (value - low) / span * plot_width
        x, w = (zero_x, x_end - zero_x) if value >= 0 else (x_end, zero_x - x_end)
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_height}" fill="{BAR}" />')
        text_x = max(x_end, zero_x) + 4
        parts.append(
            f'<text x="{text_x:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12" fill="{TEXT}">'
            f"{escape(_number(value))}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    title: str,
    description: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    width: int = 640,
    height: int = 260,
) -> str:
    """Grouped columns (one group per category, one colour per series) with a legend."""
    chart_id = f"chart{next(_ids)}"
    left, bottom, top = 50, 40, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    numbers = [v for values in series.values() for v in values if v is not None]
    high = max([*numbers, 0.0]) or 1.0
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="{GRID}" />',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" fill="{TEXT}">{_number(high)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="{TEXT}">0</text>',
    ]
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        parts.append(f'<rect x="{left + s * 150}" y="4" width="12" height="12" fill="{colour}" />')
        parts.append(f'<text x="{left + s * 150 + 16}" y="14" font-size="12" fill="{TEXT}">{escape(name)}</text>')
        for c, value in enumerate(values):
            if value is None:
                continue
            h = value / high * plot_h
            x = left + c * group_w + group_w * 0.1 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{max(h, 0):.1f}" '
                f'fill="{colour}" />'
            )
    for c, category in enumerate(categories):
        x = left + c * group_w + group_w / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="12" fill="{TEXT}">'
            f"{escape(category)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
