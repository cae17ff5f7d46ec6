"""`lscb review accept|reject|raise|reopen|history`: a national analyst's side of the query
workflow, on a council's current version (the portal's analyst forms call the same store
functions).

- `accept --council C --period P --rule R [--row N]`: accept the council's explanation;
- `reject ... --reason TEXT`: reject it; the query is open again and the reason is shown to the
  council (a signed-off return is reopened);
- `raise --council C --period P --message TEXT [--cell Children!F12] [--field F]`: raise a query
  (the whole return without --cell and --field); a signed-off return is reopened;
- `reopen --council C --period P --reason TEXT`: take a signed-off return back to accepted;
- `history --council C --period P [--json]`: every sign-off and reopening, newest first.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from lscb.commands.db import store_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "review",
        help="review a council's return: accept or reject explanations, raise queries, reopen",
        description="A national analyst's review of a council's current return for a period.",
    )
    actions = parser.add_subparsers(dest="review_action", metavar="ACTION", required=True)

    accept = actions.add_parser("accept", help="accept the council's explanation of a query")
    _scope(accept)
    _query(accept)
    _by(accept)
    accept.set_defaults(func=run_accept)

    reject = actions.add_parser("reject", help="reject an explanation: the query is open again")
    _scope(reject)
    _query(reject)
    reject.add_argument("--reason", required=True, help="why, as the council will read it")
    _by(reject)
    reject.set_defaults(func=run_reject)

    raised = actions.add_parser("raise", help="raise a query on the return, a cell or a field")
    _scope(raised)
    raised.add_argument("--message", required=True, help="the question, as the council will read it")
    raised.add_argument("--cell", metavar="SHEET!CELL", help="the cell it is about, e.g. Children!F12")
    raised.add_argument("--field", metavar="FIELD", help="the field it is about, e.g. children_open_at_end")
    _by(raised)
    raised.set_defaults(func=run_raise)

    reopened = actions.add_parser("reopen", help="reopen a signed-off return: it must be signed off again")
    _scope(reopened)
    reopened.add_argument("--reason", required=True, help="why, as the council will read it")
    _by(reopened)
    reopened.set_defaults(func=run_reopen)

    history = actions.add_parser("history", help="every sign-off and reopening of the return, newest first")
    _scope(history)
    history.add_argument("--json", action="store_true", help="print a JSON array")
    history.set_defaults(func=run_history)


def _scope(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--council", required=True, metavar="CODE")
    parser.add_argument("--period", required=True, metavar="YYYY-Qn")


def _query(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", required=True, metavar="RULE", help="the query's rule id, e.g. CHD-23")
    parser.add_argument(
        "--row", type=int, metavar="N", help="the Excel row it points at (omit for a whole-return query)"
    )


def _by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", metavar="WHO", help="the analyst (default: cli:<login name>)")


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or f"cli:{getpass.getuser()}")


def _where(args: argparse.Namespace) -> str:
    return f"{args.rule.upper()} row {args.row}" if args.row is not None else f"{args.rule.upper()} (whole return)"


def _state(summary: dict[str, Any]) -> str:
    left = summary["unexplained_queries"]
    text = f"{left} open quer{'y' if left == 1 else 'ies'}"
    if summary.get("reopened"):
        text += "; the signed-off return is reopened and must be signed off again"
    return text


def _head(summary: dict[str, Any]) -> str:
    return f"{summary['council_code']} {summary['period']} version {summary['version']}"


def run_accept(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import accept_explanation

    with store_errors():
        summary = accept_explanation(
            args.council, args.period, args.rule, args.row, _actor(args), engine_or_url=project_engine()
        )
    print(f"{_head(summary)}: the explanation of {_where(args)} is accepted; {_state(summary)}")
    return 0


def run_reject(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import reject_explanation

    with store_errors():
        summary = reject_explanation(
            args.council, args.period, args.rule, args.row, args.reason, _actor(args), engine_or_url=project_engine()
        )
    print(f"{_head(summary)}: the explanation of {_where(args)} is rejected (open again); {_state(summary)}")
    return 0


def run_raise(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import raise_query

    with store_errors():
        summary = raise_query(
            args.council,
            args.period,
            args.message,
            _actor(args),
            cell=args.cell,
            field=args.field,
            engine_or_url=project_engine(),
        )
    where = args.cell or args.field or "the whole return"
    print(f"{_head(summary)}: query raised on {where}; {_state(summary)}")
    return 0


def run_reopen(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import reopen

    with store_errors():
        summary = reopen(args.council, args.period, args.reason, _actor(args), engine_or_url=project_engine())
    print(f"{_head(summary)}: reopened; it is accepted again and must be signed off again")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from schemas.lifecycle import REOPEN_LABELS
    from store import sign_off_history

    with store_errors():
        events = sign_off_history(args.council, args.period, engine_or_url=project_engine())
    if args.json:
        print(json.dumps(events, indent=2))
        return 0
    if not events:
        print(f"{args.council.upper()} {args.period.upper()}: never signed off")
        return 0
    for event in events:
        what = "signed off" if event["event"] == "signed_off" else f"{REOPEN_LABELS[event['cause']]}: {event['reason']}"
        print(f"{event['at']}  version {event['version']}  {what}  by {event['by']}")
    return 0
