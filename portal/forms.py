"""The portal's small urlencoded forms: read with limits, CSRF-checked, validated into models.

FastAPI's own form models (`Annotated[Model, Form()]`) are read by `request.form()` with
Starlette's default limits (1,000 fields), before any dependency runs, so before the session and
scope checks. These dependencies read the form themselves, after those checks, with the portal's
limits (`max_files=0`, `max_fields`), check its CSRF token, and validate the fields into a model.
Every field has a default and values are trimmed rather than refused, so a model never fails:
what the route does with an empty field is the route's business.

The upload form is not here: `portal.uploads.receive_upload` streams it, checking the token
(`tokens_match`) before the first byte of the file is written.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from portal.accounts import Session
from portal.cookies import LOGIN_CSRF_COOKIE
from portal.dependencies import SignedIn
from portal.errors import CsrfFailed

MAX_FIELDS = 20  # the largest form (add an account) has 5
MAX_LOGIN_FIELDS = 10

FormT = TypeVar("FormT", bound="PortalForm")


def tokens_match(submitted: str, expected: str) -> bool:
    """A CSRF token check in constant time; an empty token never matches."""
    return bool(submitted) and bool(expected) and hmac.compare_digest(submitted.encode(), expected.encode())


def _cut(limit: int, *, strip: bool = False) -> AfterValidator:
    return AfterValidator(lambda value: (value.strip() if strip else value)[:limit])


def _row_number(value: Any) -> int | None:
    """An Excel row number, or None (a whole-return query has no row)."""
    raw = str(value or "").strip()
    try:
        return int(raw) if raw.isdigit() else None
    except ValueError:  # digits int() does not read, e.g. superscripts
        return None


class PortalForm(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    csrf_token: str = ""


class LoginForm(PortalForm):
    email: Annotated[str, _cut(254, strip=True)] = ""
    password: Annotated[str, _cut(1024)] = ""
    next: str = ""  # where to go after signing in (checked by the route: only within the portal)


class ExplanationForm(PortalForm):
    rule: Annotated[str, _cut(20, strip=True)] = ""
    row: Annotated[int | None, BeforeValidator(_row_number)] = None
    text: Annotated[str, _cut(4000, strip=True)] = ""


class ReviewForm(PortalForm):
    """An analyst's review of an explanation: `decision` accept or reject (with a `reason`)."""

    rule: Annotated[str, _cut(20, strip=True)] = ""
    row: Annotated[int | None, BeforeValidator(_row_number)] = None
    decision: Annotated[str, _cut(10, strip=True)] = ""
    reason: Annotated[str, _cut(4000, strip=True)] = ""


class QueryForm(PortalForm):
    """An analyst's query: on a cell (e.g. Children!F12), a field, or neither (the whole return)."""

    cell: Annotated[str, _cut(40, strip=True)] = ""
    field: Annotated[str, _cut(80, strip=True)] = ""
    message: Annotated[str, _cut(4000, strip=True)] = ""


class ReopenForm(PortalForm):
    reason: Annotated[str, _cut(4000, strip=True)] = ""


class TraceForm(PortalForm):
    """Acknowledge, resolve or reopen a child to trace (`pipeline.tracing`)."""

    trace_id: Annotated[int | None, BeforeValidator(_row_number)] = None  # a positive number, like a row
    resolution: Annotated[str, _cut(20, strip=True)] = ""
    note: Annotated[str, _cut(2000, strip=True)] = ""


class NewAccountForm(PortalForm):
    """Kept as typed (the page shows it again on an error); `Accounts.add_user` normalises."""

    email: str = ""
    role: str = ""
    password: str = ""
    council_code: str = ""


class ContactForm(PortalForm):
    council_code: Annotated[str, _cut(9, strip=True)] = ""
    email: Annotated[str, _cut(254, strip=True)] = ""
    name: Annotated[str, _cut(200, strip=True)] = ""


async def _fields(request: Request, max_fields: int) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=max_fields)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def checked_fields(request: Request, session: SignedIn) -> dict[str, str]:
    """The form's fields, once its CSRF token is the session's; CsrfFailed otherwise."""
    fields = await _fields(request, MAX_FIELDS)
    if not tokens_match(fields.get("csrf_token", ""), session.csrf_token):
        raise CsrfFailed()
    return fields


CsrfChecked = Annotated[dict[str, str], Depends(checked_fields)]


def checked_form(model: type[FormT]) -> Callable[..., Any]:
    """A dependency: the CSRF-checked form as `model`."""

    async def dependency(fields: CsrfChecked) -> FormT:
        return model.model_validate(fields)

    return dependency


ExplanationFields = Annotated[ExplanationForm, Depends(checked_form(ExplanationForm))]
ReviewFields = Annotated[ReviewForm, Depends(checked_form(ReviewForm))]
QueryFields = Annotated[QueryForm, Depends(checked_form(QueryForm))]
ReopenFields = Annotated[ReopenForm, Depends(checked_form(ReopenForm))]
NewAccountFields = Annotated[NewAccountForm, Depends(checked_form(NewAccountForm))]
ContactFields = Annotated[ContactForm, Depends(checked_form(ContactForm))]
TraceFields = Annotated[TraceForm, Depends(checked_form(TraceForm))]


async def login_form(request: Request) -> LoginForm:
    """The sign-in form, once its token is the one in the sign-in form's cookie (there is no
    session yet to hold one); CsrfFailed otherwise."""
    fields = await _fields(request, MAX_LOGIN_FIELDS)
    if not tokens_match(fields.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        raise CsrfFailed()
    return LoginForm.model_validate(fields)


LoginFields = Annotated[LoginForm, Depends(login_form)]


def csrf_ok_for(session: Session) -> Callable[[dict[str, str]], bool]:
    """For `receive_upload(before_file=...)`: the fields sent before the file carry the session's token."""
    return lambda fields: tokens_match(fields.get("csrf_token", ""), session.csrf_token)
