"""The Explore Education Statistics (EES) layout: time and geography columns first, one row per
geography and time period (DfE's standard for published statistics files)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from schemas.calendar import Period
from schemas.register import COUNTRY_CODE, COUNTRY_NAME, Register, load_register


@dataclass
class Geography:
    register: Register = field(default_factory=load_register)

    def columns(self, level: str, code: str) -> dict[str, Any]:
        if level == "National":
            return {
                "geographic_level": "National",
                "country_code": COUNTRY_CODE,
                "country_name": COUNTRY_NAME,
                "region_code": "",
                "region_name": "",
                "new_la_code": "",
                "old_la_code": "",
                "la_name": "",
            }
        if level == "Regional":
            return {
                "geographic_level": "Regional",
                "country_code": COUNTRY_CODE,
                "country_name": COUNTRY_NAME,
                "region_code": code,
                "region_name": self.register.regions().get(code, code),
                "new_la_code": "",
                "old_la_code": "",
                "la_name": "",
            }
        council = self.register.get(code)
        return {
            "geographic_level": "Local authority",
            "country_code": COUNTRY_CODE,
            "country_name": COUNTRY_NAME,
            "region_code": council.region_code,
            "region_name": council.region_name,
            "new_la_code": council.council_code,
            "old_la_code": council.la_number,
            "la_name": council.name,
        }


def time_columns(period_label: str) -> dict[str, str]:
    """EES time columns: `2025-Q1` -> 202526 / Financial year Q1; `2025-26` -> 202526 / Financial year."""
    if "Q" in period_label:
        p = Period.parse(period_label)
        return {"time_period": f"{p.year}{(p.year + 1) % 100:02d}", "time_identifier": f"Financial year Q{p.quarter}"}
    start = int(period_label[:4])
    return {"time_period": f"{start}{(start + 1) % 100:02d}", "time_identifier": "Financial year"}


GEOGRAPHY_COLUMNS = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "new_la_code",
    "old_la_code",
    "la_name",
]


def to_ees(
    frame: pd.DataFrame,
    *,
    period_column: str = "period",
    level: Callable[[dict[str, Any]], str] | None = None,
    code_column: str = "council_code",
    register: Register | None = None,
) -> pd.DataFrame:
    """Prefix the EES time and geography columns; drops `period` and the code column."""
    geography = Geography(register or load_register())
    rows = []
    for row in frame.to_dict("records"):
        lvl = level(row) if level else "Local authority"
        out = {**time_columns(row[period_column]), **geography.columns(lvl, row[code_column])}
        out.update({k: v for k, v in row.items() if k not in (period_column, code_column, "geographic_level")})
        rows.append(out)
    columns = GEOGRAPHY_COLUMNS + [
        c for c in frame.columns if c not in (period_column, code_column, "geographic_level")
    ]
    return pd.DataFrame(rows, columns=columns)


def council_table(frame: pd.DataFrame, label: str, register: Register) -> pd.DataFrame:
    """Council rows (exact) plus regional and England totals (exact sums), in EES layout."""
    value_columns = [c for c in frame.columns if c not in ("council_code", "region_code")]
    rows = [dict(r) for r in frame.to_dict("records")]
    totals = []
    for region_code, group in frame.groupby("region_code"):
        totals.append({"geographic_level": "Regional", "code": region_code, **exact_sums(group, value_columns)})
    totals.append({"geographic_level": "National", "code": COUNTRY_CODE, **exact_sums(frame, value_columns)})
    council_rows = [
        {"geographic_level": "Local authority", "code": r["council_code"], **{c: r[c] for c in value_columns}}
        for r in rows
    ]
    combined = pd.DataFrame(totals[-1:] + totals[:-1] + council_rows)
    combined["period"] = label
    return to_ees(combined, code_column="code", level=lambda r: r["geographic_level"], register=register)


def exact_sums(group: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        numbers = [int(v) for v in group[column] if v is not None and not pd.isna(v)]
        out[column] = sum(numbers) if numbers else None
    return out
