"""The annual PDF is accessible and readable on paper: PDF/UA-1 (tagged, with its structure tree,
language and title), portrait pages, the header of a table repeated on every page it runs onto,
and no table row split across pages (every council's row whole on one page)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from tests.support.publication import YEAR

CHILDREN_HEADER = "Area Children newly identified Missing children not offered a return interview"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _shown(value: str) -> str:
    return f"{int(float(value)):,}" if re.fullmatch(r"-?\d+(\.\d+)?", value) else value


def test_the_pdf_is_tagged_pdf_ua(generated_year: Any) -> None:
    reader = PdfReader(generated_year.annual_dir / f"lscb-annual-{YEAR}.pdf")
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfuaid:part="1"' in xmp  # declares PDF/UA-1
    assert reader.metadata.title.startswith("Child sexual exploitation")
    assert all(page.mediabox.width < page.mediabox.height for page in reader.pages)  # no table needs landscape


def test_every_council_row_is_whole_on_one_page_under_a_repeated_header(generated_year: Any) -> None:
    pages = [
        _flat(page.extract_text()) for page in PdfReader(generated_year.annual_dir / f"lscb-annual-{YEAR}.pdf").pages
    ]
    with open(Path(generated_year.annual_dir) / "children.csv", encoding="utf-8") as stream:
        councils = [r for r in csv.DictReader(stream) if r["geographic_level"] == "Local authority"]
    assert len(councils) > 140
    holding = set()
    for council in councils:
        row = " ".join(
            [council["la_name"], _shown(council["children_newly_identified"]), _shown(council["missing_no_interview"])]
        )
        found = [i for i, text in enumerate(pages) if row in text]
        assert found, f"the row of {council['la_name']} is not whole on any page: {row!r}"
        holding.update(found)
    assert len(holding) >= 2  # the table runs over pages ...
    assert all(CHILDREN_HEADER in pages[i] for i in holding)  # ... and its header is on each of them
