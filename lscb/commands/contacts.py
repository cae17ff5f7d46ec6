"""`lscb contacts`: who each council's e-mails go to (reminders, upload results, children to trace).

`lscb contacts add --council E06000001 --email data.team@hartlepool.gov.uk [--name "Data team"]`,
`lscb contacts list [--council CODE] [--json]`, `lscb contacts remove --council CODE --email ADDRESS`.
"""

from __future__ import annotations

import argparse
import getpass
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("contacts", help="manage each council's e-mail contacts", description=__doc__)
    actions = parser.add_subparsers(dest="contacts_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a contact to a council")
    add.add_argument("--council", required=True, metavar="CODE")
    add.add_argument("--email", required=True)
    add.add_argument("--name", help="a name or role, e.g. 'Data team'")
    add.set_defaults(func=_add)
    listing = actions.add_parser("list", help="list contacts")
    listing.add_argument("--council", metavar="CODE")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    remove = actions.add_parser("remove", help="stop writing to a contact")
    remove.add_argument("--council", required=True, metavar="CODE")
    remove.add_argument("--email", required=True)
    remove.set_defaults(func=_remove)


def _add(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from lscb.commands.db import store_errors
    from store.chasing import add_contact

    with store_errors():
        contact = add_contact(project_engine(), args.council, args.email, name=args.name, by=f"cli:{getpass.getuser()}")
    print(f"{contact.council_code}: {contact.email} added")
    return 0


def _list(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from lscb.commands.db import store_errors
    from store.chasing import contacts

    with store_errors():
        found = contacts(project_engine(), args.council)
    if args.json:
        print(json.dumps([c.__dict__ for c in found], indent=2))
    else:
        for contact in found:
            print(f"{contact.council_code}  {contact.email}" + (f"  ({contact.name})" if contact.name else ""))
    return 0


def _remove(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from lscb.commands.db import store_errors
    from store.chasing import remove_contact

    with store_errors():
        remove_contact(project_engine(), args.council, args.email, by=f"cli:{getpass.getuser()}")
    print(f"{args.council.upper()}: {args.email} removed")
    return 0
