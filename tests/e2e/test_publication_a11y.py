"""axe-core in a real browser (headless Chromium through Playwright) finds no serious or
critical violation on the annual publication's page or on the quarterly dashboard of a generated
year (with its league tables, headlines and charts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.publication import YEAR

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _serious(path: Path) -> tuple[list[dict[str, Any]], str]:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(path.resolve().as_uri())
            results = Axe().run(page)
        finally:
            browser.close()
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    return serious, results.generate_snapshot()


@pytest.mark.browser
@pytest.mark.parametrize("page", ["annual", "dashboard"])
def test_no_serious_or_critical_axe_violation(generated_year: Any, page: str) -> None:
    path = (
        generated_year.annual_dir / f"lscb-annual-{YEAR}.html"
        if page == "annual"
        else generated_year.quarter_dir / "dashboard.html"
    )
    serious, snapshot = _serious(path)
    assert not serious, snapshot
