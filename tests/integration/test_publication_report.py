"""The annual report readers can trust: headline facts in words and numbers with the change on
the previous year; release date, next update, contact, methodology, revisions and quality notes
in plain English (no field names); a league table per measure with rank, band and change; figures
shown to the decimals their metadata gives."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from reports.annual import _change, release_dates
from tests.support.publication import YEAR
from transforms.measures import MEASURES


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section aria-labelledby="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_headlines_release_details_and_plain_english_notes(generated_year: Any) -> None:
    html = (generated_year.annual_dir / f"lscb-annual-{YEAR}.html").read_text(encoding="utf-8")
    headlines = _text(_section(html, "headlines"))
    assert re.search(r"\d[\d,]* of \d[\d,]* quarterly returns were accepted \(\d+%\)", headlines)
    assert re.search(r"[\d,]+ children were newly identified", headlines)
    assert "previous year" in headlines
    text = _text(html)
    assert "Published 1 November 2026" in text and "Next update May 2027 (provisional)" in text
    assert "Contact" in text
    about = _text(_section(html, "about"))
    for heading in ("How each measure is worked out", "Quality", "Revisions", "Symbols"):
        assert heading in about
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", about), re.findall(r"\b[a-z]+_[a-z_]+\b", about)


def test_a_league_table_per_measure_with_rank_band_and_change_and_its_decimals(generated_year: Any) -> None:
    html = (generated_year.annual_dir / f"lscb-annual-{YEAR}.html").read_text(encoding="utf-8")
    league = _section(html, "league")
    assert league.count("<table") == len(MEASURES)
    assert league.count('<th scope="col">Change on the previous year</th>') == len(MEASURES)
    start = league.index('id="league-referrals-per-child"')
    rows = re.findall(
        r"<tr><td>(\d+)</td><th scope=\"row\">([^<]+)</th><td[^>]*>[^<]+</td><td>([^<]+)</td>", league[start:]
    )
    assert rows and all(re.fullmatch(r"\d+\.\d\d", value) for _, _, value in rows[:20])  # 2 decimals
    ranks = [int(rank) for rank, _, _ in rows[:20]]
    assert ranks == sorted(ranks)  # best first


def test_change_on_the_previous_year_in_words() -> None:
    assert _change(120, 100, "children") == "20 more children than the previous year (20%)."
    assert _change(90, 100, "returns") == "10 fewer returns than the previous year (10%)."
    assert _change(5, None, "children").startswith("No comparison")
    assert release_dates("2025-26", __import__("datetime").date(2026, 6, 3)) == (
        "3 June 2026",
        "May 2027 (provisional)",
    )
