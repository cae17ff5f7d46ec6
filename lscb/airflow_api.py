"""Telling Airflow's scheduler that something happened, over its REST API: the portal announces
each stored upload as an event of the `lscb-portal-uploads` asset, so the quarterly DAG's
provisional tracker and compile follow within minutes instead of waiting for 06:00.

Configured by `LSCB_AIRFLOW_API_URL` (e.g. `http://127.0.0.1:8080`) and `LSCB_AIRFLOW_API_TOKEN`
(a bearer token for an Airflow user allowed to create asset events); without them nothing is
sent. Best effort: the upload is stored whatever Airflow answers, and the daily run catches up.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

UPLOADS_ASSET = "lscb-portal-uploads"  # the name dags/quarterly_return.py schedules on
_log = logging.getLogger(__name__)


@dataclass
class AssetAnnouncer:
    base_url: str
    token: str = field(repr=False)
    timeout: float = 5.0
    _asset_ids: dict[str, int] = field(default_factory=dict, repr=False)

    def announce(self, asset: str, extra: dict[str, Any]) -> bool:
        """Create an event of `asset`; True when Airflow took it. Never raises."""
        try:
            asset_id = self._asset_id(asset)
            if asset_id is None:
                _log.warning("Airflow knows no asset %r (is the quarterly DAG loaded?)", asset)
                return False
            self._call("POST", "/api/v2/assets/events", {"asset_id": asset_id, "extra": extra})
            return True
        except Exception as error:  # noqa: BLE001 - best effort, see the module's docstring
            _log.warning("could not announce %s to Airflow: %s", asset, type(error).__name__)
            return False

    def _asset_id(self, asset: str) -> int | None:
        if asset not in self._asset_ids:
            found = self._call("GET", "/api/v2/assets?" + urllib.parse.urlencode({"name_pattern": asset}))
            for item in found.get("assets", []):
                if item.get("name") == asset:
                    self._asset_ids[asset] = int(item["id"])
        return self._asset_ids.get(asset)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the configured Airflow API, http(s) only
            self.base_url.rstrip("/") + path,
            data=None if body is None else json.dumps(body).encode("utf-8"),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                     "Accept": "application/json"},
        )  # fmt: skip
        if not request.full_url.startswith(("http://", "https://")):
            raise ValueError("the Airflow API URL must be http(s)")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            text = response.read().decode("utf-8") or "{}"
        answer: dict[str, Any] = json.loads(text)
        return answer


def announcer(base_url: str | None, token: str | None) -> AssetAnnouncer | None:
    return AssetAnnouncer(base_url, token) if base_url and token else None
