"""`lscb db`: migrate the project's database (never Airflow's) and seed the council register.

`lscb db upgrade [REV]` (default head; also brings the register up to date),
`lscb db downgrade [REV]` (default one step back; `base` empties the database),
`lscb db current`, `lscb db seed`. The database is `LSCB_DATABASE_URL` (default SQLite in the
data directory).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lscb.cli import UserError

if TYPE_CHECKING:
    from sqlalchemy import Engine


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn the store's refusals and database connection failures into one-line user errors."""
    from sqlalchemy.exc import OperationalError

    from store.queries import StoreError

    try:
        yield
    except StoreError as error:
        raise UserError(str(error)) from None
    except OperationalError as error:
        first = str(error.orig or error).strip().splitlines()[0] if str(error.orig or error).strip() else "error"
        raise UserError(f"database unavailable: {first}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db",
        help="migrate the project's database (upgrade, downgrade, current, seed)",
        description="Migrate the project's database with Alembic. The database is LSCB_DATABASE_URL "
        "(default: SQLite in the data directory), separate from Airflow's.",
    )
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="upgrade to a revision (default head) and seed the register")
    up.add_argument("revision", nargs="?", default="head", metavar="REV")
    down = actions.add_parser("downgrade", help="downgrade to a revision (default one step back; base = empty)")
    down.add_argument("revision", nargs="?", default="-1", metavar="REV")
    actions.add_parser("current", help="print the revision the database is at")
    actions.add_parser("seed", help="bring the council register tables up to date")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lscb.cli import project_engine
    from store import migrate

    engine = project_engine()
    where = engine.url.render_as_string(hide_password=True)
    with store_errors():
        if args.db_command == "upgrade":
            migrate.upgrade(engine, args.revision)
            councils = _seed(engine) if migrate.is_initialised(engine) else 0
            print(f"database {where} at revision {migrate.current(engine)}; {councils} councils in the register")
        elif args.db_command == "downgrade":
            migrate.downgrade(engine, args.revision)
            print(f"database {where} at revision {migrate.current(engine) or 'base (empty)'}")
        elif args.db_command == "current":
            revision = migrate.current(engine)
            head = migrate.head()
            state = "up to date" if revision == head else f"head is {head}: run `lscb db upgrade`"
            print(f"{revision or 'base (empty)'} ({state})")
        else:
            if not migrate.is_initialised(engine):
                raise UserError(f"the database {where} has no tables yet: run `lscb db upgrade`")
            print(f"{_seed(engine)} councils in the register")
    return 0


def _seed(engine: Engine) -> int:
    from store.seed import seed_register

    with engine.begin() as connection:
        return seed_register(connection, actor="lscb db")
