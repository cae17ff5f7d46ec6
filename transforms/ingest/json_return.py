"""A return sent as JSON through the API (standard §8): bytes in, the same `ReturnFile` a
workbook gives, or `Refused` (REF-JSON) naming the JSON Pointer (RFC 6901) of the problem.

Order, cheapest and most dangerous first, so a hostile body costs bounded time and memory:
1. size (the standard's `max_upload_bytes`, as a file) and UTF-8;
2. a scan of the tokens with one regular expression, before any parser builds anything: depth
   (`max_json_depth`), string length (`max_string_chars`), duplicate keys, NaN / Infinity, and
   numbers that are not whole numbers of at most 15 digits (1e400, 10^400 written out);
3. `json.loads` (now safe), then the shape and JSON types of `schemas.json_schema`;
4. the `ReturnFile`: key/value sheets with their values in column B in schema order from row 2,
   Children with columns in schema order from A and the n-th child in row n + 2, exactly as the
   template lays them out, and `pointers`: each such cell's JSON Pointer. Validation runs on it
   unchanged; `locate_by_pointer` turns its findings' cells into pointers.

A key absent from every child (or from a key/value object) is a field absent from the return
(STRUCT-02 when required), as a missing column would be; absent from some children only, it is
blank for them. Messages name keys and JSON types, never a value.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from schemas.json_schema import JSON_TYPES, PURGE, document_key
from schemas.standard import Limits, Standard, available_versions, load_standard
from transforms.checksum import bytes_checksum
from transforms.findings import Finding, column_letter
from transforms.ingest.model import KeyValueSheet, Location, Refused, ReturnFile, Sheet, TableSheet
from transforms.ingest.refusals import gatekeeper, megabytes, refuse, shown

_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]|[^\s\[\]{},:"]+|"')
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WHOLE = re.compile(r"-?(?:0|[1-9]\d{0,14})")
MAX_KEY_CHARS = 100


def pointer_of(parts: list[str | int]) -> str:
    """RFC 6901: `~` is written `~0` and `/` is written `~1`; the whole document is ""."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _refuse(parts: list[str | int], detail: str, source_name: str) -> Refused:
    return refuse("REF-JSON", source_name, pointer=shown(pointer_of(parts) or "/ (the document)", 80), detail=detail)


@dataclass
class _Frame:
    is_object: bool
    key: str | int | None  # the member being read (object) or the element's index (array)
    keys: set[str]
    expect_key: bool = True


def scan(text: str, limits: Limits, source_name: str = "") -> None:
    """Refuse hostile JSON before parsing it (see the module's step 2). Not a full grammar
    check: `json.loads` does that afterwards, on a document this scan has bounded."""
    stack: list[_Frame] = []

    def here() -> list[str | int]:
        return [f.key for f in stack if f.key is not None]

    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        top = stack[-1] if stack else None
        if first in "{[":
            if len(stack) >= limits.max_json_depth:
                raise _refuse(here(), f"the document nests deeper than {limits.max_json_depth} levels", source_name)
            stack.append(_Frame(first == "{", None if first == "{" else 0, set()))
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == ",":
            if top is not None:
                if top.is_object:
                    top.expect_key = True
                elif isinstance(top.key, int):
                    top.key += 1
        elif first == ":":
            if top is not None:
                top.expect_key = False
        elif first == '"':
            if len(token) < 2:  # a lone quote: the string is never closed
                raise _refuse(here(), "a string is not closed", source_name)
            if top is not None and top.is_object and top.expect_key:
                if len(token) - 2 > MAX_KEY_CHARS:
                    raise _refuse(here(), f"a key is longer than {MAX_KEY_CHARS} characters", source_name)
                key = _decode_string(token, here(), source_name)
                if key in top.keys:
                    top.key = key
                    raise _refuse(here(), "this key appears more than once in its object", source_name)
                top.keys.add(key)
                top.key = key
            elif len(token) - 2 > limits.max_string_chars:
                # the escaped length bounds the decoded one from above: decoding is skipped
                raise _refuse(here(), f"a string is longer than {limits.max_string_chars:,} characters", source_name)
        else:
            _check_literal(token, here(), source_name)


def _decode_string(token: str, where: list[str | int], source_name: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    try:
        value = json.loads(token)
    except ValueError:
        raise _refuse(where, "a string has a bad escape", source_name) from None
    assert isinstance(value, str)
    return value


def _check_literal(token: str, where: list[str | int], source_name: str) -> None:
    if token in ("true", "false", "null"):
        return
    if token in ("NaN", "Infinity", "-Infinity"):
        raise _refuse(where, "NaN and Infinity are not JSON numbers", source_name)
    if not _NUMBER.fullmatch(token):
        raise _refuse(where, "this is not a JSON value", source_name)
    if not _WHOLE.fullmatch(token):
        raise _refuse(where, "numbers in a return are whole numbers of at most 15 digits", source_name)


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # scan() refused these already; kept so a bypass cannot bring them in


def parse(body: bytes, source_name: str = "return.json", limits: Limits | None = None) -> Any:
    """Steps 1-3 of the module's order: size, UTF-8, scan, parse. Returns the document."""
    limits = limits or gatekeeper().limits
    if len(body) > limits.max_upload_bytes:
        raise refuse(
            "REF-TOO-LARGE",
            source_name,
            what="The body",
            detail=f"{megabytes(len(body))}; at most {megabytes(limits.max_upload_bytes)}",
        )
    if not body.strip():
        raise refuse("REF-EMPTY", source_name)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse([], "the body is not UTF-8", source_name) from None
    scan(text, limits, source_name)
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError as error:
        line = getattr(error, "lineno", "?")
        column = getattr(error, "colno", "?")
        raise _refuse([], f"this is not valid JSON (line {line}, column {column})", source_name) from None


@dataclass
class JsonReturn:
    """A JSON return read as a `ReturnFile`, with the JSON Pointer of each value's cell."""

    ret: ReturnFile
    pointers: dict[str, str]  # "Children!F12" -> "/children/10/upn"
    document: dict[str, Any]


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _check_object(value: Any, known: set[str], where: list[str | int], source_name: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(where, f"{what} must be an object, not {_json_type_name(value)}", source_name)
    for key in value:
        if key not in known:
            raise _refuse([*where, key], f"'{shown(key, 40)}' is not a field of {what}", source_name)
    return value


def _check_value(standard: Standard, sheet: str, name: str, value: Any, *, where: list[str | int], source: str) -> None:
    if value is None:
        return
    wanted = JSON_TYPES[standard.field(sheet, name).type]
    got = _json_type_name(value)
    if got != wanted:
        raise _refuse(where, f"{name} must be {wanted} or null, not {got}", source)


def read_document(
    document: Any,
    *,
    source_name: str = "return.json",
    checksum: str = "",
    size_bytes: int = 0,
    delta: bool = False,
) -> JsonReturn:
    """Step 4: check the shape and JSON types, and lay the document out as the template would.
    `delta=True` allows missing parts and `"purge": true` children (what `apply_delta` reads)."""
    version = "1.0"
    if isinstance(document, dict) and isinstance(document.get("about"), dict):
        declared = document["about"].get("standard_version")
        if isinstance(declared, str) and declared.strip():
            version = declared.strip()
    if version not in available_versions():
        raise refuse("REF-VERSION", source_name, version=shown(version, 40), known=", ".join(available_versions()))
    standard = load_standard(version)
    keys = {document_key(s): s for s in standard.sheets}
    doc = _check_object(document, set(keys), [], source_name, "the return")
    if not delta:
        for key in keys:
            if key not in doc:
                raise _refuse([key], f"the return has no '{key}'", source_name)
    sheets: dict[str, Sheet] = {}
    pointers: dict[str, str] = {}
    for key, spec in keys.items():
        if key not in doc:
            continue
        if spec.layout == "keyvalue":
            part = _check_object(doc[key], set(spec.field_names), [key], source_name, f"'{key}'")
            kv = KeyValueSheet(spec.name, {}, {})
            for row, f in enumerate(spec.fields, start=2):
                if f.name not in part:
                    continue
                _check_value(standard, spec.name, f.name, part[f.name], where=[key, f.name], source=source_name)
                kv.values[f.name] = part[f.name]
                location = Location(spec.name, row, "B")
                kv.locations[f.name] = location
                pointers[location.cell] = pointer_of([key, f.name])
            sheets[spec.name] = kv
        else:
            sheets[spec.name] = _table(
                standard, spec.name, key, doc[key], pointers=pointers, source_name=source_name, delta=delta
            )
    ret = ReturnFile(
        source_name=source_name,
        format="json",
        checksum=checksum,
        size_bytes=size_bytes,
        standard_version=version,
        sheets=sheets,
    )
    return JsonReturn(ret, pointers, doc)


def _table(
    standard: Standard,
    sheet: str,
    key: str,
    value: Any,
    *,
    pointers: dict[str, str],
    source_name: str,
    delta: bool,
) -> TableSheet:
    spec = standard.sheet(sheet)
    if not isinstance(value, list):
        raise _refuse([key], f"'{key}' must be an array, not {_json_type_name(value)}", source_name)
    if len(value) > standard.limits.max_children_rows:
        raise refuse(
            "REF-TOO-LARGE",
            source_name,
            what=f"'{key}'",
            detail=f"{len(value):,} children; at most {standard.limits.max_children_rows:,}",
        )
    known = set(spec.field_names) | ({PURGE} if delta else set())
    present: set[str] = set()
    for index, child in enumerate(value):
        _check_object(child, known, [key, index], source_name, "a child")
        for name, item in child.items():
            if name == PURGE:
                if not isinstance(item, bool):
                    raise _refuse(
                        [key, index, name], f"purge must be boolean, not {_json_type_name(item)}", source_name
                    )
                continue
            _check_value(standard, sheet, name, item, where=[key, index, name], source=source_name)
            present.add(name)
    letters = {name: column_letter(i) for i, name in enumerate(spec.field_names)}
    fields = [n for n in spec.field_names if n in present]
    frame = pd.DataFrame(
        {name: pd.Series([child.get(name) for child in value], dtype=object) for name in fields}, dtype=object
    )
    frame.index = pd.RangeIndex(2, 2 + len(value))
    for index in range(len(value)):
        for name in fields:
            pointers[f"{sheet}!{letters[name]}{index + 2}"] = pointer_of([key, index, name])
    return TableSheet(sheet, frame, {name: letters[name] for name in fields})


def read_json_return(body: bytes, source_name: str = "return.json") -> JsonReturn:
    """A full return as JSON bytes: `parse` then `read_document` (raises `Refused`)."""
    document = parse(body, source_name)
    return read_document(document, source_name=source_name, checksum=bytes_checksum(body), size_bytes=len(body))


def locate_by_pointer(findings: list[Finding], pointers: dict[str, str]) -> list[Finding]:
    """The findings of a JSON return, located by JSON Pointer instead of a cell (§8). A finding
    about a whole sheet or field keeps no location, as for a file; `row` is the child's index."""
    out: list[Finding] = []
    for f in findings:
        pointer = pointers.get(f.cell) if f.cell else None
        row = f.row - 2 if f.row is not None and f.sheet == "Children" else None
        out.append(dataclasses.replace(f, cell=pointer, row=row))
    return out


# ---- a workbook as JSON (what `lscb push` sends) ------------------------------------------------------


def _as_json_value(json_type: str, value: Any) -> Any:
    """A raw cell value as the JSON of its field's type, when it is one; otherwise as it is, so
    the API says what is wrong with it (a text in a count is refused with its pointer)."""
    import datetime as dt

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if json_type == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
            return int(value.strip())
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def return_to_document(ret: ReturnFile) -> dict[str, Any]:
    """A return read from a workbook or CSV bundle as the JSON document of §8 (fields the file
    does not have are left out; unknown headers are dropped: JSON has no place for them)."""
    standard = load_standard(str(ret.standard_version).strip() or "1.0")
    document: dict[str, Any] = {}
    for spec in standard.sheets:
        sheet = ret.sheets.get(spec.name)
        types = {f.name: JSON_TYPES[f.type] for f in spec.fields}
        if isinstance(sheet, KeyValueSheet):
            document[document_key(spec)] = {
                n: _as_json_value(types[n], sheet.values[n]) for n in spec.field_names if n in sheet.values
            }
        elif isinstance(sheet, TableSheet):
            names = [n for n in spec.field_names if n in sheet.frame.columns]
            document[document_key(spec)] = [
                {n: _as_json_value(types[n], record[n]) for n in names}
                for record in sheet.frame[names].to_dict("records")
            ]
        else:
            document[document_key(spec)] = [] if spec.layout == "table" else {}
    return document
