"""Least privilege for analysts (issue 16, item 5): nothing an analyst can open holds a date of
birth to the day (standard §6). Tested by downloading what an analyst can download: the feedback
workbook and page of a council's stored version, and the version's page."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.builders import sample_about, sample_activity, sample_child, sample_strategy, write_xlsx_return
from tests.support.portal import COUNCIL_A, Rig, build_rig, csrf_token, login

PERIOD = "2025-Q1"
BIRTHS = (date(2010, 5, 17), date(2011, 11, 23), date(2009, 2, 8))


def _day_texts(day: date) -> list[str]:
    return [day.isoformat(), day.strftime("%d/%m/%Y"), f"{day.day}/{day.month}/{day.year}", day.strftime("%d %B %Y")]


@pytest.fixture
def rig(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("LSCB_DEMO", "1")
    return build_rig(tmp_path / "var", database_url=database_url)


def _client(rig: Rig, role: str) -> TestClient:
    client = TestClient(rig.app)
    assert login(client, rig.emails[role]).status_code == 303
    return client


def _stored_version(rig: Rig, tmp_path: Path) -> str:
    children = [
        sample_child(1, date_of_birth=BIRTHS[0]),
        sample_child(2, date_of_birth=BIRTHS[1], sex="X"),  # an error: the copy marks a cell
        sample_child(3, date_of_birth=BIRTHS[2], identified_on=date(2025, 5, 2)),
    ]
    activity = sample_activity(children_newly_identified=3, children_open_at_end=3)
    path = write_xlsx_return(tmp_path / "return.xlsx", sample_about(), sample_strategy(), activity, children)
    client = _client(rig, "council_a")
    page = f"/councils/{COUNCIL_A}/periods/{PERIOD}"
    with path.open("rb") as handle:
        answer = client.post(
            f"{page}/upload",
            data={"csrf_token": csrf_token(client.get(page).text)},
            files={"file": ("return.xlsx", handle)},
            follow_redirects=False,
        )
    assert answer.status_code == 303, answer.text[:300]
    return str(answer.headers["location"]).split("?")[0]


def _cells(content: bytes) -> list[Any]:
    workbook = load_workbook(io.BytesIO(content))
    values: list[Any] = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                values.append(cell.value)
                if cell.comment is not None:
                    values.append(cell.comment.text)
    return values


def _holds_a_birth_day(values: list[Any]) -> list[Any]:
    found = []
    for value in values:
        if isinstance(value, datetime | date):
            day = value.date() if isinstance(value, datetime) else value
            if day in BIRTHS:
                found.append(value)
        elif isinstance(value, str) and any(text in value for day in BIRTHS for text in _day_texts(day)):
            found.append(value)
    return found


def test_an_analyst_downloads_no_date_of_birth_to_the_day(rig: Rig, tmp_path: Path) -> None:
    version = _stored_version(rig, tmp_path)
    analyst = _client(rig, "analyst")
    workbook = analyst.get(f"{version}/feedback.xlsx")
    assert workbook.status_code == 200
    values = _cells(workbook.content)
    assert _holds_a_birth_day(values) == []
    assert {"2010-05", "2011-11", "2009-02"} <= {v for v in values if isinstance(v, str)}  # the month is kept
    page = analyst.get(f"{version}/feedback.html")
    assert page.status_code == 200 and _holds_a_birth_day([page.text]) == []
    assert _holds_a_birth_day([analyst.get(version).text]) == []


def test_the_council_still_gets_its_own_dates_and_no_copy_stays_on_disk(rig: Rig, tmp_path: Path) -> None:
    version = _stored_version(rig, tmp_path)
    council = _client(rig, "council_a")
    workbook = council.get(f"{version}/feedback.xlsx")
    assert workbook.status_code == 200
    assert len(_holds_a_birth_day(_cells(workbook.content))) == len(BIRTHS)  # its own data, as sent
    assert council.get(f"{version}/feedback.html").status_code == 200
    left = [p for p in (tmp_path / "var" / "portal").rglob("*") if p.is_file() and p.name != "secret_key"]
    assert left == []  # built for the request, deleted once sent


def test_month_only_cuts_every_full_date_in_text() -> None:
    from reports.feedback import month_only

    assert month_only("born 2010-05-17, seen 17/05/2010 and 1-5-2010") == "born 2010-05, seen 05/2010 and 05/2010"
    assert month_only("2010-05-17T00:00:00 then 2010-05") == "2010-05 then 2010-05"
    assert month_only("row 12, 3 children") == "row 12, 3 children"
