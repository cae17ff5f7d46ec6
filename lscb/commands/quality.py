"""`lscb quality`: the national data-quality gate over outputs already written (`lscb audit` is the
audit log)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lscb.cli import UserError
from schemas.calendar import Period, format_financial_year, parse_financial_year


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quality",
        help="run the national data-quality gate (Great Expectations) over a compiled quarter or a publication",
        description="Hold a compiled quarter (the stored child records of the period, the tracker and the "
        "league table) or an annual publication (the stored records of its quarters and the published "
        "tables: no count of 1 to 5 shown, totals consistent after rounding, ranks and bands) to the "
        "national data-quality gate, and write GX Data Docs for analysts. Exit 0 when the gate passes, "
        "1 when it fails.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--period", metavar="YYYY-Qn", help="a compiled quarter (default folder <outputs>/<period>)")
    which.add_argument("--year", metavar="YYYY-YY", help="an annual publication (default folder <annual>/<year>)")
    parser.add_argument("--dir", type=Path, metavar="DIR", help="the folder to audit, instead of the default")
    parser.add_argument("--docs", type=Path, metavar="DIR", help="where the Data Docs go (default DIR/data_docs)")
    parser.add_argument("--database-url", metavar="URL", help="default: LSCB_DATABASE_URL or the data directory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import settings

    config = settings()
    try:
        if args.period:
            scope, kind = Period.parse(args.period).code, "outputs"
        else:
            scope, kind = format_financial_year(parse_financial_year(args.year)), "annual"
    except ValueError as error:
        raise UserError(str(error)) from None
    if args.dir is not None:
        folder = args.dir.expanduser().resolve()
    else:
        root = config.location(kind)
        if "://" in root:
            raise UserError(f"the {kind} location is a URL ({root}); give a local copy with --dir")
        folder = Path(root) / scope
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of written outputs")
    docs = (args.docs or folder / "data_docs").expanduser().resolve()

    from pipeline.quality import audit_annual, audit_quarter

    database = args.database_url or config.database()
    audit = audit_quarter if args.period else audit_annual
    try:
        result = audit(database, scope, folder, docs)
    except Exception as error:  # the store not migrated yet, an unreachable database ...
        if type(error).__name__ in ("OperationalError", "ProgrammingError", "StoreNotReady"):
            raise UserError(f"cannot read the database: {str(error).splitlines()[0]}") from None
        raise
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.headline())
        for line in result.messages:
            print(f"  {line}")
    return 0 if result.success else 1
