"""`lscb run-quarter` and `lscb run-annual`: run a DAG through Airflow on this machine.

Each runs one DAG run with `dag.test()` (no scheduler or workers needed) against Airflow's own
metadata database in `<data dir>/airflow` (migrated first), separate from the project database.
The scheduler, the UI and Celery workers run the same DAG files: docs/AIRFLOW.md.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from lscb.cli import UserError, add_population_option, population_file
from schemas.calendar import (
    LONDON,
    Period,
    collection_period,
    format_financial_year,
    latest_complete_year,
    parse_financial_year,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    quarter = subparsers.add_parser(
        "run-quarter",
        help="run the quarterly_return DAG through Airflow (dag.test) on the returns in the inbox",
        description="Validate and store every return in the inbox, then compile the national outputs "
        "for the period, by running the quarterly_return DAG through Airflow in this process.",
    )
    quarter.add_argument(
        "--date", metavar="YYYY-MM-DD",
        help="run as the scheduler would on that day, at 06:00 London (default: now): its reminders, and its "
        "final compile when it is the day after the deadline",
    )  # fmt: skip
    quarter.add_argument(
        "--period", metavar="YYYY-Qn", help="the quarter (default: the one the day collects, the latest closed)"
    )
    quarter.add_argument("--final", action="store_true", help="announce the run as the period's final compile")
    for kind in ("inbox", "archive", "quarantine", "outputs"):
        quarter.add_argument(f"--{kind}", metavar="DIR_OR_URL", help=f"the {kind} (default: <data dir>/{kind})")
    add_population_option(quarter)
    quarter.add_argument(
        "--no-migrate", action="store_true", help="skip `airflow db migrate` and the project's `db upgrade`"
    )
    quarter.add_argument("--json", action="store_true", help="print the run's result as JSON")
    quarter.set_defaults(func=run_quarter)

    annual = subparsers.add_parser(
        "run-annual",
        help="run the annual_report DAG through Airflow (dag.test)",
        description="Build the annual report for a financial year by running the annual_report DAG.",
    )
    annual.add_argument("--year", metavar="YYYY-YY", help="financial year (default: the latest complete one)")
    annual.add_argument("--outputs", metavar="DIR", help="output folder (default: <data dir>/annual)")
    add_population_option(annual)
    annual.add_argument("--release", metavar="DIR", help="release location (default: <data dir>/release)")
    annual.add_argument(
        "--approve-as",
        metavar="NAME",
        help="answer the DAG's approval as NAME: Approve, so the publication is released (without it the run "
        "answers Reject: built and published for checking, nothing released)",
    )
    annual.add_argument("--no-migrate", action="store_true", help="skip `airflow db migrate`")
    annual.add_argument("--json", action="store_true", help="print the run's result as JSON")
    annual.set_defaults(func=run_annual)


def _prepare(no_migrate: bool, project_db: bool) -> None:
    from lscb import airflow_support

    airflow_support.apply_airflow_environment()
    try:
        if not no_migrate:
            airflow_support.migrate_airflow_db()
        if project_db:
            airflow_support.ensure_store_pool()  # the pool process_return stores in (cheap when it exists)
    except RuntimeError as error:
        raise UserError(str(error), 1) from None
    if no_migrate:
        return
    if project_db:
        from store.migrate import upgrade

        upgrade(airflow_support.project_database_url())


def prepare_databases() -> None:
    """Migrate Airflow's metadata database and the project's, and create the store pool."""
    from lscb import airflow_support

    airflow_support.apply_airflow_environment()
    _prepare(False, project_db=True)


def run_quarter(args: argparse.Namespace) -> int:
    try:
        day = date.fromisoformat(args.date) if args.date else None
        period = Period.parse(args.period) if args.period else collection_period(day or date.today())
    except ValueError as error:
        raise UserError(str(error)) from None
    conf: dict[str, Any] = {"period": period.code}
    if args.final:
        conf["final"] = True
    for kind in ("inbox", "archive", "quarantine", "outputs"):
        value = getattr(args, kind)
        if value:
            conf[kind] = value if "://" in value else str(Path(value).expanduser().resolve())
    if args.population:
        conf["population_csv"] = str(population_file(args.population))
    result = quarter_run(conf, day, no_migrate=args.no_migrate)
    return _report(result, args.json)


def quarter_run(conf: dict[str, Any], day: date | None, *, no_migrate: bool) -> dict[str, Any]:
    """One quarterly_return DAG run (dag.test) as the scheduler would make it on `day` at 06:00
    London (None: now), with these params; its result (state, task counts, failures)."""
    from lscb import airflow_support
    from lscb.cli import settings

    # Airflow's environment first: whatever imports Airflow reads AIRFLOW_HOME once, and would
    # otherwise settle on ~/airflow (whose empty database has no task_instance table)
    airflow_support.apply_airflow_environment()
    settings().key()  # refuse before any work when there is no key (no Variable outside a task)
    _prepare(no_migrate, project_db=True)
    when = None if day is None else datetime.combine(day, time(6), tzinfo=LONDON)
    return airflow_support.test_dag("quarterly_return", conf, logical_date=when)


def run_annual(args: argparse.Namespace) -> int:
    try:
        year = format_financial_year(parse_financial_year(args.year)) if args.year else latest_complete_year()
    except ValueError as error:
        raise UserError(str(error)) from None
    conf: dict[str, Any] = {"year": year}
    if args.outputs:
        conf["outputs"] = str(Path(args.outputs).expanduser().resolve())
    if args.population:
        conf["population_csv"] = str(population_file(args.population))
    if args.release:
        conf["release"] = str(Path(args.release).expanduser().resolve())
    result = annual_run(conf, no_migrate=args.no_migrate, approve_as=args.approve_as)
    return _report(result, args.json)


def annual_run(conf: dict[str, Any], *, no_migrate: bool, approve_as: str | None = None) -> dict[str, Any]:
    """One annual_report DAG run (dag.test) with these params; its result. Nobody can answer a
    dag.test() run in Airflow's UI, so the release approval is answered for the person running
    it: `approve_as` approves in that name, None rejects (nothing is released)."""
    from lscb import airflow_support

    airflow_support.apply_airflow_environment()  # before anything imports Airflow (see quarter_run)
    _prepare(no_migrate, project_db=False)
    if approve_as:
        answer = ("Approve", {"id": approve_as, "name": approve_as})
    else:
        answer = ("Reject", {"id": "lscb run-annual", "name": "lscb run-annual (no --approve-as)"})
    return airflow_support.test_dag("annual_report", conf, answers={"approve_release": answer})


def _report(result: dict[str, Any], as_json: bool) -> int:
    print_result(result, as_json)
    return 0 if result["state"] == "success" else 1


def print_result(result: dict[str, Any], as_json: bool = False, indent: str = "") -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    print(f"{indent}DAG run {result['run_id']}: {result['state']}")
    for task_id, counts in result["tasks"].items():
        print(f"{indent}  {task_id}: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    for label in result["failed"]:
        print(f"{indent}  failed: {label}")
