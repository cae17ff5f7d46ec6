"""Celery configuration for Airflow's CeleryExecutor (`[celery] celery_config_options =
lscb.airflow_celery.CELERY_CONFIG`): Airflow's own defaults, and the project's task modules
imported once in the worker before it forks.

Airflow 3's Celery worker runs each task in a process forked from the worker (the task SDK's
supervisor forks; it never re-executes Python on Linux), so whatever the worker imported first
is already in every task process: pandas, SQLAlchemy, the ingest and validation code, the
standard, the register and the expectations built from them. A task then pays for its own work,
not for importing the project again (measured by `bench/distributed`).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG


def preload() -> None:
    """Import what every process_return and compile task uses, and build what is cached."""
    import pipeline.compile  # noqa: F401 - imported for the forked task processes
    import pipeline.inbox  # noqa: F401
    import pipeline.receive  # noqa: F401
    import reports.compile  # noqa: F401
    import store.write  # noqa: F401
    import transforms.ingest  # noqa: F401
    from transforms.validate import warm_up

    warm_up()


preload()
CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)
