"""`lscb demo`: the main job's demonstration data and its headline figures (`make demo`).

`lscb demo prepare --period P` synthesises every council the register expects, swaps a few files
for bad and hostile ones, and delivers them to the inbox; `lscb demo report --period P` prints
the headline counts after a run, from the same tracker as `tracker.csv`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from lscb.cli import UserError
from schemas.calendar import Period


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="demonstration data for a national quarter, and its headline figures")
    actions = parser.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    prepare = actions.add_parser("prepare", help="synthesise a national quarter with bad files and deliver it")
    prepare.add_argument("--period", required=True, metavar="YYYY-Qn")
    prepare.add_argument("--children", type=int, default=200, metavar="N")
    prepare.add_argument("--seed", type=int, default=1, metavar="S")
    prepare.add_argument("--inbox", type=Path, metavar="DIR", help="default: the settings' inbox")
    prepare.add_argument("--staging", type=Path, metavar="DIR", help="default: <data dir>/synth")
    prepare.set_defaults(func=_prepare)
    report = actions.add_parser("report", help="print the headline counts of a period")
    report.add_argument("--period", required=True, metavar="YYYY-Qn")
    report.add_argument("--json", action="store_true", help="JSON instead of text")
    report.set_defaults(func=_report)
    contacts = actions.add_parser("contacts", help="give every council in the register a demo contact")
    contacts.set_defaults(func=_contacts)
    mail = actions.add_parser("mail", help="summarise the e-mails the demo sent (the message log)")
    mail.set_defaults(func=_mail)


DEMO_DOMAIN = "demo.invalid"  # reserved (RFC 2606): nothing can ever be delivered there


def _contacts(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from lscb.commands.db import store_errors
    from schemas.register import load_register
    from store.chasing import add_contact, contacts

    engine = project_engine()
    with store_errors():
        have = {(c.council_code, c.email) for c in contacts(engine)}
        added = 0
        for council in load_register().all():
            address = f"returns@{council.council_code.lower()}.{DEMO_DOMAIN}"
            if (council.council_code, address) not in have:
                add_contact(engine, council.council_code, address, name="Demo contact", by="lscb demo")
                added += 1
    print(f"{added} demo contact(s) added")
    return 0


def _mail(args: argparse.Namespace) -> int:
    from collections import Counter

    from lscb.cli import project_engine, settings
    from lscb.commands.db import store_errors
    from store.chasing import message_log

    with store_errors():
        log = message_log(project_engine())
    kinds = Counter(m.kind for m in log if m.status == "sent")
    print(f"  {sum(kinds.values())} e-mail(s) sent: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
    for kind in ("reminder", "upload", "finding"):
        example = next((m for m in log if m.kind == kind and m.status == "sent"), None)
        if example is not None:
            print(f"  e.g. {kind} to {example.council_code}: {example.subject}")
    from pipeline.tracing import cases_by_rule

    with store_errors():
        cases = cases_by_rule(project_engine())
    print(
        "  children to trace on the councils' pages: "
        + ", ".join(f"{rule} {n}" for rule, (n, _) in cases.items() if rule != "X6")
    )
    pictures, councils = cases.get("X6", (0, 0))
    print(
        f"  X6 the whole picture: {pictures} finding(s) reached {councils} council(s) now responsible for a child "
        "whose warning signs were recorded elsewhere"
    )
    outbox = settings().data_path() / "outbox"
    if outbox.is_dir():
        print(f"  the messages themselves: {outbox} ({len(list(outbox.glob('*.eml')))} .eml files)")
    return 0


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as error:
        raise UserError(str(error)) from None


def _prepare(args: argparse.Namespace) -> int:
    from lscb.cli import settings
    from synth.demo import prepare

    config = settings()
    files = prepare(
        _period(args.period).code,
        inbox=args.inbox or Path(config.location("inbox")),
        staging=args.staging or config.data_path() / "synth",
        children=args.children,
        seed=args.seed,
    )
    print(json.dumps({key: len(value) if isinstance(value, list) else value for key, value in asdict(files).items()}))
    return 0


def _report(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from lscb.commands.db import store_errors
    from pipeline.tracker import period_summary

    with store_errors():
        figures = period_summary(project_engine(), _period(args.period))
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"  councils expected {figures['expected_councils']}, with a stored return "
        f"{figures['councils_with_a_return']}, without one {figures['no_return']}; late {figures['late_returns']}"
    )
    print(f"  returns by state {figures['by_state']}")
    print(
        f"  versions stored {figures['versions_stored']} (at most {figures['max_versions_per_council']} per "
        f"council), by status {figures['versions_by_status']}"
    )
    return 0
