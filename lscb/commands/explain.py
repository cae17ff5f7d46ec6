"""`lscb explain`: explain a query finding of a council's current version (rule + Excel row; no
`--row` for a query about the whole return, such as PRV-01 or XS-02)."""

from __future__ import annotations

import argparse
import getpass

from lscb.commands.db import store_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="explain a query on a council's current return",
        description="Record an explanation for a query finding of the council's current version, "
        "named by its rule and the Excel row it points at (leave out --row for a query about the whole "
        "return, such as XS-02 or PRV-01).",
    )
    parser.add_argument("--council", required=True, metavar="CODE")
    parser.add_argument("--period", required=True, metavar="YYYY-Qn")
    parser.add_argument("--rule", required=True, metavar="RULE", help="the rule id, e.g. CHD-23")
    parser.add_argument(
        "--row", type=int, metavar="N", help="the Excel row the finding points at (omit for a whole-return query)"
    )
    parser.add_argument("--text", required=True, help="the explanation")
    parser.add_argument("--by", metavar="WHO", help="who explains (default: cli:<login name>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import explain

    with store_errors():
        summary = explain(
            args.council,
            args.period,
            args.rule,
            args.row,
            args.text,
            args.by or f"cli:{getpass.getuser()}",
            engine_or_url=project_engine(),
        )
    left = summary["unexplained_queries"]
    where = f"row {args.row}" if args.row is not None else "(whole return)"
    print(
        f"{summary['council_code']} {summary['period']} version {summary['version']}: {args.rule.upper()} {where} "
        f"explained; {left} unexplained quer{'y' if left == 1 else 'ies'} left"
        + ("; ready to sign off" if summary["all_queries_explained"] else "")
    )
    return 0
