"""`lscb push`: the reference client of the API (standard §8), what a council's IT team schedules.

    LSCB_API_CLIENT_SECRET=... lscb push --client-id ID --period 2025-Q1 return.xlsx [--delta-from last.xlsx]

Reads the return (a workbook, a CSV bundle or the JSON form), converts a file to the JSON form
(`transforms.ingest.json_return.return_to_document`), and sends it: the whole return (POST), or,
given the previous state (`--delta-from`, the file sent last time), only what changed (PATCH,
`transforms.delta.delta_between`). It gets a token with OAuth 2.0 client credentials (secret
from `LSCB_API_CLIENT_SECRET`, never an argument), and retries on 429 (after `Retry-After`), on
5xx and on a lost connection, with exponential backoff, under an `Idempotency-Key` made from
the request itself, so a retry never stores a second version. Prints the answer (status,
version, findings by JSON Pointer); exits 0 accepted, 1 rejected, 2 refused or failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lscb.cli import UserError

if TYPE_CHECKING:  # httpx is imported when a return is pushed, not whenever the CLI starts
    import httpx

RETRIES = 6
MAX_WAIT = 120.0  # seconds: a Retry-After longer than this is honoured only up to it


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push", help="send a return to the API (the reference client)", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the return: .xlsx, .zip (CSV bundle) or .json")
    parser.add_argument("--client-id", required=True, help="the API client's id (from `lscb clients add`)")
    parser.add_argument("--period", required=True, help="the period, e.g. 2025-Q1")
    parser.add_argument(
        "--delta-from", type=Path, metavar="PREVIOUS", help="the return sent last time: send only what changed"
    )
    parser.add_argument("--api-url", help="the API's address (default LSCB_API_URL, else the portal's /api/v1)")
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    parser.set_defaults(func=_push)


def read_document(path: Path) -> dict[str, Any]:
    """A return file as the JSON form of §8 (raw identifiers in memory only, sent over HTTPS)."""
    from transforms.ingest import Refused, read_return
    from transforms.ingest.json_return import parse, return_to_document

    try:
        if path.suffix.lower() == ".json":
            document = parse(path.read_bytes(), path.name)
            if not isinstance(document, dict):
                raise UserError(f"{path.name}: a return is a JSON object")
            return document
        return return_to_document(read_return(path))
    except Refused as refused:
        raise UserError(refused.reason) from None
    except OSError as error:
        raise UserError(f"{path}: {error.strerror or error}") from None


@dataclass
class Pusher:
    """Tokens, retries and backoff around one `httpx.Client` whose base URL is the API's."""

    http: httpx.Client
    client_id: str
    secret: str
    sleep: Callable[[float], None] = time.sleep
    retries: int = RETRIES
    waits: list[float] = field(default_factory=list)  # what it slept, for logs and tests
    _token: str | None = None

    def token(self, *, renew: bool = False) -> str:
        if self._token is None or renew:
            response = self._send("POST", "/token", data={"grant_type": "client_credentials"}, auth=True)
            if response.status_code != 200:
                raise UserError(f"no token: {_error_text(response)}")
            self._token = str(response.json()["access_token"])
        return self._token

    def send(self, method: str, path: str, body: bytes) -> httpx.Response:
        key = hashlib.sha256(f"{method} {path} ".encode() + body).hexdigest()  # the same request, the same key
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        response = self._send(method, path, content=body, headers=headers | self._bearer())
        if response.status_code == 401:  # expired meanwhile: one new token, once
            self.token(renew=True)
            response = self._send(method, path, content=body, headers=headers | self._bearer())
        return response

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def _send(self, method: str, path: str, *, auth: bool = False, **kwargs: Any) -> httpx.Response:
        import httpx

        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(
                    method, path, auth=(self.client_id, self.secret) if auth else None, **kwargs
                )
            except httpx.TransportError as error:
                if attempt == self.retries:
                    raise UserError(f"cannot reach the API: {error}") from None
                self._wait(self._backoff(attempt))
                continue
            if response.status_code != 429 and response.status_code < 500:
                return response
            if attempt == self.retries:
                return response
            retry_after = response.headers.get("Retry-After", "")
            self._wait(float(retry_after) if retry_after.isdigit() else self._backoff(attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int) -> float:
        return min(MAX_WAIT, 2.0**attempt) * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    def _wait(self, seconds: float) -> None:
        seconds = min(MAX_WAIT, max(0.0, seconds))
        self.waits.append(seconds)
        self.sleep(seconds)


def push(
    pusher: Pusher, period: str, document: dict[str, Any], previous: dict[str, Any] | None = None
) -> httpx.Response:
    """POST the whole return, or PATCH what changed since `previous`."""
    from transforms.delta import delta_between

    if previous is None:
        return pusher.send("POST", f"/returns/{period}", json.dumps(document).encode())
    return pusher.send("PATCH", f"/returns/{period}", json.dumps(delta_between(previous, document)).encode())


def _error_text(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(answer.get("message") or answer.get("error_description") or answer.get("error") or answer)


def _push(args: argparse.Namespace) -> int:
    from lscb.cli import settings

    project = settings()
    if project.api_client_secret is None or not project.api_client_secret.get_secret_value().strip():
        raise UserError("set LSCB_API_CLIENT_SECRET to the client's secret (it is never given on the command line)")
    base = (args.api_url or project.api_url or project.portal_url.rstrip("/") + "/api/v1").rstrip("/")
    document = read_document(args.file)
    previous = read_document(args.delta_from) if args.delta_from else None
    import httpx

    with httpx.Client(base_url=base, timeout=httpx.Timeout(120.0, connect=10.0)) as http:
        pusher = Pusher(http, args.client_id, project.api_client_secret.get_secret_value().strip())
        response = push(pusher, args.period, document, previous)
    return report(response, as_json=args.json)


def report(response: httpx.Response, *, as_json: bool = False) -> int:
    try:
        answer = response.json()
    except ValueError:
        raise UserError(f"the API answered HTTP {response.status_code}") from None
    if as_json:
        print(json.dumps(answer))
    else:
        print(answer.get("message") or _error_text(response))
        for f in answer.get("findings", []):
            print(f"  {f['severity']} {f['rule']} {f.get('pointer') or ''} {f['message']}")
    status = answer.get("existing_status") if answer.get("status") == "duplicate" else answer.get("status")
    return {"accepted": 0, "signed_off": 0, "rejected": 1}.get(str(status), 2)
