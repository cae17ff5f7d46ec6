"""`lscb clients`: the API's OAuth 2.0 clients (standard §8): add, list, rotate a secret, revoke.

A client belongs to one council and acts only for it. `add` and `rotate` print the secret once:
give it to the council's IT team (it goes in the environment of their nightly `lscb push`); only
its argon2 hash is kept. Rotating or revoking ends every token the client holds at once.
"""

from __future__ import annotations

import argparse
import getpass
import json

from lscb.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clients", help="manage the API's OAuth 2.0 clients", description=__doc__.split("\n\n")[0]
    )
    actions = parser.add_subparsers(dest="clients_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a client for a council (prints its id and secret once)")
    add.add_argument("--council", required=True, metavar="GSS_CODE", help="the council, e.g. E06000001")
    add.add_argument("--name", required=True, help="what the client is, e.g. mosaic-nightly")
    add.add_argument(
        "--scope",
        action="append",
        choices=["returns:submit", "findings:read"],
        help="a scope (repeat for both; default both)",
    )
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="list clients (never their secrets)")
    listing.add_argument("--council", metavar="GSS_CODE")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)

    rotate = actions.add_parser("rotate", help="give a client a new secret (prints it once; old tokens stop)")
    rotate.add_argument("--client-id", required=True)
    rotate.add_argument("--json", action="store_true", help="print JSON")
    rotate.set_defaults(func=_rotate)

    revoke = actions.add_parser("revoke", help="revoke a client (its tokens stop at once)")
    revoke.add_argument("--client-id", required=True)
    revoke.set_defaults(func=_revoke)


def _engine():  # type: ignore[no-untyped-def]
    from lscb.cli import project_engine
    from store import StoreError
    from store.migrate import ensure_current

    engine = project_engine()
    try:
        ensure_current(engine)
    except StoreError as error:
        raise UserError(str(error)) from None
    return engine


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _add(args: argparse.Namespace) -> int:
    from pipeline import api

    try:
        client, secret = api.add_client(
            _engine(), args.council, args.name, actor=_actor(), scopes=tuple(args.scope or api.SCOPES)
        )
    except api.StoreError as error:
        raise UserError(str(error)) from None
    if args.json:
        print(json.dumps({**client.to_json(), "client_secret": secret}))
    else:
        print(f"client_id:     {client.client_id}")
        print(f"client_secret: {secret}")
        print(f"council:       {client.council_code}  scopes: {' '.join(client.scopes)}")
        print("The secret is shown only now: keep it in the environment of the job that runs `lscb push`.")
    return 0


def _list(args: argparse.Namespace) -> int:
    from pipeline import api

    try:
        clients = api.list_clients(_engine(), args.council)
    except api.StoreError as error:
        raise UserError(str(error)) from None
    if args.json:
        print(json.dumps([c.to_json() for c in clients]))
        return 0
    for c in clients:
        state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
        print(f"{c.client_id}  {c.council_code}  {c.name}  {' '.join(c.scopes)}  {state}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from pipeline import api

    try:
        secret = api.rotate_secret(_engine(), args.client_id, actor=_actor())
    except api.StoreError as error:
        raise UserError(str(error)) from None
    if args.json:
        print(json.dumps({"client_id": args.client_id, "client_secret": secret}))
    else:
        print(f"client_id:     {args.client_id}")
        print(f"client_secret: {secret}")
        print("The old secret and every token it got no longer work.")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from pipeline import api

    try:
        client = api.revoke_client(_engine(), args.client_id, actor=_actor())
    except api.StoreError as error:
        raise UserError(str(error)) from None
    print(f"{client.client_id} ({client.council_code} {client.name}) is revoked; its tokens no longer work.")
    return 0
