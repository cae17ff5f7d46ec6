"""`lscb submit FILE --council CODE`: validate a return and store it as the council's next version.

Exit 0 accepted, 1 rejected, 2 refused (nothing stored). The same bytes again store nothing and
exit as the version already received. Needs the pseudonymisation key (LSCB_PSEUDONYMISATION_KEY,
or LSCB_DEMO=1 for the public demo key).
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lscb.cli import UserError
from lscb.commands.db import store_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="validate a council's return and store it as a new version",
        description="Validate a return (XLSX or CSV bundle) and store it as the council's next version: "
        "exit 0 accepted, 1 rejected, 2 refused.",
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--council", required=True, metavar="CODE", help="the submitting council's GSS code")
    parser.add_argument("--period", metavar="YYYY-Qn", help="the period the upload is for (default: from About)")
    parser.add_argument("--by", metavar="WHO", help="who submitted it (default: cli:<login name>)")
    parser.add_argument(
        "--received-at",
        metavar="ISO",
        help="when it was received, ISO 8601 (default now; without an offset: UK local time)",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=run)


def parse_received_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise UserError(f"invalid --received-at {value!r}: expected ISO 8601, e.g. 2025-08-11T17:30:00+01:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo("Europe/London"))
    return parsed


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine, settings

    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file")
    key = settings().key()  # no key, no work
    received_at = parse_received_at(args.received_at)
    from pipeline.receive import submit_file

    with store_errors():
        outcome = submit_file(
            args.file,
            args.council,
            secret=key.secret,
            engine_or_url=project_engine(),
            submitted_by=args.by or f"cli:{getpass.getuser()}",
            received_at=received_at,
            claimed_period=args.period,
        )
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2, default=str))
    else:
        print(outcome.message)
        for finding in outcome.findings:
            who = f" [{finding.local_child_id}]" if finding.local_child_id else ""
            print(f"  {finding.severity} {finding.rule} {finding.cell or finding.sheet or '-'}{who}: {finding.message}")
    return outcome.exit_code
