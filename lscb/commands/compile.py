"""`lscb compile`: the national compile of one period (analysts' tables, exact)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lscb.cli import UserError, add_population_option, population_file
from schemas.calendar import Period


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="compile one period nationally: tracker, league table, gaps, cross-council findings",
        description="Read every council's current return from the database, link children across "
        "councils (X1-X5) and write the tracker, league table, gap report and cross-council findings "
        "as CSV (Explore Education Statistics layout), XLSX and an HTML dashboard. Exact figures, "
        "for analysts: not disclosure-controlled.",
    )
    parser.add_argument("--period", required=True, metavar="YYYY-Qn", help="the period to compile, e.g. 2025-Q1")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    add_population_option(parser)
    parser.add_argument("--database-url", metavar="URL", help="default: LSCB_DATABASE_URL or the data directory")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import settings
    from pipeline.compile import compile_period
    from reports.compile import headline

    try:
        period = Period.parse(args.period)
    except ValueError as error:
        raise UserError(str(error)) from None
    population = population_file(args.population)
    database = args.database_url or settings().database()
    try:
        outcome = compile_period(
            database, period, args.out, population_csv=population, demo_key=settings().uses_demo_key()
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    except Exception as error:  # the store not migrated yet, an unreachable database ...
        if type(error).__name__ in ("OperationalError", "ProgrammingError", "StoreNotReady"):
            raise UserError(f"cannot read the database: {str(error).splitlines()[0]}") from None
        raise
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2))
    else:
        for line in headline(outcome):
            print(line)
    return 0
