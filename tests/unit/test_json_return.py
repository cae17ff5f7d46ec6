"""JSON returns (standard §8): the contract generated from the YAML, the same findings as a
workbook (pointer for cell) over the whole rule case table, and hostile JSON refused in bounded
time and memory with the pointer named."""

from __future__ import annotations

import json
import time
import tracemalloc
from typing import Any

import jsonschema
import pytest
from rules.baseline import TODAY, baseline, build
from rules.cases import CASES, Case

from reports.standard_doc import render_standard
from schemas.json_schema import json_schema
from schemas.standard import load_standard
from transforms.ingest import Refused
from transforms.ingest.json_return import locate_by_pointer, read_json_return, return_to_document
from transforms.validate import validate_return

STANDARD = load_standard("1.0")
HEADER_RULES = ("STRUCT-01", "STRUCT-03")  # JSON has no headers: an unknown key is refused instead
# what only a file can carry: Excel error cells, hidden sheets, rows and columns, a sheet without
# its header row (an empty `children` array is a return without children)
WORKBOOK_RULES = ("STRUCT-04", "STRUCT-05", "STRUCT-06")


def baseline_document() -> dict[str, Any]:
    return return_to_document(build(baseline()))


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_the_schema_has_every_field_of_the_standard_and_the_baseline_is_valid() -> None:
    schema = json_schema("1.0")
    for sheet in STANDARD.sheets:
        part = schema["properties"][sheet.name.lower()]
        fields = part["items"]["properties"] if sheet.layout == "table" else part["properties"]
        assert set(sheet.field_names) <= set(fields)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(baseline_document(), schema)
    wrong = baseline_document()
    wrong["children"][0]["missing_episodes"] = "three"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)


def test_the_reference_page_shows_the_schema() -> None:
    page = render_standard("1.0", "html")
    assert "/api/v1/schema" in page and "urn:lscb:standard:1.0" in page


def _findings(case: Case) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]] | Refused]:
    data = baseline()
    case.mutate(data)
    ret = build(data)
    options = {"today": TODAY, **case.options}
    workbook = validate_return(ret, **options).findings
    try:
        sent = read_json_return(body(return_to_document(ret)))
    except Refused as refused:
        return [(f.rule, f.severity, f.cell, f.field) for f in workbook], refused
    by_pointer = locate_by_pointer(validate_return(sent.ret, **options).findings, sent.pointers)
    expected = sorted(
        (f.rule, f.severity, f.field, f.local_child_id, f.message, sent.pointers.get(f.cell) if f.cell else None)
        for f in workbook
    )
    got = sorted((f.rule, f.severity, f.field, f.local_child_id, f.message, f.cell) for f in by_pointer)
    assert got == expected
    return expected, got


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.rule not in HEADER_RULES + WORKBOOK_RULES], ids=lambda c: f"{c.rule}:{c.id}"
)
def test_a_json_return_gets_the_findings_of_the_same_workbook_pointer_for_cell(case: Case) -> None:
    workbook, sent = _findings(case)
    if isinstance(sent, Refused):
        # a value JSON cannot carry in its field's type (words in a count): refused with the
        # pointer of the very value the workbook's type finding points at
        pointer = str(sent).split(" at ", 1)[1].split(":", 1)[0]
        assert sent.refusal == "REF-JSON"
        assert any(severity == "E" and cell for _rule, severity, cell, _field in workbook)
        assert pointer.rsplit("/", 1)[-1] in {field for *_, field in workbook}


def test_an_unknown_key_is_refused_where_a_workbook_has_an_unknown_header() -> None:
    document = baseline_document()
    document["children"][2]["worker_name"] = "A. Smith"
    with pytest.raises(Refused, match="/children/2/worker_name"):
        read_json_return(body(document))


def _bounded(payload: bytes, pointer: str, seconds: float = 3.0) -> Refused:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(Refused) as refused:
            read_json_return(payload)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - started < seconds
    assert peak < 3 * len(payload) + 10_000_000  # the body decoded once, nothing built from it
    assert refused.value.refusal in ("REF-JSON", "REF-TOO-LARGE")
    assert pointer in str(refused.value)
    return refused.value


def test_nesting_ten_thousand_deep_is_refused() -> None:
    _bounded(b'{"children": [{"sex": ' + b"[" * 10_000 + b"]" * 10_000 + b"}]}", "/children/0/sex")


def test_a_fifty_megabyte_string_is_refused() -> None:
    document = baseline_document()
    document["children"][1]["local_child_id"] = "x" * 50_000_000
    _bounded(body(document), "/children/1/local_child_id")


def test_a_body_over_the_limit_is_refused() -> None:
    payload = b" " * (STANDARD.limits.max_upload_bytes + 1)
    with pytest.raises(Refused) as refused:
        read_json_return(payload)
    assert refused.value.refusal == "REF-TOO-LARGE"


def test_duplicate_keys_are_refused() -> None:
    text = body(baseline_document()).decode().replace('"sex": "F"', '"sex": "F", "sex": "M"', 1)
    _bounded(text.encode(), "/children/")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400, "2.5"])
def test_non_finite_huge_and_fractional_numbers_are_refused(literal: str) -> None:
    text = body(baseline_document()).decode().replace('"charges": 0', f'"charges": {literal}', 1)
    assert literal in text
    _bounded(text.encode(), "/activity/charges")


@pytest.mark.parametrize(
    ("where", "value", "pointer"),
    [
        (("children", 0, "missing_episodes"), "2", "/children/0/missing_episodes"),
        (("children", 0, "sex"), {"code": "F"}, "/children/0/sex"),
        (("about", "period"), 2025, "/about/period"),
        (("children", 3, "risk_level"), True, "/children/3/risk_level"),
    ],
)
def test_wrong_types_are_refused_with_the_pointer(where: tuple[Any, ...], value: Any, pointer: str) -> None:
    document = baseline_document()
    target: Any = document
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    _bounded(body(document), pointer)


def test_the_baseline_as_json_is_accepted_and_identifiers_never_appear_in_refusals() -> None:
    sent = read_json_return(body(baseline_document()))
    assert validate_return(sent.ret, today=TODAY).status == "accepted"
    document = baseline_document()
    upn = document["children"][0]["upn"]
    document["children"][0]["upn"] = [upn]
    with pytest.raises(Refused) as refused:
        read_json_return(body(document))
    assert upn not in str(refused.value)
