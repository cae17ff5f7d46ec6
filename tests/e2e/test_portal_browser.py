"""The portal in a real browser (headless Chromium through Playwright), against `uvicorn` serving
the real store on a free loopback port.

A council officer signs in, downloads the template, uploads a return with errors, sees the cell
references, uploads a fixed return, explains its query and signs off; an analyst sees the
tracker change. A screenshot of each step goes to `var/screenshots/portal/`. The same run checks
the upload progress indicator (JavaScript) and that the pages also work with JavaScript off.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.portal import COUNCIL_A, PASSWORD, Server, prepare_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots" / "portal"
PERIOD = "2025-Q1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


def write_return(path: Path, *, with_error: bool) -> Path:
    """A return for Hartlepool 2025-Q1 with three children: Activity says five were newly
    identified (a query, XS-02); with_error gives child 2 the sex code `X` (an error, VAL-02)."""
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from builders import sample_about, sample_activity, sample_child, sample_strategy, write_xlsx_return

    children = [
        sample_child(1),
        sample_child(2, sex="X" if with_error else "M"),
        sample_child(3),
    ]
    activity = sample_activity(children_newly_identified=5, children_open_at_end=3)
    return write_xlsx_return(path, sample_about(), sample_strategy(), activity, children)


def sex_cell() -> str:
    from schemas.standard import load_standard
    from transforms.findings import column_letter

    names = list(load_standard().sheet("Children").field_names)  # the builder's column order
    return f"Children!{column_letter(names.index('sex'))}3"  # child 2 is on row 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("portal-browser") / "var"
    emails = prepare_database(data_dir)
    (data_dir / "outputs" / PERIOD).mkdir(parents=True)
    (data_dir / "outputs" / PERIOD / "tracker.csv").write_text("council_code,status\n", encoding="utf-8")
    with Server(data_dir) as running:
        yield running, emails


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def tracker_status(page: Any, base: str) -> str:
    page.goto(f"{base}/national/{PERIOD}")
    return str(page.locator(f'tr[data-council="{COUNCIL_A}"] td[data-status]').inner_text()).strip()


def test_council_officer_journey_and_analyst_tracker(
    server: tuple[Server, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    running, emails = server
    base = running.url

    analyst = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(analyst, base, emails["analyst"])
    assert tracker_status(analyst, base) == "Not received"
    shot(analyst, "01-analyst-tracker-before")

    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/councils/{COUNCIL_A}")
    assert "/login" in page.url  # no session: sent to sign in
    sign_in(page, base, emails["council_a"])
    assert page.url.endswith(f"/councils/{COUNCIL_A}")
    shot(page, "02-council-home")

    # the template
    page.goto(f"{base}/councils/{COUNCIL_A}/periods/{PERIOD}")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the blank template").click()
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    assert template.read_bytes()[:4] == b"PK\x03\x04"
    assert download_info.value.suggested_filename == f"lscb-return-{COUNCIL_A}-{PERIOD}.xlsx"
    shot(page, "03-period-page-template-downloaded")

    # a return with an error: the progress indicator shows, then the result with the cell
    bad = write_return(tmp_path / "hartlepool-2025-Q1.xlsx", with_error=True)
    page.set_input_files("#file", str(bad))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url("**/submissions/**", timeout=120_000)
    page.wait_for_load_state("networkidle")
    assert "received, but it has errors" in page.content(), page.inner_text("main")
    errors = page.locator("#errors ~ table").first
    assert sex_cell() in errors.inner_text()
    shot(page, "04-upload-with-errors-cell-references")

    # the feedback workbook for that version
    with page.expect_download() as feedback_info:
        page.get_by_role("link", name="Download the feedback workbook (Excel)").click()
    feedback = tmp_path / "feedback.xlsx"
    feedback_info.value.save_as(feedback)
    assert feedback.read_bytes()[:4] == b"PK\x03\x04"

    # the fixed return, uploaded from the period page
    page.goto(f"{base}/councils/{COUNCIL_A}/periods/{PERIOD}")
    fixed = write_return(tmp_path / "hartlepool-2025-Q1-fixed.xlsx", with_error=False)
    page.set_input_files("#file", str(fixed))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url("**/submissions/**", timeout=120_000)
    page.wait_for_load_state("networkidle")
    assert "received and accepted" in page.content()
    assert page.locator("#errors").count() == 0
    shot(page, "05-fixed-upload-accepted-with-query")

    # explain every query (the one we made, and any other the rules raise)
    forms = page.locator("form.explain-form")
    assert forms.count() >= 1
    for index in range(forms.count()):
        form = page.locator("form.explain-form").nth(index)
        form.locator("textarea").fill(
            "Two children identified in the quarter moved away before the end; they are in their new council's return."
        )
        form.get_by_role("button", name="Save explanation").click()
        page.wait_for_load_state("networkidle")
        assert "Your explanation was saved." in page.content()
    shot(page, "06-query-explained")

    page.get_by_role("button", name="Sign off the return").click()
    page.wait_for_load_state("networkidle")
    assert "The return is signed off" in page.content()
    shot(page, "07-signed-off")

    page.goto(f"{base}/councils/{COUNCIL_A}/periods/{PERIOD}")
    assert page.locator("table").filter(has_text="Every version uploaded").locator("tbody tr").count() == 2
    shot(page, "08-version-history")

    assert tracker_status(analyst, base) == "Signed off"
    shot(analyst, "09-analyst-tracker-after")
    analyst.goto(f"{base}/national/outputs")
    assert f"{PERIOD}/tracker.csv" in analyst.content()
    shot(analyst, "10-analyst-outputs")
    context.close()


def test_pages_work_without_javascript(server: tuple[Server, dict[str, str]], browser: Any, tmp_path: Path) -> None:
    running, emails = server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, running.url, emails["council_b"])
    page.goto(f"{running.url}/councils/E06000002/periods/{PERIOD}")
    assert page.locator(".upload-progress").is_hidden()
    broken = tmp_path / "photo.xlsx"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.set_input_files("#file", str(broken))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_load_state("load")
    summary = page.locator(".error-summary")
    assert summary.count() == 1 and "photo.xlsx" in summary.inner_text()
    shot(page, "11-no-javascript-refused-upload")
    context.close()
