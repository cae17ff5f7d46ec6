"""Portal over the real store (SQLite; PostgreSQL too when available): an upload is a stored
submission at once, exactly as `lscb submit` makes it; results grouped by rule with cells;
explanations, sign-off, feedback files, the tracker; hostile files refused with the CLI's line;
every state change in the store's append-only audit log."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lscb.settings import DEMO_KEY
from tests.support.portal import COUNCIL_A, COUNCIL_B, Rig, build_rig, csrf_token, login

PERIOD = "2025-Q1"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rig(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    return build_rig(tmp_path / "var", database_url=database_url)


def write_return(path: Path, *, error: bool = False, query: bool = True, council: str = COUNCIL_A) -> Path:
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from builders import sample_about, sample_activity, sample_child, sample_strategy, write_xlsx_return

    from schemas.register import load_register

    la = load_register().get(council).la_number
    children = [sample_child(1), sample_child(2, sex="X" if error else "M"), sample_child(3)]
    activity = sample_activity(children_newly_identified=5 if query else 3, children_open_at_end=3)
    about = sample_about(council_code=council, la_number=la)
    return write_xlsx_return(path, about, sample_strategy(), activity, children)


def council_client(rig: Rig, role: str = "council_a") -> TestClient:
    client = TestClient(rig.app)
    assert login(client, rig.emails[role]).status_code == 303
    return client


def upload(client: TestClient, path: Path, council: str = COUNCIL_A, name: str | None = None) -> Any:
    csrf = csrf_token(client.get(f"/councils/{council}/periods/{PERIOD}").text)
    with path.open("rb") as handle:
        return client.post(
            f"/councils/{council}/periods/{PERIOD}/upload",
            data={"csrf_token": csrf},
            files={"file": (name or path.name, handle)},
            follow_redirects=False,
        )


def audit_actions(rig: Rig) -> list[tuple[str, str | None]]:
    from store.models import AuditEntry

    with rig.engine.connect() as connection:
        return [(r.action, r.actor) for r in connection.execute(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_whole_cycle_over_the_store(rig: Rig, tmp_path: Path) -> None:
    from store import current_submission, list_submissions

    client = council_client(rig)
    analyst = council_client(rig, "analyst")
    tracker = analyst.get(f"/national/{PERIOD}").text
    assert f'data-council="{COUNCIL_A}"' in tracker

    rejected = upload(client, write_return(tmp_path / "v1.xlsx", error=True))
    assert rejected.status_code == 303 and "outcome=rejected" in rejected.headers["location"]
    page = client.get(rejected.headers["location"])
    assert "Errors to fix" in page.text and "VAL-02" in page.text and "Children!F3" in page.text
    assert "Save explanation" not in page.text  # a rejected version is fixed, not explained
    stored = list_submissions(COUNCIL_A, PERIOD, engine_or_url=rig.engine)
    assert [s["status"] for s in stored] == ["rejected"]  # stored at once, like `lscb submit`
    assert stored[0]["submitted_by"] == rig.emails["council_a"]

    for fmt, kind in (("xlsx", "spreadsheetml"), ("html", "text/html")):
        feedback = client.get(rejected.headers["location"].split("?")[0] + f"/feedback.{fmt}")
        assert feedback.status_code == 200 and kind in feedback.headers["content-type"]
    assert analyst.get(rejected.headers["location"].split("?")[0] + "/feedback.xlsx").status_code == 200

    accepted = upload(client, write_return(tmp_path / "v2.xlsx"))
    assert "outcome=accepted" in accepted.headers["location"]
    page = client.get(accepted.headers["location"])
    assert "Queries to check" in page.text and "Activity!B2" in page.text and "XS-02" in page.text
    submission_path = accepted.headers["location"].split("?")[0]

    csrf = csrf_token(page.text)
    refused_sign_off = client.post(f"/councils/{COUNCIL_A}/periods/{PERIOD}/sign-off", data={"csrf_token": csrf})
    assert refused_sign_off.status_code == 409 and "unexplained" in refused_sign_off.text

    explained = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/explanations",
        data={"csrf_token": csrf, "rule": "XS-02", "row": "2", "text": "Two children moved away in the quarter."},
        follow_redirects=False,
    )
    assert explained.status_code == 303 and "outcome=explained" in explained.headers["location"]
    assert "Two children moved away in the quarter." in client.get(submission_path).text
    assert "Two children moved away in the quarter." in analyst.get(submission_path).text

    signed = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/sign-off", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert signed.status_code == 303
    current = current_submission(COUNCIL_A, PERIOD, engine_or_url=rig.engine)
    assert current is not None and current["status"] == "signed_off"
    assert current["signed_off_by"] == rig.emails["council_a"]

    row = analyst.get(f"/national/{PERIOD}").text.split(f'data-council="{COUNCIL_A}"')[1].split("</tr>")[0]
    assert "Signed off" in row
    history = client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text
    assert "Version 1" in history and "Version 2" in history

    actions = audit_actions(rig)
    names = [a for a, _ in actions]
    assert names.count("submit") == 2  # both uploads, by the store, in the upload's transaction
    assert "login" in names and "explain" in names and "sign_off" in names
    assert all(actor for _, actor in actions)


def test_the_same_file_twice_is_one_submission(rig: Rig, tmp_path: Path) -> None:
    from store import list_submissions

    client = council_client(rig)
    path = write_return(tmp_path / "r.xlsx")
    first = upload(client, path)
    again = upload(client, path)
    assert "outcome=accepted" in first.headers["location"] and "outcome=duplicate" in again.headers["location"]
    assert first.headers["location"].split("?")[0] == again.headers["location"].split("?")[0]
    assert len(list_submissions(COUNCIL_A, PERIOD, engine_or_url=rig.engine)) == 1
    assert "same as a version you uploaded before" in client.get(again.headers["location"]).text


def test_a_return_for_another_council_is_refused_and_not_stored(rig: Rig, tmp_path: Path) -> None:
    """Council A uploading a file that says it is council B's: refused (REF-COUNCIL), stored for
    neither council (tests/integration/test_attribution.py follows its children everywhere)."""
    from store import list_submissions

    client = council_client(rig)
    response = upload(client, write_return(tmp_path / "b.xlsx", council=COUNCIL_B))
    assert response.status_code == 422 and "a council can only submit its own return" in response.text
    assert list_submissions(COUNCIL_B, PERIOD, engine_or_url=rig.engine) == []
    assert list_submissions(COUNCIL_A, PERIOD, engine_or_url=rig.engine) == []


def _cli_line(rig: Rig, path: Path, council: str, capsys: pytest.CaptureFixture[str]) -> str:
    from lscb.cli import main

    url = rig.engine.url.render_as_string(hide_password=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LSCB_DATABASE_URL", url)
        code = main(["submit", str(path), "--council", council, "--period", PERIOD])
    assert code == 2
    return capsys.readouterr().out.strip().splitlines()[0]


def _zip_bomb(path: Path, member: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, b"0" * (30 * 1024 * 1024))  # 30 MB of zeros: a ratio of ~1000
    return path


@pytest.mark.parametrize("kind", ["png-renamed", "xlsx-zip-bomb", "csv-zip-bomb", "macro", "empty"])
def test_hostile_files_are_refused_with_the_clis_line_and_nothing_stored(
    rig: Rig, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from store import list_submissions

    folder = tmp_path / "hostile"
    folder.mkdir()
    if kind == "png-renamed":
        path = folder / "return.xlsx"
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200)
    elif kind == "xlsx-zip-bomb":
        path = _zip_bomb(folder / "return.xlsx", "xl/worksheets/sheet1.xml")
    elif kind == "csv-zip-bomb":
        path = _zip_bomb(folder / "return.zip", "children.csv")
    elif kind == "macro":
        path = write_return(folder / "return.xlsx")
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    else:
        path = folder / "return.xlsx"
        path.write_bytes(b"")
    client = council_client(rig)
    response = upload(client, path)
    assert response.status_code == 422, response.text[:500]
    summary = response.text.split('class="error-summary"')[1].split("</div>")[0]
    cli = _cli_line(rig, path, COUNCIL_B, capsys)  # the CLI on the same file (another council: no duplicate)
    assert cli.startswith("return.")
    import html

    assert html.escape(cli, quote=True) in summary or cli in html.unescape(summary)
    assert list_submissions(COUNCIL_A, PERIOD, engine_or_url=rig.engine) == []
    assert ("refused", rig.emails["council_a"]) in audit_actions(rig)


def test_upload_size_limit_uses_the_standards_limit(rig: Rig) -> None:
    from schemas.standard import load_standard

    assert rig.settings.max_upload_bytes == load_standard().limits.max_upload_bytes
    client = council_client(rig)
    page = client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text
    assert f'data-max-bytes="{load_standard().limits.max_upload_bytes}"' in page
    too_big = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
        data={"csrf_token": csrf_token(page)},
        files={"file": ("big.xlsx", io.BytesIO(b"PK\x03\x04" + b"\x00" * (load_standard().limits.max_upload_bytes)))},
    )
    assert too_big.status_code == 413 and "is larger than any return could plausibly be" in too_big.text
    assert ("upload_refused", rig.emails["council_a"]) in audit_actions(rig)


def test_sign_ins_are_in_the_stores_audit_log(rig: Rig) -> None:
    assert login(TestClient(rig.app), rig.emails["council_b"], "wrong password 123").status_code == 401
    assert login(TestClient(rig.app), rig.emails["council_b"]).status_code == 303
    actions = audit_actions(rig)
    assert ("login_failed", rig.emails["council_b"]) in actions and ("login", rig.emails["council_b"]) in actions


def test_the_template_is_the_councils_own(rig: Rig) -> None:
    from openpyxl import load_workbook

    client = council_client(rig)
    response = client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}/template.xlsx")
    assert response.status_code == 200
    assert f"lscb-return-{COUNCIL_A}-{PERIOD}.xlsx" in response.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=2, values_only=True)}
    assert about["council_code"] == COUNCIL_A and about["period"] == PERIOD
    assert client.get(f"/councils/{COUNCIL_B}/periods/{PERIOD}/template.xlsx").status_code == 404


def test_analyst_outputs_are_served_read_only_from_the_outputs_location(rig: Rig, tmp_path: Path) -> None:
    out = rig.settings.outputs_dir / PERIOD
    out.mkdir(parents=True)
    (out / "league_tables.csv").write_text("council_code,rank\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not an output", encoding="utf-8")
    (out / "link.txt").symlink_to(tmp_path / "secret.txt")
    analyst = council_client(rig, "analyst")
    listing = analyst.get("/national/outputs").text
    assert f"{PERIOD}/league_tables.csv" in listing and "link.txt" not in listing
    got = analyst.get(f"/national/outputs/{PERIOD}/league_tables.csv")
    assert (
        got.status_code == 200
        and got.text == "council_code,rank\n"
        and "attachment" in got.headers["content-disposition"]
    )
    for sneaky in (f"{PERIOD}/link.txt", "../secret.txt", "..%2Fsecret.txt", f"{PERIOD}/../../secret.txt"):
        response = analyst.get(f"/national/outputs/{sneaky}")
        assert response.status_code == 404 and "not an output" not in response.text, sneaky
    assert analyst.post(f"/national/outputs/{PERIOD}/league_tables.csv").status_code == 405


def test_the_outputs_page_lists_what_was_published_quarterly_and_annually_never_the_staging(rig: Rig) -> None:
    staging = rig.settings.outputs_dir / ".staging" / PERIOD
    staging.mkdir(parents=True)
    (staging / "tracker.csv").write_text("unaudited\n", encoding="utf-8")
    annual = rig.settings.annual_dir / "2025-26"
    annual.mkdir(parents=True)
    (annual / "lscb-annual-2025-26.html").write_text("<!doctype html><title>report</title>", encoding="utf-8")
    analyst = council_client(rig, "analyst")
    listing = analyst.get("/national/outputs").text
    assert "annual/2025-26/lscb-annual-2025-26.html" in listing and ".staging" not in listing
    assert analyst.get("/national/outputs/annual/2025-26/lscb-annual-2025-26.html").status_code == 200
    assert analyst.get(f"/national/outputs/.staging/{PERIOD}/tracker.csv").status_code == 404
    assert analyst.get("/national/outputs/annual/../outputs/x").status_code == 404
    assert council_client(rig).get("/national/outputs/annual/2025-26/lscb-annual-2025-26.html").status_code == 404


def test_validator_processes_store_uploads_and_survive_a_killed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads checked in separate validator processes (the server's default) are stored exactly
    as in-process ones; a validator killed mid-store stores nothing, the officer is told to upload
    again, and the next upload works (a fresh pool)."""
    import os
    import signal
    import time

    from portal.services import ServiceError
    from portal.store_service import StoreService
    from store import list_submissions
    from store.engine import get_engine
    from store.migrate import ensure_current
    from tests.support.fault import PAUSE_AFTER_ENV, PAUSE_MARKER_ENV, pausing_validator

    url = f"sqlite:///{tmp_path / 'lscb.sqlite'}"
    engine = get_engine(url)
    ensure_current(engine)
    service = StoreService(engine, tmp_path / "uploads", secret=DEMO_KEY, validators=1)
    service.initializer = pausing_validator
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from builders import children_rows, sample_about, sample_activity, sample_strategy, write_xlsx_return

    big = write_xlsx_return(
        tmp_path / "big.xlsx",
        sample_about(),
        sample_strategy(),
        sample_activity(children_newly_identified=1200, children_open_at_end=1200),
        children_rows(1200),
    )
    marker = tmp_path / "paused.pid"
    monkeypatch.setenv(PAUSE_AFTER_ENV, "1000")  # the validator process pauses after 1,000 child rows
    monkeypatch.setenv(PAUSE_MARKER_ENV, str(marker))
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as caller:
            pending = caller.submit(
                service.submit,
                big,
                COUNCIL_A,
                submitted_by="a@b.gov.uk",
                claimed_period=PERIOD,
                display_name="big.xlsx",
            )
            deadline = time.monotonic() + 120
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert marker.exists(), "the validator process never reached the pause"
            os.kill(int(marker.read_text()), signal.SIGKILL)
            with pytest.raises(ServiceError, match="nothing was stored"):
                pending.result(timeout=60)
        assert list_submissions(COUNCIL_A, PERIOD, engine_or_url=engine) == []
        monkeypatch.delenv(PAUSE_AFTER_ENV)
        outcome = service.submit(
            write_return(tmp_path / "ok.xlsx"),
            COUNCIL_A,
            submitted_by="a@b.gov.uk",
            claimed_period=PERIOD,
            display_name="ok.xlsx",
        )
        assert outcome.status in ("accepted", "signed_off") and outcome.version == 1
        assert [s["version"] for s in list_submissions(COUNCIL_A, PERIOD, engine_or_url=engine)] == [1]
    finally:
        service.close()


def test_an_upload_is_mailed_to_the_uploader_and_the_councils_contacts(rig: Rig, tmp_path: Path) -> None:
    """After the answer: the officer who uploaded and the council's contacts hear the outcome
    (counts and a link, nothing about any child), once per upload."""
    from lscb.mail import SmtpMailer
    from store.chasing import add_contact
    from tests.support.smtp import smtp_server

    add_contact(rig.engine, COUNCIL_A, "returns@hartlepool.example.gov.uk", name="Returns team", by="admin")
    with smtp_server() as mailbox:
        service = rig.service
        service.mailer = SmtpMailer(mailbox.host, mailbox.port, sender="lscb@example.gov.uk")  # type: ignore[attr-defined]
        service.portal_url = "https://portal.example.gov.uk"  # type: ignore[attr-defined]
        client = council_client(rig)
        sent = write_return(tmp_path / "v1.xlsx", error=True)
        answer = upload(client, sent)
        assert answer.status_code == 303
        upload(client, sent)  # the same bytes again: a duplicate
    (first,) = mailbox.received  # the duplicate stored nothing new, and is told nothing new
    assert sorted(first.recipients) == ["officer@hartlepool.example.gov.uk", "returns@hartlepool.example.gov.uk"]
    assert "received with errors" in first.subject and "1 error" in first.text()
    assert "https://portal.example.gov.uk/councils/E06000001/submissions/" in first.text()
    for local_child_id in ("C00001", "C00002", "C00003"):
        assert all(local_child_id not in received.text() for received in mailbox.received)


def test_administrators_manage_council_contacts(rig: Rig) -> None:
    from store.chasing import contacts

    admin = council_client(rig, "admin")
    page = admin.get("/admin/contacts")
    assert page.status_code == 200 and "No contacts yet" in page.text
    csrf = csrf_token(page.text)
    added = admin.post("/admin/contacts", data={"csrf_token": csrf, "council_code": COUNCIL_B,
                                                 "email": "Returns@Middlesbrough.example.gov.uk", "name": "Returns"},
                       follow_redirects=False)  # fmt: skip
    assert added.status_code == 303
    assert [c.email for c in contacts(rig.engine, COUNCIL_B)] == ["returns@middlesbrough.example.gov.uk"]
    assert "returns@middlesbrough.example.gov.uk" in admin.get("/admin/contacts").text
    bad = admin.post("/admin/contacts", data={"csrf_token": csrf, "council_code": COUNCIL_B, "email": "nobody"})
    assert bad.status_code == 400 and "is not an e-mail address" in bad.text
    forged = admin.post("/admin/contacts", data={"council_code": COUNCIL_B, "email": "x@y.gov.uk"})
    assert forged.status_code == 403
    removed = admin.post("/admin/contacts/remove", data={"csrf_token": csrf, "council_code": COUNCIL_B,
                                                         "email": "returns@middlesbrough.example.gov.uk"},
                         follow_redirects=False)  # fmt: skip
    assert removed.status_code == 303 and contacts(rig.engine, COUNCIL_B) == []
    for role in ("council_a", "analyst"):
        assert council_client(rig, role).get("/admin/contacts").status_code == 404
