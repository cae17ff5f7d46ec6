"""Attribution before storage (issue 16, item 4): a file whose About names another council than
the uploader's is refused before anything child-level is stored, alike through `lscb submit
--council`, a portal upload (the session's council) and the inbox (the file's name): the uploader
gets one line, nothing of its children reaches any table or any page of the uploader, and the
attempt is audited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from tests.builders import sample_about, sample_activity, sample_child, sample_strategy, write_xlsx_return
from tests.support.portal import COUNCIL_A, COUNCIL_B, build_rig, csrf_token, login

PERIOD = "2025-Q1"
MARKER = "HPLSECRET"  # in every local_child_id of Hartlepool's file


def hartlepools_return(path: Path) -> Path:
    """Hartlepool's own return (About: E06000001), with an error so findings would quote its ids."""
    children = [
        sample_child(1, local_child_id=f"{MARKER}001"),
        sample_child(2, local_child_id=f"{MARKER}002", sex="X"),  # an error: VAL-02 on this child
        sample_child(3, local_child_id=f"{MARKER}003"),
    ]
    activity = sample_activity(children_newly_identified=3, children_open_at_end=3)
    return write_xlsx_return(path, sample_about(), sample_strategy(), activity, children)


def everything_stored(url: str) -> str:
    """Every row of every table, as text."""
    from store.engine import get_engine

    engine = get_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return "\n".join(
            f"{name}: {[tuple(row) for row in connection.execute(select(table))]}"
            for name, table in metadata.tables.items()
        )


def refusals(url: str) -> list[dict[str, Any]]:
    from store.engine import get_engine
    from store.models import AuditEntry

    with get_engine(url).connect() as connection:
        rows = connection.execute(select(AuditEntry).where(AuditEntry.action == "refused")).all()
    return [{"actor": r.actor, "council_code": r.council_code, **(r.detail or {})} for r in rows]


def _detail(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value or "{}")


def assert_refused_and_untraced(url: str, actor: str) -> None:
    from store import list_submissions

    assert list_submissions(COUNCIL_B, PERIOD, engine_or_url=url) == []
    assert list_submissions(COUNCIL_A, PERIOD, engine_or_url=url) == []
    stored = everything_stored(url)
    assert MARKER not in stored
    (audited,) = [r for r in refusals(url) if r["actor"] == actor]
    assert audited["council_code"] == COUNCIL_B
    assert audited["refusal"] == "REF-COUNCIL" and audited["about_council_code"] == COUNCIL_A


def test_lscb_submit_refuses_a_file_naming_another_council(
    migrated_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lscb.cli import main

    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DATABASE_URL", migrated_url)
    monkeypatch.setenv("LSCB_DEMO", "1")
    path = hartlepools_return(tmp_path / "return.xlsx")
    code = main(["submit", str(path), "--council", COUNCIL_B, "--period", PERIOD, "--by", "cli-officer", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["status"] == "refused" and out["refusal"] == "REF-COUNCIL"
    assert out["findings"] == [] and out["submission_id"] is None
    assert "\n" not in out["message"] and "Hartlepool (E06000001)" in out["message"]
    assert "Middlesbrough (E06000002)" in out["message"] and MARKER not in json.dumps(out)
    assert_refused_and_untraced(migrated_url, "cli-officer")


def test_the_portal_refuses_it_and_no_page_of_the_uploader_shows_its_children(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSCB_DEMO", "1")
    rig = build_rig(tmp_path / "var", database_url=migrated_url)
    client = TestClient(rig.app)
    assert login(client, rig.emails["council_b"]).status_code == 303
    path = hartlepools_return(tmp_path / "return.xlsx")
    period_page = f"/councils/{COUNCIL_B}/periods/{PERIOD}"
    with path.open("rb") as handle:
        answer = client.post(
            f"{period_page}/upload",
            data={"csrf_token": csrf_token(client.get(period_page).text)},
            files={"file": ("return.xlsx", handle)},
            follow_redirects=False,
        )
    assert answer.status_code == 422
    assert "a council can only submit its own return" in answer.text and MARKER not in answer.text
    for page in (f"/councils/{COUNCIL_B}", period_page, f"/councils/{COUNCIL_B}/children-to-trace"):
        response = client.get(page)
        assert MARKER not in response.text, page
    assert_refused_and_untraced(migrated_url, rig.emails["council_b"])
    # nor is the file kept where feedback is rebuilt from
    assert [p for p in (tmp_path / "var" / "uploads").rglob("*") if p.is_file()] == []


def test_the_inbox_refuses_a_file_whose_name_claims_another_council(migrated_url: str, tmp_path: Path) -> None:
    from lscb.settings import DEMO_KEY
    from pipeline.inbox import discover, process_inbox_file

    inbox, archive, quarantine = (tmp_path / name for name in ("inbox", "archive", "quarantine"))
    inbox.mkdir()
    shutil.copy(hartlepools_return(tmp_path / "return.xlsx"), inbox / f"{COUNCIL_B}_{PERIOD}.xlsx")
    (item,) = discover(inbox)
    outcome = process_inbox_file(
        item, period=PERIOD, inbox=inbox, archive=archive, quarantine=quarantine,
        engine_or_url=migrated_url, secret=DEMO_KEY,
    )  # fmt: skip
    assert outcome.status == "refused" and "a council can only submit its own return" in outcome.reason
    assert "quarantine" in outcome.moved_to and not archive.exists()
    assert_refused_and_untraced(migrated_url, "inbox")


def test_a_return_for_the_uploaders_own_council_is_stored_as_before(migrated_url: str, tmp_path: Path) -> None:
    from lscb.settings import DEMO_KEY
    from pipeline.receive import submit_file

    outcome = submit_file(
        hartlepools_return(tmp_path / "return.xlsx"), COUNCIL_A, secret=DEMO_KEY, engine_or_url=migrated_url,
        submitted_by="officer", claimed_period=PERIOD,
    )  # fmt: skip
    assert outcome.status == "rejected" and outcome.version == 1  # its own: stored, with its findings
    assert MARKER in everything_stored(migrated_url)
