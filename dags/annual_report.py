"""annual_report: the annual publication for a financial year (HTML, PDF, XLSX).

Wiring only: the use case `pipeline.annual.build_annual` does the work (imported inside the task). It reads
the stored returns of the year's four quarters from the project database (Airflow connection
`lscb_db`, else `LSCB_DATABASE_URL`) and writes to `<outputs>/<year>`. Rerunning rewrites the
same files. Configuration: docs/AIRFLOW.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from schemas.calendar import format_financial_year, latest_complete_year, parse_financial_year


@dag(
    dag_id="annual_report",
    description="Build the annual report (HTML, PDF, XLSX) for a financial year from the stored returns",
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
        """Build the annual report and return where it is and which files it wrote."""
        from pathlib import Path

        from lscb.airflow_support import annual_location, population_csv, project_database_url
        from pipeline.annual import build_annual

        params = get_current_context()["params"]
        year = format_financial_year(parse_financial_year(params["year"]))
        out_dir = Path(annual_location(params)) / year
        out_dir.mkdir(parents=True, exist_ok=True)
        build_annual(project_database_url(), year, out_dir, population_csv=population_csv(params))
        files = sorted(str(path.relative_to(out_dir)) for path in out_dir.rglob("*") if path.is_file())
        print(f"annual report {year}: {len(files)} file(s) in {out_dir}")
        return {"year": year, "out_dir": str(out_dir), "files": files}

    build_report()


annual_report_dag = annual_report()
