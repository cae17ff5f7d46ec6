"""Deltas (standard §8, PATCH) over the real store: a sequence of deltas stores exactly what the
equivalent full return stores (child records, keys included, and findings), step by step, even
when a child carried over unchanged has an error; a delta with nothing to apply to is refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from store.engine import get_engine
from store.migrate import ensure_current
from store.models import FindingRecord, Submission, child_records
from store.queries import orm_all
from tests.support.api import BASE_URL, PERIOD, add_client, api_app, baseline_document, bearer, body, get_token
from tests.unit.rules.baseline import make_upn, wrong_upn_letter

IGNORED = {"id", "submission_id"}


def _stored(url: str) -> tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The latest version's status, child records and findings, comparable across databases."""
    with get_engine(url).connect() as connection:
        latest = orm_all(connection, select(Submission).order_by(Submission.id.desc()).limit(1))[0]
        children = connection.execute(
            select(child_records).where(child_records.c.submission_id == latest.id)
        ).mappings()
        rows = sorted(tuple((k, str(v)) for k, v in sorted(r.items()) if k not in IGNORED) for r in children)
        findings = orm_all(connection, select(FindingRecord).where(FindingRecord.submission_id == latest.id))
    found = sorted((f.rule, f.severity, f.cell, f.field, f.local_child_id, f.message, f.row) for f in findings)
    return latest.status, rows, found


def _upsert(document: dict[str, Any], child: dict[str, Any]) -> None:
    for i, existing in enumerate(document["children"]):
        if existing["local_child_id"] == child["local_child_id"]:
            document["children"][i] = copy.deepcopy(child)
            return
    document["children"].append(copy.deepcopy(child))


def test_a_sequence_of_deltas_stores_what_the_equivalent_full_return_stores(migrated_url: str, tmp_path: Path) -> None:
    full_url = f"sqlite:///{tmp_path / 'full.sqlite'}"
    ensure_current(full_url)
    deltas_app, _ = api_app(migrated_url)
    full_app, _ = api_app(full_url)
    deltas, full = TestClient(deltas_app, base_url=BASE_URL), TestClient(full_app, base_url=BASE_URL)
    token_d = get_token(deltas, add_client(migrated_url))
    token_f = get_token(full, add_client(full_url))

    whole = baseline_document()
    first = deltas.post(f"/returns/{PERIOD}", content=body(whole), headers=bearer(token_d, "full-0"))
    assert first.json()["status"] == "accepted"

    c2 = {**whole["children"][1], "risk_level": "HIGH"}
    c4_wrong = {**whole["children"][3], "upn": wrong_upn_letter(whole["children"][3]["upn"])}
    c6 = {**whole["children"][0], "local_child_id": "C006", "upn": make_upn(serial=6), "nhs_number": None}
    activity = {**whole["activity"], "children_open_at_end": whole["activity"]["children_open_at_end"] + 1}
    steps: list[tuple[dict[str, Any], str]] = [
        # change one child, break another's UPN, add one, remove one
        ({"children": [c2, c4_wrong, c6, {"local_child_id": "C003", "purge": True}]}, "rejected"),
        # touch neither C004 nor its UPN: the carried error still rejects the return
        ({"strategy": {**whole["strategy"], "staff_trained": 13}}, "rejected"),
        # fix C004 and the counts: accepted, every other child carried over with its own keys
        ({"children": [whole["children"][3]], "activity": activity}, "accepted"),
    ]
    expected = copy.deepcopy(whole)
    for number, (delta, status) in enumerate(steps, start=1):
        for child in delta.get("children", []):
            if child.get("purge"):
                gone = child["local_child_id"]
                expected["children"] = [c for c in expected["children"] if c["local_child_id"] != gone]
            else:
                _upsert(expected, child)
        for part in ("about", "strategy", "activity"):
            if part in delta:
                expected[part] = copy.deepcopy(delta[part])
        patched = deltas.patch(f"/returns/{PERIOD}", content=body(delta), headers=bearer(token_d, f"delta-{number}"))
        sent = full.post(f"/returns/{PERIOD}", content=body(expected), headers=bearer(token_f, f"full-{number}"))
        assert patched.status_code == sent.status_code == 201, patched.text
        assert patched.json()["status"] == sent.json()["status"] == status, sent.json()["findings"]
        assert sorted(map(str, patched.json()["findings"])) == sorted(map(str, sent.json()["findings"]))
        assert _stored(migrated_url) == _stored(full_url)
    assert patched.json()["version"] == 4


def test_a_delta_with_nothing_to_apply_to_is_refused_and_nothing_stored(migrated_url: str) -> None:
    app, _ = api_app(migrated_url)
    http = TestClient(app, base_url=BASE_URL)
    token = get_token(http, add_client(migrated_url))
    refused = http.patch(f"/returns/{PERIOD}", content=b'{"children": []}', headers=bearer(token, "d"))
    assert refused.status_code == 422 and "send the whole return first" in refused.json()["message"]
    with get_engine(migrated_url).connect() as connection:
        assert orm_all(connection, select(Submission)) == []


def test_a_delta_that_changes_nothing_is_a_duplicate(migrated_url: str) -> None:
    app, _ = api_app(migrated_url)
    http = TestClient(app, base_url=BASE_URL)
    token = get_token(http, add_client(migrated_url))
    http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "f"))
    child = {**baseline_document()["children"][1], "risk_level": "HIGH"}
    once = http.patch(f"/returns/{PERIOD}", content=body({"children": [child]}), headers=bearer(token, "d1"))
    twice = http.patch(f"/returns/{PERIOD}", content=body({"children": [child]}), headers=bearer(token, "d2"))
    assert once.json()["version"] == 2
    assert twice.status_code == 200 and twice.json()["status"] == "duplicate" and twice.json()["version"] == 2
