"""`lscb submissions --council C --period P [--json]`: every version a council sent for a period."""

from __future__ import annotations

import argparse
import json

from lscb.commands.db import store_errors

JSON_FIELDS = ("version", "status", "received_at", "late", "checksum", "current", "errors", "queries")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submissions",
        help="list the versions a council sent for a period",
        description="List every version a council sent for a period, oldest first; the current one "
        "(latest accepted or signed off) is marked.",
    )
    parser.add_argument("--council", required=True, metavar="CODE")
    parser.add_argument("--period", required=True, metavar="YYYY-Qn")
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import list_submissions

    with store_errors():
        rows = list_submissions(args.council, args.period, engine_or_url=project_engine())
    if args.json:
        extra = ("all_queries_explained", "unexplained_queries", "source_name", "signed_off_by", "signed_off_at")
        print(json.dumps([{k: row[k] for k in (*JSON_FIELDS, *extra)} for row in rows], indent=2))
        return 0
    if not rows:
        print(f"{args.council.upper()} {args.period.upper()}: nothing received")
        return 0
    print(f"{'version':>7}  {'status':<10}  {'received_at':<27}  {'late':<4}  {'errors':>6}  {'queries':>7}  current")
    for row in rows:
        queries = f"{row['queries']}" + (f" ({row['unexplained_queries']} open)" if row["unexplained_queries"] else "")
        print(
            f"{row['version']:>7}  {row['status']:<10}  {row['received_at']:<27}  {'yes' if row['late'] else 'no':<4}  "
            f"{row['errors']:>6}  {queries:>7}  {'*' if row['current'] else ''}"
        )
    return 0
