"""`lscb users`: manage portal accounts (add, list, disable, enable, set a password).

Roles: `council` (one council's returns; needs --council), `analyst` (every council, read
only), `admin` (accounts). Passwords are stored as argon2id hashes only. Without
--password-stdin, `add` asks twice on a terminal, or makes a random password and prints it once.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys

from lscb.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="manage portal accounts", description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add an account")
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=["council", "analyst", "admin"])
    add.add_argument("--council", metavar="GSS_CODE", help="the council (council users only), e.g. E06000001")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)

    for name, helptext in (("disable", "disable an account (ends its sessions)"), ("enable", "enable an account")):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("--email", required=True)
        sub.set_defaults(func=_disable if name == "disable" else _enable)

    password = actions.add_parser("set-password", help="set a new password (ends the account's sessions)")
    password.add_argument("--email", required=True)
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(func=_set_password)


def _accounts():  # type: ignore[no-untyped-def]
    from lscb.cli import project_engine
    from portal.accounts import Accounts
    from store import StoreError
    from store.migrate import ensure_current

    engine = project_engine()
    try:
        ensure_current(engine)
    except StoreError as error:
        raise UserError(str(error)) from None
    return Accounts(engine)


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated)."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise UserError("the two passwords differ")
        return first, False
    return secrets.token_urlsafe(18), True


def _audit(action: str, detail: dict[str, object], council_code: str | None = None) -> None:
    from lscb.cli import project_engine
    from store.audit import record

    actor = f"cli:{getpass.getuser()}"
    with project_engine().begin() as connection:
        record(connection, actor, action, council_code=council_code, detail=detail)


def _add(args: argparse.Namespace) -> int:
    from portal.accounts import AccountError

    accounts = _accounts()
    password, generated = _read_password(args.password_stdin)
    try:
        user = accounts.add_user(args.email, args.role, password, args.council)
    except AccountError as error:
        raise UserError(str(error)) from None
    _audit("account_add", {"email": user.email, "role": user.role}, user.council_code)
    print(f"added {user.label}")
    if generated:
        print(f"initial password (shown once; send it by a separate channel): {password}")
    return 0


def _list(args: argparse.Namespace) -> int:
    users = _accounts().list_users()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "email": u.email,
                        "role": u.role,
                        "council_code": u.council_code,
                        "disabled": u.disabled,
                        "created_at": u.created_at.isoformat(),
                        "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                    }
                    for u in users
                ],
                indent=2,
            )
        )
        return 0
    rows = [("Email", "Role", "Council", "State", "Last sign-in (UTC)")] + [
        (
            u.email,
            u.role,
            u.council_code or "",
            "disabled" if u.disabled else "active",
            u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never",
        )
        for u in users
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"{len(users)} account(s)")
    return 0


def _switch(args: argparse.Namespace, disabled: bool) -> int:
    from portal.accounts import AccountError

    try:
        user = _accounts().set_disabled(args.email, disabled)
    except AccountError as error:
        raise UserError(str(error)) from None
    _audit("account_disable" if disabled else "account_enable", {"email": user.email}, user.council_code)
    print(f"{'disabled' if disabled else 'enabled'} {user.label}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    return _switch(args, True)


def _enable(args: argparse.Namespace) -> int:
    return _switch(args, False)


def _set_password(args: argparse.Namespace) -> int:
    from portal.accounts import AccountError

    accounts = _accounts()
    password, generated = _read_password(args.password_stdin)
    try:
        user = accounts.set_password(args.email, password)
    except AccountError as error:
        raise UserError(str(error)) from None
    _audit("account_password", {"email": user.email}, user.council_code)
    print(f"new password set for {user.label}")
    if generated:
        print(f"new password (shown once): {password}")
    return 0
