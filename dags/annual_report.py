"""annual_report: the annual publication for a financial year (HTML, PDF, XLSX, CSVs).

build_report -> audit_publication -> publish_publication

Write, audit, publish: `pipeline.annual.build_annual` builds the publication into a staging folder
(`<outputs>/.staging/<year>`), the national data-quality gate (Great Expectations over the year's
stored child records and the published tables: no count of 1 to 5 shown, totals consistent after
rounding, ranks and bands) audits it and writes its Data Docs beside it (`data_docs/`), and only
when the gate passed is the folder moved to `<outputs>/<year>`. A failed gate fails
`audit_publication` (not retried), naming what failed and where the Data Docs are.

Wiring only: the use cases do the work (imported inside the tasks). They read the stored returns
from the project database (Airflow connection `lscb_db`, else `LSCB_DATABASE_URL`). Rerunning
rewrites the same files. Configuration: docs/AIRFLOW.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from schemas.calendar import format_financial_year, latest_complete_year, parse_financial_year


def _year() -> str:
    return format_financial_year(parse_financial_year(get_current_context()["params"]["year"]))


@dag(
    dag_id="annual_report",
    description="Build, audit and publish the annual report (HTML, PDF, XLSX) for a financial year from the "
    "stored returns",
    schedule=None,
    start_date=datetime(2025, 4, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "lscb-data-team", "retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["lscb", "annual", "publication"],
    doc_md=__doc__,
    params={
        "year": Param(
            latest_complete_year(),
            type="string",
            pattern=r"^\d{4}-\d{2}$",
            title="Financial year",
            description="YYYY-YY (default: the latest complete financial year)",
        ),
        "outputs": Param(
            None,
            type=["null", "string"],
            title="Outputs",
            description="Output folder (default: Variable lscb_annual, else <data dir>/annual); "
            "the report goes to <outputs>/<year>",
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
    def build_report() -> dict[str, Any]:
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

    publish_publication(audit_publication(build_report()))


annual_report_dag = annual_report()
