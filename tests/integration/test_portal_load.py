"""The portal under concurrent uploads (a small version of bench/portal_load.py): a real server
(one web process, two validator processes) on a loopback port, council users uploading at once, on SQLite and on
PostgreSQL. Every upload must be answered and stored exactly once, with all its child rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.calendar import Period
from schemas.register import load_register
from tests.support.portal_load import run_load

pytestmark = pytest.mark.slow
PERIOD = "2025-Q1"
COUNCILS = 12
CHILDREN = 60


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], dict[str, int]]:
    from synth import SynthOptions, generate

    out = tmp_path_factory.mktemp("load-returns")
    codes = sorted(c.council_code for c in load_register().expected(Period.parse(PERIOD)))[:COUNCILS]
    truth = generate(SynthOptions(period=PERIOD, out=out, councils=codes, children=CHILDREN, seed=3)).ground_truth
    files = {r["council_code"]: out / r["file"] for r in truth["returns"]}
    return files, {r["council_code"]: int(r["children"]) for r in truth["returns"]}


def test_concurrent_uploads_are_stored_exactly_once(
    returns: tuple[dict[str, Path], dict[str, int]], database_url: str, tmp_path: Path
) -> None:
    files, children = returns
    result = run_load(
        files,
        PERIOD,
        tmp_path / "data",
        children=children,
        concurrency=6,
        workers=1,
        validators=2,
        spread=3,
        database_url=database_url,
        max_seconds=300,
    )
    summary = result.summary()
    assert summary["failures"] == []
    assert len(result.succeeded) == COUNCILS
    assert {u.outcome for u in result.uploads} == {"accepted"}
    assert result.stored == dict.fromkeys(files, 1)
    assert result.child_rows == children
    assert result.exactly_once
    assert summary["p95_s"] is not None and summary["p95_s"] > 0
    assert result.left_running == []  # the web process and its validator processes all stopped


def test_the_checks_can_fail(returns: tuple[dict[str, Path], dict[str, int]]) -> None:
    from tests.support.portal_load import LoadResult, Upload

    files, children = returns
    codes = sorted(files)
    uploads = [Upload(code, 303, 0.1, "accepted") for code in codes]
    good = LoadResult(
        len(codes), CHILDREN, 2, 2, "sqlite", 1.0, uploads, dict.fromkeys(codes, 1), dict(children), dict(children)
    )
    assert good.exactly_once
    duplicated = LoadResult(**{**good.__dict__, "stored": {**good.stored, codes[0]: 2}})
    lost = LoadResult(**{**good.__dict__, "stored": {c: 1 for c in codes[1:]}})
    short = LoadResult(**{**good.__dict__, "child_rows": {**good.child_rows, codes[0]: 0}})
    failed = LoadResult(**{**good.__dict__, "uploads": [Upload(codes[0], 500, 0.1), *uploads[1:]]})
    assert (duplicated.duplicated, lost.lost, short.wrong_rows) == ([codes[0]], [codes[0]], [codes[0]])
    assert not any(r.exactly_once for r in (duplicated, lost, short, failed))
