"""The Celery configuration preloads the project's task modules before the worker forks tasks."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_celery_config_is_airflows_with_the_task_modules_already_imported() -> None:
    code = (
        "import json, sys\n"
        "from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG\n"
        "import lscb.airflow_celery as c\n"
        "from transforms.validate.engine import standard_expectations\n"
        "print(json.dumps({'same': c.CELERY_CONFIG == dict(DEFAULT_CELERY_CONFIG),\n"
        "  'loaded': sorted(m for m in ('pandas', 'pipeline.receive', 'pipeline.inbox', 'store.write',\n"
        "                               'transforms.ingest', 'pipeline.compile') if m in sys.modules),\n"
        "  'expectations_built': standard_expectations.cache_info().currsize}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["same"] is True
    assert found["loaded"] == ["pandas", "pipeline.compile", "pipeline.inbox", "pipeline.receive", "store.write",
                               "transforms.ingest"]  # fmt: skip
    assert found["expectations_built"] == 1
