"""raw_file_retention: delete the councils' raw files once their time is up (docs/SECURITY.md).

purge_raw_files

Every day at 05:00 London: the sealed portal uploads, the inbox archive and the quarantine's
reason files of every period whose final compile was more than `LSCB_RAW_RETENTION_DAYS` (30)
days ago are deleted, and so are uploads left half-received for over a day; nothing else.
Wiring only: `pipeline.raw_files.purge_raw_files` does the work (the same use case as
`lscb retention`). The folders are the quarterly DAG's (Variables `lscb_archive`,
`lscb_quarantine`, else the settings); the task result holds counts and period codes only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from lscb.airflow_support import location, notify_failure


@dag(
    dag_id="raw_file_retention",
    description="Delete raw uploads, archived returns and quarantine records past their retention period",
    schedule=CronTriggerTimetable("0 5 * * *", timezone="Europe/London"),
    start_date=datetime(2025, 4, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "lscb-data-team",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "execution_timeout": timedelta(minutes=30),
    },
    on_failure_callback=notify_failure,
    tags=["lscb", "retention", "security"],
    doc_md=__doc__,
)
def raw_file_retention() -> None:
    @task
    def purge_raw_files() -> dict[str, Any]:
        """Delete the raw files of every period past its retention; counts in the result."""
        from lscb.airflow_support import run_day
        from lscb.settings import load_settings
        from pipeline.raw_files import purge_raw_files as purge

        settings = load_settings()
        report = purge(
            today=run_day(get_current_context()),
            retention_days=settings.raw_retention_days,
            uploads=settings.upload_location(),
            archive=location("archive"),
            quarantine=location("quarantine"),
        )
        print(f"raw file retention: {report.to_result()}")
        return report.to_result()

    purge_raw_files()


raw_file_retention()
