"""`lscb retention [--date YYYY-MM-DD] [--dry-run]`: delete the raw files whose time is up: the
sealed portal uploads, the inbox archive and the quarantine's reason files of every period whose
final compile was more than LSCB_RAW_RETENTION_DAYS (30) days ago, and uploads left
half-received. The `raw_file_retention` DAG runs the same use case every day."""

from __future__ import annotations

import argparse
import json
from datetime import date

from lscb.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "retention", help="delete raw files past their retention period", description=__doc__
    )
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="the day to act for (default today)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import settings
    from pipeline.raw_files import purge_raw_files

    try:
        today = date.fromisoformat(args.date) if args.date else date.today()
    except ValueError:
        raise UserError(f"invalid --date {args.date!r}: expected YYYY-MM-DD") from None
    config = settings()
    report = purge_raw_files(
        today=today,
        retention_days=config.raw_retention_days,
        uploads=config.upload_location(),
        archive=config.location("archive"),
        quarantine=config.location("quarantine"),
        dry_run=args.dry_run,
    )
    if args.json:
        print(json.dumps(report.to_result()))
    else:
        verb = "would delete" if args.dry_run else "deleted"
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.deleted.items())) or "nothing"
        periods = ", ".join(sorted(set(report.periods_purged))) or "none due"
        print(f"{today}: {verb} {counts} (periods: {periods}; kept {sum(report.kept.values())} not yet due)")
    return 0
