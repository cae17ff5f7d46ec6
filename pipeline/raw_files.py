"""Raw files at rest: what the project keeps of the councils' own files, how, and for how long
(issue 16, item 7; docs/SECURITY.md).

- **Sealed**: a portal upload and an archived inbox file are kept sealed (`transforms.sealing`:
  Fernet, with the key from the settings), mode 0600, as `<name>.sealed`. The plaintext exists
  only while a file is checked, and in a private temporary folder while a sealed one is read
  again (the portal's feedback, an inbox rerun), deleted straight after.
- **Refused files are not kept**: the quarantine holds a reason file (why, the council, the
  period, the sha256), never the file; a refused portal upload is deleted.
- **Retention**: `purge_raw_files` deletes every kept file of a period once
  `retention_days` (default 30) have passed since the period's final compile
  (`Period.final_compile_day`), and any upload left half-received for over a day; the
  quarterly calendar's `raw_file_retention` DAG and `lscb retention` call it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from schemas.calendar import Period
from transforms.sealing import SEALED_SUFFIX, FileSealer, is_sealed

DEFAULT_RETENTION_DAYS = 30
INCOMING_PREFIX = ".incoming-"  # the portal's half-received uploads
PRIVATE_MODE = 0o600
_PERIOD_FOLDER = re.compile(r"^\d{4}-Q[1-4]$")


def write_private(path: Path, content: bytes) -> Path:
    """Write `content` to `path` atomically, readable by this user only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(partial, PRIVATE_MODE)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def sealed_name(name: str) -> str:
    return name if name.endswith(SEALED_SUFFIX) else name + SEALED_SUFFIX


def seal_file(plain: Path, destination: Path, sealer: FileSealer) -> Path:
    """Seal the local file `plain` into `destination` (0600), then delete the plaintext."""
    write_private(destination, sealer.seal(plain.read_bytes()))
    plain.unlink(missing_ok=True)
    return destination


@contextlib.contextmanager
def opened_copy(content: bytes, name: str, sealer: FileSealer | None) -> Iterator[Path]:
    """A private temporary file holding `content` opened (the plaintext when sealed), named
    `name` without `.sealed`; deleted, with its folder, when the block ends."""
    plain = content
    if is_sealed(content):
        if sealer is None:
            raise ValueError("a sealed file needs the files key to be read")
        plain = sealer.open(content)
    folder = tempfile.mkdtemp(prefix="lscb-raw-")  # 0700: this user only
    try:
        target = Path(folder) / PurePosixPath(name.removesuffix(SEALED_SUFFIX)).name
        write_private(target, plain)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def opened_file(path: Path, sealer: FileSealer | None) -> Iterator[Path]:
    """`path` itself when it is not sealed, else a private opened copy (see `opened_copy`)."""
    with path.open("rb") as stream:
        head = stream.read(64)
    if not is_sealed(head):
        yield path
        return
    with opened_copy(path.read_bytes(), path.name, sealer) as copy:
        yield copy


# ---- retention ------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    """What a purge deleted and kept: counts and period codes only (a task result, a log line)."""

    today: str
    retention_days: int
    deleted: dict[str, int] = field(default_factory=dict)  # location kind -> files deleted
    kept: dict[str, int] = field(default_factory=dict)  # location kind -> files not yet due
    periods_purged: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_result(self) -> dict[str, Any]:
        return {
            "today": self.today,
            "retention_days": self.retention_days,
            "deleted": dict(self.deleted),
            "kept": dict(self.kept),
            "periods_purged": sorted(set(self.periods_purged)),
            "dry_run": self.dry_run,
        }

    @property
    def total_deleted(self) -> int:
        return sum(self.deleted.values())


def purge_due(period: Period, today: date, retention_days: int) -> bool:
    """True once `retention_days` have passed since the period's final compile."""
    return today > period.final_compile_day + timedelta(days=retention_days)


def purge_raw_files(
    *,
    today: date,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    uploads: Any = None,
    archive: Any = None,
    quarantine: Any = None,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete the raw files of every period whose retention has passed, and nothing else.

    `uploads`: the portal's folder (`<uploads>/<council>/<period>/...`); `archive` and
    `quarantine`: inbox locations, local or fsspec (`<location>/<period>/...`). Folders not
    named after a period are left alone; so are the files of periods not yet due.
    """
    if retention_days < 0:
        raise ValueError("the retention period cannot be negative")
    from pipeline.inbox import _resolve

    report = RetentionReport(today=today.isoformat(), retention_days=retention_days, dry_run=dry_run)
    targets: list[tuple[str, Any, str]] = []
    for kind, location in (("archive", archive), ("quarantine", quarantine)):
        if location is None:
            continue
        fs, root = _resolve(location)
        targets += [(kind, fs, folder) for folder in _period_folders(fs, root)]
    if uploads is not None:
        fs, root = _resolve(uploads)
        if fs.exists(root):
            for council in fs.ls(root, detail=True):
                if council.get("type") == "directory":
                    targets += [("uploads", fs, folder) for folder in _period_folders(fs, str(council["name"]))]
    for kind, fs, folder in targets:
        period = Period.parse(PurePosixPath(folder).name)
        files = [info for info in fs.find(folder, detail=True).values() if info.get("type") == "file"]
        due = purge_due(period, today, retention_days)
        stale = [] if due else [info for info in files if _stale_incoming(info, today)]
        doomed = files if due else stale
        if doomed:
            report.deleted[kind] = report.deleted.get(kind, 0) + len(doomed)
            if due:
                report.periods_purged.append(period.code)
            if not dry_run:
                for info in doomed:
                    fs.rm_file(info["name"])
                if due:
                    with contextlib.suppress(OSError, FileNotFoundError):
                        fs.rm(folder, recursive=True)
        kept = len(files) - len(doomed)
        if kept:
            report.kept[kind] = report.kept.get(kind, 0) + kept
    return report


def _period_folders(fs: Any, root: str) -> list[str]:
    if not fs.exists(root):
        return []
    return sorted(
        str(info["name"])
        for info in fs.ls(root, detail=True)
        if info.get("type") == "directory" and _PERIOD_FOLDER.match(PurePosixPath(str(info["name"])).name)
    )


def _stale_incoming(info: dict[str, Any], today: date) -> bool:
    """A portal upload left half-received (a crash mid-request) for more than a day."""
    if not PurePosixPath(str(info["name"])).name.startswith(INCOMING_PREFIX):
        return False
    mtime = info.get("mtime")
    if not isinstance(mtime, int | float):
        return False
    return datetime.fromtimestamp(mtime, tz=UTC).date() < today - timedelta(days=1)
