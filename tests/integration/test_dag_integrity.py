"""The DAG folder parses cleanly in real Airflow, every DAG is documented and owned, every task
retries, and no DAG file pulls heavy modules in at parse time.

Each check runs Airflow in a subprocess with its own AIRFLOW_HOME under tmp_path, so Airflow's
configuration (read once per process) never leaks between tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
DAG_FILES = sorted(path for path in DAGS.glob("*.py") if not path.name.startswith("_"))
EXPECTED_DAGS = {"quarterly_return", "annual_report", "raw_file_retention", "daily_provisional_x1"}
# Modules a DAG file must not import at parse time (the scheduler parses DAG files every 30 s).
HEAVY = ("great_expectations", "pandas", "sqlalchemy", "openpyxl", "python_calamine", "weasyprint", "numpy")
# Project modules a DAG file may import at parse time: configuration and the calendar only.
LIGHT_PROJECT = ("lscb", "lscb.errors", "lscb.settings", "lscb.airflow_support", "schemas", "schemas.calendar")
PROJECT_PACKAGES = ("lscb", "schemas", "transforms", "reports", "portal")


def _airflow_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    home = tmp_path / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        LSCB_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def _run_python(code: str, env: dict[str, str]) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


_DAGBAG = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
dags = {{}}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {{
        "tags": sorted(dag.tags),
        "fileloc": dag.fileloc,
        "description": dag.description,
        "doc_md": bool(dag.doc_md),
        "params": sorted(dag.params.keys()),
        "timetable": type(dag.timetable).__name__,
        "schedule": repr(dag.timetable),
        "on_failure_callback": [getattr(c, "__name__", str(c)) for c in (
            dag.on_failure_callback if isinstance(dag.on_failure_callback, list) else [dag.on_failure_callback]
        ) if c],
        "deadline": [repr(getattr(d, "callback", None) and d.callback.path) for d in (
            dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]) if d],
        "tasks": {{
            task.task_id: {{
                "owner": task.owner,
                "retries": task.retries,
                "retry_delay": task.retry_delay.total_seconds(),
                "trigger_rule": getattr(task.trigger_rule, "value", str(task.trigger_rule)),
                "mapped": type(task).__name__.startswith("Mapped") or getattr(task, "is_mapped", False),
                "upstream": sorted(task.upstream_task_ids),
                "outlets": sorted(getattr(o, "uri", str(o)) for o in (task.outlets or [])),
                "pool": task.pool,
                "max_active_tis_per_dagrun": task.max_active_tis_per_dagrun,
                "execution_timeout": task.execution_timeout.total_seconds() if task.execution_timeout else None,
            }}
            for task in dag.tasks
        }},
    }}
print(json.dumps({{"import_errors": {{k: str(v)[-2000:] for k, v in bag.import_errors.items()}}, "dags": dags}}))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("dagbag")
    return _run_python(_DAGBAG.format(folder=str(DAGS)), _airflow_env(tmp_path))


def test_dag_folder_imports_without_errors(dagbag: dict) -> None:
    assert dagbag["import_errors"] == {}
    assert set(dagbag["dags"]) == EXPECTED_DAGS


def test_every_task_has_a_timeout_and_the_stores_writers_a_pool(dagbag: dict) -> None:
    """A hung task fails and is retried; storing returns is bounded across runs (the `lscb_store`
    pool) and within a run (at most a few files at once), so the database is never swamped."""
    for dag_id, dag in dagbag["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["execution_timeout"] and task["execution_timeout"] <= 3600, f"{dag_id}.{task_id}"
    process = dagbag["dags"]["quarterly_return"]["tasks"]["process_return"]
    assert process["pool"] == "lscb_store" and 1 <= process["max_active_tis_per_dagrun"] <= 16


def test_every_dag_has_tags_owner_docs_and_retries(dagbag: dict) -> None:
    for dag_id, dag in dagbag["dags"].items():
        assert dag["tags"], f"{dag_id} has no tags"
        assert "lscb" in dag["tags"]
        assert dag["description"] and dag["doc_md"], f"{dag_id} is undocumented"
        assert dag["tasks"], f"{dag_id} has no tasks"
        for task_id, task in dag["tasks"].items():
            assert task["owner"] and task["owner"] != "airflow", f"{dag_id}.{task_id} has no owner"
            assert task["retries"] >= 1, f"{dag_id}.{task_id} never retries"
            assert 0 < task["retry_delay"] <= 120, f"{dag_id}.{task_id}: retry delay should be short"


def test_quarterly_return_shape(dagbag: dict) -> None:
    dag = dagbag["dags"]["quarterly_return"]
    assert set(dag["tasks"]) == {
        "discover_returns", "process_return", "compile_national", "chase_councils", "audit_outputs",
        "publish_outputs", "announce_final", "tell_councils_of_findings", "summarise",
    }  # fmt: skip
    assert dag["tasks"]["process_return"]["mapped"], "one mapped task instance per file"
    assert dag["tasks"]["compile_national"]["trigger_rule"] == "all_done"
    # write, audit, publish: each step runs only when the one before succeeded
    assert dag["tasks"]["audit_outputs"]["upstream"] == ["compile_national"]
    assert dag["tasks"]["publish_outputs"]["upstream"] == ["audit_outputs"]
    assert dag["tasks"]["summarise"]["upstream"] == ["publish_outputs"]
    for task_id in ("audit_outputs", "publish_outputs", "summarise"):
        assert dag["tasks"][task_id]["trigger_rule"] == "all_success", task_id
    assert {"period", "final", "inbox", "archive", "quarantine", "outputs"} <= set(dag["params"])
    # on the calendar: daily at 06:00 London, and when the portal announces an upload
    assert dag["timetable"] == "AssetOrTimeSchedule"
    schedule = dag["schedule"]
    assert "0 6 * * *" in schedule and "Europe/London" in schedule and "lscb-portal-uploads" in schedule
    assert dag["tasks"]["chase_councils"]["upstream"] == ["process_return"]  # this morning's returns count
    assert dag["tasks"]["chase_councils"]["trigger_rule"] == "all_done"
    assert dag["tasks"]["announce_final"]["upstream"] == ["publish_outputs"]
    assert dag["tasks"]["tell_councils_of_findings"]["upstream"] == ["publish_outputs"]
    assert dag["tasks"]["announce_final"]["outlets"] == ["lscb-quarterly-final-compile"]
    assert dag["on_failure_callback"] == ["notify_failure"]
    assert dag["deadline"] == ["'lscb.airflow_support.run_overdue'"]


def test_annual_report_shape(dagbag: dict) -> None:
    dag = dagbag["dags"]["annual_report"]
    assert set(dag["tasks"]) == {
        "choose_year",
        "build_report",
        "audit_publication",
        "publish_publication",
        "approve_release",
        "release_publication",
    }
    assert dag["timetable"] == "AssetTriggeredTimetable" and "lscb-quarterly-final-compile" in dag["schedule"]
    assert dag["tasks"]["build_report"]["upstream"] == ["choose_year"]
    assert dag["tasks"]["audit_publication"]["upstream"] == ["build_report"]
    assert dag["tasks"]["publish_publication"]["upstream"] == ["audit_publication"]
    assert dag["tasks"]["approve_release"]["upstream"] == ["publish_publication"]  # a statistician's approval
    assert dag["tasks"]["release_publication"]["upstream"] == ["approve_release"]
    assert all(task["trigger_rule"] == "all_success" for task in dag["tasks"].values())
    assert {"year", "outputs", "release"} <= set(dag["params"])


def test_raw_file_retention_shape(dagbag: dict) -> None:
    dag = dagbag["dags"]["raw_file_retention"]
    assert set(dag["tasks"]) == {"purge_raw_files"}
    assert dag["timetable"] == "CronTriggerTimetable" and "0 5 * * *" in dag["schedule"]


_IMPORT_ONE = """
import importlib.util, json, sys
import airflow.sdk  # Airflow itself imports SQLAlchemy: only what the DAG file adds counts
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
added = sorted(set(sys.modules) - before)
print(json.dumps({{"added": added}}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[path.name for path in DAG_FILES])
def test_dag_file_imports_nothing_heavy_at_parse_time(dag_file: Path, tmp_path: Path) -> None:
    added = _run_python(_IMPORT_ONE.format(path=str(dag_file)), _airflow_env(tmp_path))["added"]
    heavy = [name for name in added if name.split(".")[0] in HEAVY]
    assert heavy == [], f"{dag_file.name} imports heavy modules at parse time: {heavy[:10]}"
    project = [name for name in added if name.split(".")[0] in PROJECT_PACKAGES and name not in LIGHT_PROJECT]
    assert project == [], f"{dag_file.name} imports project logic at parse time: {project}"


def test_dag_files_hold_no_heavy_imports_even_without_airflow_loaded(tmp_path: Path) -> None:
    """Belt and braces: in a fresh interpreter, GX, pandas and openpyxl stay out entirely."""
    code = (
        "import importlib.util, json, sys\n"
        + "".join(
            f"spec = importlib.util.spec_from_file_location('m{i}', {str(path)!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            for i, path in enumerate(DAG_FILES)
        )
        + "print(json.dumps({'loaded': sorted(m for m in ('great_expectations', 'pandas', 'openpyxl') "
        "if m in sys.modules)}))\n"
    )
    assert _run_python(code, _airflow_env(tmp_path))["loaded"] == []
