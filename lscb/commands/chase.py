"""`lscb chase [--date YYYY-MM-DD]`: send the day's reminders to councils without an accepted
return (14 and 3 days before the deadline, and the day after it). The quarterly DAG does this
every day; a message already sent is never sent again. Mail goes to the SMTP server in the
settings, else to <data dir>/outbox as .eml files."""

from __future__ import annotations

import argparse
import json
from datetime import date

from lscb.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chase", help="send today's reminders to councils", description=__doc__)
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="the day to act for (default today)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine, settings
    from lscb.commands.db import store_errors
    from lscb.mail import mailer
    from pipeline.chase import send_reminders

    try:
        today = date.fromisoformat(args.date) if args.date else date.today()
    except ValueError:
        raise UserError(f"invalid --date {args.date!r}: expected YYYY-MM-DD") from None
    config = settings()
    with store_errors():
        outcome = send_reminders(project_engine(), today, mailer(config), portal_url=config.portal_url)
    if args.json:
        print(json.dumps(outcome.to_json()))
    elif outcome.period is None:
        print(f"{today}: no reminders are due today")
    else:
        print(
            f"{today}: reminders for {outcome.period}: {len(outcome.sent)} sent, {len(outcome.already_sent)} "
            f"already sent, {len(outcome.failed)} failed, {len(outcome.no_contact)} council(s) with no contact"
        )
    return 1 if outcome.failed else 0
