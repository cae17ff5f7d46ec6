"""`lscb findings`: the children to trace (cross-council findings X1-X6) as one council sees them,
and moving a case on.

    lscb findings --council CODE [--period P] [--status open] [--json]
    lscb findings acknowledge --id N --council CODE [--note TEXT] [--by WHO]
    lscb findings resolve --id N --council CODE --resolution RESOLUTION [--note TEXT] [--by WHO]
        (found | not-ours | other for X1-X5; already-known | acted-on | not-ours | other for X6)
    lscb findings reopen --id N --council CODE [--note TEXT] [--by WHO]
    lscb findings summary [--json]

A council's list shows its own local_child_id only, never the other council's; `--council` on an
action is the council acting (it must be one told about the case).
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import date
from typing import TYPE_CHECKING

from lscb.cli import UserError
from lscb.commands.db import store_errors

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from pipeline.tracing import TraceView

STATUSES = ("open", "acknowledged", "resolved")
RESOLUTIONS = ("found", "not-ours", "already-known", "acted-on", "other")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "findings",
        help="children to trace: a council's cross-council findings, and moving them on",
        description="List the cross-council findings (X1-X6) a council is told about, as it sees them "
        "(its own local_child_id only; X6, the whole picture, goes to the council now responsible "
        "only), or acknowledge, resolve or reopen one.",
    )
    parser.add_argument("--council", metavar="CODE", help="the council whose cases to list")
    parser.add_argument("--period", metavar="YYYY-Qn", help="only cases about this period")
    parser.add_argument("--status", choices=STATUSES, help="only cases with this status")
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    actions = parser.add_subparsers(dest="findings_action", metavar="ACTION")
    for name, text in (
        ("acknowledge", "the council is looking for the child (open -> acknowledged)"),
        ("resolve", "the case is settled: found and recorded, not ours, or other"),
        ("reopen", "back to open"),
    ):
        action = actions.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        action.add_argument("--id", type=int, required=True, dest="trace_id", metavar="N", help="the case number")
        action.add_argument(
            "--council",
            required=True,
            dest="acting_council",
            metavar="CODE",
            help="the council acting (one told about the case)",
        )
        if name == "resolve":
            action.add_argument("--resolution", required=True, choices=RESOLUTIONS)
        action.add_argument("--note", default="", help="a note the other council and analysts see")
        action.add_argument("--by", metavar="WHO", help="who acts (default: cli:<login name>)")
        action.add_argument("--json", action="store_true", help="print the case as JSON")
    summary = actions.add_parser("summary", help="analysts: open and resolved counts and ages per council and pair")
    summary.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine

    action = getattr(args, "findings_action", None)
    engine = project_engine()
    if action == "summary":
        return _summary(engine, as_json=args.json)
    if action is not None:
        return _move(engine, args, action)
    if not args.council:
        raise UserError("name the council: lscb findings --council CODE (or an action: acknowledge, resolve ...)")
    from pipeline.tracing import children_to_trace

    with store_errors():
        cases = children_to_trace(engine, args.council, period=args.period, status=args.status)
    if args.json:
        print(json.dumps([c.to_json() for c in cases], indent=2))
        return 0
    if not cases:
        print(f"{args.council.upper()}: no children to trace" + (f" with status {args.status}" if args.status else ""))
        return 0
    today = date.today()
    for case in cases:
        _print(case, today)
    return 0


def _print(case: TraceView, today: date) -> None:
    late = " (over 28 days)" if case.overdue(today) else ""
    gone = "; not found by the latest compile" if not case.present else ""
    print(f"case {case.id}  {case.rule} {case.period}  {case.status}{late}  first found {case.first_seen_on}{gone}")
    if case.picture is not None:
        print(f"  your record: {case.local_child_id}; other councils: {', '.join(case.other_councils)}")
        for line in case.picture_lines:
            print(f"    - {line}")
    else:
        print(
            f"  your record: {case.local_child_id or 'none'}; other council: {case.other_council_name} "
            f"({case.other_council_code})"
        )
    if case.look_for:
        print(f"  look for a child {case.look_for}")
    print(f"  {case.message}")
    if case.resolution:
        print(f"  resolved: {case.resolution_label} by {case.resolved_by}")
    if case.note:
        print(f"  note: {case.note}")


def _move(engine: Engine, args: argparse.Namespace, action: str) -> int:
    from pipeline import tracing

    by = args.by or f"cli:{getpass.getuser()}"
    with store_errors():
        if action == "acknowledge":
            case = tracing.acknowledge(engine, args.trace_id, args.acting_council, by=by, note=args.note)
        elif action == "resolve":
            case = tracing.resolve(engine, args.trace_id, args.acting_council, args.resolution, by=by, note=args.note)
        else:
            case = tracing.reopen(engine, args.trace_id, args.acting_council, by=by, note=args.note)
    if args.json:
        print(json.dumps(case.to_json(), indent=2))
    else:
        print(
            f"case {case.id} ({case.rule} {case.period}, {case.other_council_name}): {case.status}"
            + (f", {case.resolution_label}" if case.resolution_label else "")
        )
    return 0


def _summary(engine: Engine, *, as_json: bool) -> int:
    from pipeline.tracing import tracing_summary

    with store_errors():
        summary = tracing_summary(engine)
    if as_json:
        print(
            json.dumps(
                {
                    "today": summary.today.isoformat(),
                    "councils": summary.councils,
                    "pairs": summary.pairs,
                    "whole_picture": summary.whole_picture,
                },
                indent=2,
            )
        )
        return 0
    print(f"{'council':<40} {'open':>5} {'ack':>5} {'>28d':>5} {'oldest':>6} {'resolved':>8}")
    for row in summary.councils:
        oldest = "" if row["oldest_open_days"] is None else row["oldest_open_days"]
        print(
            f"{row['council_name'][:30] + ' ' + row['council_code']:<40} {row['open']:>5} {row['acknowledged']:>5} "
            f"{row['over_28_days']:>5} {oldest:>6} {row['resolved']:>8}"
        )
    print("\nX6 the whole picture, by region of the council now responsible (counts only)")
    for row in summary.whole_picture:
        print(f"{row['region_name'][:39]:<40} {row['open']:>5} {row['acknowledged']:>5} {row['over_28_days']:>5}")
    return 0
