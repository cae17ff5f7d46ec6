"""Raw files at rest (issue 16, item 7): portal uploads and the inbox archive are sealed with a
key from the settings, mode 0600; the quarantine keeps the reason and the hash, never the file;
retention deletes what is due and nothing else. Tested by reading every byte left on disk
(zip members decompressed: an .xlsx hides its text in deflated XML)."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import stat
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lscb.settings import DEMO_KEY, Settings
from pipeline.inbox import discover, process_inbox_file
from pipeline.raw_files import purge_due, purge_raw_files
from schemas.calendar import Period
from tests.builders import children_rows, sample_about, sample_activity, sample_strategy, write_xlsx_return
from tests.support.portal import COUNCIL_A, build_rig, csrf_token, login
from tests.support.synthetic import synthetic_nhs_number, synthetic_upn
from transforms.checksum import bytes_checksum, file_checksum
from transforms.sealing import FileSealer, SealError, generate_key, is_sealed

PERIOD = "2025-Q1"


def write_return_with_identifiers(path: Path, *, seed: int, **about: Any) -> list[str]:
    """A return whose children carry UPNs and NHS numbers; returns them (as typed)."""
    rng = random.Random(seed)  # noqa: S311 - made-up data
    rows = children_rows(6)
    raw: list[str] = []
    for row in rows:
        row["upn"], row["nhs_number"], row["no_id_reason"] = synthetic_upn(rng, "805"), synthetic_nhs_number(rng), None
        raw += [row["upn"], row["nhs_number"]]
    activity = sample_activity(children_newly_identified=6, children_open_at_end=6)
    write_xlsx_return(path, sample_about(**about), sample_strategy(), activity, rows)
    return raw


def readable_bytes(path: Path) -> list[bytes]:
    """The file's bytes, and when it is a zip (xlsx, csv bundle) every member decompressed."""
    content = path.read_bytes()
    found = [content]
    if zipfile.is_zipfile(io.BytesIO(content)):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            found += [archive.read(member) for member in archive.namelist()]
    return found


def plaintext_identifiers(root: Path, identifiers: list[str]) -> list[tuple[str, str]]:
    return [
        (str(path), value)
        for path in root.rglob("*")
        if path.is_file()
        for content in readable_bytes(path)
        for value in identifiers
        if value.encode() in content
    ]


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# ---- sealing ---------------------------------------------------------------------------------------


def test_a_sealed_file_opens_only_with_its_key_and_keys_rotate() -> None:
    old, new = generate_key(), generate_key()
    sealed = FileSealer.from_keys([old]).seal(b"PK\x03\x04 a return")
    assert is_sealed(sealed) and b"a return" not in sealed
    assert FileSealer.from_keys([new, old]).open(sealed) == b"PK\x03\x04 a return"  # rotated: the old still opens
    with pytest.raises(SealError):
        FileSealer.from_keys([new]).open(sealed)
    with pytest.raises(SealError):
        FileSealer.from_keys(["not a key"])


def test_the_files_key_comes_from_the_settings_and_the_demo_key_still_works() -> None:
    demo = Settings(demo=True).files_sealer()
    assert Settings(demo=True).files_sealer().open(demo.seal(b"x")) == b"x"  # derived, the same every run
    assert demo.open(FileSealer.derived(DEMO_KEY, "demo").seal(b"y")) == b"y"
    key = generate_key()
    own = Settings(demo=True, files_key=key).files_sealer()
    assert FileSealer.from_keys([key]).open(own.seal(b"z")) == b"z"
    with pytest.raises(SealError):
        demo.open(own.seal(b"z"))
    from lscb.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        Settings(demo=True, files_key="not a key").files_sealer()


# ---- the inbox -------------------------------------------------------------------------------------


def test_no_plaintext_identifier_is_left_by_the_inbox_and_what_is_kept_is_sealed_0600(
    migrated_url: str, tmp_path: Path
) -> None:
    inbox, archive, quarantine = (tmp_path / name for name in ("inbox", "archive", "quarantine"))
    inbox.mkdir()
    identifiers = write_return_with_identifiers(inbox / f"{COUNCIL_A}_{PERIOD}.xlsx", seed=1)
    identifiers += write_return_with_identifiers(inbox / f"E06000002_{PERIOD}.xlsx", seed=2)  # Hartlepool's
    accepted_checksum = file_checksum(inbox / f"{COUNCIL_A}_{PERIOD}.xlsx")[0]
    (inbox / f"E06000003_{PERIOD}.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + identifiers[0].encode())  # hostile
    sealer = Settings(demo=True).files_sealer()
    outcomes = {
        item.name: process_inbox_file(
            item, period=PERIOD, inbox=inbox, archive=archive, quarantine=quarantine,
            engine_or_url=migrated_url, secret=DEMO_KEY, sealer=sealer,
        )
        for item in discover(inbox)
    }  # fmt: skip
    assert [o.status for o in outcomes.values()] == ["accepted", "refused", "refused"]
    assert list(inbox.iterdir()) == []
    assert plaintext_identifiers(tmp_path, identifiers) == []
    kept = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".sqlite" and "sqlite" not in p.name]
    assert kept and all(private(p) for p in kept), [(p, oct(p.stat().st_mode)) for p in kept]
    (sealed,) = (archive / PERIOD).iterdir()
    assert sealed.name == f"{COUNCIL_A}_{PERIOD}.xlsx.sealed"
    assert bytes_checksum(sealer.open(sealed.read_bytes())) == accepted_checksum
    reasons = sorted(p.name for p in (quarantine / PERIOD).iterdir())
    assert reasons == [f"E06000002_{PERIOD}.xlsx.reason.txt", f"E06000003_{PERIOD}.xlsx.reason.txt"]  # no file
    assert "sha256: " in (quarantine / PERIOD / reasons[1]).read_text()
    # a rerun finds everything where it was filed: the sealed archive opened, the reasons read
    again = [
        process_inbox_file(
            item, period=PERIOD, inbox=inbox, archive=archive, quarantine=quarantine,
            engine_or_url=migrated_url, secret=DEMO_KEY, sealer=sealer,
        )
        for item in (o for o in _items(outcomes))
    ]  # fmt: skip
    assert [(o.status, o.reprocessed) for o in again] == [("duplicate", True), ("refused", True), ("refused", True)]
    assert plaintext_identifiers(tmp_path, identifiers) == []


def _items(outcomes: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": o.name, "council_code": o.council_code, "claimed_period": PERIOD, "checksum": o.checksum,
         "size": 0, "received_at": ""}
        for o in outcomes.values()
    ]  # fmt: skip


# ---- the portal ------------------------------------------------------------------------------------


def test_a_portal_upload_is_kept_sealed_0600_and_its_feedback_still_opens(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSCB_DEMO", "1")
    rig = build_rig(tmp_path / "var", database_url=migrated_url)
    client = TestClient(rig.app)
    assert login(client, rig.emails["council_a"]).status_code == 303
    identifiers = write_return_with_identifiers(tmp_path / "return.xlsx", seed=3)
    shutil.copy(tmp_path / "return.xlsx", tmp_path / "hostile.xlsx")
    with zipfile.ZipFile(tmp_path / "hostile.xlsx", "a") as archive:  # refused: macros
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    page = f"/councils/{COUNCIL_A}/periods/{PERIOD}"
    answers = []
    for name in ("return.xlsx", "hostile.xlsx"):
        with (tmp_path / name).open("rb") as handle:
            answers.append(
                client.post(
                    f"{page}/upload",
                    data={"csrf_token": csrf_token(client.get(page).text)},
                    files={"file": (name, handle)},
                    follow_redirects=False,
                )
            )
    assert [a.status_code for a in answers] == [303, 422]
    kept = [p for p in (tmp_path / "var" / "uploads").rglob("*") if p.is_file()]
    assert len(kept) == 1 and kept[0].name.endswith(".xlsx.sealed") and private(kept[0])
    assert is_sealed(kept[0].read_bytes())
    for held in (tmp_path / "var").rglob("*"):
        if held.is_file() and "sqlite" not in held.name:
            assert not [v for c in readable_bytes(held) for v in identifiers if v.encode() in c], held
    version = answers[0].headers["location"].split("?")[0]
    feedback = client.get(f"{version}/feedback.xlsx")
    assert feedback.status_code == 200 and zipfile.is_zipfile(io.BytesIO(feedback.content))
    assert [p for p in (tmp_path / "var" / "uploads").rglob("*") if p.is_file()] == kept  # no plaintext copy left


# ---- retention -------------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, Path]:
    files = {
        "old upload": root / "uploads" / COUNCIL_A / "2024-Q1" / "abc.xlsx.sealed",
        "old archive": root / "archive" / "2024-Q1" / "E06000001_2024-Q1.xlsx.sealed",
        "old reason": root / "quarantine" / "2024-Q1" / "E06000002_2024-Q1.xlsx.reason.txt",
        "new upload": root / "uploads" / COUNCIL_A / "2025-Q1" / "def.xlsx.sealed",
        "new archive": root / "archive" / "2025-Q1" / "E06000001_2025-Q1.xlsx.sealed",
        "new reason": root / "quarantine" / "2025-Q1" / "E06000009_2025-Q1.xlsx.reason.txt",
        "not a period": root / "archive" / "notes" / "readme.txt",
        "stale incoming": root / "uploads" / COUNCIL_A / "2025-Q1" / ".incoming-0123456789abcdef",
        "fresh incoming": root / "uploads" / COUNCIL_A / "2025-Q1" / ".incoming-fedcba9876543210",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return files


def test_retention_deletes_what_is_due_and_nothing_else(tmp_path: Path) -> None:
    files = _tree(tmp_path)
    old, new = Period.parse("2024-Q1"), Period.parse(PERIOD)
    today = old.final_compile_day + timedelta(days=31)
    assert purge_due(old, today, 30) and not purge_due(new, today, 30)
    assert not purge_due(old, old.final_compile_day + timedelta(days=30), 30)  # the 30th day: still kept
    os.utime(files["stale incoming"], (_timestamp(today - timedelta(days=3)),) * 2)
    os.utime(files["fresh incoming"], (_timestamp(today),) * 2)
    locations = {kind: tmp_path / kind for kind in ("uploads", "archive", "quarantine")}
    dry = purge_raw_files(today=today, dry_run=True, **locations)
    assert all(path.exists() for path in files.values()) and dry.total_deleted == 4
    report = purge_raw_files(today=today, retention_days=30, **locations)
    assert {name for name, path in files.items() if not path.exists()} == {
        "old upload", "old archive", "old reason", "stale incoming"
    }  # fmt: skip
    assert report.deleted == {"uploads": 2, "archive": 1, "quarantine": 1}
    assert report.kept == {"uploads": 2, "archive": 1, "quarantine": 1}  # the not-a-period folder is not counted
    assert report.to_result()["periods_purged"] == ["2024-Q1"]
    assert not (tmp_path / "archive" / "2024-Q1").exists() and files["not a period"].exists()
    assert json.dumps(report.to_result())  # a task result: counts and codes only


def _timestamp(day: date) -> float:
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()


def test_lscb_retention_runs_the_same_use_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from lscb.cli import main

    data = tmp_path / "var"
    files = _tree(data)
    monkeypatch.setenv("LSCB_DATA_DIR", str(data))
    day = Period.parse("2024-Q1").final_compile_day + timedelta(days=31)
    assert main(["retention", "--date", day.isoformat(), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["periods_purged"] == ["2024-Q1"] and result["retention_days"] == 30
    assert not files["old archive"].exists() and files["new archive"].exists()
    monkeypatch.setenv("LSCB_RAW_RETENTION_DAYS", "3650")
    assert main(["retention", "--date", (day + timedelta(days=400)).isoformat(), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"].get("archive") is None  # ten years: nothing due
