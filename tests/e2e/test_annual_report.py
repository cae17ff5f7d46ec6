"""The annual publication end to end: stored returns -> HTML, PDF, XLSX, CSVs.

The HTML must pass axe-core (no serious or critical violations) in headless Chromium; a
screenshot of the HTML and PNGs of the PDF's first pages are kept under var/screenshots/ for a
person to look at. Published CSVs must hold no count of 1 to 5. The national data-quality gate
passes on the publication, and fails on a published count of 3 or a total that disagrees with its
council rows.
"""

from __future__ import annotations

import csv
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lscb.settings import PROJECT_ROOT
from schemas.calendar import financial_year_periods
from schemas.register import load_register

YEAR = "2025-26"
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two quarters of the year stored for every council but a few."""
    from pipeline.receive import store_validated
    from store.migrate import upgrade
    from tests.support.synthetic import synthetic_result

    root = tmp_path_factory.mktemp("annual-store")
    url = f"sqlite:///{root / 'lscb.sqlite'}"
    upgrade(url)
    register = load_register()
    for period in financial_year_periods(YEAR)[:2]:
        for i, council in enumerate(register.expected(period)):
            if i % 25 == 7:
                continue  # a few councils send nothing
            result = synthetic_result(council.council_code, period.code, children=1 + i % 12, seed=i, queries=i % 2)
            received = datetime.combine(period.deadline, datetime.min.time(), UTC) + timedelta(days=i % 9 - 6)
            store_validated(
                result,
                council.council_code,
                submitted_by="e2e@example.gov.uk",
                received_at=received,
                engine_or_url=url,
                secret=b"e2e-key",
            )
    return url


@pytest.fixture(scope="module")
def annual(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from pipeline.annual import build_annual

    population = PROJECT_ROOT / "data" / "population" / "SYNTHETIC_population_0_17.csv"
    out = tmp_path_factory.mktemp("annual-out")
    return build_annual(store_url, YEAR, out, population_csv=population, today=date(2026, 11, 1))


def test_published_csvs_hold_no_small_counts(annual: Any) -> None:
    for name in ("children", "cross_council"):
        with open(annual.paths[f"{name}.csv"], encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        assert rows
        value_columns = [
            c
            for c in rows[0]
            if c
            not in (
                "time_period",
                "time_identifier",
                "geographic_level",
                "country_code",
                "country_name",
                "region_code",
                "region_name",
                "new_la_code",
                "old_la_code",
                "la_name",
            )
        ]
        for row in rows:
            for column in value_columns:
                value = row[column]
                if value.isdigit():
                    assert not 1 <= int(value) <= 5, (name, row["la_name"], column)
                    if row["geographic_level"] != "Local authority":
                        assert int(value) % 10 == 0
                else:
                    assert value in ("c", "x", "z")
    for key in ("html", "pdf", "xlsx"):
        assert Path(annual.paths[key]).stat().st_size > 0
    analyst = Path(annual.out_dir) / "analyst" / "children.csv"
    assert analyst.is_file()


def test_html_structure(annual: Any) -> None:
    html = Path(annual.paths["html"]).read_text(encoding="utf-8")
    assert '<html lang="en-GB">' in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<caption") >= 6 and 'scope="col"' in html and 'scope="row"' in html
    assert html.count('role="img"') >= 3 and "<desc" in html
    levels = [int(level) for level in re.findall(r"<h([1-6])[\s>]", html)]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))


def test_the_gate_passes_on_the_publication(annual: Any, store_url: str, tmp_path: Path) -> None:
    from pipeline.quality import audit_annual

    result = audit_annual(store_url, YEAR, Path(annual.out_dir), tmp_path / "docs")
    assert result.success, result.messages
    assert {"returns.csv", "league_table.csv", "children.csv", "children.csv totals", "cross_council.csv",
            "cross_council.csv totals", "whole_picture.csv"} <= set(result.suites)  # fmt: skip
    assert [name for name in result.suites if name.startswith("child_records")] == [
        f"child_records_{p.code}" for p in financial_year_periods(YEAR)
    ]
    assert (tmp_path / "docs" / "index.html").is_file()


def test_lscb_audit_of_the_publication(
    annual: Any, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from lscb.cli import main

    docs = tmp_path / "docs"
    args = ["quality", "--year", YEAR, "--dir", annual.out_dir, "--docs", str(docs), "--database-url", store_url]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["success"] and result["scope"] == YEAR and result["docs"] == str(docs / "index.html")
    assert all(suite["failed"] == 0 for suite in result["suites"].values())


def _rewrite(path: Path, change: Any) -> None:
    with open(path, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    change(rows)
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_the_gate_fails_on_a_published_small_count_or_an_inconsistent_total(
    annual: Any, store_url: str, tmp_path: Path
) -> None:
    import shutil

    from pipeline.quality import audit_annual

    folder = tmp_path / "publication"
    shutil.copytree(annual.out_dir, folder)
    shown: dict[str, str] = {}

    def small_count(rows: list[dict[str, str]]) -> None:
        row = next(r for r in rows if r["geographic_level"] == "Local authority" and r["x1"].isdigit())
        row["x1"], shown["council"] = "3", row["new_la_code"]

    def total_off(rows: list[dict[str, str]]) -> None:
        england = next(r for r in rows if r["geographic_level"] == "National")
        england["children_newly_identified"] = str(int(england["children_newly_identified"]) + 100)
        shown["england"] = england["children_newly_identified"]

    def region_small(rows: list[dict[str, str]]) -> None:
        next(r for r in rows if r["geographic_level"] == "Regional")["children_whole_picture"] = "4"

    _rewrite(folder / "cross_council.csv", small_count)
    _rewrite(folder / "children.csv", total_off)
    _rewrite(folder / "whole_picture.csv", region_small)
    result = audit_annual(store_url, YEAR, folder, tmp_path / "docs")
    assert not result.success
    assert any(m.startswith("cross_council.csv: x1 shows no count of 1 to 5 (they are c): 1 of ")
               and f"({shown['council']})" in m for m in result.messages)  # fmt: skip
    assert any(m.startswith("children.csv totals: a total is at most what the cells it adds up give")
               and f"E92000001 children_newly_identified: {shown['england']} published" in m
               for m in result.messages)  # fmt: skip
    assert result.failures["cross_council.csv"] == {"x1 no small counts": 1}
    assert result.failures["whole_picture.csv"] == {
        "children_whole_picture no small counts": 1,
        "children_whole_picture Regional rounded": 1,  # a region is a cell here: rounded or c
    }


@pytest.mark.browser
def test_html_passes_axe_and_screenshots_are_kept(annual: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    html_path = Path(annual.paths["html"]).resolve()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(html_path.as_uri())
            results = Axe().run(page)
            page.screenshot(path=str(SCREENSHOTS / "annual-report.png"), full_page=False)
        finally:
            browser.close()
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_snapshot()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-f", "1", "-l", "3", "-png", annual.paths["pdf"], str(SCREENSHOTS / "annual-pdf")],
        check=True,
        timeout=120,
    )
    assert list(SCREENSHOTS.glob("annual-pdf-*.png"))
