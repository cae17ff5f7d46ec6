"""`lscb annual`: the annual publication for a financial year (disclosure-controlled)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lscb.cli import UserError, add_population_option, population_file
from schemas.calendar import format_financial_year, parse_financial_year


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "annual",
        help="build the annual publication: accessible HTML, PDF, XLSX and CSVs, disclosure-controlled",
        description="Build the annual report for a financial year from every council's current returns: "
        "HTML with charts and accessible tables, a PDF of it, an XLSX of every table and tidy CSVs, "
        "under disclosure control (c = 1 to 5 and secondary suppression, totals rounded to 10). The "
        "exact tables are written under DIR/analyst/ for internal use only.",
    )
    parser.add_argument("--year", required=True, metavar="YYYY-YY", help="financial year, e.g. 2025-26")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    add_population_option(parser)
    parser.add_argument("--database-url", metavar="URL", help="default: LSCB_DATABASE_URL or the data directory")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import settings
    from pipeline.annual import build_annual

    try:
        year = format_financial_year(parse_financial_year(args.year))
    except ValueError as error:
        raise UserError(str(error)) from None
    population = population_file(args.population)
    database = args.database_url or settings().database()
    try:
        outcome = build_annual(database, year, args.out, population_csv=population, demo_key=settings().uses_demo_key())
    except ValueError as error:
        raise UserError(str(error)) from None
    except Exception as error:
        if type(error).__name__ in ("OperationalError", "ProgrammingError", "StoreNotReady"):
            raise UserError(f"cannot read the database: {str(error).splitlines()[0]}") from None
        raise
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2))
    elif outcome.received_returns == 0:
        print(
            f"{outcome.year}: no accepted return is stored for any quarter of the year yet "
            f"({outcome.expected_returns} expected), so the publication in {outcome.out_dir} has no figures"
        )
    else:
        print(
            f"{outcome.year}: {outcome.received_returns} of {outcome.expected_returns} returns accepted; "
            f"{outcome.suppressed_cells} cells suppressed"
        )
        for name, path in outcome.paths.items():
            print(f"  {name}: {path}")
    return 0
