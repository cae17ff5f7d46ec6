"""Accessibility: axe-core (axe-playwright-python) on the portal's main pages in headless
Chromium: no serious or critical violations. The full results go to
`var/screenshots/portal/axe-report.json`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, PERIOD, SCREENSHOTS, sign_in, write_return

from tests.support.portal import COUNCIL_A, Server, prepare_database

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("portal-a11y") / "var"
    emails = prepare_database(data_dir)
    (data_dir / "outputs").mkdir(parents=True)
    (data_dir / "outputs" / "league_tables.xlsx").write_bytes(b"PK\x03\x04")
    with Server(data_dir) as running:
        yield running, emails


def test_main_pages_have_no_serious_accessibility_violations(
    server: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    running, emails = server
    base = running.url
    axe = Axe()
    report: dict[str, Any] = {}

    def check(page: Any, name: str) -> None:
        page.wait_for_load_state("networkidle")
        results = axe.run(page)
        report[name] = {
            "url": page.url,
            "violations": [
                {"id": v["id"], "impact": v.get("impact"), "help": v["help"], "nodes": len(v["nodes"])}
                for v in results.response["violations"]
            ],
        }
        page.screenshot(path=str(SCREENSHOTS / f"a11y-{name}.png"), full_page=True)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(bypass_csp=True).new_page()
            page.goto(f"{base}/login")
            check(page, "login")
            page.get_by_label("Email address").fill(emails["council_a"])
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Sign in").click()
            check(page, "login-error")

            sign_in(page, base, emails["council_a"])
            check(page, "council-home")
            page.goto(f"{base}/councils/{COUNCIL_A}/periods/{PERIOD}")
            check(page, "period")
            page.set_input_files("#file", str(write_return(tmp_path / "bad.xlsx", with_error=True)))
            page.get_by_role("button", name="Upload and check").click()
            page.wait_for_url("**/submissions/**", timeout=120_000)
            check(page, "submission-with-errors")
            page.goto(f"{base}/councils/{COUNCIL_A}/periods/{PERIOD}")
            page.set_input_files("#file", str(write_return(tmp_path / "good.xlsx", with_error=False)))
            page.get_by_role("button", name="Upload and check").click()
            page.wait_for_url("**/submissions/**", timeout=120_000)
            check(page, "submission-with-queries")
            with_queries = page.url.split("?")[0]
            page.goto(f"{base}/councils/{COUNCIL_A}/periods/{PERIOD}")
            broken = tmp_path / "photo.xlsx"
            broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
            page.set_input_files("#file", str(broken))
            page.get_by_role("button", name="Upload and check").click()
            page.wait_for_selector(".error-summary")
            check(page, "period-upload-refused")
            page.goto(f"{base}/councils/E06000002")
            check(page, "not-found")

            analyst = browser.new_context(bypass_csp=True).new_page()
            sign_in(analyst, base, emails["analyst"])
            analyst.goto(f"{base}/national/{PERIOD}")
            check(analyst, "national-tracker")
            analyst.goto(f"{base}/national/outputs")
            check(analyst, "outputs")
            analyst.goto(with_queries)  # with the analyst's review forms
            check(analyst, "submission-review")
            analyst.goto(f"{base}/audit")
            check(analyst, "audit-log")

            admin = browser.new_context(bypass_csp=True).new_page()
            sign_in(admin, base, emails["admin"])
            admin.goto(f"{base}/admin/users")
            check(admin, "admin-users")
        finally:
            browser.close()

    (SCREENSHOTS / "axe-report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    serious = {
        name: [v for v in entry["violations"] if v["impact"] in ("serious", "critical")]
        for name, entry in report.items()
    }
    assert len(report) == 13
    assert all(not found for found in serious.values()), json.dumps(serious, indent=2)
