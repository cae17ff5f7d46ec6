"""Releasing an approved annual publication: the use case behind the annual DAG's release step
(after a statistician's approval) and `lscb release`.

The published folder (built, audited and published by `build_annual`) is copied to the release
location as `<release>/<year>/`, with `manifest.json` naming every file with its size and
SHA-256, who approved it and when; then every file and folder is made read-only. Only what is
for the public is released: never the exact analysts' tables (`analyst/`) nor the gate's Data
Docs. A release is immutable: a second release of the same year is refused (publish a revision
under a new name instead). It is written beside the target first and renamed into place, so a
reader sees a whole release or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
NOT_RELEASED = ("analyst", "data_docs")  # internal: exact tables, the gate's Data Docs


class ReleaseError(ValueError):
    """The publication cannot be released (nothing to release, or already released)."""


@dataclass
class ReleaseOutcome:
    year: str
    release_dir: str
    files: int
    manifest: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def released_files(published_dir: Path) -> list[Path]:
    """The files of a published folder that are for the public, sorted (relative paths)."""
    return sorted(
        p.relative_to(published_dir)
        for p in published_dir.rglob("*")
        if p.is_file() and p.relative_to(published_dir).parts[0] not in NOT_RELEASED
    )


def release_publication(
    published_dir: Path, release_root: Path, year: str, *, approved_by: str, now: datetime | None = None
) -> ReleaseOutcome:
    """Copy the published `year` to `<release_root>/<year>/` with its manifest, read-only."""
    published_dir, release_root = Path(published_dir), Path(release_root)
    files = released_files(published_dir) if published_dir.is_dir() else []
    if not files:
        raise ReleaseError(f"nothing is published for {year} at {published_dir}: build and publish it first")
    target = release_root / year
    if target.exists():
        raise ReleaseError(f"{year} is already released at {target}: a release is never changed")
    release_root.mkdir(parents=True, exist_ok=True)
    partial = release_root / f".{year}.partial"
    if partial.exists():
        _make_writable(partial)
        shutil.rmtree(partial)
    entries = []
    for relative in files:
        destination = partial / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(published_dir / relative, destination)
        entries.append(
            {"path": relative.as_posix(), "bytes": destination.stat().st_size, "sha256": sha256(destination)}
        )
    manifest = {
        "year": year,
        "approved_by": approved_by,
        "released_at": (now or datetime.now(UTC)).isoformat(),
        "files": entries,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _make_read_only(partial)
    os.rename(partial, target)
    return ReleaseOutcome(year=year, release_dir=str(target), files=len(entries), manifest=str(target / MANIFEST))


def verify_release(release_dir: Path) -> list[str]:
    """What differs between a release and its manifest (nothing: an empty list)."""
    release_dir = Path(release_dir)
    manifest = json.loads((release_dir / MANIFEST).read_text(encoding="utf-8"))
    listed = {e["path"]: e for e in manifest["files"]}
    present = {p.relative_to(release_dir).as_posix() for p in release_dir.rglob("*") if p.is_file()} - {MANIFEST}
    problems = [f"{path}: not in the manifest" for path in sorted(present - set(listed))]
    problems += [f"{path}: missing" for path in sorted(set(listed) - present)]
    for path in sorted(present & set(listed)):
        if sha256(release_dir / path) != listed[path]["sha256"]:
            problems.append(f"{path}: checksum differs")
    return problems


def _make_read_only(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(
            stat.S_IRUSR
            | stat.S_IRGRP
            | stat.S_IROTH
            | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if path.is_dir() else 0)
        )
    root.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _make_writable(root: Path) -> None:
    root.chmod(stat.S_IRWXU)
    for path in root.rglob("*"):
        path.chmod(stat.S_IRWXU if path.is_dir() else stat.S_IRUSR | stat.S_IWUSR)
