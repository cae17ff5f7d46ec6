"""Compiling a period nationally: the use case behind `lscb compile` and the quarterly DAG.

Reads every council's current version up to the period after (X1 needs P+1) from the store,
links children across councils and computes the measures (`reports.compile.compile_tables`,
pure), records the cross-council findings as children to trace (`pipeline.tracing`), and writes
the analysts' outputs (`reports.compile.write_compile`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from pipeline.population import read_population
from pipeline.provenance import publication_provenance
from pipeline.tracing import record_compile as record_children_to_trace
from reports.compile import CompileOutcome, CompileTables, compile_tables, write_compile
from schemas.calendar import Period
from store.engine import get_engine
from store.national import load_national
from transforms.link import CrossCouncilFinding


def compile_period_tables(
    engine: Engine | str,
    period: Period,
    *,
    population_csv: Path | None = None,
    today: date | None = None,
) -> CompileTables:
    """The compile's tables for `period`, from the store (nothing written)."""
    data = load_national(get_engine(engine), period.next())
    return compile_tables(period, data, population=read_population(population_csv), today=today)


def compile_period(
    engine: Engine | str,
    period: Period,
    out_dir: Path,
    *,
    population_csv: Path | None = None,
    today: date | None = None,
    demo_key: bool = False,
) -> CompileOutcome:
    """Compile `period` from the store into `out_dir` (created if needed)."""
    tables = compile_period_tables(engine, period, population_csv=population_csv, today=today)
    tables = record_children_to_trace(engine, tables, today=today)  # the store's cases, and gaps' >28 days
    provenance = publication_provenance(demo_key=demo_key, population_csv=population_csv)
    return write_compile(tables, Path(out_dir), population_given=population_csv is not None, provenance=provenance)


def findings_through(engine: Engine | str, period: Period, *, today: date | None = None) -> list[CrossCouncilFinding]:
    """Every cross-council finding (X1-X6) of the periods up to `period`, as the compile of
    `period` on `today` makes them (nothing written). X1 for a closure in a period is decided
    once the next period's deadline has passed (`transforms.link.x1_decided_through`)."""
    tables = compile_period_tables(engine, period, today=today)
    return [t.finding for t in tables.traceable]
