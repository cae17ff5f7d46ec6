"""quarterly_return: the national quarter, from the returns inbox to the published outputs.

discover_returns -> process_return (one mapped task per file) -> compile_national -> audit_outputs
-> publish_outputs -> announce_final, tell_councils_of_findings, summarise; and chase_councils after
process_return

On the calendar (`schemas.calendar`): every day at 06:00 London, and within minutes of a portal
upload (the `lscb-portal-uploads` asset), for the period the day collects (the latest closed
quarter; a manual run may name another). Each run processes the inbox (every file's council hears
what became of it), sends the day's reminders (14 and 3 days before the deadline and the day
after it, to councils without an accepted return), and compiles the provisional outputs. The run
on the day after the deadline is the final compile: it announces the
`lscb-quarterly-final-compile` asset, on which the annual DAG is scheduled. Councils hear of the
day's new children to trace. A failed run tells the national team; so does a run that has not
finished hours after it started (a deadline alert).

Write, audit, publish: the compile writes into a staging folder (`<outputs>/.staging/<period>`),
the national data-quality gate (Great Expectations over the period's stored child records and the
compiled tables) audits it and writes its Data Docs beside it (`data_docs/`), and only when the
gate passed is the folder moved to `<outputs>/<period>`. A failed gate fails `audit_outputs`
(not retried), naming what failed and where the Data Docs are: nothing is published.

Wiring only: the work is done by the use cases `pipeline.inbox`, `pipeline.compile` and
`pipeline.quality`, which the CLI and the tests call too. Nothing heavy is imported at parse time
(GX, pandas, SQLAlchemy and openpyxl are imported inside the tasks). Task results are small and
hold no personal data: file names, council codes, checksums, statuses, versions, paths and counts.

Every task is idempotent, keyed on council, period and checksum: storing the same file twice is a
"duplicate", and a file already moved to the archive or quarantine is found there, so retries and
reruns neither add versions nor fail because a file moved. A refused file fails only its own
mapped task (after it is quarantined with a reason file); the compile runs whatever happened to
the individual files (trigger rule `all_done`). Configuration: docs/AIRFLOW.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    DeadlineAlert,
    DeadlineReference,
    Param,
    SyncCallback,
    TriggerRule,
    dag,
    get_current_context,
    task,
)

from lscb.airflow_support import location, notify_failure

# Plain names, not URIs: a URI would make Airflow load its providers' URI handlers at parse time.
FINAL_COMPILE = Asset("lscb-quarterly-final-compile")  # the annual DAG is scheduled on it
PORTAL_UPLOADS = Asset("lscb-portal-uploads")  # the portal announces each upload
RUN_TIME_ALLOWED = timedelta(hours=6)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "lscb-data-team",
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": False,
    # a task that hangs (a stalled database, a mail server that never answers) fails and is retried
    "execution_timeout": timedelta(minutes=30),
}
# Storing returns takes the project database's write lock (SQLite) or a connection each
# (PostgreSQL): the `lscb_store` pool bounds how many files are stored at once, across runs,
# and each run processes at most this many files at a time (the others wait their turn).
STORE_POOL = "lscb_store"
FILES_AT_ONCE = 8


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def _period() -> str:
    from lscb.airflow_support import run_period

    return run_period(get_current_context())


@dag(
    dag_id="quarterly_return",
    description="Validate and store every council's quarterly return in the inbox, then compile, audit "
    "and publish the national outputs",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="Europe/London"), assets=[PORTAL_UPLOADS]
    ),
    start_date=datetime(2025, 4, 1),
    catchup=False,  # a missed day is not replayed: the next run takes whatever arrived meanwhile
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_failure_callback=notify_failure,
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=RUN_TIME_ALLOWED,
        callback=SyncCallback("lscb.airflow_support.run_overdue"),
    ),
    tags=["lscb", "quarterly", "returns"],
    doc_md=__doc__,
    params={
        "period": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-Q[1-4]$",
            title="Period",
            description="The quarter, YYYY-Qn (default: the one the run's day collects, the latest closed quarter)",
        ),
        "final": Param(
            False,
            type="boolean",
            title="Final compile",
            description="Announce this run as the period's final compile (default: only the day after the deadline)",
        ),
        **{
            kind: Param(
                None,
                type=["null", "string"],
                title=kind.capitalize(),
                description=f"Folder or URL (default: Variable lscb_{kind}, else <data dir>/{kind})",
            )
            for kind in ("inbox", "archive", "quarantine", "outputs")
        },
        "population_csv": Param(
            None,
            type=["null", "string"],
            title="Population CSV",
            description="council_code, year, population_0_17 for rates per 10,000 "
            "(default: Variable lscb_population_csv, else none)",
        ),
    },
)
def quarterly_return() -> None:
    @task
    def discover_returns() -> list[dict[str, Any]]:
        """List the files waiting in the inbox (name, council, checksum, size, time of receipt)."""
        from lscb.airflow_support import require_pseudonymisation_key
        from pipeline.inbox import describe, discover, ensure_folders

        require_pseudonymisation_key()  # a run without the key refuses to start
        params = _params()
        inbox = location("inbox", params)
        ensure_folders(inbox, location("archive", params), location("quarantine", params))
        found = [item.to_dict() for item in discover(inbox)]
        print(f"{len(found)} file(s) waiting in {describe(inbox)} for {_period()}")
        return found

    @task(
        map_index_template="{{ task.op_kwargs['item']['name'] }}",
        pool=STORE_POOL,
        max_active_tis_per_dagrun=FILES_AT_ONCE,
        execution_timeout=timedelta(minutes=10),  # a 50,000-child return takes well under a minute
    )
    def process_return(item: dict[str, Any]) -> dict[str, Any]:
        """Validate and store one file, then archive it (or quarantine it with a reason file)."""
        import time

        entered, clock = time.time(), time.perf_counter()
        from lscb.airflow_support import project_database_url, require_pseudonymisation_key
        from pipeline.inbox import process_inbox_file

        imported = time.perf_counter()

        key = require_pseudonymisation_key()
        params = _params()
        from lscb.settings import load_settings

        outcome = process_inbox_file(
            item,
            period=_period(),
            inbox=location("inbox", params),
            archive=location("archive", params),
            quarantine=location("quarantine", params),
            engine_or_url=project_database_url(),
            secret=key.secret,
            submitted_by="airflow:quarterly_return",
            sealer=load_settings().files_sealer(key),  # the archive is sealed (docs/SECURITY.md)
        )
        print(
            f"{outcome.name}: {outcome.status}"
            + (f" version {outcome.version}" if outcome.version is not None else "")
            + f", {outcome.errors} error(s), {outcome.queries} quer(y/ies)"
            + (" (already filed away: rerun)" if outcome.reprocessed else "")
            + f"; now at {outcome.moved_to}"
        )
        if outcome.council_code and not outcome.reprocessed:
            _tell_council(outcome)
        if outcome.status == "refused":
            from airflow.sdk.exceptions import AirflowFailException

            # Not retried: the same bytes are refused every time. Its reason is in the quarantine.
            detail = outcome.reason if outcome.reason.startswith(outcome.name) else f"{outcome.name}: {outcome.reason}"
            raise AirflowFailException(f"refused {detail}")
        # where the task's seconds went (bench/distributed compares them with the task's wall time)
        phases = {"entered_at": entered, "imports_s": imported - clock, "work_s": time.perf_counter() - imported}
        return {**outcome.to_result(), "phases": phases}

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(hours=1))
    def compile_national() -> dict[str, Any]:
        """Compile the national outputs for the period from everything stored so far, into the
        staging folder (published only once the audit has passed)."""
        from lscb.airflow_support import compile_outputs, population_csv, project_database_url, run_day

        period = _period()
        params = _params()
        written = compile_outputs(
            period,
            location("outputs", params),
            database_url=project_database_url(),
            population_csv=population_csv(params),
            today=run_day(get_current_context()),  # as of the run's day, as the scheduler runs it
        )
        print(f"compiled {period}: {len(written['files'])} file(s) staged in {written['staging']}")
        return written

    @task
    def audit_outputs(compiled: dict[str, Any]) -> dict[str, Any]:
        """The national data-quality gate over the stored records and the staged tables; Data Docs
        beside them. Fails, and is not retried, when the gate fails: nothing is published."""
        from lscb.airflow_support import audit_staged, project_database_url

        return audit_staged(_period(), location("outputs", _params()), database_url=project_database_url())

    @task
    def publish_outputs(audited: dict[str, Any]) -> dict[str, Any]:
        """Move the audited staging folder to <outputs>/<period> (runs only after a passed audit)."""
        from lscb.airflow_support import publish_staged

        return publish_staged(_period(), location("outputs", _params()))

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def chase_councils() -> dict[str, Any]:
        """The day's reminders: 14 and 3 days before the deadline and the day after it, to every
        council without an accepted return (after the inbox, so this morning's returns count).
        A message already sent is never sent again."""
        from lscb.airflow_support import mailer, portal_url, project_database_url, run_day
        from pipeline.chase import send_reminders

        outcome = send_reminders(project_database_url(), run_day(get_current_context()), mailer(),
                                 portal_url=portal_url())  # fmt: skip
        print(f"reminders: {outcome.to_json()}")
        return outcome.to_json()

    @task
    def tell_councils_of_findings(published: dict[str, Any]) -> dict[str, Any]:
        """Each council a cross-council finding first seen today concerns hears how many, of which
        kinds and where to see them (never an id). Once per finding set: reruns send nothing."""
        from lscb.airflow_support import mailer, portal_url, project_database_url, run_day
        from pipeline.chase import notify_new_findings

        outcome = notify_new_findings(project_database_url(), run_day(get_current_context()), mailer(),
                                      portal_url=portal_url())  # fmt: skip
        print(f"new children to trace: {outcome.to_json()}")
        return outcome.to_json()

    @task(outlets=[FINAL_COMPILE])
    def announce_final(published: dict[str, Any]) -> dict[str, Any]:
        """On the final compile (the day after the deadline), announce it: the annual DAG waits for
        the fourth quarter's. Skipped on the other days, so no event."""
        from lscb.airflow_support import is_final_run

        context = get_current_context()
        if not is_final_run(context):
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"{_period()}: a provisional compile (the final is the day after the deadline)")
        context["outlet_events"][FINAL_COMPILE].extra = {"period": _period()}
        return {"period": _period(), "final": True, "outputs": published.get("out_dir")}

    @task
    def summarise(published: dict[str, Any]) -> dict[str, Any]:
        """Counts for the run log: files found, stored by status, refused, and where outputs are.
        Runs only when the outputs were published, so a failed compile or audit fails the DAG run."""
        from collections import Counter

        ti = get_current_context()["ti"]
        found = ti.xcom_pull(task_ids="discover_returns") or []
        results = ti.xcom_pull(task_ids="process_return") or []
        if isinstance(results, dict):
            results = [results]
        statuses = Counter(str(result.get("status")) for result in results if isinstance(result, dict))
        found_count = len(found)
        summary = {
            "period": _period(),
            "files_found": found_count,
            "by_status": dict(sorted(statuses.items())),
            "failed_or_refused": found_count - sum(statuses.values()),
            "outputs": published.get("out_dir"),
        }
        print(f"quarterly_return summary: {summary}")
        return summary

    processed = process_return.expand(item=discover_returns())
    compiled = compile_national()
    processed >> compiled
    processed >> chase_councils()
    published = publish_outputs(audit_outputs(compiled))
    announce_final(published)
    tell_councils_of_findings(published)
    summarise(published)


def _tell_council(outcome: Any) -> None:
    """The file's council hears what became of it (a mail problem is logged, never fails the file)."""
    import logging

    from lscb.airflow_support import mailer, portal_url, project_database_url
    from pipeline.chase import notify_upload

    try:
        notify_upload(
            project_database_url(), mailer(), council_code=outcome.council_code, status=outcome.status,
            reference=str(outcome.submission_id) if outcome.submission_id is not None else outcome.checksum,
            portal_url=portal_url(), period=outcome.period, version=outcome.version, errors=outcome.errors,
            queries=outcome.queries, late=outcome.late, file_name=outcome.name, reason=outcome.reason,
            submission_id=outcome.submission_id,
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - the file is stored and filed; the e-mail is not the job
        logging.getLogger(__name__).exception("could not tell %s about %s", outcome.council_code, outcome.name)


quarterly_return_dag = quarterly_return()
