"""The national compile of one period: analysts' tables (exact), as CSV, XLSX and an HTML dashboard.

`compile_tables` is pure (NationalData in, tables out: linkage and measures); `write_compile`
renders them (`pipeline.compile.compile_period` is the use case that reads the store and calls
both):

- `tracker.csv`, `league_table.csv`, `gaps.csv`, `cross_council.csv`: tidy CSVs in the Explore
  Education Statistics layout (`time_period, time_identifier, geographic_level, country_code,
  country_name, region_code, region_name, new_la_code, old_la_code, la_name, <measures>`);
  `x` not available, `z` not applicable;
- `council_findings.csv`: each cross-council finding as each council concerned sees it (its own
  local_child_id only), for the portal;
- `cross_council_findings.csv`: the findings with both councils' ids (analysts only);
- `whole_picture.csv`: X6 counted per council now responsible, region and England (the children
  themselves are told to that council only, through the children-to-trace store);
- `compile.xlsx` (the same tables, formatted) and `dashboard.html` (charts as inline SVG).

Cross-council findings are reported for every period up to the compiled one (a finding about
P-1 may only become visible when P's returns arrive); the headline counts are for the period.
X1 for a closure in P waits for P+1: it is decided once the deadline of P+1 has passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from reports import charts
from reports.cell_safety import neutralise
from reports.ees import (
    Provenance,
    council_table,
    ees_columns,
    to_ees,
    with_decimals,
    write_metadata,
)
from schemas.calendar import Period
from schemas.lifecycle import TRACKER_LABELS, TRACKER_STATES
from schemas.register import COUNTRY_CODE, Register, load_register
from schemas.standard import load_standard
from transforms.link import (
    RULES,
    WHOLE_PICTURE,
    ChildToTrace,
    CrossCouncilFinding,
    council_findings,
    link,
    pair_counts,
    x1_decided_through,
)
from transforms.measures import MEASURES, NationalData, gaps, league_table, tracker
from transforms.picture import children_by_council

TEMPLATES = Path(__file__).parent / "templates"
STATE_LABELS = TRACKER_LABELS
RULE_LABELS = {rule: load_standard().rule(rule).description.split(":")[0] for rule in (*RULES, WHOLE_PICTURE)}
RECEIVED_STATES = ("accepted_open_queries", "accepted", "signed_off")  # a current version: its children are linked


@dataclass
class CompileTables:
    period: Period
    tracker: pd.DataFrame
    league: pd.DataFrame
    gaps: pd.DataFrame
    cross_council: pd.DataFrame  # pair counts
    findings: list[CrossCouncilFinding]
    council_findings: pd.DataFrame
    # the same findings with their stable identities, and the X6 pictures (only ever counted in
    # what is written), for the children-to-trace store
    traceable: list[ChildToTrace] = field(default_factory=list)
    # X6 for the period: children whose picture was only complete nationally, per council now
    # responsible, regional and England totals (EES layout, exact)
    whole_picture: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class CompileOutcome:
    """Paths and headline counts (no personal data): small enough for a task result."""

    period: str
    out_dir: str
    paths: dict[str, str]
    expected: int
    received: int
    not_received: int
    late: int
    findings: dict[str, int] = field(default_factory=dict)  # rule -> findings about the period (X1-X6)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "out_dir": self.out_dir,
            "paths": self.paths,
            "expected": self.expected,
            "received": self.received,
            "not_received": self.not_received,
            "late": self.late,
            "findings": self.findings,
        }


def compile_tables(
    period: Period,
    data: NationalData,
    *,
    population: pd.DataFrame | None = None,
    today: date | None = None,
    register: Register | None = None,
) -> CompileTables:
    register = register or load_register()
    today = today or date.today()
    p = period
    result = link(
        data.children,
        data.current_submissions(),
        register=register,
        through=p.next(),
        x1_decided_through=x1_decided_through(p, today),
    )
    findings = [f for f in result.findings if f.period <= p.code]
    pairs = pair_counts(findings)
    told = council_findings(findings, register=register)
    told_frame = pd.DataFrame(
        [t.__dict__ for t in told],
        columns=["council_code", "rule", "period", "local_child_id", "other_council_code", "message"],
    )
    tracked = tracker([p], data, register=register, today=today)
    pictures = [t for t in result.whole_pictures if t.finding.period <= p.code]
    return CompileTables(
        period=p,
        tracker=tracked,
        league=league_table([p], data, population=population, register=register, today=today),
        gaps=gaps([p], data, cross_council=pairs, register=register, today=today),
        cross_council=pairs,
        findings=findings,
        council_findings=told_frame,
        traceable=[t for t in result.traceable if t.finding.period <= p.code] + pictures,
        whole_picture=whole_picture_table(p, pictures, tracked, register),
    )


def whole_picture_table(
    period: Period, pictures: Iterable[ChildToTrace], tracked: pd.DataFrame, register: Register
) -> pd.DataFrame:
    """X6 about `period`: per expected council, the children open at the period end whose linked
    records elsewhere showed warning signs its own return did not (`x` when the council has no
    current return), with regional and England totals."""
    counts = children_by_council(
        [t.picture for t in pictures if t.picture is not None and t.finding.period == period.code],
        register.lineage_or_self,
    )
    states = dict(zip(tracked["council_code"], tracked["state"], strict=True)) if len(tracked) else {}
    rows = [
        {
            "council_code": council.council_code,
            "region_code": council.region_code,
            "children_whole_picture": counts.get(register.lineage_or_self(council.council_code), 0)
            if states.get(council.council_code) in RECEIVED_STATES
            else None,
        }
        for council in sorted(register.expected(period), key=lambda c: c.council_code)
    ]
    return council_table(
        pd.DataFrame(rows, columns=["council_code", "region_code", "children_whole_picture"]), period.code, register
    )


# ---------------------------------------------------------------------------------------------
# Writing


def ees_tables(tables: CompileTables, register: Register | None = None) -> dict[str, pd.DataFrame]:
    """The analyst CSVs (exact values) in the EES layout."""
    register = register or load_register()
    pairs = tables.cross_council
    names = {c.council_code: c.name for c in register.all()}
    council_rows = [
        {
            "geographic_level": "Local authority",
            "period": row["time_period"],
            "council_code": row["from_council_code"],
            "rule": row["rule"],
            "to_la_name": names.get(row["to_council_code"], row["to_council_code"]),
            "children": int(row["children"]),
        }
        for row in pairs.to_dict("records")
    ]
    # England's total per rule for each period with findings and always for the compiled one (a
    # quarter without findings still publishes its zeros: an EES file must have rows)
    totals: dict[tuple[str, str], int] = {(tables.period.code, rule): 0 for rule in RULES}
    for row in council_rows:
        for rule in RULES:
            totals.setdefault((row["period"], rule), 0)
        totals[(row["period"], row["rule"])] += row["children"]
    england = [
        {"geographic_level": "National", "period": period, "council_code": COUNTRY_CODE, "rule": rule,
         "to_la_name": "Total", "children": n}
        for (period, rule), n in sorted(totals.items())
    ]  # fmt: skip
    cross = to_ees(
        pd.DataFrame(
            england + council_rows,
            columns=["geographic_level", "period", "council_code", "rule", "to_la_name", "children"],
        ),
        level=lambda r: r["geographic_level"],
        register=register,
    )
    if not council_rows:  # a filter with one level ("Total") is not a filter to EES
        cross = cross.drop(columns=["to_la_name"])
    findings = pd.DataFrame(
        [f.to_json() for f in tables.findings],
        columns=["rule", "period", "from_council_code", "to_council_code", "from_local_child_id", "to_local_child_id"],
    )
    return {
        "tracker": to_ees(tables.tracker, register=register),
        "league_table": to_ees(
            tables.league, code_column="code", level=lambda r: r["geographic_level"], register=register
        ),
        "gaps": to_ees(tables.gaps, register=register),
        "cross_council": cross,
        "council_findings": tables.council_findings,
        "cross_council_findings": findings,
        "whole_picture": tables.whole_picture,
    }


# The statistics files (EES layout, each with its `.meta.csv`); the lists of findings name
# children's local ids and are for councils and analysts only, never published.
STATISTICS = ("tracker", "league_table", "gaps", "cross_council", "whole_picture")

# Lists of findings, not statistics: a child id a finding does not have (the child never
# appeared in the other council) is left blank, not marked `x`, so it cannot be read as an id.
FINDING_LISTS = ("council_findings", "cross_council_findings", "findings")


def missing_marker(table: str) -> str:
    """What an absent value is written as in this table: `x` (not available) in statistics."""
    return "" if table in FINDING_LISTS else "x"


def for_output(frame: pd.DataFrame, *, missing: str = "x") -> pd.DataFrame:
    """None -> `missing` (`x`, not available, in statistics); True/False -> Y/N (the only change
    made when writing)."""
    out = frame.astype(object).copy()
    for column in out.columns:
        out[column] = [_cell(v, missing) for v in out[column]]
    return out


def _cell(value: Any, missing: str = "x") -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return missing
    if isinstance(value, bool):
        return "Y" if value else "N"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
        if isinstance(value, bool):
            return "Y" if value else "N"
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 2)
    return value


def write_csv(frame: pd.DataFrame, path: Path, *, missing: str = "x") -> Path:
    out = for_output(frame, missing=missing)
    for column in out.columns:
        # a carriage return is not our line end, so the csv module would not quote it and a
        # reader would start a new row there: it becomes a line feed, which is quoted
        out[column] = [_one_line_end(neutralise(value)) for value in out[column]]
    out.columns = [neutralise(str(column)) for column in out.columns]
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def _one_line_end(value: object) -> object:
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, *, notes: dict[str, str] | None = None) -> Path:
    """Every table on its own sheet: bold header, frozen header row, filters, sensible widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    if notes:
        sheet = workbook.create_sheet("Notes")
        sheet.append(["Note"])
        sheet["A1"].font = Font(bold=True)
        for text in notes.values():
            sheet.append([neutralise(text)])
        sheet.column_dimensions["A"].width = 120
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(name[:31])
        out = for_output(frame, missing=missing_marker(name))
        sheet.append([neutralise(str(column)) for column in out.columns])
        for row in out.itertuples(index=False):
            sheet.append([neutralise(value) for value in row])
        for cells in sheet.iter_rows(min_row=1):
            for cell in cells:  # a text is text, never a formula, whatever it starts with
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        for cell in sheet[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1D70B8")
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
        if len(out.columns):
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(out.columns))}{max(len(out) + 1, 1)}"
        for i, column in enumerate(out.columns, start=1):
            width = max([len(str(column))] + [len(str(v)) for v in out[column].head(200)])
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
    workbook.save(path)
    return path


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _display
    return env


def _display(value: Any, dp: int | None = None) -> str:
    """A value as the dashboard shows it: to `dp` decimal places (the measure's, as in the EES
    metadata), else one for a fraction."""
    value = _cell(value)
    if dp is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.{dp}f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_compile(
    tables: CompileTables,
    out_dir: Path,
    *,
    population_given: bool = False,
    provenance: Provenance | None = None,
) -> CompileOutcome:
    register = load_register()
    out_dir.mkdir(parents=True, exist_ok=True)
    ees = ees_tables(tables, register)
    ees = {name: with_decimals(ees_columns(frame)) if name in STATISTICS else frame for name, frame in ees.items()}
    paths: dict[str, str] = {}
    for name, frame in ees.items():
        paths[name] = str(write_csv(frame, out_dir / f"{name}.csv", missing=missing_marker(name)))
        if name in STATISTICS:  # valid EES files: each with its metadata
            paths[f"{name}.meta"] = str(write_metadata(frame, out_dir / f"{name}.csv", provenance=provenance))
    paths["xlsx"] = str(
        write_xlsx(
            {k: v for k, v in ees.items() if k != "cross_council_findings"}
            | {"findings": ees["cross_council_findings"]},
            out_dir / "compile.xlsx",
            notes=_notes(population_given, provenance),
        )
    )
    paths["dashboard"] = str(
        _write_dashboard(tables, out_dir / "dashboard.html", register, population_given, provenance=provenance)
    )
    counts = tables.tracker["state"].value_counts().to_dict()
    received = sum(counts.get(s, 0) for s in ("accepted_open_queries", "accepted", "signed_off"))
    in_period = [f for f in tables.findings if f.period == tables.period.code]
    return CompileOutcome(
        period=tables.period.code,
        out_dir=str(out_dir),
        paths=paths,
        expected=len(tables.tracker),
        received=int(received),
        not_received=int(counts.get("not_received", 0)),
        late=int(
            (tables.tracker["late"].fillna(False).astype(bool) & (tables.tracker["state"] != "not_received")).sum()
        ),
        findings={rule: sum(f.rule == rule for f in in_period) for rule in RULES}
        | {WHOLE_PICTURE: _whole_picture_total(tables.whole_picture)},
    )


def _whole_picture_total(table: pd.DataFrame) -> int:
    england = table[table["geographic_level"] == "National"] if len(table) else table
    value = england["children_whole_picture"].iloc[0] if len(england) else None
    return 0 if value is None or pd.isna(value) else int(value)


def _notes(population_given: bool, provenance: Provenance | None = None) -> dict[str, str]:
    notes = {"provenance": provenance.statement} if provenance and provenance.demonstration else {}
    notes |= {m.name: f"{m.label}: {m.definition}" for m in MEASURES}
    notes["markers"] = "x = not available; z = not applicable. Analysts' tables: exact values, not for publication."
    if not population_given:
        notes["population"] = "No population file was given: rates per 10,000 children are x (not available)."
    return notes


def _write_dashboard(
    tables: CompileTables,
    path: Path,
    register: Register,
    population_given: bool,
    *,
    provenance: Provenance | None = None,
) -> Path:
    period = tables.period
    states = tables.tracker["state"].value_counts()
    state_rows = [(STATE_LABELS[s], int(states.get(s, 0))) for s in TRACKER_STATES]
    names = {c.council_code: c.name for c in register.all()}
    missing_late = [
        {
            "code": r["council_code"],
            "name": names.get(r["council_code"], r["council_code"]),
            "state": STATE_LABELS[r["state"]],
            "days": r["days_after_deadline"],
        }
        for r in tables.tracker.to_dict("records")
        if r["state"] in ("not_received", "rejected") or r["late"] is True
    ]
    in_period = [f for f in tables.findings if f.period == tables.period.code]
    rule_rows = [(rule, RULE_LABELS[rule], sum(f.rule == rule for f in in_period)) for rule in RULES]
    rule_rows.append((WHOLE_PICTURE, RULE_LABELS[WHOLE_PICTURE], _whole_picture_total(tables.whole_picture)))
    picture = tables.whole_picture
    picture_rows = [
        {"name": r["region_name"] or "England", "children": r["children_whole_picture"]}
        for r in picture[picture["geographic_level"] != "Local authority"].to_dict("records")
    ]
    pairs = tables.cross_council
    pair_rows = [
        {
            "rule": r["rule"],
            "from": names.get(r["from_council_code"], r["from_council_code"]),
            "to": names.get(r["to_council_code"], r["to_council_code"]),
            "children": int(r["children"]),
            "period": r["time_period"],
        }
        for r in pairs.sort_values("children", ascending=False).to_dict("records")
    ]
    league = tables.league
    areas = league[league["geographic_level"] != "Local authority"]
    regions = register.regions()
    area_rows = [
        {
            "name": "England" if r["geographic_level"] == "National" else regions.get(r["code"], r["code"]),
            "values": [r[m.name] for m in MEASURES],
        }
        for r in areas.to_dict("records")
    ]
    council_rows = [
        {
            "name": names.get(r["code"], r["code"]),
            "code": r["code"],
            "values": [(r[m.name], r[f"{m.name}_rank"], r[f"{m.name}_band"]) for m in MEASURES],
        }
        for r in league[league["geographic_level"] == "Local authority"].to_dict("records")
    ]
    strategy_gaps = {
        label: [
            names.get(r["council_code"], r["council_code"]) for r in tables.gaps.to_dict("records") if r[column] is True
        ]
        for column, label in (
            ("no_strategy", "No strategy (NONE or PLANNING)"),
            ("no_co_located_team", "No co-located team"),
            ("no_health_in_protocol", "Health not in the protocol"),
        )
    }
    html = (
        environment()
        .get_template("compile/dashboard.html.j2")
        .render(
            period=period,
            state_rows=state_rows,
            state_chart=charts.bar_chart(
                f"Returns for {period.code} by state",
                "; ".join(f"{label}: {n}" for label, n in state_rows),
                [label for label, _ in state_rows],
                [n for _, n in state_rows],
            ),
            missing_late=missing_late,
            rule_rows=rule_rows,
            rule_chart=charts.bar_chart(
                f"Cross-council findings about {period.code} by rule",
                "; ".join(f"{rule} {label}: {n}" for rule, label, n in rule_rows),
                [f"{rule} {label}" for rule, label, _ in rule_rows],
                [n for _, _, n in rule_rows],
            ),
            pair_rows=pair_rows,
            picture_rows=picture_rows,
            measures=MEASURES,
            area_rows=area_rows,
            council_rows=council_rows,
            strategy_gaps=strategy_gaps,
            population_given=population_given,
            expected=len(tables.tracker),
            provenance=provenance,
        )
    )
    path.write_text(html, encoding="utf-8")
    return path


def headline(outcome: CompileOutcome) -> Iterable[str]:
    yield (
        f"{outcome.period}: {outcome.received} of {outcome.expected} returns accepted, "
        f"{outcome.not_received} not received, {outcome.late} late"
    )
    yield "cross-council findings: " + ", ".join(f"{rule} {n}" for rule, n in outcome.findings.items())
    yield f"written to {outcome.out_dir}"
