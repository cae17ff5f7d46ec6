"""A valid baseline return, built as ingest's `ReturnFile` directly (no file), and mutations.

`baseline()` gives plain, editable data (`ReturnData`); `build(data)` turns it into the
`ReturnFile` ingest would hand over: key/value sheets with their value cells in column B (rows
in schema order from row 2), Children with columns in schema order from A and children from
row 2. Raw values are what an xlsx read gives: text as str, dates as datetime, counts as int.

Baseline: Hartlepool (E06000001, LA 805), 2025-Q1 (1 April to 30 June 2025), validated on
1 August 2025. Five children: C001 to C005 in Excel rows 2 to 6.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from schemas.identifiers import UPN_ALPHABET, nhs_check_digit, upn_check_letter
from schemas.standard import load_standard
from transforms.findings import column_letter
from transforms.ingest.model import HeaderProblem, Hidden, KeyValueSheet, Location, ReturnFile, TableSheet

TODAY = date(2025, 8, 1)
COUNCIL = "E06000001"
PERIOD = "2025-Q1"


def make_upn(la: str = "805", serial: int = 1, temporary_letter: str | None = None) -> str:
    body = f"{la}{serial:08d}"[:11] + (temporary_letter or str(serial % 10))
    return upn_check_letter(body) + body


def make_nhs(seed: int) -> str:
    n = seed
    while True:
        first = f"{n:09d}"[-9:]
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)
        n += 1


def wrong_upn_letter(upn: str) -> str:
    right = upn[0]
    return next(c for c in UPN_ALPHABET if c != right) + upn[1:]


def wrong_nhs_digit(nhs: str) -> str:
    return nhs[:9] + str((int(nhs[9]) + 1) % 10)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


UPNS = [make_upn(serial=i) for i in range(1, 6)]
NHS = [make_nhs(943476591 + 7 * i) for i in range(1, 6)]


def _child(**values: Any) -> dict[str, Any]:
    fields = load_standard().sheet("Children").field_names
    row: dict[str, Any] = dict.fromkeys(fields)
    row.update(
        {
            "sex": "F",
            "ethnicity": "WBRI",
            "risk_level": "MEDIUM",
            "looked_after": "N",
            "missing_episodes": 0,
            "referred_to_police": "N",
        }
    )
    for name in fields:
        if name.startswith("ind_"):
            row[name] = "N"
    row.update(values)
    return row


@dataclass
class ReturnData:
    about: dict[str, Any]
    strategy: dict[str, Any]
    activity: dict[str, Any]
    children: list[dict[str, Any]]
    extra_headers: dict[str, list[str]] = field(default_factory=dict)  # sheet -> unknown header texts
    duplicate_headers: dict[str, list[str]] = field(default_factory=dict)  # sheet -> field names given twice
    drop_fields: dict[str, list[str]] = field(default_factory=dict)  # sheet -> fields absent from the file
    error_cells: dict[str, str] = field(default_factory=dict)  # cell -> Excel error text (its value too)
    hidden: list[Hidden] = field(default_factory=list)  # what the workbook hides

    def child(self, local_child_id: str) -> dict[str, Any]:
        return next(c for c in self.children if c["local_child_id"] == local_child_id)

    def copy(self) -> ReturnData:
        return copy.deepcopy(self)


def baseline() -> ReturnData:
    children = [
        _child(
            local_child_id="C001",
            upn=UPNS[0],
            date_of_birth=dt("2010-05-01"),
            identified_on=dt("2025-04-10"),
            risk_level="HIGH",
            referred_to_police="Y",
            missing_episodes=2,
            ind_missing="Y",
            return_interview_offered="Y",
            ind_truancy="Y",
        ),
        _child(
            local_child_id="C002",
            nhs_number=NHS[1],
            sex="M",
            ethnicity="AIND",
            date_of_birth=dt("2011-09-30"),
            identified_on=dt("2024-11-01"),
            risk_level="LOW",
            closed_on=dt("2025-05-20"),
            closure_reason="RISK_REDUCED",
        ),
        _child(
            local_child_id="C003",
            no_id_reason="ARRIVED_FROM_ABROAD",
            date_of_birth=dt("2009-02-14"),
            identified_on=dt("2025-06-01"),
            closed_on=dt("2025-06-15"),
            closure_reason="MOVED_OUT",
            moved_to_council="E06000002",
        ),
        _child(
            local_child_id="C004",
            upn=UPNS[3],
            nhs_number=NHS[3],
            date_of_birth=dt("2012-12-12"),
            identified_on=dt("2025-05-05"),
            moved_from_council="E06000003",
            moved_from_child_id="R-77",
            looked_after="Y",
        ),
        _child(
            local_child_id="C005",
            upn=UPNS[4],
            sex="U",
            ethnicity="NOBT",
            date_of_birth=dt("2008-01-01"),
            identified_on=dt("2025-04-01"),
            risk_level="HIGH",
            referred_to_police="Y",
        ),
    ]
    return ReturnData(
        about={
            "standard_version": "1.0",
            "council_code": COUNCIL,
            "la_number": "805",
            "period": PERIOD,
            "prepared_by_email": "data.officer@hartlepool.gov.uk",
            "signed_off_by": "LSCB chair",
            "signed_off_on": dt("2025-07-15"),
        },
        strategy={
            "cse_strategy": "REVIEWED",
            "strategy_reviewed_on": dt("2025-03-01"),
            "cse_lead_named": "Y",
            "multi_agency_team": "CO_LOCATED",
            "team_police": "Y",
            "team_health": "Y",
            "team_social_care": "Y",
            "team_education": "Y",
            "team_youth_justice": "N",
            "team_voluntary": "Y",
            "info_sharing_protocol": "SIGNED",
            "protocol_includes_health": "Y",
            "staff_trained": 12,
        },
        activity={
            "children_newly_identified": 4,
            "children_open_at_end": 3,
            "referrals_to_police": 2,
            "missing_episodes": 2,
            "children_missing": 1,
            "return_interviews_offered": 1,
            "return_interviews_within_72h": 1,
            "abduction_warning_notices": 0,
            "investigations_started": 1,
            "charges": 0,
            "convictions": 0,
        },
        children=children,
    )


def keyvalue_cell(sheet: str, name: str) -> str:
    """Where the baseline puts a key/value field's value (column B, schema order from row 2)."""
    names = list(load_standard().sheet(sheet).field_names)
    return f"{sheet}!B{names.index(name) + 2}"


def child_cell(name: str, local_child_id: str) -> str:
    names = list(load_standard().sheet("Children").field_names)
    row = [c["local_child_id"] for c in baseline().children].index(local_child_id) + 2
    return f"Children!{column_letter(names.index(name))}{row}"


def header_cell(sheet: str, position: int) -> str:
    return f"{sheet}!A{position}" if sheet != "Children" else f"Children!{column_letter(position - 1)}1"


def build(data: ReturnData, source_name: str = "return.xlsx") -> ReturnFile:
    standard = load_standard()
    sheets: dict[str, KeyValueSheet | TableSheet] = {}
    for name, values in (("About", data.about), ("Strategy", data.strategy), ("Activity", data.activity)):
        dropped = set(data.drop_fields.get(name, []))
        kv = KeyValueSheet(name, {}, {})
        row = 2
        for f in standard.sheet(name).fields:
            if f.name in dropped:
                row += 1
                continue
            kv.values[f.name] = values.get(f.name)
            kv.locations[f.name] = Location(name, row, "B")
            row += 1
        for extra in data.extra_headers.get(name, []):
            kv.header_problems.append(HeaderProblem("unknown", extra, Location(name, row, "A")))
            row += 1
        for duplicate in data.duplicate_headers.get(name, []):
            kv.header_problems.append(HeaderProblem("duplicate", duplicate, Location(name, row, "A")))
            row += 1
        sheets[name] = kv
    fields = [f for f in standard.sheet("Children").field_names if f not in set(data.drop_fields.get("Children", []))]
    columns = {name: column_letter(i) for i, name in enumerate(standard.sheet("Children").field_names)}
    columns = {name: letter for name, letter in columns.items() if name in fields}
    frame = pd.DataFrame(
        {name: pd.Series([child.get(name) for child in data.children], dtype=object) for name in fields},
        dtype=object,
    )
    frame.index = pd.RangeIndex(2, 2 + len(data.children))
    table = TableSheet("Children", frame, columns)
    position = len(standard.sheet("Children").fields)
    for extra in data.extra_headers.get("Children", []):
        table.header_problems.append(HeaderProblem("unknown", extra, Location("Children", 1, column_letter(position))))
        position += 1
    for duplicate in data.duplicate_headers.get("Children", []):
        table.header_problems.append(
            HeaderProblem("duplicate", duplicate, Location("Children", 1, column_letter(position)))
        )
        position += 1
    sheets["Children"] = table
    return ReturnFile(
        source_name=source_name,
        format="xlsx",
        checksum="0" * 64,
        size_bytes=0,
        standard_version=str(data.about.get("standard_version") or "1.0"),
        sheets=sheets,
        error_cells=dict(data.error_cells),
        hidden=list(data.hidden),
    )
