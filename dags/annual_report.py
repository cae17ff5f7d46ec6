"""annual_report: the annual publication for a financial year (HTML, PDF, XLSX, CSVs).

choose_year -> build_report -> audit_publication -> publish_publication -> approve_release
  -> release_publication

Scheduled on the quarterly DAG's final compiles (the `lscb-quarterly-final-compile` asset): the
final compile of a fourth quarter builds that financial year's publication; any other quarter's
skips the run. A manual run may name a year (default: the latest complete one).

Write, audit, publish: `pipeline.annual.build_annual` builds the publication into a staging folder
(`<outputs>/.staging/<year>`), the national data-quality gate (Great Expectations over the year's
stored child records and the published tables: no count of 1 to 5 shown, totals consistent after
rounding, ranks and bands) audits it and writes its Data Docs beside it (`data_docs/`), and only
when the gate passed is the folder moved to `<outputs>/<year>`. A failed gate fails
`audit_publication` (not retried), naming what failed and where the Data Docs are.

Release with approval: the published folder waits for a statistician (`approve_release`, Airflow's
human-in-the-loop ApprovalOperator: Approve or Reject in Airflow's Required Actions). Approved,
`pipeline.release.release_publication` copies it to `<release>/<year>` (param `release`, Variable
`lscb_release`, else <data dir>/release) with a manifest of SHA-256 checksums, read-only, never
replaced. Rejected, the release step is skipped and nothing is released.

Wiring only: the use cases do the work (imported inside the tasks). They read the stored returns
from the project database (Airflow connection `lscb_db`, else `LSCB_DATABASE_URL`). Rerunning
rewrites the same files. Configuration: docs/AIRFLOW.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Asset, Param, dag, get_current_context, task

from lscb.airflow_support import notify_failure

# Plain names, not URIs: a URI makes Airflow load its providers' URI handlers at parse time
FINAL_COMPILE = Asset("lscb-quarterly-final-compile")  # announced by quarterly_return


def _year() -> str:
    """The year `choose_year` decided for this run."""
    return str(get_current_context()["ti"].xcom_pull(task_ids="choose_year")["year"])


@dag(
    dag_id="annual_report",
    description="Build, audit and publish the annual report (HTML, PDF, XLSX) for a financial year from the "
    "stored returns",
    schedule=[FINAL_COMPILE],
    start_date=datetime(2025, 4, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "lscb-data-team",
        "retries": 2,
        "retry_delay": timedelta(seconds=10),
        "execution_timeout": timedelta(hours=1),
    },
    on_failure_callback=notify_failure,
    tags=["lscb", "annual", "publication"],
    doc_md=__doc__,
    params={
        "year": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}$",
            title="Financial year",
            description="YYYY-YY (default: the year of the fourth quarter whose final compile triggered the run, "
            "else the latest complete financial year)",
        ),
        "outputs": Param(
            None,
            type=["null", "string"],
            title="Outputs",
            description="Output folder (default: Variable lscb_annual, else <data dir>/annual); "
            "the report goes to <outputs>/<year>",
        ),
        "release": Param(
            None,
            type=["null", "string"],
            title="Release location",
            description="Where an approved publication is released (default: Variable lscb_release, else "
            "<data dir>/release); it goes to <release>/<year>, read-only, with manifest.json",
        ),
        "population_csv": Param(
            None,
            type=["null", "string"],
            title="Population CSV",
            description="council_code, year, population_0_17 (default: Variable lscb_population_csv, else none)",
        ),
    },
)
def annual_report() -> None:
    @task
    def choose_year() -> dict[str, Any]:
        """The year to publish: the param; else, for a run triggered by a final compile, that
        quarter's year when it was a fourth quarter (any other quarter skips the run); else the
        latest complete year."""
        from schemas.calendar import Period, format_financial_year, latest_complete_year, parse_financial_year

        context = get_current_context()
        given = context["params"].get("year")
        if given:
            return {"year": format_financial_year(parse_financial_year(given))}
        events = context.get("triggering_asset_events") or {}
        announced = [e.extra.get("period") for e in events.get(FINAL_COMPILE, []) if (e.extra or {}).get("period")]
        if not announced:
            return {"year": latest_complete_year()}
        period = Period.parse(max(announced))
        if period.quarter != 4:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"{period}: the year is published after its fourth quarter's final compile")
        return {"year": period.financial_year}

    @task
    def build_report(chosen: dict[str, Any]) -> dict[str, Any]:
        """Build the publication into the staging folder (published only once the audit has passed)."""
        from lscb.airflow_support import annual_location, build_publication, population_csv, project_database_url

        params = get_current_context()["params"]
        written = build_publication(
            _year(), annual_location(params), database_url=project_database_url(), population_csv=population_csv(params)
        )
        print(f"annual report {_year()}: {len(written['files'])} file(s) staged in {written['staging']}")
        return written

    @task
    def audit_publication(built: dict[str, Any]) -> dict[str, Any]:
        """The national data-quality gate over the year's stored records and the staged publication;
        Data Docs beside it. Fails, and is not retried, when the gate fails: nothing is published."""
        from lscb.airflow_support import annual_location, audit_staged, project_database_url

        params = get_current_context()["params"]
        return audit_staged(_year(), annual_location(params), database_url=project_database_url())

    @task
    def publish_publication(audited: dict[str, Any]) -> dict[str, Any]:
        """Move the audited staging folder to <outputs>/<year> (runs only after a passed audit)."""
        from lscb.airflow_support import annual_location, publish_staged

        return publish_staged(_year(), annual_location(get_current_context()["params"]))

    @task
    def release_publication(approval: dict[str, Any]) -> dict[str, Any]:
        """Copy the approved publication to the release location with its manifest (runs only
        when approve_release was approved: a rejection skips it)."""
        from lscb.airflow_support import annual_location, release_approved, release_location

        params = get_current_context()["params"]
        responder = (approval or {}).get("responded_by_user") or {}
        approved_by = str(responder.get("name") or responder.get("id") or "unknown")
        return release_approved(_year(), annual_location(params), release_location(params), approved_by=approved_by)

    approve = ApprovalOperator(
        task_id="approve_release",
        subject="Release the LSCB annual publication {{ ti.xcom_pull(task_ids='choose_year')['year'] }}?",
        body="The publication passed the data-quality gate and is published for checking at "
        "{{ ti.xcom_pull(task_ids='publish_publication')['out_dir'] }}. Approve to release it (copied, "
        "read-only, with a manifest of checksums); Reject to release nothing.",
        # no answer in two weeks: the task fails and nothing is released (there is no default)
        response_timeout=timedelta(days=14),
    )
    published = publish_publication(audit_publication(build_report(choose_year())))
    published >> approve
    release_publication(approve.output)


annual_report_dag = annual_report()
