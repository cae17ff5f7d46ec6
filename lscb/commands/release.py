"""`lscb release`: release an approved annual publication (copied read-only, with a manifest)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lscb.cli import UserError
from schemas.calendar import format_financial_year, parse_financial_year


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release",
        help="release an approved annual publication: a read-only copy with a manifest of checksums",
        description="Copy the published annual publication (DIR, as `lscb annual` wrote it and `lscb quality "
        "--year` passed it) to the release location as <release>/<year>, with manifest.json (every file's "
        "SHA-256, who approved it and when), read-only. A year is released once; the analysts' exact tables "
        "and the Data Docs are never released. The annual DAG does the same after a statistician's approval.",
    )
    parser.add_argument("--year", required=True, metavar="YYYY-YY", help="financial year, e.g. 2025-26")
    parser.add_argument("--from", dest="source", required=True, type=Path, metavar="DIR", help="the publication")
    parser.add_argument("--approved-by", required=True, metavar="NAME", help="the statistician who approved it")
    parser.add_argument("--release", metavar="DIR", help="default: LSCB_RELEASE, else <data dir>/release")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import settings
    from pipeline.release import ReleaseError, release_publication

    try:
        year = format_financial_year(parse_financial_year(args.year))
    except ValueError as error:
        raise UserError(str(error)) from None
    target = Path(args.release or settings().location("release"))
    try:
        outcome = release_publication(args.source, target, year, approved_by=args.approved_by)
    except ReleaseError as error:
        raise UserError(str(error)) from None
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2))
    else:
        print(f"{year}: {outcome.files} file(s) released to {outcome.release_dir} (manifest: {outcome.manifest})")
    return 0
