"""Chart labels are whole: every word of every label is drawn, and no line of a label can start
left of the chart's edge (each line fits the label column at a generous 8 px a character)."""

from __future__ import annotations

import re
from html import unescape

from reports import charts

LABELS = [
    "Yorkshire and The Humber",
    "X4 Unknown to previous council",
    "X6 The whole picture: signs recorded only by other councils in the last twelve months",
]


def test_bar_chart_labels_are_whole_and_inside_the_chart() -> None:
    svg = charts.bar_chart("Title", "Description", LABELS, [1.0, 2.0, None])
    texts = re.findall(r'<text x="([\d.]+)"[^>]*text-anchor="end"[^>]*>(.*?)</text>', svg)
    assert len(texts) == len(LABELS)
    for (x, inner), label in zip(texts, LABELS, strict=True):
        lines = [unescape(line) for line in re.findall(r"<tspan[^>]*>(.*?)</tspan>", inner)]
        assert " ".join(lines) == label
        assert all(len(line) * charts.LABEL_CHAR_PX <= float(x) for line in lines), (label, x)
