"""`lscb signoff --council C --period P --by ROLE`: sign off the council's current version.

Refused while that version has errors or any query without an explanation.
"""

from __future__ import annotations

import argparse

from lscb.commands.db import store_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "signoff",
        help="sign off a council's current return for a period",
        description="Sign off the council's current version for the period (refused while it has an "
        "unexplained query).",
    )
    parser.add_argument("--council", required=True, metavar="CODE")
    parser.add_argument("--period", required=True, metavar="YYYY-Qn")
    parser.add_argument("--by", required=True, metavar="ROLE", help="the role signing off, e.g. 'LSCB chair'")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import sign_off

    with store_errors():
        summary = sign_off(args.council, args.period, args.by, engine_or_url=project_engine())
    print(
        f"{summary['council_code']} {summary['period']}: version {summary['version']} signed off by "
        f"{summary['signed_off_by']} ({summary['queries']} explained quer{'y' if summary['queries'] == 1 else 'ies'})"
    )
    return 0
