"""Write, audit, publish (`lscb.airflow_support`): outputs are staged in `<outputs>/.staging/<scope>`
and moved to `<outputs>/<scope>` in one piece, replacing what was published, on a local folder
and on any fsspec location; a rerun after the move finds it done; nothing staged is an error."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from lscb import airflow_support

SCOPE = "2025-Q1"


def _build(version: str) -> Any:
    def build(folder: Path) -> None:
        (folder / "tracker.csv").write_text(f"tracker {version}\n", encoding="utf-8")
        (folder / "data_docs").mkdir()
        (folder / "data_docs" / "index.html").write_text("<html></html>", encoding="utf-8")
        (folder / "data_docs" / "static").mkdir()
        (folder / "data_docs" / "static" / "style.css").write_text("", encoding="utf-8")

    return build


def test_local_outputs_are_staged_then_published_in_one_piece(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    staged = airflow_support._stage(str(outputs), SCOPE, _build("1"))
    assert staged == {
        "staging": str(outputs / ".staging" / SCOPE),
        "out_dir": str(outputs / SCOPE),
        "files": ["data_docs/index.html", "tracker.csv"],  # the Data Docs site as one entry
    }
    assert not (outputs / SCOPE).exists(), "staged outputs are not published"
    published = airflow_support.publish_staged(SCOPE, str(outputs))
    assert published["out_dir"] == str(outputs / SCOPE) and not published["already_published"]
    assert (outputs / SCOPE / "tracker.csv").read_text() == "tracker 1\n"
    assert not (outputs / ".staging" / SCOPE).exists()

    (outputs / SCOPE / "stale.csv").write_text("from before")
    airflow_support._stage(str(outputs), SCOPE, _build("2"))
    assert (outputs / SCOPE / "tracker.csv").read_text() == "tracker 1\n", "publication waits for the move"
    airflow_support.publish_staged(SCOPE, str(outputs))
    assert sorted(p.name for p in (outputs / SCOPE).iterdir()) == ["data_docs", "tracker.csv"]
    assert (outputs / SCOPE / "tracker.csv").read_text() == "tracker 2\n"
    assert sorted(p.name for p in (outputs / ".staging").iterdir()) == [], "nothing left aside"

    again = airflow_support.publish_staged(SCOPE, str(outputs))  # a retry after the move
    assert again["already_published"] and again["files"] == ["data_docs/index.html", "tracker.csv"]


def test_nothing_staged_is_a_failure_that_is_not_retried(tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="nothing is staged for 2025-Q1"):
        airflow_support.publish_staged(SCOPE, str(tmp_path / "outputs"))
    with pytest.raises(AirflowFailException, match="nothing is staged for 2025-26"):
        airflow_support.audit_staged("2025-26", str(tmp_path / "outputs"), database_url="sqlite://")


def test_outputs_on_object_storage_are_staged_audited_on_a_local_copy_and_published() -> None:
    from upath import UPath

    outputs = UPath(f"memory://lscb-{uuid.uuid4().hex}/outputs")
    airflow_support._stage(outputs, SCOPE, _build("1"))
    staging = outputs / ".staging" / SCOPE

    def audit(folder: Path) -> list[str]:
        assert (folder / "tracker.csv").read_text() == "tracker 1\n"
        (folder / "data_docs" / "index.html").write_text("<html>audited</html>", encoding="utf-8")
        return sorted(p.name for p in folder.iterdir())

    assert airflow_support._on_local_copy(staging, audit, upload="data_docs") == ["data_docs", "tracker.csv"]
    assert (staging / "data_docs" / "index.html").read_text() == "<html>audited</html>"
    published = airflow_support.publish_staged(SCOPE, outputs)
    assert published["files"] == ["data_docs/index.html", "tracker.csv"]
    assert (outputs / SCOPE / "data_docs" / "index.html").read_text() == "<html>audited</html>"
    assert not staging.exists()
    airflow_support._stage(outputs, SCOPE, _build("2"))
    airflow_support.publish_staged(SCOPE, outputs)
    assert (outputs / SCOPE / "tracker.csv").read_text() == "tracker 2\n"
