"""Mount the council portal in Airflow's API server (Airflow 3 `fastapi_apps` plugin).

Copy or symlink this file into Airflow's plugins folder (the project's Airflow environment does),
and the portal is served at `<airflow base url>/lscb/`. Airflow gives plugin apps no
authentication, so the portal uses its own accounts and sessions (cookies scoped to `/lscb`).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from portal.app import app

URL_PREFIX = "/lscb"


class LscbPortalPlugin(AirflowPlugin):
    name = "lscb_portal"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "LSCB portal"}]
