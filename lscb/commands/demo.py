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
from typing import Any

from lscb.cli import UserError
from schemas.calendar import Period


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="demonstration data for a national quarter or a year, and its headline figures",
        description="`lscb demo --year 2025-26`: a demonstration year (four quarters of one synthetic world through "
        "the quarterly DAG on their calendar dates, then the annual DAG); or one of the actions below.",
    )
    parser.add_argument(
        "--year",
        metavar="YYYY-YY",
        help="run a demonstration year (default of make demo-year: the latest complete financial year)",
    )
    parser.add_argument(
        "--children",
        type=int,
        default=YEAR_CHILDREN,
        metavar="N",
        help=f"with --year: children per council (default {YEAR_CHILDREN})",
    )
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="with --year: the world's seed (default 1)")
    parser.set_defaults(func=_year)
    actions = parser.add_subparsers(dest="demo_command", metavar="ACTION")
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
    world = actions.add_parser(
        "world", help="print the data directory a demonstration world runs in (claiming it when new)"
    )
    which = world.add_mutually_exclusive_group(required=True)
    which.add_argument("--period", metavar="YYYY-Qn")
    which.add_argument("--year", dest="world_year", metavar="YYYY-YY")
    world.add_argument("--children", type=int, required=True, metavar="N")
    world.add_argument("--seed", type=int, required=True, metavar="S")
    world.set_defaults(func=_world)
    check = actions.add_parser(
        "check", help="compare the stored year's X1-X6 findings with the synthetic world's ground truth"
    )
    check.add_argument("--truth", type=Path, required=True, metavar="ground_truth.json")
    check.add_argument("--period", required=True, metavar="YYYY-Qn", help="the last period of the world")
    check.set_defaults(func=_check)


DEMO_APPROVER = "Demonstration statistician (lscb demo --year)"
YEAR_CHILDREN = 100  # per council and quarter in a demonstration year (make demo-year's default)


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


# ------------------------------------------------------------------ one world per data directory


def _use_world(world: dict[str, object]) -> Path:
    """Claim the data directory for a demonstration world (`synth.demo.claim_world`); when it is
    another, point this process's settings (and Airflow's home, when it followed the data
    directory) at it. Returns the data directory in force."""
    import os
    import sys

    from lscb.cli import settings
    from synth.demo import claim_world

    current = settings().data_path()
    chosen, message = claim_world(current, dict(world))
    if chosen != current:
        os.environ["LSCB_DATA_DIR"] = str(chosen)
        home = os.environ.get("AIRFLOW_HOME")
        if home is None or Path(home).resolve() == (current / "airflow").resolve():
            os.environ["AIRFLOW_HOME"] = str(chosen / "airflow")
            os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{chosen / 'airflow' / 'airflow.db'}"
    if message:
        print(f"demo: {message}", file=sys.stderr)
    return chosen


def _world(args: argparse.Namespace) -> int:
    if args.period:
        world: dict[str, object] = {"period": _period(args.period).code}
    else:
        world = {"year": _financial_year(args.world_year)}
    world.update(children=args.children, seed=args.seed)
    print(_use_world(world))
    return 0


def _financial_year(text: str) -> str:
    from schemas.calendar import format_financial_year, parse_financial_year

    try:
        return format_financial_year(parse_financial_year(text))
    except ValueError as error:
        raise UserError(str(error)) from None


# ------------------------------------------------------------------ the year's ground truth


def _check(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from lscb.commands.db import store_errors

    try:
        truth = json.loads(args.truth.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{args.truth}: cannot read the ground truth ({error})") from None
    with store_errors():
        return _print_check(project_engine(), _period(args.period), truth)


def _print_check(engine: Any, last: Period, truth: dict[str, Any]) -> int:
    """Print the compile (as of today) against the world's truth; 0 when they agree exactly."""
    from datetime import date

    from pipeline.compile import findings_through
    from synth.truth import compare
    from transforms.link import x1_decided_through

    today = date.today()
    found = findings_through(engine, last, today=today)
    if x1_decided_through(last, today) < last:  # X1 for the last quarter's closures needs the next one
        print(f"  (X1 for closures in {last.code} is decided after {last.next().code}'s deadline: not compared yet)")
        truth = {
            **truth,
            "cross_council": [
                c for c in truth["cross_council"] if not (c["rule"] == "X1" and c["period"] == last.code)
            ],
        }
        found = [f for f in found if not (f.rule == "X1" and f.period == last.code)]
    check = compare(found, truth)
    for line in check.lines():
        print(f"  {line}")
    if check.exact:
        print("  the compile found exactly what the synthetic world holds: every case, pair and child, nothing else")
        return 0
    print("  the compile and the world DISAGREE", *(f"extra {k}" for k in check.extra_examples), sep="\n  ")
    for key in check.missing_examples:
        print(f"  missing {key}")
    return 1


# ------------------------------------------------------------------ a demonstration year


def _year(args: argparse.Namespace) -> int:
    if getattr(args, "demo_command", None) is None and not args.year:
        raise UserError("give --year YYYY-YY for a demonstration year, or an action (see --help)")
    import time
    from datetime import date, datetime, timedelta
    from datetime import time as clock

    from lscb.cli import settings
    from lscb.commands.run import annual_run, prepare_databases, print_result, quarter_run
    from schemas.calendar import LONDON, Period
    from synth.demo import deliver_files, prepare_year

    started = time.perf_counter()
    year = _financial_year(args.year)
    if not settings().demo:
        raise UserError("lscb demo --year uses the public demo key only: set LSCB_DEMO=1 (make demo-year does)")
    data_dir = _use_world({"year": year, "children": args.children, "seed": args.seed})
    config = settings()
    inbox = Path(config.location("inbox"))
    print("demo: DEMONSTRATION YEAR: synthetic data, public demo key (LSCB_DEMO=1); not official statistics")
    print(f"demo: {year}, {args.children} children per council, seed {args.seed}, data directory {data_dir}")

    t0 = time.perf_counter()
    print("demo: synthesising one world over the four quarters (children carried forward, moves, X1-X6 cases, "
          "a few missing, late and rejected returns, each rejected one corrected and sent again)")  # fmt: skip
    files = prepare_year(year, staging=data_dir / "synth", children=args.children, seed=args.seed)
    staging = Path(files.truth).parent
    corrected = sum(1 for f in files.files if f.get("resubmission_of"))
    seconds = time.perf_counter() - t0
    print(f"  {len(files.files)} files ({corrected} corrected resubmissions) in {staging} ({seconds:.0f} s)")
    print("demo: migrating Airflow's metadata database and the project database; a demo contact for every council")
    prepare_databases()
    from lscb.commands import db

    db.run(argparse.Namespace(db_command="upgrade", revision="head"))  # and the council register
    _contacts(args)
    population = Path("data/population/SYNTHETIC_population_0_17.csv")
    conf_extra: dict[str, object] = {}
    from lscb.settings import PROJECT_ROOT

    if (PROJECT_ROOT / population).is_file():
        conf_extra["population_csv"] = str(PROJECT_ROOT / population)

    def instant(day: date) -> str:
        return datetime.combine(day, clock(6), tzinfo=LONDON).isoformat()

    periods = [Period.parse(code) for code in files.periods]
    runs: list[tuple[Period, date, str]] = [(p, p.final_compile_day, "final compile") for p in periods]
    # a later run for the last quarter takes its late returns (the next quarter's runs would)
    last_late = max((f["received_at"] for f in files.files if f["period"] == periods[-1].code), default=None)
    if last_late is not None and last_late >= instant(periods[-1].final_compile_day):
        day = datetime.fromisoformat(last_late).astimezone(LONDON).date() + timedelta(days=1)
        runs.append((periods[-1], day, "late returns"))
    previous: str | None = None
    failed = False
    for number, (period, day, why) in enumerate(runs, start=1):
        t0 = time.perf_counter()
        until = instant(day)
        arriving = files.between(previous, until)
        previous = until
        deliver_files(staging, inbox, arriving)
        late = sum(1 for f in arriving if f.get("late"))
        again = sum(1 for f in arriving if f.get("resubmission_of"))
        print(
            f"demo: {number}/{len(runs) + 1} {period.code} on {day} ({why}): {len(arriving)} file(s) arrived since the "
            f"last run ({late} late, {again} corrected); the quarterly_return DAG runs as the scheduler would"
        )
        result = quarter_run({"period": period.code, **conf_extra}, day, no_migrate=True)
        print_result(result, indent="  ")
        _report(argparse.Namespace(period=period.code, json=False))
        print(f"  ({time.perf_counter() - t0:.0f} s)")
        failed = failed or result["state"] != "success"
    t0 = time.perf_counter()
    print(
        f"demo: {len(runs) + 1}/{len(runs) + 1} the annual_report DAG for {year}: build, audit, publish, and the "
        f"release approval answered as {DEMO_APPROVER!r}"
    )
    # the statistician's approval of the release, answered for the demonstration (nobody is asked)
    result = annual_run({"year": year, **conf_extra}, no_migrate=True, approve_as=DEMO_APPROVER)
    print_result(result, indent="  ")
    failed = failed or result["state"] != "success"
    print(f"  ({time.perf_counter() - t0:.0f} s)")
    print("demo: what reached the councils over the year (no mail server configured: the outbox)")
    _mail(args)
    print("demo: the compile against the synthetic world's own ground truth (X1-X6, every pair and child)")
    from lscb.cli import project_engine

    truth = json.loads(Path(files.truth).read_text(encoding="utf-8"))
    mismatch = _print_check(project_engine(), periods[-1], truth)
    publication = Path(config.location("annual")) / year
    print(f"demo: the year's publication (marked as a demonstration): {publication}")
    print(f"demo: released after the approval, read-only with manifest.json: {Path(config.location('release')) / year}")
    print(f"demo: each quarter's outputs: {data_dir / 'outputs'}/<period>")
    print(f"demo: done in {time.perf_counter() - started:.0f} s")
    return 1 if failed or mismatch else 0
