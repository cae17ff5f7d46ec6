"""A publication built with the public demo key or a synthetic population says "Demonstration:
synthetic data, not official statistics" on every page (HTML, every PDF page), on the XLSX cover
and in every CSV's metadata, and never carries the official statistics badge; one built with a
real key and a real population file says nothing of the kind."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from pipeline.provenance import population_is_synthetic, publication_provenance
from reports.ees import DEMONSTRATION
from tests.support.publication import POPULATION, TODAY, YEAR

BADGE = "Official statistics"


def _meta_statements(folder: Path) -> list[bool]:
    found = []
    for meta in sorted(folder.glob("*.meta.csv")):
        with open(meta, encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        found.append(bool(rows) and all(DEMONSTRATION in (r["indicator_grouping"] + r["filter_hint"]) for r in rows))
    return found


def test_a_synthetic_population_makes_a_demonstration_everywhere(generated_year: Any) -> None:
    annual = generated_year.annual_dir
    html = (annual / f"lscb-annual-{YEAR}.html").read_text(encoding="utf-8")
    assert DEMONSTRATION in html and BADGE not in html
    pages = PdfReader(annual / f"lscb-annual-{YEAR}.pdf").pages
    assert len(pages) > 1 and all(DEMONSTRATION in page.extract_text() for page in pages)
    from openpyxl import load_workbook

    cover = load_workbook(annual / f"lscb-annual-{YEAR}.xlsx").worksheets[0]
    assert cover.title == "Notes" and cover["A2"].value == DEMONSTRATION
    assert all(_meta_statements(annual)) and len(_meta_statements(annual)) == 7
    quarter = generated_year.quarter_dir
    assert all(_meta_statements(quarter)) and len(_meta_statements(quarter)) == 5
    assert DEMONSTRATION in (quarter / "dashboard.html").read_text(encoding="utf-8")


def test_the_demo_key_alone_makes_a_demonstration_and_a_real_build_says_nothing(
    generated_year: Any, tmp_path: Path
) -> None:
    from pipeline.annual import build_annual

    real_population = tmp_path / "population.csv"
    real_population.write_text(
        "\n".join(line for line in POPULATION.read_text().splitlines() if not line.startswith("#")) + "\n"
    )
    assert population_is_synthetic(POPULATION) and not population_is_synthetic(real_population)
    assert publication_provenance(demo_key=True, population_csv=None).demonstration
    real = build_annual(generated_year.url, YEAR, tmp_path / "real", population_csv=real_population, today=TODAY)
    html = Path(real.paths["html"]).read_text(encoding="utf-8")
    assert DEMONSTRATION not in html and BADGE in html
    assert not any(DEMONSTRATION in page.extract_text() for page in PdfReader(real.paths["pdf"]).pages)
    assert not any(_meta_statements(tmp_path / "real"))
    demo = build_annual(
        generated_year.url, YEAR, tmp_path / "demo", population_csv=real_population, today=TODAY, demo_key=True
    )
    assert DEMONSTRATION in Path(demo.paths["html"]).read_text(encoding="utf-8")
    assert all(_meta_statements(tmp_path / "demo"))
