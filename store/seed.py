"""Reference rows the store needs: the council register (with its code history) and periods.

`seed_register` runs after `lscb db upgrade` and again whenever a submission names a council the
table does not hold yet (a register update shipped with a new release). Periods are added when
a return for them first arrives. Both are idempotent and safe under concurrent callers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from schemas.calendar import Period
from schemas.register import load_register
from store.audit import record
from store.models import Council, CouncilLink, ReportingPeriod


def upsert(connection: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str], update: bool) -> None:
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        pg_statement = (
            pg.on_conflict_do_update(index_elements=keys, set_={c: pg.excluded[c] for c in rows[0] if c not in keys})
            if update
            else pg.on_conflict_do_nothing(index_elements=keys)
        )
        connection.execute(pg_statement, rows)
    elif dialect == "sqlite":
        lite = sqlite.insert(table)
        lite_statement = (
            lite.on_conflict_do_update(
                index_elements=keys, set_={c: lite.excluded[c] for c in rows[0] if c not in keys}
            )
            if update
            else lite.on_conflict_do_nothing(index_elements=keys)
        )
        connection.execute(lite_statement, rows)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        existing = {tuple(r) for r in connection.execute(select(*[table.c[k] for k in keys]))}
        fresh = [r for r in rows if tuple(r[k] for k in keys) not in existing]
        if fresh:
            connection.execute(insert(table), fresh)


def seed_register(connection: Connection, actor: str = "lscb") -> int:
    """Bring `councils` and `council_links` up to date with the shipped register; returns the
    number of councils in the table afterwards."""
    register = load_register()
    before = connection.execute(select(func.count()).select_from(Council)).scalar_one()
    rows = [
        {
            "council_code": c.council_code,
            "la_number": c.la_number,
            "name": c.name,
            "region_code": c.region_code,
            "start": c.start,
            "end": c.end,
            "lineage_id": register.lineage_id(c.council_code),
        }
        for c in register.all()
    ]
    upsert(connection, Council.__table__, rows, ["council_code"], update=True)
    links = [
        {
            "predecessor_code": link.predecessor_code,
            "successor_code": link.successor_code,
            "kind": link.kind,
            "effective_on": link.effective_on,
        }
        for link in register.lineage_links()
    ]
    upsert(connection, CouncilLink.__table__, links, ["predecessor_code", "successor_code", "kind"], update=False)
    after = connection.execute(select(func.count()).select_from(Council)).scalar_one()
    if after != before:
        record(connection, actor, "register_seeded", detail={"councils": after, "links": len(links)})
    return int(after)


def ensure_council(connection: Connection, council_code: str) -> None:
    found = connection.execute(select(Council.council_code).where(Council.council_code == council_code)).first()
    if found is None:
        seed_register(connection)


def ensure_period(connection: Connection, period: Period) -> None:
    row = {"code": period.code, "start": period.start, "end": period.end, "deadline": period.deadline}
    upsert(connection, ReportingPeriod.__table__, [row], ["code"], update=False)
