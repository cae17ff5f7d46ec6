"""How the project runs under Airflow: Airflow's environment, and the project's configuration
resolved through Airflow's own mechanisms.

- Airflow's home is `<data dir>/airflow`, its metadata database a SQLite file there (absolute
  path, as Airflow requires) unless `AIRFLOW__DATABASE__SQL_ALCHEMY_CONN` says otherwise. It is
  never the project's database.
- The project database: the Airflow connection `lscb_db` when defined (UI, CLI,
  `AIRFLOW_CONN_LSCB_DB`, or a secrets backend), else the settings' (`LSCB_DATABASE_URL`, else
  the default SQLite file in the data directory).
- The pseudonymisation key: the Airflow Variable `lscb_pseudonymisation_key` (Airflow looks in
  its secrets backend first, then `AIRFLOW_VAR_LSCB_PSEUDONYMISATION_KEY`, then its database),
  else the settings' (`LSCB_PSEUDONYMISATION_KEY`, else the named demo key when `LSCB_DEMO=1`);
  else a run refuses to start. The key is handed to the use case as an argument, never put in
  the environment, a task result or a log.
- Folders: DAG params, else the Variables `lscb_inbox`, `lscb_archive`, `lscb_quarantine`,
  `lscb_outputs`, else `<data dir>/inbox`, `archive`, `quarantine`, `outputs`. Each may be a
  local path or an fsspec / ObjectStoragePath URL (`s3://aws_conn@bucket/inbox`).

Everything else comes from the one settings object (`lscb.settings`).

Functions that talk to Airflow import it lazily and only work inside a running task.
Import-light: DAG files import this module at parse time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

from lscb.settings import PROJECT_ROOT, ConfigurationError, PseudonymisationKey, load_settings

DB_CONNECTION_ID = "lscb_db"
KEY_VARIABLE = "lscb_pseudonymisation_key"
LOCATION_VARIABLES = {
    "inbox": "lscb_inbox",
    "archive": "lscb_archive",
    "quarantine": "lscb_quarantine",
    "outputs": "lscb_outputs",
}
DAGS_FOLDER = PROJECT_ROOT / "dags"
SMTP_CONNECTION_ID = "lscb_smtp"


def airflow_environment(data_dir: Path | None = None) -> dict[str, str]:
    """The environment Airflow needs for this project (what `scripts/airflow-env` exports)."""
    home = Path(os.environ.get("AIRFLOW_HOME") or (data_dir or load_settings().data_path()) / "airflow").resolve()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Our tasks import pandas (and the gate GX); the default 30 s import timeout is tight on a busy host.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
    }


def apply_airflow_environment(data_dir: Path | None = None) -> dict[str, str]:
    """Set Airflow's environment for this process where not set already (before importing
    Airflow). Returns the values in force."""
    for key, value in airflow_environment(data_dir).items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return {key: os.environ[key] for key in airflow_environment(data_dir)}


# ------------------------------------------------------------------ inside a task


def project_database_url() -> str:
    """The project database: Airflow connection `lscb_db`, else the settings' database."""
    connection = _connection(DB_CONNECTION_ID)
    if connection is not None:
        return connection_to_sqlalchemy_url(connection)
    return load_settings().database()


def _connection(conn_id: str) -> Any | None:
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # pragma: no cover - Airflow is always installed here
        return None
    try:
        return BaseHook.get_connection(conn_id)
    except Exception as error:  # AirflowNotFoundException, or no task context (CLI use)
        if type(error).__name__ in ("AirflowNotFoundException", "RuntimeError", "AirflowRuntimeError"):
            return None
        raise


def connection_to_sqlalchemy_url(connection: Any) -> str:
    """A SQLAlchemy URL for an Airflow connection: `extra` {"sqlalchemy_url": ...} wins; a
    `postgres` connection becomes `postgresql+psycopg://`; `sqlite` takes the path from host."""
    extra = connection.extra_dejson if hasattr(connection, "extra_dejson") else {}
    if isinstance(extra, Mapping) and extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    conn_type = (connection.conn_type or "").lower()
    if conn_type == "sqlite":
        return f"sqlite:///{connection.host}"
    if conn_type in ("postgres", "postgresql"):
        from urllib.parse import quote

        auth = ""
        if connection.login:
            auth = quote(connection.login, safe="")
            if connection.password:
                auth += ":" + quote(connection.password, safe="")
            auth += "@"
        port = f":{connection.port}" if connection.port else ""
        return f"postgresql+psycopg://{auth}{connection.host or ''}{port}/{connection.schema or ''}"
    return str(connection.get_uri())


def _variable(name: str) -> Any:
    """An Airflow Variable (the secrets backend first), or None outside a task context (CLI use)
    or when it is not set."""
    try:
        from airflow.sdk import Variable

        return Variable.get(name, default=None)
    except Exception as error:
        if type(error).__name__ not in ("RuntimeError", "AirflowRuntimeError", "ImportError"):
            raise
        return None


def _param_or_variable(params: Mapping[str, Any] | None, key: str, variable: str) -> Any:
    return (params or {}).get(key) or _variable(variable) or None


def pseudonymisation_key() -> PseudonymisationKey:
    """The key: Airflow's Variable (secrets backend first), else the settings'. Raises
    `ConfigurationError` when there is none (a production run never starts without it)."""
    value = _variable(KEY_VARIABLE)
    if value and str(value).strip():
        return PseudonymisationKey(str(value).strip().encode("utf-8"), f"Airflow Variable {KEY_VARIABLE}")
    return load_settings().key()


def uses_demo_key() -> bool:
    """Whether this run's key is the public demo key (its publications say they are demonstrations)."""
    try:
        return pseudonymisation_key().demo
    except ConfigurationError:
        return False


def require_pseudonymisation_key() -> PseudonymisationKey:
    """`pseudonymisation_key()`, as a task failure that is not retried when there is none."""
    try:
        return pseudonymisation_key()
    except ConfigurationError as error:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(error)) from None


def location(kind: str, params: Mapping[str, Any] | None = None) -> Any:
    """Where the inbox / archive / quarantine / outputs are for this run: a param of the same
    name, else the Airflow Variable, else `<data dir>/<kind>`. URLs become ObjectStoragePath
    (credentials from the Airflow connection named in the URL); local paths stay strings."""
    value = _param_or_variable(params, kind, LOCATION_VARIABLES[kind])
    if not value:
        value = load_settings().location(kind)
    text = str(value)
    if "://" in text and not text.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(text)
    return str(Path(text.removeprefix("file://")).expanduser().resolve())


STAGING = ".staging"  # <outputs>/.staging/<period>: written and audited there, published after
DATA_DOCS = "data_docs"  # the gate's Data Docs, beside the outputs they describe
SHOWN_MESSAGES = 20  # failure lines in a task result (the Data Docs have everything)


def compile_outputs(
    period: str, outputs: Any, *, database_url: str, population_csv: Path | None = None, today: date | None = None
) -> dict[str, Any]:
    """Run the national compile into the staging folder `<outputs>/.staging/<period>` (emptied
    first), where `audit_staged` audits it and `publish_staged` publishes it to
    `<outputs>/<period>`. `outputs` is a local folder, or any fsspec / ObjectStoragePath location
    (compiled locally, then uploaded). Returns the folders and the names of the files written:
    small, and free of personal data. `today`: the day the compile acts for (the run's day:
    lateness, when X1 is decided, and when a child to trace was first seen)."""
    from pipeline.compile import compile_period
    from schemas.calendar import Period

    quarter = Period.parse(period)
    return _stage(
        outputs,
        period,
        lambda folder: compile_period(
            database_url, quarter, folder, population_csv=population_csv, today=today, demo_key=uses_demo_key()
        ),
    )


def build_publication(
    year: str, outputs: Any, *, database_url: str, population_csv: Path | None = None
) -> dict[str, Any]:
    """Build the annual publication into `<outputs>/.staging/<year>` (as `compile_outputs`)."""
    from pipeline.annual import build_annual

    return _stage(
        outputs,
        year,
        lambda folder: build_annual(
            database_url, year, folder, population_csv=population_csv, demo_key=uses_demo_key()
        ),
    )


def audit_staged(scope: str, outputs: Any, *, database_url: str) -> dict[str, Any]:
    """Run the national data-quality gate (`pipeline.quality`) over what is staged for `scope`
    (a period such as 2025-Q1, or a financial year such as 2025-26), with the Data Docs written
    to `<staging>/data_docs/`. Returns the audit's small result; raises AirflowFailException
    (not retried: the same outputs fail again) naming what failed and where the Data Docs are,
    so that nothing is published."""
    from pipeline.quality import audit_annual, audit_quarter

    staging = _child(_child(outputs, STAGING), scope)
    if not _exists(staging):
        _fail(f"nothing is staged for {scope} at {_text(staging)}: the compile must run first")

    def audit(folder: Path) -> Any:
        docs = folder / DATA_DOCS
        shutil.rmtree(docs, ignore_errors=True)  # this audit's Data Docs only
        if _is_period(scope):
            return audit_quarter(database_url, scope, folder, docs)
        return audit_annual(database_url, scope, folder, docs)

    result = _on_local_copy(staging, audit, upload=DATA_DOCS)
    docs = f"{_text(_child(staging, DATA_DOCS))}/index.html"
    summary = {
        **result.to_json(),
        "docs": docs,
        "published_docs": f"{_text(_child(_child(outputs, scope), DATA_DOCS))}/index.html",
        "messages": result.messages[:SHOWN_MESSAGES],
        "more_messages": max(len(result.messages) - SHOWN_MESSAGES, 0),
    }
    print(result.headline().replace(result.docs, docs))
    for line in result.messages:
        print(f"  {line}")
    if not result.success:
        shown = "; ".join(result.messages[:3]) + (
            f"; and {len(result.messages) - 3} more" if len(result.messages) > 3 else ""
        )
        _fail(f"the data-quality gate failed for {scope}, so it is not published: {shown}. Data Docs: {docs}")
    return summary


def publish_staged(scope: str, outputs: Any) -> dict[str, Any]:
    """Move `<outputs>/.staging/<scope>` to `<outputs>/<scope>`, replacing what was published
    before. On a local filesystem by rename (the staging folder is inside `outputs`, so on the
    same filesystem): readers see the previous outputs or the new ones, complete, never a folder
    half written (for an instant between the two renames, neither). On object storage, a copy
    and then the staging copy removed. A rerun after the move finds it done."""
    staging = _child(_child(outputs, STAGING), scope)
    target = _child(outputs, scope)
    if not _exists(staging):
        if _exists(target):
            return {"out_dir": _text(target), "files": _files(target), "already_published": True}
        _fail(f"nothing is staged for {scope} at {_text(staging)}: the compile must run first")
    fs = getattr(outputs, "fs", None)
    if fs is None:
        staged, published = Path(str(staging)), Path(str(target))
        replaced = staged.with_name(f"{scope}.replaced")
        shutil.rmtree(replaced, ignore_errors=True)
        if published.exists():
            os.rename(published, replaced)
        os.rename(staged, published)
        shutil.rmtree(replaced, ignore_errors=True)
    else:
        if fs.exists(target.path):
            fs.rm(target.path, recursive=True)
        fs.copy(staging.path, target.path, recursive=True)
        fs.rm(staging.path, recursive=True)
    files = _files(target)
    print(f"published {scope}: {len(files)} file(s) in {_text(target)}")
    return {"out_dir": _text(target), "files": files, "already_published": False}


def _stage(outputs: Any, scope: str, build: Callable[[Path], object]) -> dict[str, Any]:
    staging = _child(_child(outputs, STAGING), scope)
    fs = getattr(outputs, "fs", None)
    if fs is None:
        folder = Path(str(staging))
        shutil.rmtree(folder, ignore_errors=True)  # a rerun stages afresh
        folder.mkdir(parents=True)
        build(folder)
    else:
        if fs.exists(staging.path):
            fs.rm(staging.path, recursive=True)
        with tempfile.TemporaryDirectory(prefix="lscb-stage-") as local:
            build(Path(local))
            fs.put(f"{local}/", staging.path, recursive=True)
    return {"staging": _text(staging), "out_dir": _text(_child(outputs, scope)), "files": _files(staging)}


def _on_local_copy(location: Any, work: Callable[[Path], Any], *, upload: str) -> Any:
    """`work(folder)` on `location` itself when local; else on a local copy, after which the
    copy's `upload` subfolder is uploaded back."""
    fs = getattr(location, "fs", None)
    if fs is None:
        return work(Path(str(location)))
    with tempfile.TemporaryDirectory(prefix="lscb-audit-") as local:
        folder = Path(local) / "staged"
        fs.get(f"{location.path}/", f"{folder}/", recursive=True)
        result = work(folder)
        remote = f"{location.path}/{upload}"
        if fs.exists(remote):
            fs.rm(remote, recursive=True)
        fs.put(f"{folder / upload}/", remote, recursive=True)
        return result


def _is_period(scope: str) -> bool:
    from schemas.calendar import Period

    try:
        Period.parse(scope)
    except ValueError:
        return False
    return True


def _child(location: Any, name: str) -> Any:
    return location / name if getattr(location, "fs", None) is not None else Path(str(location)) / name


def _exists(location: Any) -> bool:
    fs = getattr(location, "fs", None)
    return bool(fs.exists(location.path)) if fs is not None else Path(str(location)).is_dir()


def _text(location: Any) -> str:
    return str(location)


def _files(location: Any) -> list[str]:
    """Names of the files under a folder, relative to it, the Data Docs site as one entry."""
    fs = getattr(location, "fs", None)
    if fs is None:
        root = Path(str(location))
        names = [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]
    else:
        root_text = location.path.rstrip("/")
        names = [name[len(root_text) + 1 :] for name in fs.find(root_text)]
    docs = f"{DATA_DOCS}/"
    return sorted({f"{DATA_DOCS}/index.html" if name.startswith(docs) else name for name in names})


def _fail(message: str) -> NoReturn:
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


# ------------------------------------------------------------------ running a DAG locally


STORE_POOL = "lscb_store"  # dags/quarterly_return.py stores returns in this pool
STORE_POOL_SLOTS = 4  # SQLite has one writer at a time; PostgreSQL takes more: `airflow pools set`


def ensure_store_pool(slots: int = STORE_POOL_SLOTS) -> None:
    """Create the `lscb_store` pool when Airflow has none of that name (an existing one, sized by
    an operator, is kept)."""
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    listed = subprocess.run([*command, "pools", "get", STORE_POOL], capture_output=True, text=True, check=False)
    if listed.returncode == 0:
        return
    made = subprocess.run(
        [*command, "pools", "set", STORE_POOL, str(slots), "Storing returns in the project database"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        raise RuntimeError(f"airflow pools set {STORE_POOL} failed: {(made.stdout + made.stderr).strip()[-500:]}")


def migrate_airflow_db() -> None:
    """`airflow db migrate` on Airflow's own metadata database (dag.test() needs it)."""
    import subprocess
    import sys

    apply_airflow_environment()
    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    completed = subprocess.run([*command, "db", "migrate"], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"airflow db migrate failed ({completed.returncode}):\n{tail}")


def load_dag(dag_id: str) -> Any:
    """The DAG object defined in `dags/<dag_id>.py` (imported as Airflow's DAG processor would)."""
    import importlib.util
    import sys

    apply_airflow_environment()
    path = DAGS_FOLDER / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(dag_id, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(dag_id, module)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    for value in vars(module).values():
        if isinstance(value, DAG) and value.dag_id == dag_id:
            return value
    raise LookupError(f"no DAG {dag_id!r} in {path}")


def answer_when_asked(task_id: str, answer: str, responder: Mapping[str, str], *, timeout: float = 3600.0) -> bool:
    """Wait for the human-in-the-loop task `task_id` to wait for input, then record `answer` as
    Airflow's HITL REST endpoint records it (who, when, the option chosen; the parked task resumed).
    For `dag.test()` runs on this machine, which no one can answer in Airflow's UI."""
    import time

    from airflow._shared.timezones import timezone
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter(TaskInstance.task_id == task_id, TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
                .one_or_none()
            )
            detail = session.query(HITLDetail).filter(HITLDetail.ti_id == ti.id).one_or_none() if ti else None
            if ti is not None and detail is not None:
                detail.responded_by = dict(responder)
                detail.responded_at = timezone.utcnow()
                detail.chosen_options = [answer]
                detail.params_input = {}
                session.add(detail)
                handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
                return True
        time.sleep(1)
    return False


def test_dag(
    dag_id: str,
    conf: Mapping[str, Any],
    logical_date: datetime | None = None,
    *,
    answers: Mapping[str, tuple[str, Mapping[str, str]]] | None = None,
) -> dict[str, Any]:
    """Run one DAG run in this process with `dag.test()` (at `logical_date`, default now) and
    return its state and the state of every task instance:
    {"state", "run_id", "tasks": {task_id: {state: count}}, "failed": [...]}.
    `answers`: human-in-the-loop task id -> (option, responder), answered when the task asks.
    """
    from collections import Counter, defaultdict

    dag = load_dag(dag_id)
    # Deadline alerts are the scheduler's; dag.test() of Airflow 3.3 looks the DAG's DeadlineAlert
    # objects up as if they were serialized ids and fails when the run ends, so run without them.
    dag.deadline = None
    # each answer waits in its own process (spawned: a thread importing Airflow's lazily loaded
    # modules beside dag.test() deadlocks on Python's import locks); the same metadata database
    import multiprocessing

    answering = [
        multiprocessing.get_context("spawn").Process(
            target=answer_when_asked, args=(task_id, option, dict(responder)), daemon=True
        )
        for task_id, (option, responder) in (answers or {}).items()
    ]
    for process in answering:
        process.start()
    try:
        run = dag.test(run_conf=dict(conf), logical_date=logical_date)
    finally:
        for process in answering:
            process.terminate()
    from airflow.utils.session import create_session

    tasks: dict[str, Counter[str]] = defaultdict(Counter)
    failed: list[str] = []
    with create_session() as session:
        from airflow.models.taskinstance import TaskInstance

        rows = (
            session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id).all()
        )
        for ti in rows:
            state = str(getattr(ti.state, "value", ti.state))
            tasks[ti.task_id][state] += 1
            if state == "failed":
                label = ti.rendered_map_index or (str(ti.map_index) if ti.map_index >= 0 else "")
                failed.append(f"{ti.task_id}[{label}]" if label else ti.task_id)
        state = str(getattr(run.state, "value", run.state))
    return {
        "state": state,
        "run_id": run.run_id,
        "tasks": {task_id: dict(counts) for task_id, counts in sorted(tasks.items())},
        "failed": sorted(failed),
    }


def annual_location(params: Mapping[str, Any] | None = None) -> str:
    """Where annual reports go: param `outputs`, else Variable `lscb_annual`, else <data dir>/annual."""
    value = _param_or_variable(params, "outputs", "lscb_annual")
    if not value:
        return load_settings().location("annual")
    return str(Path(str(value)).expanduser().resolve())


def worker_hostname() -> str:
    """Airflow `[core] hostname_callable` for several workers on one machine: `LSCB_WORKER_NAME`
    when set (bench/distributed names its workers), else the machine's name."""
    import socket

    return os.environ.get("LSCB_WORKER_NAME") or socket.getfqdn()


def release_location(params: Mapping[str, Any] | None = None) -> str:
    """Where approved publications are released: param `release`, else Variable `lscb_release`,
    else <data dir>/release."""
    value = _param_or_variable(params, "release", "lscb_release")
    if not value:
        return load_settings().location("release")
    return str(Path(str(value)).expanduser().resolve())


def release_approved(year: str, outputs: str, release: str, *, approved_by: str) -> dict[str, Any]:
    """Release the published `<outputs>/<year>` to `<release>/<year>` (after the approval), with
    its manifest; a year already released is left as it is (a rerun finds it done)."""
    from pipeline.release import MANIFEST, ReleaseError, release_publication

    target = Path(release) / year
    if (target / MANIFEST).exists():
        return {"release_dir": str(target), "already_released": True}
    try:
        outcome = release_publication(Path(outputs) / year, Path(release), year, approved_by=approved_by)
    except ReleaseError as error:
        _fail(str(error))
    print(f"released {year}: {outcome.files} file(s) in {outcome.release_dir}, approved by {approved_by}")
    return {**outcome.to_json(), "already_released": False}


def population_csv(params: Mapping[str, Any] | None = None) -> Path | None:
    """The 0-17 population file for rates per 10,000: param `population_csv`, else Variable
    `lscb_population_csv`, else none (rates are then shown as not available)."""
    value = _param_or_variable(params, "population_csv", "lscb_population_csv")
    return Path(str(value)).expanduser().resolve() if value else None


# ------------------------------------------------------------------ the calendar, in a run


def run_day(context: Mapping[str, Any]) -> date:
    """The London day a run acts for: its logical date, or when it was due to run (an
    asset-triggered run has no logical date)."""
    from schemas.calendar import LONDON

    run = context.get("dag_run")
    when = context.get("logical_date") or getattr(run, "logical_date", None) or getattr(run, "run_after", None)
    if when is None:
        return datetime.now(LONDON).date()
    return when.astimezone(LONDON).date()


def run_period(context: Mapping[str, Any]) -> str:
    """The period a run works on: the `period` param when given (a manual run), else the period
    the run's day collects (`schemas.calendar.collection_period`)."""
    from schemas.calendar import Period, collection_period

    given = (context.get("params") or {}).get("period")
    return Period.parse(given).code if given else collection_period(run_day(context)).code


def is_final_run(context: Mapping[str, Any]) -> bool:
    """The final compile: the run on the day after the period's deadline, or a run asked to be
    final (`final` param)."""
    from schemas.calendar import Period

    if (context.get("params") or {}).get("final"):
        return True
    return run_day(context) == Period.parse(run_period(context)).final_compile_day


# ------------------------------------------------------------------ telling people


def mailer() -> Any:
    """The mail server: the Airflow connection `lscb_smtp` (through the SMTP provider's hook:
    host, port, login, password, SSL, STARTTLS, from) when defined, else the settings'."""
    from lscb.mail import SmtpMailer
    from lscb.mail import mailer as from_settings

    settings = load_settings()
    if _connection(SMTP_CONNECTION_ID) is None:
        return from_settings(settings)
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    hook = SmtpHook(smtp_conn_id=SMTP_CONNECTION_ID)
    return SmtpMailer(
        host=hook.host,
        port=hook.port,
        sender=hook.from_email or settings.mail_from,
        user=hook.smtp_user or None,
        password=hook.smtp_password or None,
        starttls=hook.smtp_starttls,
        use_ssl=hook.use_ssl,
        timeout=hook.timeout,
    )


def portal_url() -> str:
    return load_settings().portal_url


def notify_failure(context: Mapping[str, Any]) -> None:
    """DAG `on_failure_callback`: tell the national team (`LSCB_NATIONAL_TEAM_EMAIL`) which run
    and task failed, once per run. Never raises: a callback that fails hides the first failure."""
    import logging

    try:
        _tell_national_team(
            context,
            what=f"{_dag_id(context)} for {_safe_period(context)}",
            reason=str(context.get("reason") or context.get("exception") or "a task failed")[:500],
            key="failure",
        )
    except Exception:  # noqa: BLE001 - see the docstring
        logging.getLogger(__name__).exception("could not tell the national team of a failed run")


def run_overdue(context: Mapping[str, Any] | None = None, **_: Any) -> None:
    """Deadline alert: a run (the final compile above all) has not finished in time after it was
    queued; the national team hears it."""
    import logging

    context = context or {}
    final = bool(context.get("dag_run")) and is_final_run(context)
    try:
        _tell_national_team(
            context,
            what=("the final compile" if final else "a daily run") + f" of {_safe_period(context)}",
            reason="it has not finished in the time allowed after it started; check the scheduler and workers",
            key="overdue",
        )
    except Exception:  # noqa: BLE001 - an alert must never fail the scheduler's callback
        logging.getLogger(__name__).exception("could not send the deadline alert")


def _dag_id(context: Mapping[str, Any]) -> str:
    run = context.get("dag_run")
    return str(getattr(run, "dag_id", None) or getattr(context.get("dag"), "dag_id", "") or "lscb")


def _safe_period(context: Mapping[str, Any]) -> str:
    try:
        return run_period(context)
    except Exception:  # noqa: BLE001 - a failure report must not fail on the period
        return "the period"


def _tell_national_team(context: Mapping[str, Any], *, what: str, reason: str, key: str) -> None:
    from pipeline.chase import notify_national_team

    settings = load_settings()
    if not settings.national_team_email:
        return
    run = context.get("dag_run")
    ti = context.get("ti") or context.get("task_instance")
    notify_national_team(
        project_database_url(),
        mailer(),
        address=settings.national_team_email,
        reference=f"{key}:{_dag_id(context)}:{getattr(run, 'run_id', 'unknown')}",
        what=what,
        reason=reason,
        dag_id=_dag_id(context),
        run_id=str(getattr(run, "run_id", "")),
        task_id=str(getattr(ti, "task_id", "") or ""),
        log_url=str(getattr(ti, "log_url", "") or ""),
    )
