"""daily_provisional_x1: provisional X1 (standard §8), every morning.

A council that submits through the API at least weekly closes a child MOVED_OUT to council B:
once the closure is more than 28 days old and the child is not in B's latest data, both councils
see a provisional X1 on their "children to trace" pages, weeks before the quarter's X1 decides.
When the quarter decides (X1, or nothing), or the child turns up, the provisional case goes.

Wiring only: `pipeline.tracing.provisional_run` does the work over the project database (Airflow
connection `lscb_db`, else `LSCB_DATABASE_URL`); the task returns counts only. Rerunning a day
changes nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from lscb.airflow_support import notify_failure


@dag(
    dag_id="daily_provisional_x1",
    description="Provisional X1 (§8): children closed MOVED_OUT over 28 days ago and not in the receiving "
    "council's latest data",
    schedule="30 6 * * *",
    start_date=datetime(2026, 12, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "lscb-data-team",
        "retries": 2,
        "retry_delay": timedelta(seconds=60),
        "execution_timeout": timedelta(minutes=30),
    },
    on_failure_callback=notify_failure,
    tags=["lscb", "api", "tracing"],
    doc_md=__doc__,
)
def daily_provisional_x1() -> None:
    @task
    def provisional_x1() -> dict[str, int]:
        from lscb.airflow_support import project_database_url, run_day
        from pipeline.tracing import provisional_run

        return provisional_run(project_database_url(), today=run_day(get_current_context()))

    provisional_x1()


daily_provisional_x1()
