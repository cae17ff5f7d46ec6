"""transforms.delta (standard §8): what a delta does to a return, the state kept between
submissions (never a raw identifier or date of birth), and the delta `lscb push` computes."""

from __future__ import annotations

import json

from transforms.delta import STAND_IN, apply_delta, carry_over, delta_between, state_of
from transforms.findings import Finding

UPN = "A80500000001B"  # made up; its shape is all that matters here
KEYS = [{"upn_key": f"key-{i}", "nhs_key": None, "birth_month": "2011-03-01"} for i in range(3)]


def _return() -> dict:
    return {
        "about": {"period": "2025-Q1"},
        "activity": {"charges": 0},
        "children": [
            {"local_child_id": "C1", "upn": UPN, "date_of_birth": "2011-03-14", "risk_level": "LOW"},
            {"local_child_id": "C2", "upn": None, "nhs_number": None, "date_of_birth": "2012-01-02"},
            {"local_child_id": "C3", "upn": UPN, "date_of_birth": "2010-05-05", "risk_level": "HIGH"},
        ],
    }


def _finding(row: int, field: str) -> Finding:
    return Finding("CHD-05", "E", "Children", f"/children/{row}/{field}", field, f"C{row + 1}", "wrong letter", row)


def test_the_state_keeps_keys_and_identity_findings_never_the_raw_values() -> None:
    state = state_of(_return(), KEYS, [_finding(2, "upn"), _finding(0, "risk_level")])
    text = json.dumps(state)
    assert UPN not in text and "2011-03-14" not in text
    assert not any({"upn", "nhs_number", "date_of_birth"} & set(child) for child in state["children"])
    assert state["children"][0]["_keys"]["upn_key"] == "key-0"
    assert state["children"][2]["_findings"] == [
        {"rule": "CHD-05", "severity": "E", "field": "upn", "message": "wrong letter"}
    ]
    assert state["children"][0]["_findings"] == []  # a finding on another field is validation's to make again


def test_a_delta_upserts_purges_and_replaces_parts() -> None:
    state = state_of(_return(), KEYS, [])
    delta = {
        "activity": {"charges": 2},
        "children": [
            {"local_child_id": "C2", "upn": UPN, "date_of_birth": "2012-01-02", "risk_level": "HIGH"},
            {"local_child_id": "C9", "upn": None, "date_of_birth": "2013-01-01"},
            {"local_child_id": "C3", "purge": True},
            {"local_child_id": "C404", "purge": True},  # nothing to purge: nothing happens
        ],
    }
    document, carried = apply_delta(state, delta)
    assert document["about"] == {"period": "2025-Q1"} and document["activity"] == {"charges": 2}
    assert [c["local_child_id"] for c in document["children"]] == ["C1", "C2", "C9"]
    assert document["children"][1]["upn"] == UPN  # sent: as sent
    assert set(carried) == {0}
    carried_child = document["children"][0]
    assert carried_child["upn"] == STAND_IN["upn"] and carried_child["date_of_birth"] == STAND_IN["date_of_birth"]
    assert "nhs_number" not in carried_child  # a stand-in only where the child had a value
    assert carried[0].keys["upn_key"] == "key-0"


def test_carried_findings_replace_what_the_stand_ins_gave() -> None:
    state = state_of(_return(), KEYS, [_finding(0, "upn")])
    document, carried = apply_delta(state, {"children": [_return()["children"][1]]})
    from_stand_ins = [_finding(0, "date_of_birth"), _finding(1, "upn")]
    out = carry_over(from_stand_ins, carried, document)
    assert sorted((f.cell, f.local_child_id) for f in out) == [("/children/0/upn", "C1"), ("/children/1/upn", "C2")]


def test_delta_between_sends_what_changed_only() -> None:
    before, after = _return(), _return()
    after["children"][0]["risk_level"] = "MEDIUM"
    del after["children"][2]
    after["children"].append({"local_child_id": "C4", "upn": None})
    delta = delta_between(before, after)
    assert delta == {
        "children": [
            after["children"][0],
            {"local_child_id": "C4", "upn": None},
            {"local_child_id": "C3", "purge": True},
        ]
    }
    assert delta_between(before, before) == {}
