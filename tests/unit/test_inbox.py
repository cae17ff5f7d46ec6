"""The returns inbox: discovery, filing away, and idempotent processing (with a stand-in store)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import inbox as inbox_mod
from pipeline.inbox import (
    InboxFile,
    InboxFileMissing,
    council_code_from_name,
    discover,
    period_from_name,
    process_inbox_file,
)
from transforms.checksum import file_checksum


@dataclass
class FakeOutcome:
    status: str
    version: int | None
    errors: list[Any] = field(default_factory=list)
    queries: list[Any] = field(default_factory=list)
    message: str = ""


class FakeStore:
    """Idempotent on council + checksum, like the real store; refuses files starting with PNG."""

    def __init__(self) -> None:
        self.versions: dict[str, list[str]] = {}
        self.calls: list[dict[str, Any]] = []

    def __call__(self, path: Path, council_code: str, **kwargs: Any) -> FakeOutcome:
        self.calls.append({"council_code": council_code, **kwargs})
        content = Path(path).read_bytes()
        if content.startswith(b"\x89PNG"):
            return FakeOutcome("refused", None, message="not an Excel workbook:\n it is a PNG image")
        checksum = file_checksum(path)[0]
        stored = self.versions.setdefault(council_code, [])
        if checksum in stored:
            return FakeOutcome("duplicate", stored.index(checksum) + 1)
        stored.append(checksum)
        if b"ERROR" in content:
            return FakeOutcome("rejected", len(stored), errors=[1, 2])
        return FakeOutcome("accepted", len(stored), queries=[1])


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {kind: tmp_path / kind for kind in ("inbox", "archive", "quarantine")}


def _write(folder: Path, name: str, content: bytes, received: datetime | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    if received is not None:
        os.utime(path, (received.timestamp(), received.timestamp()))
    return path


def _process(item: InboxFile, folders: dict[str, Path], store: FakeStore) -> inbox_mod.FileOutcome:
    return process_inbox_file(
        item,
        period="2025-Q1",
        inbox=folders["inbox"],
        archive=folders["archive"],
        quarantine=folders["quarantine"],
        submit=store,
    )


def test_names_give_the_council_and_the_period() -> None:
    assert council_code_from_name("E06000001_2025-Q1.xlsx") == "E06000001"
    assert council_code_from_name("e06000001-return.xlsx") == "E06000001"
    assert council_code_from_name("return_E06000001.xlsx") is None
    assert council_code_from_name("E0600000123.xlsx") is None
    assert period_from_name("E06000001_2025-Q1.xlsx") == "2025-Q1"
    assert period_from_name("E06000001_2025Q3_v2.xlsx") == "2025-Q3"
    assert period_from_name("E06000001.xlsx") is None


def test_discover_lists_returns_with_checksum_and_time_of_receipt(folders: dict[str, Path]) -> None:
    received = datetime(2025, 8, 1, 9, 30, tzinfo=UTC)
    _write(folders["inbox"], "E06000002_2025-Q1.xlsx", b"two", received)
    _write(folders["inbox"], "E06000001_2025-Q1.xlsx", b"one")
    for ignored in (".hidden.xlsx", "~$E06000001_2025-Q1.xlsx", "E06000003.xlsx.part", "x.xlsx.reason.txt"):
        _write(folders["inbox"], ignored, b"-")
    (folders["inbox"] / "subfolder").mkdir()
    found = discover(folders["inbox"])
    assert [item.name for item in found] == ["E06000001_2025-Q1.xlsx", "E06000002_2025-Q1.xlsx"]
    assert found[1].council_code == "E06000002" and found[1].claimed_period == "2025-Q1"
    assert found[1].received_at == received.isoformat()
    assert found[1].checksum == file_checksum(folders["inbox"] / "E06000002_2025-Q1.xlsx")[0]
    assert InboxFile.from_dict(found[1].to_dict()) == found[1]
    assert discover(folders["inbox"] / "missing") == []


def test_stored_files_are_archived_and_refused_ones_quarantined_with_a_reason(folders: dict[str, Path]) -> None:
    _write(folders["inbox"], "E06000001_2025-Q1.xlsx", b"good")
    _write(folders["inbox"], "E06000002_2025-Q1.xlsx", b"ERROR in here")
    _write(folders["inbox"], "E06000003_2025-Q1.xlsx", b"\x89PNG...")
    _write(folders["inbox"], "unnamed.xlsx", b"who sent this")
    store = FakeStore()
    outcomes = {item.name: _process(item, folders, store) for item in discover(folders["inbox"])}

    assert outcomes["E06000001_2025-Q1.xlsx"].status == "accepted"
    assert outcomes["E06000002_2025-Q1.xlsx"].status == "rejected"
    assert outcomes["E06000002_2025-Q1.xlsx"].errors == 2
    assert sorted(p.name for p in (folders["archive"] / "2025-Q1").iterdir()) == [
        "E06000001_2025-Q1.xlsx",
        "E06000002_2025-Q1.xlsx",
    ]
    refused = outcomes["E06000003_2025-Q1.xlsx"]
    assert refused.status == "refused" and refused.reason == "not an Excel workbook: it is a PNG image"
    reason_file = folders["quarantine"] / "2025-Q1" / "E06000003_2025-Q1.xlsx.reason.txt"
    assert reason_file.read_text().splitlines()[0] == refused.reason
    assert "council_code: E06000003" in reason_file.read_text()
    assert outcomes["unnamed.xlsx"].status == "refused"
    assert "council GSS code" in (folders["quarantine"] / "2025-Q1" / "unnamed.xlsx.reason.txt").read_text()
    assert list(folders["inbox"].iterdir()) == []
    # the time of receipt and the claimed period reach the store
    assert store.calls[0]["claimed_period"] == "2025-Q1"
    assert isinstance(store.calls[0]["received_at"], datetime)
    # results for a task hold no message text
    assert "reason" not in refused.to_result() and refused.to_result()["status"] == "refused"


def test_processing_again_after_the_move_adds_nothing_and_does_not_fail(folders: dict[str, Path]) -> None:
    _write(folders["inbox"], "E06000001_2025-Q1.xlsx", b"good")
    _write(folders["inbox"], "E06000003_2025-Q1.xlsx", b"\x89PNG")
    store = FakeStore()
    items = discover(folders["inbox"])
    first = [_process(item, folders, store) for item in items]
    again = [_process(item, folders, store) for item in items]  # a retry after the files moved
    assert [o.status for o in first] == ["accepted", "refused"]
    assert [o.status for o in again] == ["duplicate", "refused"]
    assert all(o.reprocessed for o in again)
    assert again[0].version == first[0].version == 1
    assert again[1].reason == first[1].reason
    assert store.versions == {"E06000001": [items[0].checksum]}
    assert discover(folders["inbox"]) == []


def test_a_resubmission_with_the_same_name_never_overwrites_the_archive(folders: dict[str, Path]) -> None:
    store = FakeStore()
    for content in (b"first", b"second", b"first"):
        _write(folders["inbox"], "E06000001_2025-Q1.xlsx", content)
        (item,) = discover(folders["inbox"])
        _process(item, folders, store)
    archived = sorted(p.name for p in (folders["archive"] / "2025-Q1").iterdir())
    assert len(archived) == 2 and "E06000001_2025-Q1.xlsx" in archived
    contents = sorted((folders["archive"] / "2025-Q1" / name).read_bytes() for name in archived)
    assert contents == [b"first", b"second"]  # the same bytes again take the place of their copy
    assert len(store.versions["E06000001"]) == 2


def test_a_file_that_vanished_everywhere_is_an_error(folders: dict[str, Path]) -> None:
    _write(folders["inbox"], "E06000001_2025-Q1.xlsx", b"good")
    (item,) = discover(folders["inbox"])
    (folders["inbox"] / item.name).rename(folders["inbox"].parent / "elsewhere.xlsx")
    with pytest.raises(InboxFileMissing):
        _process(item, folders, FakeStore())


def test_any_fsspec_location_works(tmp_path: Path) -> None:
    import fsspec

    root = f"memory://lscb-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{root}/inbox/E06000001_2025-Q1.xlsx", b"good")
    fs.pipe(f"{root}/inbox/E06000002_2025-Q1.xlsx", b"\x89PNG")
    store = FakeStore()
    items = discover(f"{root}/inbox")
    assert [item.council_code for item in items] == ["E06000001", "E06000002"]
    statuses = [
        process_inbox_file(
            item,
            period="2025-Q1",
            inbox=f"{root}/inbox",
            archive=f"{root}/archive",
            quarantine=f"{root}/quarantine",
            submit=store,
        ).status
        for item in items
    ]
    assert statuses == ["accepted", "refused"]
    assert fs.cat(f"{root}/archive/2025-Q1/E06000001_2025-Q1.xlsx") == b"good"
    assert fs.exists(f"{root}/quarantine/2025-Q1/E06000002_2025-Q1.xlsx.reason.txt")
    assert discover(f"{root}/inbox") == []


def test_files_are_filed_under_their_own_period_not_the_runs(folders: dict[str, Path]) -> None:
    """A run for 2025-Q1 that finds a 2024-Q4 return (by its name) and one whose period only the
    store knows (About says 2024-Q3) files each under its own period, and finds them there again."""
    store = FakeStore()
    _write(folders["inbox"], "E06000001_2024-Q4.xlsx", b"late return for the quarter before")
    _write(folders["inbox"], "E06000002.xlsx", b"a return whose period is in About")

    def with_period(path: Path, council_code: str, **kwargs: Any) -> FakeOutcome:
        outcome = store(path, council_code, **kwargs)
        outcome.period = kwargs["claimed_period"] or "2024-Q3"  # type: ignore[attr-defined]
        return outcome

    items = discover(folders["inbox"])
    first = [_process_with(item, folders, with_period) for item in items]
    assert [(o.name, o.period, o.status) for o in first] == [
        ("E06000001_2024-Q4.xlsx", "2024-Q4", "accepted"),
        ("E06000002.xlsx", "2024-Q3", "accepted"),
    ]
    assert (folders["archive"] / "2024-Q4" / "E06000001_2024-Q4.xlsx").is_file()
    assert (folders["archive"] / "2024-Q3" / "E06000002.xlsx").is_file()
    assert not (folders["archive"] / "2025-Q1").exists()
    again = [_process_with(item, folders, with_period) for item in items]  # a rerun: found where filed
    assert [(o.period, o.status, o.reprocessed) for o in again] == [
        ("2024-Q4", "duplicate", True),
        ("2024-Q3", "duplicate", True),
    ]


def _process_with(item: InboxFile, folders: dict[str, Path], submit: Any) -> inbox_mod.FileOutcome:
    return process_inbox_file(
        item,
        period="2025-Q1",
        inbox=folders["inbox"],
        archive=folders["archive"],
        quarantine=folders["quarantine"],
        submit=submit,
    )
