"""The Explore Education Statistics (EES) layout: time and geography columns first, one row per
geography and time period (DfE's standard for published statistics files)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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


# ---------------------------------------------------------------------------------------------
# Metadata: the `<name>.meta.csv` beside every published CSV, from one set of column definitions

DEMONSTRATION = "Demonstration: synthetic data, not official statistics"
META_COLUMNS = [
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
    "filter_default",
]
EES_UNITS = {"%": "%", "pp": "pp"}  # EES allows %, pp, £, £m, numberstring or blank


@dataclass(frozen=True)
class Provenance:
    """Where a publication's figures come from. A demonstration (the public demo key, or a
    synthetic population) says so on every page, in the XLSX cover and in the CSV metadata, and
    never carries an official statistics badge."""

    demonstration: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def statement(self) -> str:
        return DEMONSTRATION if self.demonstration else ""


@dataclass(frozen=True)
class ColumnDefinition:
    """One published column: what EES's metadata file says about it (and the decimals we show)."""

    name: str
    label: str
    col_type: str = "Indicator"  # or "Filter"
    unit: str = ""  # our unit; EES's indicator_unit is derived (`%`, `pp` or blank)
    dp: int | None = 0
    filter_hint: str = ""
    filter_default: str = ""

    @property
    def indicator_unit(self) -> str:
        return EES_UNITS.get(self.unit, "")


def column_definitions() -> dict[str, ColumnDefinition]:
    """Every column any published CSV may hold, apart from the time and geography columns."""
    from schemas.standard import load_standard
    from transforms.link import RULES, WHOLE_PICTURE
    from transforms.measures import MEASURES, children_fields

    standard = load_standard()
    defs: list[ColumnDefinition] = []
    for m in MEASURES:
        defs += [
            ColumnDefinition(m.name, m.label, unit=m.unit, dp=m.dp),
            ColumnDefinition(f"{m.name}_rank", f"{m.label}: rank (1 is best)"),
            ColumnDefinition(f"{m.name}_band", f"{m.label}: band (A best to D)"),
            ColumnDefinition(
                f"{m.name}_change",
                f"{m.label}: change on the previous period",
                unit="pp" if m.unit == "%" else m.unit,
                dp=m.dp,
            ),
        ]
    for rule in (*RULES, WHOLE_PICTURE):
        title = standard.rule(rule).description.split(":")[0]
        defs.append(ColumnDefinition(rule.lower(), f"{rule} {title}: children"))
    defs.append(ColumnDefinition("total", "Cross-council findings of every rule: children"))
    for name, _ in children_fields(standard):
        defs.append(ColumnDefinition(ees_name(f"completeness_{name}"), f"Completeness of {name} (%)", unit="%", dp=1))
    plain = {
        # returns
        "expected": "Returns expected",
        "accepted": "Returns accepted",
        "signed_off": "Returns signed off",
        "received_with_errors": "Returns received with errors",
        "not_received": "Returns not received",
        # the tracker
        "state": "State of the return",
        "versions": "Versions received",
        "current_version": "Current version",
        "first_received_at": "First version received at (UTC)",
        "current_received_at": "Current version received at (UTC)",
        "errors": "Errors in the current version",
        "open_queries": "Open queries in the current version",
        "days_after_deadline": "Days after the deadline (negative: before)",
        "late": "Received after the deadline (Y/N)",
        # gaps and strategy
        "missing": "No return (Y/N)",
        "no_strategy": "No strategy in place (Y/N, or councils)",
        "no_co_located_team": "No co-located team (Y/N, or councils)",
        "no_health_in_protocol": "Health not in the protocol (Y/N, or councils)",
        "children": "Children in the return",
        "missing_no_interview": "Missing children not offered a return interview",
        "findings_open_over_28_days": "Children to trace open for more than 28 days",
        "councils": "Councils",
        "no_return": "Councils with no return at the year end",
        # children and X6
        "children_newly_identified": "Children newly identified",
        "children_whole_picture": "X6 the whole picture: children",
        "completeness_pct": "Completeness (%)",
    }
    defs += [ColumnDefinition(name, label) for name, label in plain.items()]
    defs = [d if d.name != "completeness_pct" else ColumnDefinition(d.name, d.label, unit="%", dp=1) for d in defs]
    defs += [
        ColumnDefinition("field", "Field of the Children sheet", col_type="Filter", dp=None),
        ColumnDefinition("rule", "Cross-council rule", col_type="Filter", dp=None),
        ColumnDefinition("to_la_name", "The other council", col_type="Filter", dp=None),
    ]
    return {d.name: d for d in defs}


# column names DfE's harmonised-variable rule reserves (a name with `ethnic` in it must be one of
# ethnicity_major/minor/detailed): the published name of our own column
EES_NAMES = {"completeness_ethnicity": "completeness_eth_code"}


def ees_name(column: str) -> str:
    return EES_NAMES.get(column, column)


def ees_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The published column names (harmonised where EES reserves a name)."""
    return frame.rename(columns={k: v for k, v in EES_NAMES.items() if k in frame.columns})


OBSERVATIONAL_UNITS = frozenset(GEOGRAPHY_COLUMNS)


def metadata(
    frame: pd.DataFrame,
    *,
    provenance: Provenance | None = None,
    definitions: dict[str, ColumnDefinition] | None = None,
) -> pd.DataFrame:
    """The EES metadata of a published table: one row per filter or indicator column, in order.
    A column without a definition is an error (every published column is described)."""
    definitions = definitions or column_definitions()
    statement = provenance.statement if provenance else ""
    rows = []
    for column in frame.columns:
        if column in OBSERVATIONAL_UNITS:
            continue
        if column not in definitions:
            raise KeyError(f"no EES definition for the published column {column!r}")
        d = definitions[column]
        if d.col_type == "Filter":
            values = sorted({str(v) for v in frame[column]})
            default = d.filter_default or (values[0] if values else "")
            rows.append(
                {
                    "col_name": column,
                    "col_type": "Filter",
                    "label": d.label,
                    "indicator_grouping": "",
                    "indicator_unit": "",
                    "indicator_dp": "",
                    "filter_hint": statement or d.filter_hint,
                    "filter_grouping_column": "",
                    "filter_default": "Total" if "Total" in values else default,
                }
            )
        else:
            rows.append(
                {
                    "col_name": column,
                    "col_type": "Indicator",
                    "label": d.label,
                    "indicator_grouping": statement,
                    "indicator_unit": d.indicator_unit,
                    "indicator_dp": "" if d.dp is None else str(d.dp),
                    "filter_hint": "",
                    "filter_grouping_column": "",
                    "filter_default": "",
                }
            )
    return pd.DataFrame(rows, columns=META_COLUMNS)


def with_decimals(frame: pd.DataFrame, definitions: dict[str, ColumnDefinition] | None = None) -> pd.DataFrame:
    """Numbers rounded to the decimal places their definition gives (what is published and shown)."""
    definitions = definitions or column_definitions()
    out = frame.copy()
    for column in out.columns:
        d = definitions.get(column)
        if d is None or d.dp is None or d.col_type != "Indicator":
            continue
        out[column] = [_rounded(v, d.dp) for v in out[column]]
    return out


def _rounded(value: Any, dp: int) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and pd.isna(value):
        return value
    return round(float(value), dp) if dp else int(round(float(value)))


def meta_path(csv_path: Path) -> Path:
    return csv_path.with_name(f"{csv_path.stem}.meta.csv")


def write_metadata(frame: pd.DataFrame, csv_path: Path, *, provenance: Provenance | None = None) -> Path:
    """Writes `<stem>.meta.csv` beside the published `csv_path` (the frame as written)."""
    path = meta_path(csv_path)
    metadata(frame, provenance=provenance).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path
