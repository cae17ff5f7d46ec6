"""For administrators: accounts (list, add, disable, enable) and each council's e-mail contacts
(who reminders, upload results and children to trace are written to)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.accounts import AccountError
from portal.dependencies import Admin, PortalContext
from portal.errors import NotFound
from portal.forms import ContactFields, CsrfChecked, NewAccountFields
from portal.links import redirect
from portal.pages import page
from portal.services import ServiceError

router = APIRouter()

DONE_MESSAGES = {
    "added": "The account was added.",
    "disabled": "The account was disabled.",
    "enabled": "The account was enabled.",
}


@router.get("/admin/users", name="users")
def users_page(request: Request, portal: PortalContext, _admin: Admin, done: str | None = None) -> Response:
    return page(
        request, "users.html", title="Accounts", users=portal.accounts.list_users(), done=DONE_MESSAGES.get(done or "")
    )


@router.post("/admin/users", name="add_user")
def add_user(request: Request, portal: PortalContext, admin: Admin, form: NewAccountFields) -> Response:
    try:
        user = portal.accounts.add_user(form.email, form.role, form.password, form.council_code.strip() or None)
    except AccountError as problem:
        return page(
            request,
            "users.html",
            400,
            title="Accounts",
            users=portal.accounts.list_users(),
            error=str(problem)[:1].upper() + str(problem)[1:] + ".",
            form=form,
        )
    portal.service.audit(
        "account_add", admin.user.email, council_code=user.council_code, detail={"email": user.email, "role": user.role}
    )
    return redirect(request, "/admin/users", done="added")


@router.post("/admin/users/{user_id}/{action}", name="user_action")
def user_action(
    request: Request, portal: PortalContext, admin: Admin, _form: CsrfChecked, user_id: int, action: str
) -> Response:
    target = portal.accounts.get(user_id)
    if target is None or action not in ("disable", "enable"):
        raise NotFound()
    portal.accounts.set_disabled(target.email, action == "disable")
    portal.service.audit(
        f"account_{action}", admin.user.email, council_code=target.council_code, detail={"email": target.email}
    )
    return redirect(request, "/admin/users", done=f"{action}d")


CONTACT_MESSAGES = {"added": "The contact was added.", "removed": "The contact was removed."}


@router.get("/admin/contacts", name="contacts")
def contacts_page(request: Request, portal: PortalContext, _admin: Admin, done: str | None = None) -> Response:
    return page(
        request,
        "contacts.html",
        title="Council contacts",
        contacts=portal.service.contacts(),
        done=CONTACT_MESSAGES.get(done or ""),
    )


@router.post("/admin/contacts", name="add_contact")
def add_contact(request: Request, portal: PortalContext, admin: Admin, form: ContactFields) -> Response:
    try:
        portal.service.add_contact(form.council_code, form.email, form.name or None, admin.user.email)
    except ServiceError as problem:
        return page(
            request,
            "contacts.html",
            400,
            title="Council contacts",
            contacts=portal.service.contacts(),
            error=str(problem),
            form=form,
        )
    return redirect(request, "/admin/contacts", done="added")


@router.post("/admin/contacts/remove", name="remove_contact")
def remove_contact(request: Request, portal: PortalContext, admin: Admin, form: ContactFields) -> Response:
    try:
        portal.service.remove_contact(form.council_code, form.email, admin.user.email)
    except ServiceError:
        raise NotFound() from None
    return redirect(request, "/admin/contacts", done="removed")
