"""The returns inbox: find council files waiting in a folder, then file each one away.

A location is a local folder or any fsspec URL (`s3://bucket/inbox`, `memory://inbox`, ...), or an
object with `.fs` and `.path` such as Airflow's `ObjectStoragePath` (which resolves credentials
from an Airflow connection). Nothing here imports Airflow.

Who sent a file is read from its name: `<GSS code>_<anything>.xlsx`, e.g. `E06000001_2025-Q1.xlsx`
(an optional period code in the name is used as the claimed period). That is how the inbox says
who uploaded a file; the portal stores uploads directly and never uses the inbox.

After a file is processed it leaves the inbox:
- stored (accepted, rejected with feedback, or a duplicate of a stored version) ->
  `<archive>/<period>/<name>.sealed`: sealed with the files key (`pipeline.raw_files`), mode
  0600 on a local disk (without a key, as the unit tests run it: moved as it is, `<name>`);
- refused (unreadable, hostile, not attributable to a council) -> only
  `<quarantine>/<period>/<name>.reason.txt` (one line saying why, then the file's council, period
  and checksum): the quarantine keeps the reason and the hash, never the file.
A name already taken by different content gets the checksum added (`<stem>.<sha12><suffix>`), so
nothing is ever overwritten (an identical copy, the same bytes delivered again, takes its place).
Retention (`pipeline.raw_files.purge_raw_files`) deletes both once the period's time is up.

Processing is idempotent, keyed on council, period and checksum: `process_inbox_file` on a file
that has already been moved finds it in the archive (and submits it again, which the store answers
with "duplicate") or its reason file in the quarantine (and reports the recorded refusal), so a
retry or a rerun never creates a second version and never fails because the file moved.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, cast

from transforms.checksum import ALGORITHM, bytes_checksum, stream_checksum
from transforms.sealing import SEALED_SUFFIX, FileSealer, is_sealed

REASON_SUFFIX = ".reason.txt"

# `E06000001_...`: a GSS code (E + 8 digits) then a separator; a period code anywhere after it.
_COUNCIL_IN_NAME = re.compile(r"^([EW]\d{8})(?=[_\-. ]|$)", re.IGNORECASE)
_PERIOD_IN_NAME = re.compile(r"(?<![0-9])(\d{4})-?Q([1-4])(?![0-9])", re.IGNORECASE)
# Not returns: hidden files, our own reason files, partial uploads and Office lock files.
_IGNORED_SUFFIXES = (REASON_SUFFIX, ".part", ".partial", ".tmp", ".crdownload", ".uploading")

Location = Any  # str | os.PathLike | an object with `.fs` and `.path` (ObjectStoragePath, UPath)


@dataclass(frozen=True)
class InboxFile:
    """One file waiting in the inbox, as found by `discover`. Small and free of personal data,
    so it can travel as a task result (`to_dict` / `from_dict`)."""

    name: str
    council_code: str | None  # from the name; None when the name does not start with a GSS code
    claimed_period: str | None  # from the name, when it carries a period code
    checksum: str  # sha256 of the content, hex
    size: int
    received_at: str  # ISO 8601 UTC: the file's modification time (the time of receipt)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> InboxFile:
        return cls(**{key: values.get(key) for key in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one inbox file. `to_result()` is the small, identifier-free summary a
    task may return; `reason` (a one-line refusal reason) stays in logs and the reason file."""

    name: str
    council_code: str | None
    period: str
    checksum: str
    status: str  # accepted | rejected | duplicate | refused
    version: int | None
    errors: int
    queries: int
    moved_to: str  # where the file is now
    reason: str = ""
    reprocessed: bool = False  # True when the file had already been filed away (a retry or rerun)
    submission_id: int | None = None
    late: bool = False

    def to_result(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "council_code": self.council_code,
            "period": self.period,
            "checksum": self.checksum[:16],
            "status": self.status,
            "version": self.version,
            "errors": self.errors,
            "queries": self.queries,
            "reprocessed": self.reprocessed,
        }


class InboxFileMissing(FileNotFoundError):
    """The file is neither in the inbox nor filed away in the archive or the quarantine."""


# ---------------------------------------------------------------------------------- locations


def _resolve(location: Location) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a folder, URL or ObjectStoragePath-like object."""
    fs = getattr(location, "fs", None)
    path = getattr(location, "path", None)
    if fs is not None and isinstance(path, str):
        return fs, path.rstrip("/") or "/"
    from fsspec.core import url_to_fs

    text = os.fspath(location) if isinstance(location, os.PathLike) else str(location)
    if "://" not in text:
        text = str(Path(text).expanduser().resolve())
    fs, inner = url_to_fs(text)
    return fs, inner.rstrip("/") or "/"


def _join(base: str, *parts: str) -> str:
    return str(PurePosixPath(base, *parts))  # fsspec paths use "/" on every filesystem


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def describe(location: Location) -> str:
    """A location as text for logs and task results."""
    fs, path = _resolve(location)
    if _is_local(fs):
        return path
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
    return f"{protocol}://{path.lstrip('/')}"


# ---------------------------------------------------------------------------------- naming


def council_code_from_name(name: str) -> str | None:
    """The GSS code a file's name starts with (`E06000001_2025-Q1.xlsx` -> `E06000001`)."""
    match = _COUNCIL_IN_NAME.match(name)
    return match[1].upper() if match else None


def period_from_name(name: str) -> str | None:
    """A period code in the name after the council code (`..._2025-Q1.xlsx` -> `2025-Q1`)."""
    code = council_code_from_name(name)
    rest = name[len(code) :] if code else name
    match = _PERIOD_IN_NAME.search(rest)
    return f"{match[1]}-Q{match[2]}" if match else None


def _ignored(name: str) -> bool:
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered.endswith(_IGNORED_SUFFIXES)


# ---------------------------------------------------------------------------------- reading


def _checksum(fs: Any, path: str, sealer: FileSealer | None = None) -> str:
    """The sha256 of a file's content: of what it holds opened, when it is sealed."""
    with fs.open(path, "rb") as handle:
        head = handle.read(64)
        if not is_sealed(head):
            handle.seek(0)
            return stream_checksum(handle)[0]
        if sealer is None:
            return ""  # cannot tell: never the same content
        return bytes_checksum(sealer.open(head + handle.read()))


def _modified(fs: Any, path: str, info: dict[str, Any]) -> datetime:
    mtime = info.get("mtime")
    if isinstance(mtime, int | float):
        return datetime.fromtimestamp(mtime, tz=UTC)
    for key in ("LastModified", "last_modified", "updated", "created", "mtime"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        value = fs.modified(path)
    except (NotImplementedError, OSError, AttributeError):
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def discover(inbox: Location) -> list[InboxFile]:
    """Every return waiting directly in the inbox folder (not in subfolders), sorted by name.

    Skips hidden files, reason files, partial uploads and Office lock files. A file whose name
    names no council is still listed (with `council_code=None`) so that processing refuses it
    visibly instead of leaving it in the inbox for ever. A missing inbox is an empty one.
    """
    fs, root = _resolve(inbox)
    if not fs.exists(root):
        return []
    found: list[InboxFile] = []
    for info in fs.ls(root, detail=True):
        if info.get("type") != "file":
            continue
        path = info["name"]
        name = PurePosixPath(path).name
        if _ignored(name):
            continue
        found.append(
            InboxFile(
                name=name,
                council_code=council_code_from_name(name),
                claimed_period=period_from_name(name),
                checksum=_checksum(fs, path),
                size=int(info.get("size") or 0),
                received_at=_modified(fs, path, info).isoformat(),
            )
        )
    return sorted(found, key=lambda item: item.name)


# ---------------------------------------------------------------------------------- filing away


def _free_name(
    fs: Any, folder: str, name: str, checksum: str, *, tail: str = "", sealer: FileSealer | None = None
) -> str:
    """A destination in `folder` for `name` + `tail` that overwrites nothing but an identical copy
    (the same bytes delivered again, so nothing is lost and reruns do not pile up copies)."""
    stem, dot, suffix = name.partition(".")
    suffix = dot + suffix
    candidates = [name, f"{stem}.{checksum[:12]}{suffix}"]
    counter = 1
    while True:
        for candidate_name in candidates:
            candidate = _join(folder, candidate_name + tail)
            if not fs.exists(candidate) or _same(fs, candidate, checksum, tail, sealer):
                return candidate
        candidates = [f"{stem}.{checksum[:12]}.{counter}{suffix}"]
        counter += 1


def _same(fs: Any, path: str, checksum: str, tail: str, sealer: FileSealer | None) -> bool:
    if tail == REASON_SUFFIX:
        return _reason_checksum(fs, path) == checksum
    return _checksum(fs, path, sealer) == checksum


def _reason_checksum(fs: Any, path: str) -> str | None:
    """The checksum a reason file records (`sha256: ...`)."""
    try:
        with fs.open(path, "r") as handle:
            for line in handle:
                if line.startswith(f"{ALGORITHM}: "):
                    return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        return None
    return None


def _move(fs: Any, source: str, destination: str) -> None:
    fs.makedirs(str(PurePosixPath(destination).parent), exist_ok=True)
    if _is_local(fs):
        os.replace(source, destination)  # keeps the mtime (the time of receipt)
    else:
        fs.mv(source, destination)


def _seal_move(fs: Any, source: str, destination: str, sealer: FileSealer) -> None:
    """Write `source` sealed to `destination` (0600 on a local disk), then delete `source`."""
    with fs.open(source, "rb") as handle:
        content = handle.read()
    if _is_local(fs):
        from pipeline.raw_files import write_private

        mtime = os.stat(source).st_mtime
        write_private(Path(destination), sealer.seal(content))
        os.utime(destination, (mtime, mtime))  # keeps the time of receipt
        os.unlink(source)
    else:
        fs.makedirs(str(PurePosixPath(destination).parent), exist_ok=True)
        with fs.open(destination, "wb") as handle:
            handle.write(sealer.seal(content))
        fs.rm_file(source)


def _find_filed(fs: Any, folder: str, name: str, checksum: str, *, sealer: FileSealer | None = None) -> str | None:
    """The copy of `name` with this checksum in `folder` (under its own or a checksummed name,
    sealed or not)."""
    if not fs.exists(folder):
        return None
    stem = name.partition(".")[0]
    candidates = [_join(folder, name + SEALED_SUFFIX), _join(folder, name)] + sorted(
        info["name"]
        for info in fs.ls(folder, detail=True)
        if info.get("type") == "file"
        and PurePosixPath(info["name"]).name.startswith(f"{stem}.{checksum[:12]}")
        and not info["name"].endswith(REASON_SUFFIX)
    )
    for candidate in candidates:
        if fs.exists(candidate) and _checksum(fs, candidate, sealer) == checksum:
            return str(candidate)
    return None


def _find_reason(fs: Any, folder: str, name: str, checksum: str) -> str | None:
    """The reason file recorded for `name` with this checksum in `folder`."""
    if not fs.exists(folder):
        return None
    stem = name.partition(".")[0]
    candidates = [_join(folder, name + REASON_SUFFIX)] + sorted(
        info["name"]
        for info in fs.ls(folder, detail=True)
        if info.get("type") == "file"
        and PurePosixPath(info["name"]).name.startswith(f"{stem}.{checksum[:12]}")
        and info["name"].endswith(REASON_SUFFIX)
    )
    for candidate in candidates:
        if fs.exists(candidate) and _reason_checksum(fs, candidate) == checksum:
            return str(candidate)
    return None


def _period_folders(fs: Any, root: str, preferred: list[str]) -> list[str]:
    folders = [_join(root, period) for period in preferred]
    if fs.exists(root):
        folders += sorted(
            str(info["name"]) for info in fs.ls(root, detail=True)
            if info.get("type") == "directory" and str(info["name"]) not in folders
        )  # fmt: skip
    return folders


def _find_filed_anywhere(
    fs: Any, root: str, preferred: list[str], name: str, checksum: str, *, sealer: FileSealer | None = None
) -> str | None:
    """`_find_filed` in the preferred period folders first, then in every other one."""
    for folder in _period_folders(fs, root, preferred):
        found = _find_filed(fs, folder, name, checksum, sealer=sealer)
        if found is not None:
            return found
    return None


def _find_reason_anywhere(fs: Any, root: str, preferred: list[str], name: str, checksum: str) -> str | None:
    for folder in _period_folders(fs, root, preferred):
        found = _find_reason(fs, folder, name, checksum)
        if found is not None:
            return found
    return None


def archive_file(
    inbox: Location, name: str, archive: Location, period: str, *, sealer: FileSealer | None = None
) -> str:
    """Move `name` from the inbox to `<archive>/<period>/`, sealed when a `sealer` is given
    (`<name>.sealed`); returns where it went."""
    fs, inbox_root = _resolve(inbox)
    _, archive_root = _resolve(archive)
    source = _join(inbox_root, name)
    checksum = _checksum(fs, source)
    tail = SEALED_SUFFIX if sealer is not None else ""
    destination = _free_name(fs, _join(archive_root, period), name, checksum, tail=tail, sealer=sealer)
    if sealer is not None:
        _seal_move(fs, source, destination, sealer)
    else:
        _move(fs, source, destination)
    return str(destination)


def quarantine_file(
    inbox: Location, name: str, quarantine: Location, period: str, reason: str, *, council_code: str | None = None
) -> str:
    """Record why `name` was refused in `<quarantine>/<period>/<name>.reason.txt` (with its sha256),
    then delete it from the inbox: the quarantine keeps no copy of a refused file. Returns the
    reason file's path."""
    fs, inbox_root = _resolve(inbox)
    _, quarantine_root = _resolve(quarantine)
    source = _join(inbox_root, name)
    checksum = _checksum(fs, source)
    destination = _free_name(fs, _join(quarantine_root, period), name, checksum, tail=REASON_SUFFIX)
    reason_line = " ".join(reason.split()) or "refused"
    text = (
        f"{reason_line}\n"
        f"file: {name}\n"
        f"council_code: {council_code or 'unknown'}\n"
        f"period: {period}\n"
        f"{ALGORITHM}: {checksum}\n"
        f"quarantined_at: {datetime.now(UTC).isoformat(timespec='seconds')}\n"
    )
    # The reason first, then the deletion: a crash in between leaves the file in the inbox (it
    # is processed again) rather than a refused file gone without its reason.
    if _is_local(fs):
        from pipeline.raw_files import write_private

        write_private(Path(destination), text.encode("utf-8"))
    else:
        fs.makedirs(str(PurePosixPath(destination).parent), exist_ok=True)
        with fs.open(destination, "w") as handle:
            handle.write(text)
    fs.rm_file(source)
    return str(destination)


def read_reason(reason_path: str, location: Location) -> str:
    """The one-line reason recorded in a quarantine reason file."""
    fs, _ = _resolve(location)
    if not reason_path.endswith(REASON_SUFFIX):
        reason_path += REASON_SUFFIX
    try:
        with fs.open(reason_path, "r") as handle:
            return handle.readline().strip() or "refused"
    except FileNotFoundError:
        return "refused (no reason file)"


@contextlib.contextmanager
def local_copy(location: Location, path: str) -> Iterator[Path]:
    """A local filesystem path for a file in `location`'s filesystem (downloaded when remote)."""
    fs, _ = _resolve(location)
    if _is_local(fs):
        yield Path(path)
        return
    folder = tempfile.mkdtemp(prefix="lscb-inbox-")
    try:
        target = Path(folder) / PurePosixPath(path).name
        fs.get(path, str(target))
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _opened(location: Location, path: str, sealer: FileSealer | None) -> Iterator[Path]:
    """A local, readable copy of a filed-away file: opened into a private temporary file when it
    is sealed (deleted afterwards), else as `local_copy` gives it."""
    fs, _ = _resolve(location)
    with fs.open(path, "rb") as handle:
        head = handle.read(64)
    if not is_sealed(head):
        with local_copy(location, path) as local:
            yield local
        return
    from pipeline.raw_files import opened_copy

    with fs.open(path, "rb") as handle, opened_copy(handle.read(), PurePosixPath(path).name, sealer) as plain:
        yield plain


# ---------------------------------------------------------------------------------- processing

Submitter = Callable[..., Any]  # pipeline.receive.submit_file's signature


def process_inbox_file(
    item: InboxFile | dict[str, Any],
    *,
    period: str,
    inbox: Location,
    archive: Location,
    quarantine: Location,
    engine_or_url: Any = None,
    secret: bytes | None = None,
    submitted_by: str = "inbox",
    submit: Submitter | None = None,
    sealer: FileSealer | None = None,
) -> FileOutcome:
    """Validate and store one inbox file, then archive or quarantine it. Never deletes a file.

    The archive and quarantine subfolders are named after the return's own period: the one it
    was stored under, else the one its name claims, else `period` (the run's). The period the
    council claims is read from the file name when present, else from the file itself (store).
    Raises `InboxFileMissing` when the file is nowhere to be found; a refused file is an outcome
    (status `refused`, with `reason`), not an exception. Archived files are sealed with `sealer`,
    by default a key derived from `secret` (`transforms.sealing.FileSealer.derived`); only a
    caller with a `submit` of its own and no key (the unit tests) archives files as they are.
    Exceptions from the store (database down, a bug) propagate with the file left in the inbox,
    so a retry picks it up again.
    """
    ref = item if isinstance(item, InboxFile) else InboxFile.from_dict(item)
    if submit is None:
        if engine_or_url is None or secret is None:
            raise ValueError("process_inbox_file needs the engine and the key (or a `submit` of its own)")
        from pipeline.receive import submit_file

        submit = cast(Submitter, submit_file)
    if sealer is None and secret is not None:
        sealer = FileSealer.derived(secret, "the pseudonymisation key")
    fs, inbox_root = _resolve(inbox)
    _, archive_root = _resolve(archive)
    _, quarantine_root = _resolve(quarantine)

    source = _join(inbox_root, ref.name)
    if fs.exists(source):
        checksum = _checksum(fs, source)
        received_at = _modified(fs, source, fs.info(source))
        if ref.council_code is None:
            reason = (
                f"file name {ref.name!r} does not start with a council GSS code "
                "(expected <GSS code>_<period>.xlsx, e.g. E06000001_2025-Q1.xlsx)"
            )
            moved = quarantine_file(inbox, ref.name, quarantine, period, reason)
            return FileOutcome(ref.name, None, period, checksum, "refused", None, 0, 0, moved, reason)
        with local_copy(inbox, source) as local:
            result = submit(
                local,
                ref.council_code,
                submitted_by=submitted_by,
                received_at=received_at,
                claimed_period=ref.claimed_period,
                engine_or_url=engine_or_url,
                secret=secret,
                display_name=ref.name,
            )
        own = getattr(result, "period", None) or ref.claimed_period or period
        outcome = _outcome(ref, own, checksum, result)
        if outcome.status == "refused":
            moved = quarantine_file(inbox, ref.name, quarantine, own, outcome.reason, council_code=ref.council_code)
        else:
            moved = archive_file(inbox, ref.name, archive, own, sealer=sealer)
        return _replace(outcome, moved_to=moved)

    # Already filed away by an earlier attempt (a retry after the move, or a rerun): under the
    # period it claims or the run's, else under whichever period folder it was filed in.
    preferred = [p for p in dict.fromkeys((ref.claimed_period, period)) if p]
    quarantined = _find_reason_anywhere(fs, quarantine_root, preferred, ref.name, ref.checksum)
    if quarantined is not None:
        reason = read_reason(quarantined, quarantine)
        filed_in = PurePosixPath(quarantined).parent.name
        return FileOutcome(
            ref.name, ref.council_code, filed_in, ref.checksum, "refused", None, 0, 0, quarantined, reason, True
        )
    archived = _find_filed_anywhere(fs, archive_root, preferred, ref.name, ref.checksum, sealer=sealer)
    if archived is not None and ref.council_code is not None:
        with _opened(archive, archived, sealer) as local:
            result = submit(
                local,
                ref.council_code,
                submitted_by=submitted_by,
                received_at=_modified(fs, archived, fs.info(archived)),
                claimed_period=ref.claimed_period,
                engine_or_url=engine_or_url,
                secret=secret,
                display_name=ref.name,
            )
        own = getattr(result, "period", None) or PurePosixPath(archived).parent.name
        outcome = _outcome(ref, own, ref.checksum, result)
        return _replace(outcome, moved_to=archived, reprocessed=True)
    raise InboxFileMissing(
        f"{ref.name} (sha256 {ref.checksum[:12]}) is not in the inbox {describe(inbox)}, "
        f"nor in the archive or quarantine for {period}"
    )


def _outcome(ref: InboxFile, period: str, checksum: str, result: Any) -> FileOutcome:
    status = str(getattr(result, "status", "refused"))
    errors = getattr(result, "errors", 0)
    queries = getattr(result, "queries", 0)
    message = str(getattr(result, "message", "") or "")
    return FileOutcome(
        name=ref.name,
        council_code=ref.council_code,
        period=period,
        checksum=checksum,
        status=status,
        version=getattr(result, "version", None),
        errors=errors if isinstance(errors, int) else len(errors or ()),
        queries=queries if isinstance(queries, int) else len(queries or ()),
        moved_to="",
        reason=" ".join(message.split()) if status == "refused" else "",
        submission_id=getattr(result, "submission_id", None),
        late=bool(getattr(result, "late", False)),
    )


def _replace(outcome: FileOutcome, **changes: Any) -> FileOutcome:
    from dataclasses import replace

    return replace(outcome, **changes)


def ensure_folders(*locations: Location) -> None:
    """Create the inbox, archive, quarantine and output folders when missing."""
    for location in locations:
        fs, path = _resolve(location)
        fs.makedirs(path, exist_ok=True)
