"""The annual publication for a financial year: accessible HTML, a PDF of it, XLSX and tidy CSVs.

The tables are built once, exactly (`annual_tables`), from the same measures as the quarterly
compile; `publish` then applies disclosure control (`transforms.disclosure`): counts of 1 to 5
as `c`, secondary suppression against regional, England and row totals, totals rounded to the
nearest 10, rates whose count is 1 to 5 as `c`. `build_annual` writes the published copy at the
top of `out_dir` and the exact copy under `out_dir/analyst/` (internal, never published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from reports import charts
from reports.compile import RULE_LABELS, environment, write_csv, write_xlsx
from reports.ees import (
    ColumnDefinition,
    Geography,
    Provenance,
    column_definitions,
    council_table,
    ees_columns,
    time_columns,
    to_ees,
    with_decimals,
    write_metadata,
)
from schemas.calendar import financial_year_periods
from schemas.register import COUNTRY_CODE, Register, load_register
from transforms.disclosure import NOT_AVAILABLE, SUPPRESSED, is_primary, protect, round_total, suppress_rates
from transforms.link import RULES, WHOLE_PICTURE, CrossCouncilFinding, link, x1_decided_through
from transforms.measures import MEASURES, NationalData, children_fields, gaps, league_table, tracker
from transforms.picture import children_by_council

ANNUAL_TABLES = (
    "returns",
    "league_table",
    "children",
    "cross_council",
    "whole_picture",
    "strategy",
    "completeness",
)
TITLES = {
    "returns": "Returns received, by quarter",
    "league_table": "League table for the year",
    "children": "Children identified and children not offered a return interview, by council",
    "cross_council": "Cross-council findings by council of origin",
    "whole_picture": "X6 the whole picture: children whose warning signs were recorded only elsewhere, by region",
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
    # exact headline counts of the year and the year before (None: nothing received that year)
    headline: dict[str, int | None] = field(default_factory=dict)


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

    # X6: distinct children per council now responsible, over the year's quarters (published by region)
    year_codes = {p.code for p in periods}
    picture_counts = children_by_council(
        [t.picture for t in result.whole_pictures if t.picture is not None and t.finding.period in year_codes],
        register.lineage_or_self,
    )
    returned = {register.lineage_or_self(c) for c in activity["council_code"]} if len(activity) else set()
    picture = pd.DataFrame(
        [
            {
                "council_code": code,
                "region_code": register.get(code).region_code,
                "children_whole_picture": picture_counts.get(lineage, 0) if lineage in returned else None,
            }
            for lineage, code in sorted(latest_code.items(), key=lambda item: item[1])
        ],
        columns=["council_code", "region_code", "children_whole_picture"],
    )

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
        "whole_picture": council_table(picture, label, register),
        "strategy": strategy,
        "completeness": completeness,
    }
    return AnnualTables(
        year=year, tables=tables, findings=findings, headline=_headline(year, data, tracked, register, today)
    )


def _headline(
    year: str, data: NationalData, tracked: pd.DataFrame, register: Register, today: date
) -> dict[str, int | None]:
    """Returns and children identified in the year, and in the year before (for the change)."""
    start = int(year[:4])
    previous = financial_year_periods(f"{start - 1}-{start % 100:02d}")
    before = tracker(previous, data, register=register, today=today)
    received = ("accepted", "accepted_open_queries", "signed_off")
    activity = data.activity

    def identified(codes: set[str]) -> int | None:
        rows = activity[activity["period"].isin(codes)] if len(activity) else activity
        return int(pd.to_numeric(rows["children_newly_identified"]).sum()) if len(rows) else None

    accepted_before = int(before["state"].isin(received).sum())
    return {
        "returns_expected": len(tracked),
        "returns_accepted": int(tracked["state"].isin(received).sum()),
        "returns_late": int((tracked["late"].fillna(False).astype(bool) & (tracked["state"] != "not_received")).sum()),
        "returns_accepted_before": accepted_before if accepted_before else None,
        "children_identified": identified({p.code for p in financial_year_periods(year)}),
        "children_identified_before": identified({p.code for p in previous}),
    }


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
    tables["whole_picture"], n = _by_region(exact.tables["whole_picture"], "children_whole_picture")
    suppressed += n
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
    headline = {
        k: (round_total(v) if k.startswith("children") and v is not None else v) for k, v in exact.headline.items()
    }
    return AnnualTables(year=exact.year, tables=tables, findings=[], published=True, headline=headline), suppressed


def _by_region(table: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """Regional and England rows only: a region's count of 1 to 5 as `c`, every other total
    rounded to the nearest 10 (the council rows are not published)."""
    out = table[table["geographic_level"] != "Local authority"].copy().reset_index(drop=True)
    out[column] = out[column].astype(object)
    suppressed = 0
    for i, row in out.iterrows():
        value = row[column]
        if value is None or pd.isna(value):
            out.at[i, column] = NOT_AVAILABLE
        elif row["geographic_level"] == "Regional" and is_primary(value):
            out.at[i, column] = SUPPRESSED
            suppressed += 1
        else:
            out.at[i, column] = round_total(value)
    return out, suppressed


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


def write_annual(
    exact: AnnualTables,
    out_dir: Path,
    *,
    population_given: bool = False,
    provenance: Provenance | None = None,
    released_on: date | None = None,
    contact: str | None = None,
) -> AnnualOutcome:
    out_dir.mkdir(parents=True, exist_ok=True)
    analyst_dir = out_dir / "analyst"
    analyst_dir.mkdir(exist_ok=True)
    published, suppressed = publish(exact)
    published.tables = {name: with_decimals(ees_columns(frame)) for name, frame in published.tables.items()}
    paths: dict[str, str] = {}
    for name, frame in published.tables.items():
        paths[f"{name}.csv"] = str(write_csv(frame, out_dir / f"{name}.csv"))
        paths[f"{name}.meta.csv"] = str(write_metadata(frame, out_dir / f"{name}.csv", provenance=provenance))
        write_csv(exact.tables[name], analyst_dir / f"{name}.csv")
    provenance = provenance or Provenance()
    notes = {"provenance": provenance.statement} if provenance.demonstration else {}
    notes |= {
        "symbols": "c = suppressed to protect confidentiality (1 to 5 children, or a cell that would reveal one); "
        "x = not available; z = not applicable. England and regional totals are rounded to the nearest 10.",
        "synthetic": "Figures from returns held in this system."
        + ("" if population_given else " No population file was given: rates per 10,000 children are x."),
    }
    paths["xlsx"] = str(write_xlsx(dict(published.tables), out_dir / f"lscb-annual-{exact.year}.xlsx", notes=notes))
    write_xlsx(exact.tables, analyst_dir / f"lscb-annual-{exact.year}-exact.xlsx")
    html = render_html(
        published, population_given=population_given, provenance=provenance, released_on=released_on, contact=contact
    )
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
    # PDF/UA-1: tagged (headings, tables with their header cells, figures with their text), the
    # document's title and language in its metadata
    HTML(string=html, base_url=str(path.parent)).write_pdf(str(path), pdf_variant="pdf/ua-1")


# Plain English for readers (the measures' own definitions name fields; these do not)
METHODS = {
    "timeliness_days": "How many days before (negative) or after (positive) the deadline a council's first "
    "acceptable return arrived, averaged over the quarters it sent.",
    "data_quality_issues": "Errors in the first return a council sent, plus queries still without an "
    "explanation in its final return, added up over the year.",
    "strategy_maturity": "A score out of 10 for the council's arrangements at the end of the year: a strategy "
    "in place and reviewed, a multi-agency team (more for one that works together in one place), a signed "
    "information-sharing protocol that includes health, and a named lead.",
    "identified_per_10000": "Children newly identified as at risk of sexual exploitation during the year, for "
    "every 10,000 children aged 0 to 17 living in the area.",
    "return_interview_72h_pct": "Of the children who went missing, the share offered a return interview within "
    "72 hours of coming back.",
    "referrals_per_child": "Referrals made to the police during the year for each child the council was working "
    "with because of the risk of sexual exploitation.",
    "charges_per_100_referrals": "Charges brought for every 100 referrals the council made to the police.",
}
RULE_METHODS = {
    "X1": "A child one council closed as moved to another council, who does not appear in that council's returns for "
    "the same quarter or the next.",
    "X2": "A child still open in one council who appears as a new case in another, without the first council "
    "ever closing the case.",
    "X3": "The same child recorded by two councils with a different date of birth or sex.",
    "X4": "A council says a child came from another council, but that council never reported the child.",
    "X5": "The same child open in two councils at the end of a quarter.",
    "X6": "A child open in one council whose records in other councils over the last 12 months show warning signs "
    "the council's own record does not; only the council now responsible is told.",
}
LEAGUE_COLUMNS = ["Rank", "Council", "Region", "Value", "Band", "Change on the previous year"]
WIDE_COLUMNS = 8  # a table with more columns than this is printed on a landscape page


def release_dates(year: str, released_on: date) -> tuple[str, str]:
    """The release date, and when the next edition is expected (after the next year's fourth
    quarter's deadline)."""
    start = int(year[:4])
    last = financial_year_periods(f"{start + 1}-{(start + 2) % 100:02d}")[-1]
    next_on = last.deadline + timedelta(days=1)
    return f"{released_on.day} {released_on:%B %Y}", f"{next_on:%B %Y} (provisional)"


def render_html(
    published: AnnualTables,
    *,
    population_given: bool,
    provenance: Provenance | None = None,
    released_on: date | None = None,
    contact: str | None = None,
) -> str:
    tables = published.tables
    definitions = column_definitions()
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
        "; ".join(
            f"{n}: {_fmt(v, measure.dp)}" for n, v in zip(regional["region_name"], regional[measure.name], strict=True)
        )
        + f"; England: {_fmt(england[measure.name], measure.dp)}",
        list(regional["region_name"]) + ["England"],
        region_values + [england[measure.name] if isinstance(england[measure.name], int | float) else None],
        unit="%",
    )
    sections = []
    for name in ANNUAL_TABLES:
        if name == "league_table":
            continue
        table = _html_table(name, tables[name], definitions)
        sections.append(
            {"id": name, "title": TITLES[name], "table": table, "wide": len(table["headers"]) > WIDE_COLUMNS}
        )
    released, next_update = release_dates(published.year, released_on or date.today())
    return (
        environment()
        .get_template("annual/report.html.j2")
        .render(
            year=published.year,
            headlines=_headlines(published, england_cross),
            returns_chart=returns_chart,
            cross_chart=cross_chart,
            interview_chart=interview_chart,
            league_tables=_league_tables(league),
            sections=sections,
            measures=[(m, METHODS[m.name]) for m in MEASURES],
            rules=[(r, RULE_LABELS[r], RULE_METHODS[r]) for r in (*RULES, WHOLE_PICTURE)],
            population_given=population_given,
            released=released,
            next_update=next_update,
            contact=contact or "the LSCB national returns team",
            provenance=provenance or Provenance(),
        )
    )


def _headlines(published: AnnualTables, england_cross: Any) -> list[dict[str, str]]:
    """Headline facts in words, each with its number and the change on the previous year."""
    h = published.headline
    facts = []
    expected, accepted = h.get("returns_expected") or 0, h.get("returns_accepted") or 0
    if expected:
        before = h.get("returns_accepted_before")
        facts.append(
            {
                "figure": f"{accepted:,} of {expected:,}",
                "text": f"quarterly returns were accepted ({accepted / expected:.0%}); {h.get('returns_late') or 0:,} "
                "arrived after the deadline.",
                "change": _change(accepted, before, "returns"),
            }
        )
    children = h.get("children_identified")
    if children is not None:
        facts.append(
            {
                "figure": f"{children:,}",
                "text": "children were newly identified as at risk of sexual exploitation in England (rounded to the "
                "nearest 10).",
                "change": _change(children, h.get("children_identified_before"), "children"),
            }
        )
    total = england_cross[CROSS_COUNCIL_TOTAL]
    if isinstance(total, int | float):
        facts.append(
            {
                "figure": f"{int(total):,}",
                "text": "cross-council findings: children who may have been lost or duplicated when they moved "
                "between councils (rounded to the nearest 10).",
                "change": "No comparison: the checks are new this year.",
            }
        )
    picture = published.tables["whole_picture"]
    england_picture = picture[picture["geographic_level"] == "National"]
    if len(england_picture) and isinstance(england_picture.iloc[0]["children_whole_picture"], int | float):
        facts.append(
            {
                "figure": f"{int(england_picture.iloc[0]['children_whole_picture']):,}",
                "text": "children had warning signs recorded only by another council; the council now responsible "
                "was told (rounded to the nearest 10).",
                "change": "No comparison: the checks are new this year.",
            }
        )
    return facts


def _change(now: int, before: int | None, noun: str) -> str:
    if before is None:
        return "No comparison: no returns were held for the previous year."
    difference = now - before
    if difference == 0:
        return f"The same number of {noun} as the previous year."
    direction = "more" if difference > 0 else "fewer"
    share = f" ({abs(difference) / before:.0%})" if before else ""
    return f"{abs(difference):,} {direction} {noun} than the previous year{share}."


def _league_tables(league: pd.DataFrame) -> list[dict[str, Any]]:
    """One table per measure: every council with its rank, value, band and change, best first."""
    councils = league[league["geographic_level"] == "Local authority"]
    england = league[league["geographic_level"] == "National"].iloc[0]
    out = []
    for m in MEASURES:
        rows = []
        for record in councils.to_dict("records"):
            rank = record.get(f"{m.name}_rank")
            rows.append(
                {
                    "rank": _cell_text(rank, 0),
                    "name": record["la_name"],
                    "region": record["region_name"],
                    "cells": [
                        _cell_text(record.get(m.name), m.dp),
                        _cell_text(record.get(f"{m.name}_band"), 0),
                        _cell_text(record.get(f"{m.name}_change"), m.dp, signed=True),
                    ],
                    "order": (0, float(rank)) if isinstance(rank, int | float) and not pd.isna(rank) else (1, 0.0),
                }
            )
        rows.sort(key=lambda r: (r["order"], r["name"]))
        out.append(
            {
                "id": f"league-{m.name.replace('_', '-')}",
                "title": m.label,
                "method": METHODS[m.name],
                "england": _cell_text(england[m.name], m.dp),
                "unit": m.unit,
                "headers": LEAGUE_COLUMNS,
                "rows": rows,
            }
        )
    return out


def _fmt(value: Any, dp: int = 1) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.{dp}f}"
    return "not available" if value in (None, NOT_AVAILABLE) else str(value)


HIDDEN = {"time_period", "time_identifier", "country_code", "country_name", "old_la_code", "new_la_code", "region_code"}
ROW_LABELS = ("la_name", "field", "region_name", "geographic_level")


def _html_table(name: str, frame: pd.DataFrame, definitions: dict[str, ColumnDefinition]) -> dict[str, Any]:
    """Header and rows for the template: the first column is the row header."""
    columns = [c for c in frame.columns if c not in HIDDEN and c not in ROW_LABELS]
    rows = []
    for record in frame.to_dict("records"):
        label = (
            record.get("la_name")
            or record.get("region_name")
            or (record.get("time_identifier", "").replace("Financial year ", "") if name == "returns" else "England")
        )
        if name == "completeness":
            label = record["field"]
        cells = [_cell_text(record.get(c), definitions[c].dp if c in definitions else 0) for c in columns]
        rows.append({"label": label, "level": record.get("geographic_level", ""), "cells": cells})
    headers = [definitions[c].label if c in definitions else _header(c) for c in columns]
    first = {"returns": "Quarter", "completeness": "Field", "strategy": "Region", "whole_picture": "Area"}.get(
        name, "Area"
    )
    return {"first": first, "headers": headers, "rows": rows}


def _header(column: str) -> str:
    return column.replace("_", " ").capitalize()


def _cell_text(value: Any, dp: int | None = 0, *, signed: bool = False) -> str:
    """A value as shown: numbers to the decimal places of their definition, markers as they are."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return NOT_AVAILABLE
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        text = f"{value:+,.{dp or 0}f}" if signed else f"{value:,.{dp or 0}f}"
        return text.replace("-", "\u2212")  # a real minus sign
    return str(value)
