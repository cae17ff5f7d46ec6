"""Persistence only: the project's tables, the write transaction, typed queries and migrations
(SQLAlchemy 2 + Alembic; SQLite or PostgreSQL).

- `write.write_version`: one version, its findings, facts and child records, in one transaction;
- `queries`: current versions, version lists, findings, the previous accepted return;
- `review.explain`, `review.sign_off`: a council's explanations and sign-off;
- `national.load_national`: what the national compile reads;
- `accounts`: the portal's account tables; `audit.record`: the append-only audit log;
- `migrate.upgrade / downgrade / current`, `seed.seed_register`.

Every function takes the engine (or its URL) as an argument; nothing here reads configuration.
Validation, pseudonymisation and the order of work are the use cases' (`pipeline`).
"""

from store.engine import get_engine
from store.queries import (
    StoreError,
    StoreNotReady,
    current_submission,
    list_submissions,
    submission_findings,
)
from store.review import explain, sign_off

__all__ = [
    "StoreError",
    "StoreNotReady",
    "current_submission",
    "explain",
    "get_engine",
    "list_submissions",
    "sign_off",
    "submission_findings",
]
