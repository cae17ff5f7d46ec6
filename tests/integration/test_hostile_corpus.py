"""The hostile corpus (tests/support/hostile.py) through every way in: `lscb validate`,
`lscb submit`, the portal upload and the inbox task. Each file gets the same refusal everywhere,
in one line and no traceback, in bounded time and memory, and nothing of it is stored."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from lscb.cli import main
from schemas.standard import load_standard
from store.models import Submission
from tests.builders import children_rows, sample_about, sample_activity, sample_strategy, write_xlsx_return
from tests.support.hostile import CORPUS, HostileCase, good_return, smuggled_worksheet
from tests.support.portal import COUNCIL_A, COUNCIL_B, Rig, build_rig, csrf_token, login

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2025-Q1"
MAX_SECONDS = 10
MAX_RSS_BYTES = 1024 * 1_048_576
IDS = [case.name for case in CORPUS]


def refusal_text(case: HostileCase) -> str:
    """The refusal's fixed text (before its first placeholder): what every way in must show."""
    return load_standard().refusal(case.refusal).message.split("{", 1)[0]


def submissions(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Submission)) or 0)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def built(case: HostileCase, folder: Path) -> Path:
    return case.build(folder / str(IDS.index(case.name)))


# ---- the CLI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_lscb_validate_refuses(case: HostileCase, corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = built(case, corpus_dir)
    started = time.perf_counter()
    assert main(["validate", str(path)]) == 2
    assert time.perf_counter() - started < MAX_SECONDS
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert refusal_text(case) in out.err
    assert len(out.err.strip().splitlines()) == 1, out.err


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from store import migrate
    from store.engine import dispose_engines, get_engine

    url = f"sqlite:///{tmp_path / 'lscb.sqlite'}"
    migrate.upgrade(url)
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DATABASE_URL", url)
    monkeypatch.setenv("LSCB_PSEUDONYMISATION_KEY", "corpus test secret")
    yield get_engine(url)
    dispose_engines()


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_lscb_submit_refuses_and_stores_nothing(
    case: HostileCase, corpus_dir: Path, cli_store: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    path = built(case, corpus_dir)
    assert main(["submit", str(path), "--council", COUNCIL_A]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert refusal_text(case) in out.out + out.err
    assert submissions(cli_store) == 0


def _measured(command: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run a command in a child process; its wall time and its peak resident memory."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(p.returncode)\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    elapsed = time.perf_counter() - started
    *lines, peak_kb = done.stderr.strip().splitlines()
    done.stderr = "\n".join(lines)
    return done, elapsed, int(peak_kb) * 1024


@pytest.mark.parametrize("command", ["validate", "submit"])
def test_the_smuggled_sheet_is_refused_by_a_real_process_in_bounds(tmp_path: Path, command: str) -> None:
    """Issue 16 item 1 as reported: exit 2, under 1 GB and 10 s (a Rust abort or 4.3 GB before)."""
    from store import migrate

    path = smuggled_worksheet(tmp_path / "smuggled.xlsx")
    url = f"sqlite:///{tmp_path / 'lscb.sqlite'}"
    migrate.upgrade(url)
    env = {
        **os.environ,
        "LSCB_DATA_DIR": str(tmp_path / "var"),
        "LSCB_DATABASE_URL": url,
        "LSCB_PSEUDONYMISATION_KEY": "corpus test secret",
    }
    lscb = str(Path(sys.executable).with_name("lscb"))
    extra = ["--council", COUNCIL_A] if command == "submit" else []
    done, elapsed, peak = _measured([lscb, command, str(path), *extra], env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "panicked" not in done.stderr
    assert "cannot be opened" in done.stdout + done.stderr
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s"
    assert peak < MAX_RSS_BYTES, f"{peak / 1_048_576:.0f} MB"
    from store.engine import dispose_engines, get_engine

    assert submissions(get_engine(url)) == 0
    dispose_engines()


# ---- the portal ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    folder = tmp_path_factory.mktemp("portal")
    saved = {name: os.environ.get(name) for name in ("LSCB_DATA_DIR", "LSCB_DEMO")}
    os.environ.update(LSCB_DATA_DIR=str(folder / "var"), LSCB_DEMO="1")
    yield build_rig(folder / "var")
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _upload(client: TestClient, path: Path, name: str | None = None) -> Any:
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    with path.open("rb") as handle:
        return client.post(
            f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
            data={"csrf_token": csrf},
            files={"file": (name or path.name, handle)},
            follow_redirects=False,
        )


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_the_portal_upload_refuses_and_stores_nothing(case: HostileCase, corpus_dir: Path, rig: Rig) -> None:
    import html

    path = built(case, corpus_dir)
    client = TestClient(rig.app)
    assert login(client, rig.emails["council_a"]).status_code == 303
    before = submissions(rig.engine)
    started = time.perf_counter()
    answer = _upload(client, path)
    assert time.perf_counter() - started < MAX_SECONDS
    assert answer.status_code == 422, answer.text[:500]
    assert "Traceback" not in answer.text
    assert refusal_text(case) in html.unescape(answer.text)
    assert submissions(rig.engine) == before
    # the portal is still there for everyone else
    assert client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").status_code == 200


def test_the_portal_still_takes_a_good_return_after_the_corpus(rig: Rig, tmp_path: Path) -> None:
    client = TestClient(rig.app)
    assert login(client, rig.emails["council_a"]).status_code == 303
    answer = _upload(client, good_return(tmp_path / "good.xlsx"))
    assert answer.status_code == 303, answer.text[:500]


def test_an_upload_without_an_extension_is_refused_plainly(rig: Rig, tmp_path: Path) -> None:
    import html

    client = TestClient(rig.app, raise_server_exceptions=False)
    assert login(client, rig.emails["council_a"]).status_code == 303
    before = submissions(rig.engine)
    # bytes of its own: the same bytes as a version already stored would be answered as that duplicate
    answer = _upload(client, good_return(tmp_path / "good.xlsx", children=7), name="hartlepool return")
    assert answer.status_code == 422, (answer.headers.get("location"), answer.text[:300])
    assert "name has no extension" in html.unescape(answer.text)
    assert submissions(rig.engine) == before


@pytest.mark.parametrize("submission_id", ["9223372036854775808", "99999999999999999999999999", "0"])
def test_a_huge_submission_id_is_not_found(rig: Rig, submission_id: str) -> None:
    client = TestClient(rig.app, raise_server_exceptions=False)
    assert login(client, rig.emails["council_a"]).status_code == 303
    for path in ("", "/feedback.xlsx"):
        assert client.get(f"/councils/{COUNCIL_A}/submissions/{submission_id}{path}").status_code == 404


# ---- the inbox task ------------------------------------------------------------------------------


@pytest.fixture
def inbox(tmp_path: Path) -> dict[str, Any]:
    from store import migrate
    from store.engine import get_engine

    folders = {name: tmp_path / name for name in ("inbox", "archive", "quarantine")}
    for folder in folders.values():
        folder.mkdir()
    url = f"sqlite:///{tmp_path / 'lscb.sqlite'}"
    migrate.upgrade(url)
    return {"folders": folders, "engine": get_engine(url)}


def _process(inbox: dict[str, Any], name: str) -> Any:
    from pipeline.inbox import discover, process_inbox_file

    folders = inbox["folders"]
    item = next(item for item in discover(str(folders["inbox"])) if item.name == name)
    return process_inbox_file(
        item.to_dict(),
        period=PERIOD,
        inbox=str(folders["inbox"]),
        archive=str(folders["archive"]),
        quarantine=str(folders["quarantine"]),
        engine_or_url=inbox["engine"],
        secret=b"corpus test secret",
        submitted_by="airflow:quarterly_return",
    )


def _good_return_of(council: str, path: Path) -> Path:
    from schemas.register import load_register

    about = sample_about(council_code=council, la_number=load_register().get(council).la_number)
    return write_xlsx_return(path, about, sample_strategy(), sample_activity(), children_rows(5))


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_the_inbox_task_quarantines_it_and_the_run_carries_on(
    case: HostileCase, corpus_dir: Path, inbox: dict[str, Any]
) -> None:
    folders = inbox["folders"]
    suffix = ".zip" if built(case, corpus_dir).suffix == ".zip" else ".xlsx"
    hostile_name = f"{COUNCIL_A}_{PERIOD}{suffix}"
    shutil.copy(built(case, corpus_dir), folders["inbox"] / hostile_name)
    _good_return_of(COUNCIL_B, folders["inbox"] / f"{COUNCIL_B}_{PERIOD}.xlsx")
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    refused = _process(inbox, hostile_name)
    assert time.perf_counter() - started < MAX_SECONDS
    assert refused.status == "refused"
    assert refusal_text(case) in refused.reason
    # the quarantine keeps the reason (and the file's hash), never the hostile file itself
    reason = Path(refused.moved_to)
    assert reason.parent.parent == folders["quarantine"] and reason.name.endswith(".reason.txt")
    assert refusal_text(case) in reason.read_text()
    assert sorted(p.name for p in reason.parent.iterdir()) == [reason.name]
    assert not (folders["inbox"] / hostile_name).exists()
    assert submissions(inbox["engine"]) == 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < MAX_RSS_BYTES // 1024
    # the next file of the same run is processed as usual (a council's own file, for its council)
    following = _process(inbox, f"{COUNCIL_B}_{PERIOD}.xlsx")
    assert following.status in ("accepted", "rejected")
    assert submissions(inbox["engine"]) == 1
    # a rerun finds the refused file in the quarantine and gives the same answer
    again = _process(inbox, hostile_name) if (folders["inbox"] / hostile_name).exists() else refused
    assert again.status == "refused"
