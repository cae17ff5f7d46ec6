"""The standard as a JSON Schema (draft 2020-12): the published contract of the API (§8).

Generated from the same `schemas/standard/<version>.yaml` as the template and the rules, so a
field added there is in the contract too. The schema says what a JSON document can get wrong
that a workbook cannot (shape and JSON types: an object where a value belongs, a number where
text belongs, a key the standard does not know); the API refuses those with the JSON Pointer.
Everything a workbook can also get wrong (a blank required value, a code not in its list, a bad
UPN check letter) is left to the rules of §5, which answer with findings, as for a file: so
the code lists are given as `x-codes` for documentation, not as `enum`.

`json_type(field)` is the one table of JSON types per field type; the API's type check
(`transforms.ingest.json_return`) uses it too.
"""

from __future__ import annotations

from typing import Any

from schemas.standard import Field, Sheet, Standard, load_standard

# JSON type per field type of the standard. Dates are ISO text (YYYY-MM-DD); codes, identifiers,
# GSS codes and LA numbers are text (an LA number keeps its leading zero).
JSON_TYPES: dict[str, str] = {
    "text": "string",
    "email": "string",
    "date": "string",
    "integer": "integer",
    "code": "string",
    "gss_code": "string",
    "la_number": "string",
    "period": "string",
    "upn": "string",
    "nhs_number": "string",
}
# Document keys: the sheets of the standard, in lower case (`about`, `children`, ...)
PURGE = "purge"


def json_type(field: Field) -> str:
    return JSON_TYPES[field.type]


def document_key(sheet: Sheet) -> str:
    return sheet.name.lower()


def _field_schema(standard: Standard, field: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"type": [json_type(field), "null"], "description": field.hint}
    if field.type == "date":
        out["format"] = "date"
    if field.type == "code":
        out["x-codes"] = list(standard.codes(field))
    if field.required:
        out["x-required"] = True  # a blank required value is a finding of §5, not a refusal
    if field.identifier:
        out["x-identifier"] = True  # pseudonymised at receipt: never stored, logged or echoed
    return out


def _sheet_schema(standard: Standard, sheet: Sheet) -> dict[str, Any]:
    properties = {f.name: _field_schema(standard, f) for f in sheet.fields}
    return {
        "type": "object",
        "description": sheet.description,
        "properties": properties,
        "additionalProperties": False,
    }


def json_schema(version: str = "1.0") -> dict[str, Any]:
    """The JSON Schema of a full return for `version` (a delta: the same, every key optional,
    and a child may carry `"purge": true`)."""
    standard = load_standard(version)
    properties: dict[str, Any] = {}
    for sheet in standard.sheets:
        if sheet.layout == "keyvalue":
            properties[document_key(sheet)] = _sheet_schema(standard, sheet)
        else:
            child = _sheet_schema(standard, sheet)
            child["properties"][PURGE] = {
                "type": "boolean",
                "description": "Deltas only (PATCH): true removes the child with this local_child_id.",
            }
            child["required"] = ["local_child_id"]
            properties[document_key(sheet)] = {
                "type": "array",
                "description": sheet.description,
                "maxItems": standard.limits.max_children_rows,
                "items": child,
            }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:lscb:standard:{standard.version}",
        "title": f"{standard.name}, data standard {standard.version}, as JSON",
        "description": (
            "One council's return for one period (POST /api/v1/returns/{period}); a delta (PATCH) has the "
            "same shape with every key optional. Field names and codes are those of the standard; dates "
            f"are ISO (YYYY-MM-DD). Documents nest at most {standard.limits.max_json_depth} deep and no "
            f"string is longer than {standard.limits.max_string_chars} characters."
        ),
        "type": "object",
        "properties": properties,
        "required": [document_key(s) for s in standard.sheets],
        "additionalProperties": False,
    }
