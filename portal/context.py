"""What every page needs (settings, accounts, the pipeline behind `PortalService`), kept on
`app.state.portal`: given to `create_app` by tests, otherwise built from the project's settings
at first use, so importing `portal.app` stays cheap (Airflow imports it to mount the plugin)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import FastAPI

from portal.accounts import Accounts
from portal.services import PortalService
from portal.settings import PortalConfig

_building = threading.Lock()  # two first requests at once build one Portal, not two


@dataclass
class Portal:
    settings: PortalConfig
    accounts: Accounts
    service: PortalService


def build_default() -> Portal:
    from lscb.settings import load_settings
    from portal.store_service import StoreService
    from store.engine import get_engine
    from store.migrate import ensure_current

    project = load_settings()
    settings = PortalConfig.from_settings(project)
    key = project.key()  # no key, no portal: uploads could not be pseudonymised
    engine = get_engine(project.database())
    ensure_current(engine)
    accounts = Accounts(
        engine,
        idle_timeout=settings.idle_timeout,
        absolute_timeout=settings.absolute_timeout,
        max_failures=settings.max_failures,
        lockout=settings.lockout,
        address_max_failures=settings.address_max_failures,
        max_delay=settings.max_delay,
    )
    from lscb.airflow_api import announcer
    from lscb.mail import mailer

    service = StoreService(
        engine, settings.upload_dir, secret=key.secret, validators=settings.validators,
        sealer=project.files_sealer(key),
        mailer=mailer(project), portal_url=project.portal_url,
        announcer=announcer(project.airflow_api_url,
                            project.airflow_api_token.get_secret_value() if project.airflow_api_token else None),
    )  # fmt: skip
    return Portal(settings, accounts, service)


def portal_of(app: FastAPI) -> Portal:
    """The app's `Portal`, built from the settings the first time it is needed."""
    found: Portal | None = app.state.portal
    if found is None:
        with _building:
            found = app.state.portal
            if found is None:
                found = app.state.portal = build_default()
    return found
