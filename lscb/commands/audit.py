"""`lscb audit [--council C] [--period P] [--actor A] [--action X] [--limit N] [--json]`: the
audit log, newest first (the analysts' audit page reads the same `store.audit.audit_entries`)."""

from __future__ import annotations

import argparse
import json

from lscb.cli import UserError
from lscb.commands.db import store_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="show the audit log, newest first",
        description="Show the append-only audit log, newest first, filtered by council, period, actor "
        "(any part of it) and action.",
    )
    parser.add_argument("--council", metavar="CODE")
    parser.add_argument("--period", metavar="YYYY-Qn")
    parser.add_argument("--actor", metavar="WHO", help="who did it (any part, any case)")
    parser.add_argument("--action", metavar="ACTION", help="e.g. submit, explain, sign_off, reopen")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="rows to show (default 50, at most 500)")
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store.audit import MAX_PAGE, audit_entries
    from store.queries import normalise_council, normalise_period, require_ready

    if not 1 <= args.limit <= MAX_PAGE:
        raise UserError(f"--limit must be between 1 and {MAX_PAGE}")
    with store_errors():
        council = normalise_council(args.council) if args.council else None
        period = normalise_period(args.period) if args.period else None
        engine = project_engine()
        require_ready(engine)
        found = audit_entries(
            engine, council_code=council, period=period, actor=args.actor, action=args.action, limit=args.limit
        )
    if args.json:
        print(json.dumps([row.to_json() for row in found.rows], indent=2))
        return 0
    if not found.rows:
        print("no audit entries match")
        return 0
    for row in found.rows:
        at = row.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        where = " ".join(p for p in (row.council_code, row.period) if p) or "-"
        detail = " ".join(f"{k}={v}" for k, v in row.detail.items())
        print(f"{at}  {row.action:<20}  {row.actor:<30}  {where:<17}  {detail}".rstrip())
    if found.total > len(found.rows):
        print(f"({len(found.rows)} of {found.total}; --limit for more)")
    return 0
