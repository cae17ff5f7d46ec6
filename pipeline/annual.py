"""Building the annual publication of a financial year: the use case behind `lscb annual` and
the annual DAG. Reads the year's four quarters (and the quarter before, for changes; the one
after, for X1) from the store, builds the exact tables, publishes them under disclosure control
(`reports.annual`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from pipeline.population import read_population
from pipeline.provenance import publication_provenance
from reports.annual import AnnualOutcome, annual_tables, write_annual
from schemas.calendar import Period, financial_year_periods, parse_financial_year
from store.engine import get_engine
from store.national import load_national


def build_annual(
    engine: Engine | str,
    year: str,
    out_dir: Path,
    *,
    population_csv: Path | None = None,
    today: date | None = None,
    demo_key: bool = False,
    contact: str | None = None,
) -> AnnualOutcome:
    """Build the publication for a financial year such as `2025-26` into `out_dir`. `demo_key`: the
    returns were keyed with the public demo key (the publication then says it is a demonstration,
    as it does with a synthetic population); `contact`: who readers write to."""
    start = parse_financial_year(year)
    periods = financial_year_periods(year)
    data = load_national(get_engine(engine), periods[-1].next(), since=Period(start - 1, 1))
    exact = annual_tables(year, data, population=read_population(population_csv), today=today)
    provenance = publication_provenance(demo_key=demo_key, population_csv=population_csv)
    return write_annual(
        exact,
        Path(out_dir),
        population_given=population_csv is not None,
        provenance=provenance,
        released_on=today,
        contact=contact,
    )
