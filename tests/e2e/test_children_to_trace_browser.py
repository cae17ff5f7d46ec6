"""Children to trace in a real browser (headless Chromium through Playwright) against `uvicorn`
serving the real store: returns for three councils are stored and compiled first (the X1 of a
child Hartlepool closed as moved to Middlesbrough, which never reported it), then

- Hartlepool, the sending council, acknowledges the case with a note;
- Middlesbrough, the receiving council, which holds no record of the child, sees what to look for
  (who closed the child, when, month of birth, sex) and never Hartlepool's id, and resolves the
  case as found and recorded;
- an analyst sees it resolved, on the national summary and on Hartlepool's page.

Screenshots go to `var/screenshots/portal/trace-*.png`; axe finds no serious or critical
accessibility violation on the two new pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, shot, sign_in

from lscb.settings import DEMO_KEY
from tests.support.portal import Server, default_database_url, prepare_database
from tests.support.tracing import A_IDS, Q1, TODAY, A, B, build_world

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    from store.engine import dispose_engines

    data_dir = tmp_path_factory.mktemp("portal-tracing") / "var"
    emails = prepare_database(data_dir)
    world = build_world(default_database_url(data_dir), data_dir / "world", DEMO_KEY)
    world.compile(Q1, TODAY)
    dispose_engines()  # the server has the database to itself
    with Server(data_dir) as running:
        yield running, emails


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def serious_violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v.get("impact"), "help": v["help"]}
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_two_councils_follow_a_lost_child_up_and_the_analyst_sees_it_resolved(
    server: tuple[Server, dict[str, str]], browser: Any
) -> None:
    running, emails = server
    base = running.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Hartlepool, which closed the child as moved to Middlesbrough, acknowledges the case
    sending = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    sign_in(sending, base, emails["council_a"])
    sending.get_by_role("link", name="Children to trace").click()
    sending.wait_for_load_state("networkidle")
    assert sending.url.endswith(f"/councils/{A}/children-to-trace")
    assert serious_violations(sending) == []
    ours = sending.locator("section.trace-case", has_text="HART-LOST-01")
    assert ours.count() == 1 and ours.get_attribute("data-status") == "open"
    case_id = ours.get_attribute("data-case")
    assert "Middlesbrough (E06000002)" in ours.inner_text()
    shot(sending, "trace-01-sending-council-open")
    ours.get_by_label("Note for the other council (optional)").fill(
        "Moved with her mother in June; the new school is asking for her records."
    )
    ours.get_by_role("button", name="Acknowledge").click()
    sending.wait_for_load_state("networkidle")
    assert "The case is acknowledged" in sending.content()
    assert sending.locator(f'section[data-case="{case_id}"]').get_attribute("data-status") == "acknowledged"
    shot(sending, "trace-02-sending-council-acknowledged")

    # Middlesbrough holds no record of the child: it sees what to look for, never Hartlepool's id
    receiving = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(receiving, base, emails["council_b"])
    receiving.goto(f"{base}/councils/{B}/children-to-trace")
    theirs = receiving.locator(f'section[data-case="{case_id}"]')
    assert theirs.get_attribute("data-status") == "acknowledged"
    text = theirs.inner_text()
    assert "You hold no record of this child" in text and "Hartlepool (E06000001)" in text
    look_for = theirs.locator("[data-look-for]").inner_text()
    assert "10 June 2025" in look_for and "March 2011" in look_for and "male" in look_for
    assert "Moved with her mother in June" in text
    assert not any(own in receiving.content() for own in A_IDS)
    shot(receiving, "trace-03-receiving-council-what-to-look-for")
    theirs.get_by_label("Found and recorded").check()
    theirs.get_by_label('Note (needed for "Other")').fill("She started at a Middlesbrough school; now open to us.")
    theirs.get_by_role("button", name="Resolve").click()
    receiving.wait_for_load_state("networkidle")
    assert "The case is resolved" in receiving.content()
    resolved = receiving.locator(f'section[data-case="{case_id}"]')
    assert resolved.get_attribute("data-status") == "resolved"
    assert "Found and recorded" in resolved.locator("[data-resolution]").inner_text()
    assert not any(own in receiving.content() for own in A_IDS)
    shot(receiving, "trace-04-receiving-council-resolved")

    # the analyst sees it resolved, nationally and on Hartlepool's page (read only)
    analyst = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    sign_in(analyst, base, emails["analyst"])
    analyst.get_by_role("link", name="Children to trace").click()
    analyst.wait_for_load_state("networkidle")
    assert analyst.url.endswith("/national/children-to-trace")
    assert serious_violations(analyst) == []
    pair = analyst.locator(f'tr[data-pair="{A}-{B}"]')
    assert pair.locator('td[data-column="resolved"]').inner_text().strip() == "1"
    assert analyst.locator(f'tr[data-council="{B}"] td[data-column="resolved"]').inner_text().strip() == "1"
    shot(analyst, "trace-05-analyst-national-summary")
    analyst.locator(f'tr[data-council="{A}"] a').click()
    analyst.wait_for_load_state("networkidle")
    seen = analyst.locator(f'section[data-case="{case_id}"]')
    assert seen.get_attribute("data-status") == "resolved"
    assert "Found and recorded" in seen.inner_text() and "officer@middlesbrough.example.gov.uk" in seen.inner_text()
    assert analyst.get_by_role("button", name="Resolve").count() == 0  # analysts read, they do not act
    shot(analyst, "trace-06-analyst-council-page")

    # and Hartlepool sees how it ended
    sending.reload()
    assert sending.locator(f'section[data-case="{case_id}"]').get_attribute("data-status") == "resolved"
    assert Path(SCREENSHOTS / "trace-06-analyst-council-page.png").is_file()
