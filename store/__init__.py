"""Persistence only: the project's tables, the write transaction, typed queries and migrations
(SQLAlchemy 2 + Alembic; SQLite or PostgreSQL).

- `write.write_version`: one version, its findings, facts and child records, in one transaction;
- `queries`: current versions, version lists, findings, the previous accepted return;
- `review.explain`, `review.sign_off`: a council's explanations and sign-off;
- `review.accept_explanation`, `reject_explanation`, `raise_query`, `reopen`: an analyst's review;
  `review.sign_off_history`: every sign-off and reopening of a council's return;
- `national.load_national`: what the national compile reads;
- `accounts`: the portal's account tables; `audit.record`: the append-only audit log
  (`audit.audit_entries`: read newest first, filtered);
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
from store.review import (
    accept_explanation,
    explain,
    raise_query,
    reject_explanation,
    reopen,
    sign_off,
    sign_off_history,
)

__all__ = [
    "StoreError",
    "StoreNotReady",
    "accept_explanation",
    "current_submission",
    "explain",
    "get_engine",
    "list_submissions",
    "raise_query",
    "reject_explanation",
    "reopen",
    "sign_off",
    "sign_off_history",
    "submission_findings",
]
