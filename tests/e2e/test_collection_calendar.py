"""One collection played through the quarterly DAG on its calendar (`dag.test(logical_date=...)`
through `lscb run-quarter --date`), with a real SMTP server on loopback.

2025-Q1 ends 30 June 2025; returns are due by 11 August. Four councils have contacts: A and B
return on time in July (the same child, by UPN, is open in both: a cross-council finding), C's
return has errors, D is silent until after the deadline.
- 28 July (14 days before): A and B are stored and told so, and both hear of the child to trace
  (the provisional compile finds it); A resolves it ("found"); C and D are reminded; a rerun of
  the day sends nothing.
- 8 August (3 days before): C's return is stored with errors (and C told); C and D are reminded.
- 12 August (the day after the deadline): the final compile, announced as the final-compile
  asset; C and D are reminded that the deadline has passed; A's case is still resolved.
- 20 August: D's late return arrives: the tracker shows it received, late; the recompile keeps
  A's case resolved.
No e-mail holds a local_child_id or a child identifier.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.smtp import Mailbox, smtp_server

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2025-Q1"
A, B, C, D = "E06000001", "E06000002", "E06000003", "E06000004"
LONDON = ZoneInfo("Europe/London")
LSCB = str(Path(sys.executable).with_name("lscb"))

pytestmark = pytest.mark.slow


def _lscb(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [LSCB, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    if log is not None:
        log.write_text(completed.stdout + "\n--- stderr\n" + completed.stderr)
    return completed


def _deliver(source: Path, inbox: Path, received: datetime) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / source.name
    target.write_bytes(source.read_bytes())
    os.utime(target, (received.timestamp(), received.timestamp()))


def _tracker(data: Path) -> dict[str, dict[str, str]]:
    with (data / "outputs" / PERIOD / "tracker.csv").open(encoding="utf-8", newline="") as stream:
        return {row["new_la_code"]: row for row in csv.DictReader(stream)}


def _new(mailbox: Mailbox, seen: int) -> list[Any]:
    time.sleep(0.5)  # the server thread hands over what it received
    return mailbox.received[seen:]


def _to(received: list[Any]) -> list[str]:
    return sorted({address.split("@")[1].split(".")[0].upper() for r in received for address in r.recipients})


def test_one_collection_on_its_calendar(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "LSCB_"))}
    env.update(
        HOME=str(tmp_path / "home"), LSCB_DATA_DIR=str(data), LSCB_DEMO="1",
        LSCB_PORTAL_URL="https://portal.example.gov.uk", LSCB_MAIL_FROM="lscb@example.gov.uk",
    )  # fmt: skip
    files = _returns(tmp_path / "returns")
    assert _lscb(env, "db", "upgrade").returncode == 0
    for code in (A, B, C, D):
        address = f"returns@{code.lower()}.example.gov.uk"
        assert _lscb(env, "contacts", "add", "--council", code, "--email", address).returncode == 0
    inbox = data / "inbox"
    _deliver(files[A], inbox, datetime(2025, 7, 10, 9, tzinfo=LONDON))
    _deliver(files[B], inbox, datetime(2025, 7, 21, 15, tzinfo=LONDON))

    with smtp_server() as mailbox:
        env.update(LSCB_SMTP_HOST=mailbox.host, LSCB_SMTP_PORT=str(mailbox.port))

        def day(date: str, name: str) -> dict[str, Any]:
            completed = _lscb(env, "run-quarter", "--date", date, "--json", log=tmp_path / f"{name}.log")
            assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
            return json.loads(completed.stdout[completed.stdout.rindex('{\n  "state"') :])

        first = day("2025-07-28", "minus14")
        assert first["tasks"]["announce_final"] == {"skipped": 1}
        got = _new(mailbox, 0)
        reminders = [r for r in got if "due in 14 days" in r.subject]
        uploads = [r for r in got if "accepted" in r.subject]
        assert _to(reminders) == [C, D] and _to(uploads) == [A, B]
        assert _to([r for r in got if "to trace" in r.subject]) == [A, B]
        (case,) = [c for c in _findings(env, A) if c["rule"] == "X5"]
        assert case["local_child_id"] == "HART-SHARED-02" and case["status"] == "open"
        resolved = _lscb(env, "findings", "resolve", "--id", str(case["id"]), "--council", A,
                         "--resolution", "found", "--note", "Known to both: joint plan agreed")  # fmt: skip
        assert resolved.returncode == 0, resolved.stderr
        seen = len(mailbox.received)

        day("2025-07-28", "minus14-again")
        assert _new(mailbox, seen) == []  # a rerun of the day sends nothing twice

        _deliver(files[C], inbox, datetime(2025, 8, 5, 11, tzinfo=LONDON))
        day("2025-08-08", "minus3")
        got = _new(mailbox, seen)
        assert _to([r for r in got if "due in 3 days" in r.subject]) == [C, D]
        assert _to([r for r in got if "received with errors" in r.subject]) == [C]
        seen = len(mailbox.received)

        final = day("2025-08-12", "final")
        assert final["tasks"]["announce_final"] == {"success": 1}
        got = _new(mailbox, seen)
        assert _to([r for r in got if "has passed" in r.subject]) == [C, D] and len(got) == 2
        (still,) = [c for c in _findings(env, A) if c["rule"] == "X5"]
        assert still["id"] == case["id"] and still["status"] == "resolved"
        tracker = _tracker(data)
        assert tracker[A]["state"] == "accepted" and tracker[A]["late"] == "N"
        assert tracker[C]["state"] == "rejected" and tracker[D]["state"] == "not_received" and tracker[D]["late"] == "Y"
        seen = len(mailbox.received)

        _deliver(files[D], inbox, datetime(2025, 8, 19, 16, tzinfo=LONDON))
        later = day("2025-08-20", "late-return")
        assert later["tasks"]["announce_final"] == {"skipped": 1}
        got = _new(mailbox, seen)
        assert _to(got) == [D] and "after the deadline" in got[0].text()
        tracker = _tracker(data)
        assert tracker[D]["state"] in ("accepted", "accepted_open_queries") and tracker[D]["late"] == "Y"
        (again,) = [c for c in _findings(env, A) if c["rule"] == "X5"]
        assert again["id"] == case["id"] and again["status"] == "resolved"  # the recompile kept it

    # the final compile was announced once, for the period, on the asset the annual DAG waits for
    with sqlite3.connect(data / "airflow" / "airflow.db") as db:
        events = db.execute(
            "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = ?",
            ("lscb-quarterly-final-compile",),
        ).fetchall()
    assert [json.loads(extra) for (extra,) in events] == [{"period": PERIOD}]

    secrets = _local_ids_and_identifiers(files)
    leaks = sorted({s for s in secrets for r in mailbox.received if s in r.text()})
    assert leaks == [] and len(mailbox.received) == 12  # (4 + 2) + 0 + 3 + 2 + 1: nothing twice


def _findings(env: dict[str, str], council: str) -> list[dict[str, Any]]:
    listed = _lscb(env, "findings", "--council", council, "--json")
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def _returns(folder: Path) -> dict[str, Path]:
    """Four councils' returns for 2025-Q1, each written as the template would."""
    import random

    from schemas.register import load_register
    from tests.builders import sample_about, sample_activity, sample_child, sample_strategy, write_xlsx_return
    from tests.support.synthetic import synthetic_upn

    register = load_register()
    shared = synthetic_upn(random.Random("calendar"), "805")  # noqa: S311 - a made-up UPN
    rows = {
        A: [sample_child(1, local_child_id="HART-OWN-01"),
            sample_child(2, local_child_id="HART-SHARED-02", upn=shared, no_id_reason=None)],
        B: [sample_child(7, local_child_id="MIDD-SHARED-07", upn=shared, no_id_reason=None),
            sample_child(8, local_child_id="MIDD-OWN-08")],
        C: [sample_child(1, local_child_id="REDC-OWN-01", sex="X")],  # an error: C is rejected
        D: [sample_child(1, local_child_id="STOC-OWN-01")],
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for code, children in rows.items():
        about = sample_about(council_code=code, la_number=register.get(code).la_number)
        activity = sample_activity(children_newly_identified=len(children), children_open_at_end=len(children))
        out[code] = write_xlsx_return(folder / f"{code}_{PERIOD}.xlsx", about, sample_strategy(), activity, children)
    return out


def _local_ids_and_identifiers(files: dict[str, Path]) -> set[str]:
    from transforms.ingest import read_return

    found: set[str] = set()
    for path in files.values():
        children = read_return(path).sheets["Children"].frame  # type: ignore[union-attr]
        for column in ("local_child_id", "upn", "nhs_number"):
            if column in children.columns:
                found |= {str(v).strip() for v in children[column].dropna() if str(v).strip()}
    return found
