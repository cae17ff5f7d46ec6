"""Storage of returns: versioned submissions, findings, explanations, facts and pseudonymised
child records, with an append-only audit log (SQLAlchemy; SQLite or PostgreSQL).

The same functions serve the CLI, DAG tasks and the portal:

- `submit_file(path, council_code, *, submitted_by, ...) -> SubmitOutcome`
- `store_validated(result, council_code, *, submitted_by, ...) -> SubmitOutcome`
- `current_submission(council, period)`, `list_submissions(council, period)`,
  `submission_findings(council, period, version=None)`
- `explain(council, period, rule, row, text, by)`, `sign_off(council, period, by)`
- `migrate.upgrade / downgrade / current`, `seed.seed_register`

Every function takes `engine_or_url` (an Engine, a URL, or None for `lscb.config.database_url()`).
"""

from transforms.store.engine import get_engine
from transforms.store.queries import (
    StoreError,
    StoreNotReady,
    current_submission,
    list_submissions,
    submission_findings,
)
from transforms.store.review import explain, sign_off
from transforms.store.submit import SubmitOutcome, deadline_end, is_late, store_validated, submit_file

__all__ = [
    "StoreError",
    "StoreNotReady",
    "SubmitOutcome",
    "current_submission",
    "deadline_end",
    "explain",
    "get_engine",
    "is_late",
    "list_submissions",
    "sign_off",
    "store_validated",
    "submission_findings",
    "submit_file",
]
