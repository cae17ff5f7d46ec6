"""The annual publication for a financial year: accessible HTML, a PDF of it, XLSX and tidy CSVs.

The tables are built once, exactly (`annual_tables`), from the same measures as the quarterly
compile; `publish` then applies disclosure control (`transforms.disclosure`): counts of 1 to 5
as `c`, secondary suppression against regional, England and row totals, totals rounded to the
nearest 10, rates whose count is 1 to 5 as `c`. `build_annual` writes the published copy at the
top of `out_dir` and the exact copy under `out_dir/analyst/` (internal, never published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from reports import charts
from reports.compile import RULE_LABELS, environment, write_csv, write_xlsx
from reports.ees import Geography, council_table, time_columns, to_ees
from schemas.calendar import financial_year_periods
from schemas.register import COUNTRY_CODE, Register, load_register
from schemas.standard import load_standard
from transforms.disclosure import NOT_AVAILABLE, SUPPRESSED, protect, suppress_rates
from transforms.link import RULES, CrossCouncilFinding, link, x1_decided_through
from transforms.measures import MEASURES, NationalData, children_fields, gaps, league_table, tracker

ANNUAL_TABLES = ("returns", "league_table", "children", "cross_council", "strategy", "completeness")
TITLES = {
    "returns": "Returns received, by quarter",
    "league_table": "League table for the year",
    "children": "Children identified and children not offered a return interview, by council",
    "cross_council": "Cross-council findings by council of origin",
    "strategy": "Councils with gaps in strategy, team or protocol at the end of the year, by region",
    "completeness": "Completeness of the Children fields, England",
}
CHILD_COUNTS = ("children_newly_identified", "missing_no_interview")
CROSS_COUNCIL_TOTAL = "total"  # the row total of the cross-council table (findings of every rule)


@dataclass
class AnnualTables:
    year: str
    tables: dict[str, pd.DataFrame]  # name -> EES-layout table
    findings: list[CrossCouncilFinding] = field(default_factory=list)
    published: bool = False


@dataclass
class AnnualOutcome:
    year: str
    out_dir: str
    paths: dict[str, str]
    expected_returns: int
    received_returns: int
    suppressed_cells: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def annual_tables(
    year: str,
    data: NationalData,
    *,
    population: pd.DataFrame | None = None,
    today: date | None = None,
    register: Register | None = None,
) -> AnnualTables:
    """Every table of the publication, exact."""
    register = register or load_register()
    today = today or date.today()
    periods = financial_year_periods(year)
    label = year
    geography = Geography(register)
    tracked = tracker(periods, data, register=register, today=today)

    returns_rows = []
    for p in periods:
        rows = tracked[tracked["period"] == p.code]
        states = rows["state"].value_counts()
        returns_rows.append(
            {
                **time_columns(p.code),
                **geography.columns("National", COUNTRY_CODE),
                "expected": len(rows),
                "accepted": int(sum(states.get(s, 0) for s in ("accepted", "accepted_open_queries", "signed_off"))),
                "signed_off": int(states.get("signed_off", 0)),
                "received_with_errors": int(states.get("rejected", 0)),
                "not_received": int(states.get("not_received", 0)),
                # received after the deadline (a return never received is counted as not received)
                "late": int((rows["late"].fillna(False).astype(bool) & (rows["state"] != "not_received")).sum()),
            }
        )
    returns = pd.DataFrame(returns_rows)

    league = league_table(periods, data, population=population, register=register, today=today, annual=True)
    league = league[league["period"] == label]

    result = link(
        data.children,
        data.current_submissions(),
        register=register,
        through=periods[-1].next(),
        x1_decided_through=x1_decided_through(periods[-1], today),
    )
    findings = [f for f in result.findings if f.period in {p.code for p in periods}]

    gap = gaps(periods, data, register=register, today=today)
    councils = sorted(
        {c.council_code: c for p in periods for c in register.expected(p)}.values(), key=lambda c: c.council_code
    )
    latest_code = {register.lineage_id(c.council_code): c.council_code for p in periods for c in register.expected(p)}
    activity = data.activity.copy()
    child_rows = []
    lineage_of = {c.council_code: register.lineage_id(c.council_code) for c in councils}
    for lineage, code in sorted(latest_code.items(), key=lambda item: item[1]):
        council = register.get(code)
        mine = (
            activity[activity["council_code"].map(register.lineage_or_self) == lineage] if len(activity) else activity
        )
        mine = mine[mine["period"].isin([p.code for p in periods])] if len(mine) else mine
        gap_rows = gap[gap["council_code"].map(lambda c: lineage_of.get(c, c)) == lineage]
        received = len(mine) > 0
        child_rows.append(
            {
                "council_code": code,
                "region_code": council.region_code,
                "children_newly_identified": int(pd.to_numeric(mine["children_newly_identified"]).sum())
                if received
                else None,
                "missing_no_interview": int(pd.to_numeric(gap_rows["missing_no_interview"]).fillna(0).sum())
                if received
                else None,
                "referrals_to_police": int(pd.to_numeric(mine["referrals_to_police"]).sum()) if received else None,
                "return_interviews_within_72h": int(pd.to_numeric(mine["return_interviews_within_72h"]).sum())
                if received
                else None,
                "charges": int(pd.to_numeric(mine["charges"]).sum()) if received else None,
            }
        )
    children = pd.DataFrame(child_rows)

    cross_rows = []
    for lineage, code in sorted(latest_code.items(), key=lambda item: item[1]):
        council = register.get(code)
        mine = [f for f in findings if register.lineage_or_self(f.from_council_code) == lineage]
        cross_rows.append(
            {
                "council_code": code,
                "region_code": council.region_code,
                **{rule.lower(): sum(f.rule == rule for f in mine) for rule in RULES},
            }
        )
    cross = pd.DataFrame(cross_rows)

    last = periods[-1].code
    year_end = gap[gap["period"] == last]
    strategy_rows = []
    for region_code in sorted(register.regions()):
        in_region = year_end[year_end["council_code"].map(lambda c: register.get(c).region_code) == region_code]
        if in_region.empty:
            continue
        strategy_rows.append(
            {
                **time_columns(label),
                **geography.columns("Regional", region_code),
                "councils": len(in_region),
                "no_return": int(in_region["missing"].sum()),
                "no_strategy": int((in_region["no_strategy"] == True).sum()),  # noqa: E712 - None stays out
                "no_co_located_team": int((in_region["no_co_located_team"] == True).sum()),  # noqa: E712
                "no_health_in_protocol": int((in_region["no_health_in_protocol"] == True).sum()),  # noqa: E712
            }
        )
    strategy = pd.DataFrame(strategy_rows)

    received_gap = gap[~gap["missing"].astype(bool)]
    completeness = pd.DataFrame(
        [
            {
                **time_columns(label),
                **geography.columns("National", COUNTRY_CODE),
                "field": name,
                "completeness_pct": round(float(pd.to_numeric(received_gap[f"completeness_{name}"]).mean()), 1)
                if len(received_gap) and received_gap[f"completeness_{name}"].notna().any()
                else None,
            }
            for name, _ in children_fields()
        ]
    )

    tables = {
        "returns": returns,
        "league_table": to_ees(league, code_column="code", level=lambda r: r["geographic_level"], register=register),
        "children": council_table(children, label, register),
        "cross_council": council_table(cross, label, register),
        "strategy": strategy,
        "completeness": completeness,
    }
    return AnnualTables(year=year, tables=tables, findings=findings)


# ---------------------------------------------------------------------------------------------
# Disclosure


def publish(exact: AnnualTables) -> tuple[AnnualTables, int]:
    """The published copy of the tables and the number of suppressed cells."""
    tables = dict(exact.tables)
    suppressed = 0
    children, n = _protect_council_table(exact.tables["children"], list(CHILD_COUNTS), row_total=None)
    suppressed += n
    tables["children"] = children.drop(
        columns=[c for c in children.columns if c in ("referrals_to_police", "return_interviews_within_72h", "charges")]
    )
    cross, n = _protect_council_table(
        exact.tables["cross_council"], [r.lower() for r in RULES], row_total=CROSS_COUNCIL_TOTAL
    )
    suppressed += n
    tables["cross_council"] = cross
    league = exact.tables["league_table"].copy()
    counts = exact.tables["children"][
        ["new_la_code", "children_newly_identified", "return_interviews_within_72h", "referrals_to_police", "charges"]
    ].rename(columns={"new_la_code": "code"})
    counts = counts[counts["code"] != ""]
    league["code"] = league["new_la_code"]
    rates = {m.name: m.count for m in MEASURES if m.count}
    published = suppress_rates(league, rates, counts)
    suppressed += int((published[list(rates)] == SUPPRESSED).sum().sum())
    tables["league_table"] = published.drop(columns=["code"])
    return AnnualTables(year=exact.year, tables=tables, findings=[], published=True), suppressed


def _protect_council_table(
    table: pd.DataFrame, columns: list[str], *, row_total: str | None
) -> tuple[pd.DataFrame, int]:
    councils = table[table["geographic_level"] == "Local authority"].copy()
    frame = councils[["new_la_code", "region_code", *columns]].rename(columns={"new_la_code": "council_code"})
    has_values = frame[columns].notna().all(axis=1)
    result = protect(frame[has_values], columns, row_total=row_total)
    protected = result.table
    by_code = protected[protected["geographic_level"] == "Local authority"].set_index("council_code")
    out = table.copy()
    value_columns = [*columns, row_total] if row_total else list(columns)
    for column in value_columns:
        out[column] = out[column].astype(object) if column in out.columns else None
    for i, row in out.iterrows():
        level = row["geographic_level"]
        if level == "Local authority":
            code = row["new_la_code"]
            for column in value_columns:
                out.at[i, column] = by_code.at[code, column] if code in by_code.index else NOT_AVAILABLE
        elif level == "Regional":
            region = protected[
                (protected["geographic_level"] == "Regional") & (protected["region_code"] == row["region_code"])
            ]
            for column in value_columns:
                out.at[i, column] = region.iloc[0][column] if len(region) else NOT_AVAILABLE
        else:
            england = protected[protected["geographic_level"] == "National"].iloc[0]
            for column in value_columns:
                out.at[i, column] = england[column]
    if row_total and row_total in out.columns:
        ordered = [c for c in out.columns if c != row_total] + [row_total]
        out = out[ordered]
    return out, len(result.suppressed_cells)


# ---------------------------------------------------------------------------------------------
# Writing


def write_annual(exact: AnnualTables, out_dir: Path, *, population_given: bool = False) -> AnnualOutcome:
    out_dir.mkdir(parents=True, exist_ok=True)
    analyst_dir = out_dir / "analyst"
    analyst_dir.mkdir(exist_ok=True)
    published, suppressed = publish(exact)
    paths: dict[str, str] = {}
    for name, frame in published.tables.items():
        paths[f"{name}.csv"] = str(write_csv(frame, out_dir / f"{name}.csv"))
        write_csv(exact.tables[name], analyst_dir / f"{name}.csv")
    notes = {
        "symbols": "c = suppressed to protect confidentiality (1 to 5 children, or a cell that would reveal one); "
        "x = not available; z = not applicable. England and regional totals are rounded to the nearest 10.",
        "synthetic": "Figures from returns held in this system."
        + ("" if population_given else " No population file was given: rates per 10,000 children are x."),
    }
    paths["xlsx"] = str(write_xlsx(dict(published.tables), out_dir / f"lscb-annual-{exact.year}.xlsx", notes=notes))
    write_xlsx(exact.tables, analyst_dir / f"lscb-annual-{exact.year}-exact.xlsx")
    html = render_html(published, population_given=population_given)
    html_path = out_dir / f"lscb-annual-{exact.year}.html"
    html_path.write_text(html, encoding="utf-8")
    paths["html"] = str(html_path)
    pdf_path = out_dir / f"lscb-annual-{exact.year}.pdf"
    _write_pdf(html, pdf_path)
    paths["pdf"] = str(pdf_path)
    returns = exact.tables["returns"]
    return AnnualOutcome(
        year=exact.year,
        out_dir=str(out_dir),
        paths=paths,
        expected_returns=int(returns["expected"].sum()),
        received_returns=int(returns["accepted"].sum()),
        suppressed_cells=suppressed,
    )


def _write_pdf(html: str, path: Path) -> None:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))


def render_html(published: AnnualTables, *, population_given: bool) -> str:
    tables = published.tables
    returns = tables["returns"]
    quarters = [r.replace("Financial year ", "") for r in returns["time_identifier"]]
    returns_chart = charts.column_chart(
        f"Returns by quarter, {published.year}",
        "; ".join(
            f"{q}: {a} accepted on time or late, {n} not received, {lt} late"
            for q, a, n, lt in zip(quarters, returns["accepted"], returns["not_received"], returns["late"], strict=True)
        ),
        quarters,
        {
            "Accepted": list(returns["accepted"]),
            "Late": list(returns["late"]),
            "Not received": list(returns["not_received"]),
        },
    )
    cross = tables["cross_council"]
    england_cross = cross[cross["geographic_level"] == "National"].iloc[0]
    rule_values = [england_cross[r.lower()] for r in RULES]
    cross_chart = charts.bar_chart(
        f"Cross-council findings in England, {published.year} (rounded to the nearest 10)",
        "; ".join(f"{r} {RULE_LABELS[r]}: {v}" for r, v in zip(RULES, rule_values, strict=True)),
        [f"{r} {RULE_LABELS[r]}" for r in RULES],
        [float(v) if isinstance(v, int | float) else None for v in rule_values],
    )
    league = tables["league_table"]
    england = league[league["geographic_level"] == "National"].iloc[0]
    regional = league[league["geographic_level"] == "Regional"]
    measure = next(m for m in MEASURES if m.name == "return_interview_72h_pct")
    region_values = [v if isinstance(v, int | float) else None for v in regional[measure.name]]
    interview_chart = charts.bar_chart(
        f"{measure.label}, by region, {published.year}",
        "; ".join(f"{n}: {_fmt(v)}" for n, v in zip(regional["region_name"], regional[measure.name], strict=True))
        + f"; England: {_fmt(england[measure.name])}",
        list(regional["region_name"]) + ["England"],
        region_values + [england[measure.name] if isinstance(england[measure.name], int | float) else None],
        unit="%",
    )
    sections = []
    for name in ANNUAL_TABLES:
        frame = tables[name]
        sections.append({"id": name, "title": TITLES[name], "table": _html_table(name, frame)})
    standard = load_standard()
    return (
        environment()
        .get_template("annual/report.html.j2")
        .render(
            year=published.year,
            returns_chart=returns_chart,
            cross_chart=cross_chart,
            interview_chart=interview_chart,
            sections=sections,
            measures=MEASURES,
            rules=[(r, RULE_LABELS[r], standard.rule(r).description) for r in RULES],
            population_given=population_given,
            today=date.today(),
        )
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "not available" if value in (None, NOT_AVAILABLE) else str(value)


HIDDEN = {"time_period", "time_identifier", "country_code", "country_name", "old_la_code", "new_la_code", "region_code"}


def _html_table(name: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Header and rows for the template: the first column is the row header."""
    columns = [c for c in frame.columns if c not in HIDDEN]
    if name == "league_table":
        columns = ["geographic_level", "region_name", "la_name"] + [m.name for m in MEASURES]
    rows = []
    for record in frame.to_dict("records"):
        label = (
            record.get("la_name")
            or record.get("region_name")
            or (record.get("time_identifier") if name == "returns" else "England")
        )
        if name == "completeness":
            label = record["field"]
        cells = [
            _cell_text(record.get(c)) + (_band(record.get(f"{c}_band")) if name == "league_table" else "")
            for c in columns
            if c not in ("la_name", "field", "region_name", "geographic_level")
        ]
        rows.append({"label": label, "level": record.get("geographic_level", ""), "cells": cells})
    headers = [_header(c) for c in columns if c not in ("la_name", "field", "region_name", "geographic_level")]
    first = {"returns": "Quarter", "completeness": "Field", "strategy": "Region"}.get(name, "Area")
    return {"first": first, "headers": headers, "rows": rows}


def _band(band: Any) -> str:
    return f" ({band})" if isinstance(band, str) and band in ("A", "B", "C", "D") else ""


def _header(column: str) -> str:
    for m in MEASURES:
        if column == m.name:
            return f"{m.label} (band)"
    return column.replace("_", " ").capitalize().replace("X1", "X1").replace("pct", "(%)")


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return NOT_AVAILABLE
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
