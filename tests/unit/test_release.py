"""Releasing a publication: a copy with a manifest of checksums, read-only, never the analysts'
exact tables or the gate's Data Docs, and never changed once released."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from pipeline.release import MANIFEST, ReleaseError, release_publication, sha256, verify_release


def _published(folder: Path) -> Path:
    (folder / "analyst").mkdir(parents=True)
    (folder / "data_docs").mkdir()
    (folder / "children.csv").write_text("time_period,children\n202526,10\n")
    (folder / "children.meta.csv").write_text("col_name,col_type\nchildren,Indicator\n")
    (folder / "analyst" / "children.csv").write_text("exact,3\n")
    (folder / "data_docs" / "index.html").write_text("<html></html>")
    return folder


def test_a_release_is_a_read_only_copy_with_its_manifest(tmp_path: Path) -> None:
    published = _published(tmp_path / "annual" / "2025-26")
    outcome = release_publication(published, tmp_path / "release", "2025-26", approved_by="Head of statistics")
    released = Path(outcome.release_dir)
    manifest = json.loads((released / MANIFEST).read_text())
    assert [e["path"] for e in manifest["files"]] == ["children.csv", "children.meta.csv"]
    assert manifest["files"][0]["sha256"] == sha256(published / "children.csv")
    assert manifest["approved_by"] == "Head of statistics" and outcome.files == 2
    assert not (released / "analyst").exists() and not (released / "data_docs").exists()
    assert verify_release(released) == []
    for path in [released, *released.rglob("*")]:
        assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path
    with pytest.raises(ReleaseError, match="already released"):
        release_publication(published, tmp_path / "release", "2025-26", approved_by="someone else")


def test_verify_release_names_a_changed_or_added_file(tmp_path: Path) -> None:
    published = _published(tmp_path / "annual" / "2025-26")
    released = Path(release_publication(published, tmp_path / "release", "2025-26", approved_by="a").release_dir)
    released.chmod(0o755)
    (released / "children.csv").chmod(0o644)
    (released / "children.csv").write_text("time_period,children\n202526,11\n")
    (released / "extra.csv").write_text("x\n")
    assert verify_release(released) == ["extra.csv: not in the manifest", "children.csv: checksum differs"]


def test_nothing_published_nothing_released(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="nothing is published"):
        release_publication(tmp_path / "missing", tmp_path / "release", "2025-26", approved_by="a")
    assert not (tmp_path / "release" / "2025-26").exists()


def test_lscb_release_releases_once(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lscb.cli import main

    published = _published(tmp_path / "annual" / "2025-26")
    args = ["release", "--year", "2025-26", "--from", str(published), "--approved-by", "Head of statistics", "--json"]
    assert main(args) == 0
    released = Path(json.loads(capsys.readouterr().out)["release_dir"])
    assert released == (data_dir / "release" / "2025-26").resolve() and verify_release(released) == []
    assert main(args) != 0 and "already released" in capsys.readouterr().err
