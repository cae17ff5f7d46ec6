"""The national data-quality gate (write, audit, publish): the use case behind the DAGs' audit
tasks and `lscb quality`.

`audit_quarter` holds a compiled quarter, and `audit_annual` a year's publication, to the gate's
suites (`transforms.quality.gate`) through GX Checkpoints, and writes GX Data Docs (an HTML site,
`<docs_dir>/index.html`) for analysts. The batches: the stored child records of the period (of
each quarter, for a year), read from the store whatever route they came by, and the tables as
written (the CSVs in the folder given). The result is small and free of personal data: a success
flag, counts per suite and check, the Data Docs' path and one line per failure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from reports.annual import CHILD_COUNTS, CROSS_COUNCIL_TOTAL
from reports.ees import time_columns
from schemas.calendar import Period, financial_year_periods, format_financial_year, parse_financial_year
from schemas.expectations import expectations
from schemas.register import load_register
from schemas.standard import load_standard
from store.engine import get_engine
from store.national import load_national
from transforms.link import RULES
from transforms.measures import MEASURE_NAMES
from transforms.quality.gate import (
    failing_count,
    failure_messages,
    is_failure,
    league_batch,
    published_counts_batch,
    published_totals_batch,
    returns_batch,
    stored_records_batch,
    tracker_batch,
)
from transforms.quality.gx import GateBatch, run_checkpoints

DOCS_INDEX = "index.html"


@dataclass(frozen=True)
class AuditResult:
    """What the gate found: small enough for a task result, and free of personal data."""

    scope: str  # the period (2025-Q1) or financial year (2025-26) audited
    success: bool
    docs: str  # the Data Docs site's index.html
    suites: dict[str, dict[str, int]]  # batch -> expectations, failed, warnings
    failures: dict[str, dict[str, int]] = field(default_factory=dict)  # batch -> check -> failing rows
    messages: list[str] = field(default_factory=list)  # one line per failure (and per query warning)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "success": self.success,
            "docs": self.docs,
            "suites": self.suites,
            "failures": self.failures,
            "messages": self.messages,
            "seconds": self.seconds,
        }

    def headline(self) -> str:
        checked = sum(s["expectations"] for s in self.suites.values())
        failed = sum(s["failed"] for s in self.suites.values())
        verdict = "passed" if self.success else f"FAILED ({failed} expectation(s), {len(self.messages)} finding(s))"
        return (
            f"{self.scope}: the data-quality gate {verdict}: {checked} expectations over {len(self.suites)} "
            f"batch(es) in {self.seconds:.1f} s; Data Docs: {self.docs}"
        )


def audit_quarter(engine: Engine | str, period: Period | str, compiled_dir: Path, docs_dir: Path) -> AuditResult:
    """Audit the compiled outputs of `period` in `compiled_dir` (and the period's stored child
    records); Data Docs go to `docs_dir`."""
    started = time.perf_counter()
    quarter = period if isinstance(period, Period) else Period.parse(period)
    register = load_register()
    data = load_national(get_engine(engine), quarter, since=quarter)
    batches = [_records(data.children, quarter, "child_records")]
    problems: list[str] = []
    tracker = _read_table(Path(compiled_dir), "tracker.csv", problems)
    if tracker is not None:
        batches.append(
            tracker_batch(
                tracker,
                period=quarter.code,
                expected=[c.council_code for c in register.expected(quarter)],
                time_columns=time_columns(quarter.code),
            )
        )
    league = _read_table(Path(compiled_dir), "league_table.csv", problems)
    if league is not None:
        batches.append(league_batch(league, measures=MEASURE_NAMES))
    return _audit(quarter.code, batches, Path(docs_dir), problems, started)


def audit_annual(engine: Engine | str, year: str, publication_dir: Path, docs_dir: Path) -> AuditResult:
    """Audit the publication of financial year `year` in `publication_dir` (and the stored
    child records of its quarters); Data Docs go to `docs_dir`."""
    started = time.perf_counter()
    label = format_financial_year(parse_financial_year(year))
    periods = financial_year_periods(label)
    register = load_register()
    data = load_national(get_engine(engine), periods[-1], since=periods[0])
    children = data.children
    batches = [
        _records(children[children["period"] == p.code] if len(children) else children, p, f"child_records_{p.code}")
        for p in periods
    ]
    problems: list[str] = []
    folder = Path(publication_dir)
    returns = _read_table(folder, "returns.csv", problems)
    if returns is not None:
        expected = {time_columns(p.code)["time_identifier"]: len(register.expected(p)) for p in periods}
        batches.append(returns_batch(returns, expected=expected))
    league = _read_table(folder, "league_table.csv", problems)
    if league is not None:
        batches.append(league_batch(league, measures=MEASURE_NAMES))
    for name, columns, row_total in (
        ("children.csv", list(CHILD_COUNTS), None),
        ("cross_council.csv", [rule.lower() for rule in RULES], CROSS_COUNCIL_TOTAL),
    ):
        table = _read_table(folder, name, problems)
        if table is None:
            continue
        counted = [*columns, *([row_total] if row_total else [])]
        batches.append(published_counts_batch(table, name=name, columns=counted))
        batches.append(published_totals_batch(table, name=name, columns=columns, row_total=row_total))
    picture = _read_table(folder, "whole_picture.csv", problems)  # X6 by region: no council rows
    if picture is not None:
        batches.append(
            published_counts_batch(
                picture, name="whole_picture.csv", columns=["children_whole_picture"], suppressible_levels=["Regional"]
            )
        )
    return _audit(label, batches, Path(docs_dir), problems, started)


def _records(children: pd.DataFrame, period: Period, name: str) -> GateBatch:
    standard = load_standard()
    gss_codes = frozenset(c.council_code for c in load_register().all())
    return stored_records_batch(
        children.reset_index(drop=True),
        expectations(standard, gss_codes),
        standard=standard,
        period_start=period.start,
        period_end=period.end,
        name=name,
    )


def _read_table(folder: Path, name: str, problems: list[str]) -> pd.DataFrame | None:
    """A written table as its text (markers and blanks as written), or None (and a problem)."""
    path = folder / name
    if not path.is_file():
        problems.append(f"{name}: not written (expected in {folder})")
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _audit(
    scope: str, batches: Sequence[GateBatch], docs_dir: Path, problems: list[str], started: float
) -> AuditResult:
    results = run_checkpoints(f"lscb-audit-{scope}", batches, docs_dir)
    suites: dict[str, dict[str, int]] = {}
    failures: dict[str, dict[str, int]] = {}
    messages = list(problems)
    for batch, result in zip(batches, results, strict=True):
        failed = [o for o in result.results if not o.success]
        critical = [o for o in failed if is_failure(o)]
        suites[batch.name] = {
            "expectations": len(result.results),
            "failed": len(critical),
            "warnings": len(failed) - len(critical),
        }
        for outcome in failed:
            check = str(outcome.expectation_config.meta.get("check") or outcome.expectation_config.type)
            counts = failures.setdefault(batch.name, {})
            counts[check] = counts.get(check, 0) + failing_count(outcome)
        messages += failure_messages(batch, result)
    success = not problems and all(s["failed"] == 0 for s in suites.values())
    return AuditResult(
        scope=scope,
        success=success,
        docs=str(docs_dir / DOCS_INDEX),
        suites=suites,
        failures=failures,
        messages=messages,
        seconds=round(time.perf_counter() - started, 2),
    )
