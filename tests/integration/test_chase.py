"""Chasing councils through a real SMTP server on loopback: reminders 14 and 3 days before the
deadline and the day after it reach exactly the councils without an accepted return, the
uploader hears what became of an upload, a rerun sends nothing twice, a failed send is sent
again, and no e-mail ever holds a child identifier or a local_child_id."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lscb.cli import main
from lscb.mail import SmtpMailer
from pipeline.chase import notify_upload, reminder_due, send_reminders
from pipeline.receive import store_validated
from schemas.calendar import Period
from store.chasing import add_contact, contacts, message_log, remove_contact
from store.engine import get_engine
from store.queries import StoreError
from tests.support.smtp import Mailbox, smtp_server
from tests.support.synthetic import raw_identifiers, synthetic_result

PERIOD = Period.parse("2025-Q1")  # deadline 11 August 2025
ACCEPTED, REJECTED, SILENT, NO_CONTACT = "E06000001", "E06000002", "E06000003", "E06000004"
PORTAL = "https://portal.example.gov.uk"
SECRET = b"chase test secret"


@pytest.fixture
def mailbox() -> Any:
    with smtp_server() as box:
        yield box


@pytest.fixture
def chase_db(migrated_url: str) -> dict[str, Any]:
    engine = get_engine(migrated_url)
    results = {
        ACCEPTED: synthetic_result(ACCEPTED, PERIOD.code, children=6, seed=1),
        REJECTED: synthetic_result(REJECTED, PERIOD.code, children=6, seed=2, errors=1),
    }
    for code, result in results.items():
        store_validated(result, code, secret=SECRET, engine_or_url=engine, submitted_by="officer",
                        received_at=datetime(2025, 7, 20, 9, tzinfo=UTC))  # fmt: skip
    for code in (ACCEPTED, REJECTED, SILENT):
        add_contact(engine, code, f"data.team@{code.lower()}.example.gov.uk", name="Data team", by="admin")
    add_contact(engine, SILENT, "Chair@" + SILENT.lower() + ".example.gov.uk", name=None, by="admin")
    return {"engine": engine, "results": results, "url": migrated_url}


def _mailer(box: Mailbox) -> SmtpMailer:
    return SmtpMailer(box.host, box.port, sender="lscb-returns@example.gov.uk")


def _leaks(box: Mailbox, results: dict[str, Any]) -> list[str]:
    """Every local_child_id and raw identifier of the stored returns found in any e-mail."""
    secrets: set[str] = set()
    for result in results.values():
        secrets |= {str(v) for v in result.typed.children["local_child_id"]}
        secrets |= set(raw_identifiers(result))
    return sorted(s for s in secrets for received in box.received if s and s in received.text())


def test_reminder_days_are_14_and_3_days_before_and_the_day_after_the_deadline() -> None:
    assert reminder_due(date(2025, 7, 28)) == (PERIOD, -14)
    assert reminder_due(date(2025, 8, 8)) == (PERIOD, -3)
    assert reminder_due(date(2025, 8, 12)) == (PERIOD, 1)
    assert reminder_due(date(2025, 8, 11)) is None and reminder_due(date(2025, 7, 29)) is None


def test_reminders_reach_exactly_the_councils_without_an_accepted_return(
    chase_db: dict[str, Any], mailbox: Mailbox
) -> None:
    engine = chase_db["engine"]
    for day, offset in ((date(2025, 7, 28), -14), (date(2025, 8, 8), -3), (date(2025, 8, 12), 1)):
        before = len(mailbox.received)
        outcome = send_reminders(engine, day, _mailer(mailbox), portal_url=PORTAL)
        assert outcome.period == PERIOD.code
        assert sorted(outcome.sent) == [REJECTED, SILENT]
        assert NO_CONTACT in outcome.no_contact and ACCEPTED not in outcome.no_contact + outcome.sent
        new = mailbox.received[before:]
        assert sorted(a for r in new for a in r.recipients) == sorted(
            [f"data.team@{REJECTED.lower()}.example.gov.uk", f"data.team@{SILENT.lower()}.example.gov.uk",
             f"chair@{SILENT.lower()}.example.gov.uk"]
        )  # fmt: skip
        (to_rejected,) = [r for r in new if REJECTED.lower() in r.recipients[0]]
        assert "has errors" in to_rejected.text()
        assert f"{PORTAL}/councils/{REJECTED}/periods/{PERIOD.code}" in to_rejected.text()
        wording = "due in 14 days" if offset == -14 else "due in 3 days" if offset == -3 else "has passed"
        assert all(wording in r.subject for r in new)
        assert all(r.message.get_content_type() == "multipart/alternative" for r in new)
    # a rerun of any day sends nothing new
    again = send_reminders(engine, date(2025, 8, 8), _mailer(mailbox), portal_url=PORTAL)
    assert again.sent == [] and sorted(again.already_sent) == [REJECTED, SILENT]
    assert len(mailbox.received) == 6
    assert send_reminders(engine, date(2025, 8, 9), _mailer(mailbox), portal_url=PORTAL).period is None
    log = message_log(engine, kind="reminder")
    assert len(log) == 6 and {m.status for m in log} == {"sent"}
    assert _leaks(mailbox, chase_db["results"]) == []


def test_a_failed_send_is_recorded_and_sent_by_the_next_run(chase_db: dict[str, Any], mailbox: Mailbox) -> None:
    engine = chase_db["engine"]
    down = SmtpMailer("127.0.0.1", 9, sender="lscb-returns@example.gov.uk", timeout=2)  # nothing listens on 9
    failed = send_reminders(engine, date(2025, 7, 28), down, portal_url=PORTAL)
    assert sorted(failed.failed) == [REJECTED, SILENT] and failed.sent == []
    assert {m.status for m in message_log(engine)} == {"failed"}
    retried = send_reminders(engine, date(2025, 7, 28), _mailer(mailbox), portal_url=PORTAL)
    assert sorted(retried.sent) == [REJECTED, SILENT] and len(mailbox.received) == 2


def test_the_uploader_hears_what_became_of_an_upload(chase_db: dict[str, Any], mailbox: Mailbox) -> None:
    engine = chase_db["engine"]
    notify_upload(engine, _mailer(mailbox), council_code=REJECTED, status="rejected", reference="41",
                  portal_url=PORTAL, period=PERIOD.code, version=2, errors=3, queries=1, submission_id=41,
                  uploader="officer@e06000002.example.gov.uk")  # fmt: skip
    macros = "The workbook contains macros (.xlsm or a VBA project); save it as a plain .xlsx workbook."
    notify_upload(engine, _mailer(mailbox), council_code=ACCEPTED, status="refused", reference="ab12",
                  portal_url=PORTAL, file_name="return.xlsm", reason=macros)  # fmt: skip
    rejected, refused = mailbox.received
    assert sorted(rejected.recipients) == ["data.team@e06000002.example.gov.uk", "officer@e06000002.example.gov.uk"]
    assert "3 errors" in rejected.text() and f"{PORTAL}/councils/{REJECTED}/submissions/41" in rejected.text()
    assert "could not be read" in refused.subject and "macros" in refused.text()
    notify_upload(engine, _mailer(mailbox), council_code=REJECTED, status="rejected", reference="41",
                  portal_url=PORTAL, period=PERIOD.code, version=2, errors=3, queries=1, submission_id=41)  # fmt: skip
    assert len(mailbox.received) == 2  # the same upload is told once


def test_contacts_are_managed_and_checked(chase_db: dict[str, Any]) -> None:
    engine = chase_db["engine"]
    with pytest.raises(StoreError, match="not an e-mail address"):
        add_contact(engine, ACCEPTED, "not an address", name=None, by="admin")
    with pytest.raises(StoreError, match="not the GSS code"):
        add_contact(engine, "E06999999", "a@b.gov.uk", name=None, by="admin")
    remove_contact(engine, SILENT, "chair@e06000003.example.gov.uk", by="admin")
    assert [c.email for c in contacts(engine, SILENT)] == ["data.team@e06000003.example.gov.uk"]
    with pytest.raises(StoreError, match="is not a contact"):
        remove_contact(engine, SILENT, "chair@e06000003.example.gov.uk", by="admin")


def test_cli_contacts_and_chase(
    chase_db: dict[str, Any], mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("LSCB_DATABASE_URL", chase_db["url"])
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_SMTP_HOST", mailbox.host)
    monkeypatch.setenv("LSCB_SMTP_PORT", str(mailbox.port))
    assert main(["contacts", "add", "--council", NO_CONTACT, "--email", "team@e06000004.example.gov.uk"]) == 0
    capsys.readouterr()
    assert main(["contacts", "list", "--council", NO_CONTACT, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["email"] for c in listed] == ["team@e06000004.example.gov.uk"]
    assert main(["chase", "--date", "2025-07-28", "--json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["sent"] == 3 and NO_CONTACT not in outcome["no_contact"]
    assert main(["chase", "--date", "2025-07-28"]) == 0
    assert "0 sent, 3 already sent" in capsys.readouterr().out
    assert main(["chase", "--date", "2025-07-29"]) == 0
    assert "no reminders are due" in capsys.readouterr().out
    assert main(["chase", "--date", "tomorrow"]) == 2


def test_without_a_mail_server_messages_go_to_the_outbox(chase_db: dict[str, Any], tmp_path: Path) -> None:
    from lscb.mail import OutboxMailer

    outbox = tmp_path / "outbox"
    mailer = OutboxMailer(outbox, "lscb@localhost")
    outcome = send_reminders(chase_db["engine"], date(2025, 7, 28), mailer, portal_url=PORTAL)
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == len(outcome.sent) == 2
    assert all(oct(path.stat().st_mode & 0o777) == "0o600" for path in files)


def test_both_councils_hear_of_a_new_cross_council_finding_once_and_without_any_id(
    database_url: str, tmp_path: Path, mailbox: Mailbox
) -> None:
    """After a compile, each council a new case concerns (both for X1, X3 and X5; the sending one
    for X2; the receiving one for X4) gets one e-mail with counts and a link; the next day's
    compile finds nothing new and sends nothing; no local_child_id of either council is in it."""
    from lscb.settings import DEMO_KEY
    from pipeline.chase import notify_new_findings
    from tests.support.tracing import A_IDS, B_IDS, TODAY, A, B, C, build_world

    world = build_world(database_url, tmp_path, DEMO_KEY)
    engine = get_engine(database_url)
    for code in (A, B, C):
        add_contact(engine, code, f"trace@{code.lower()}.example.gov.uk", name=None, by="admin")
    world.compile("2025-Q1", TODAY)
    told = notify_new_findings(engine, TODAY, _mailer(mailbox), portal_url=PORTAL)
    assert sorted(told.sent) == [A, B, C]
    by_council = {r.recipients[0].split("@")[1].split(".")[0].upper(): r for r in mailbox.received}
    assert "children to trace" in by_council[A].subject
    assert f"{PORTAL}/councils/{A}/children-to-trace" in by_council[A].text()
    assert "Middlesbrough" in by_council[A].text() and "Lost in transfer" in by_council[A].text()
    for received in mailbox.received:
        assert not [i for i in (*A_IDS, *B_IDS) if i in received.text()]
    world.compile("2025-Q1", TODAY + timedelta(days=1))
    again = notify_new_findings(engine, TODAY + timedelta(days=1), _mailer(mailbox), portal_url=PORTAL)
    assert again.sent == [] and len(mailbox.received) == 3
    rerun = notify_new_findings(engine, TODAY, _mailer(mailbox), portal_url=PORTAL)
    assert rerun.sent == [] and sorted(rerun.already_sent) == [A, B, C]
