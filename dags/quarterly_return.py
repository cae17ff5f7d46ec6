"""quarterly_return: the national quarter, from the returns inbox to the published outputs.

discover_returns -> process_return (one mapped task per file) -> compile_national -> audit_outputs
-> publish_outputs -> summarise

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

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task

from lscb.airflow_support import location
from schemas.calendar import Period

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "lscb-data-team",
    "retries": 2,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": False,
}


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def _period() -> str:
    return Period.parse(_params()["period"]).code


@dag(
    dag_id="quarterly_return",
    description="Validate and store every council's quarterly return in the inbox, then compile, audit "
    "and publish the national outputs",
    schedule=None,
    start_date=datetime(2025, 4, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["lscb", "quarterly", "returns"],
    doc_md=__doc__,
    params={
        "period": Param(
            Period.latest_closed().code,
            type="string",
            pattern=r"^\d{4}-Q[1-4]$",
            title="Period",
            description="The quarter to compile, YYYY-Qn (default: the latest closed quarter)",
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

    @task(map_index_template="{{ task.op_kwargs['item']['name'] }}")
    def process_return(item: dict[str, Any]) -> dict[str, Any]:
        """Validate and store one file, then archive it (or quarantine it with a reason file)."""
        from lscb.airflow_support import project_database_url, require_pseudonymisation_key
        from pipeline.inbox import process_inbox_file

        key = require_pseudonymisation_key()
        params = _params()
        outcome = process_inbox_file(
            item,
            period=_period(),
            inbox=location("inbox", params),
            archive=location("archive", params),
            quarantine=location("quarantine", params),
            engine_or_url=project_database_url(),
            secret=key.secret,
            submitted_by="airflow:quarterly_return",
        )
        print(
            f"{outcome.name}: {outcome.status}"
            + (f" version {outcome.version}" if outcome.version is not None else "")
            + f", {outcome.errors} error(s), {outcome.queries} quer(y/ies)"
            + (" (already filed away: rerun)" if outcome.reprocessed else "")
            + f"; now at {outcome.moved_to}"
        )
        if outcome.status == "refused":
            from airflow.sdk.exceptions import AirflowFailException

            # Not retried: the same bytes are refused every time. The file is in quarantine.
            detail = outcome.reason if outcome.reason.startswith(outcome.name) else f"{outcome.name}: {outcome.reason}"
            raise AirflowFailException(f"refused {detail}")
        return outcome.to_result()

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def compile_national() -> dict[str, Any]:
        """Compile the national outputs for the period from everything stored so far, into the
        staging folder (published only once the audit has passed)."""
        from lscb.airflow_support import compile_outputs, population_csv, project_database_url

        period = _period()
        params = _params()
        written = compile_outputs(
            period,
            location("outputs", params),
            database_url=project_database_url(),
            population_csv=population_csv(params),
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
    summarise(publish_outputs(audit_outputs(compiled)))


quarterly_return_dag = quarterly_return()
