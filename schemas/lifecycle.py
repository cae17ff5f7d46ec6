"""The life of a return, as the standard defines it (sections 1, 5 and 7), written once.

- Every upload that is read becomes a version: `rejected` (errors), `accepted` (no errors;
  queries allowed) or, after sign-off, `signed_off`.
- A council's **current version** for a period is its latest accepted or signed-off version;
  a later rejected upload never replaces it.
- A query is **explained** when an explanation names its rule and its row (a whole-return query
  has no row: the two "no row"s match).
- Sign-off needs no errors and every query explained.
- The tracker states of section 7, in order.
"""

from __future__ import annotations

SUBMISSION_STATUSES = ("rejected", "accepted", "signed_off")
CURRENT_STATUSES = ("accepted", "signed_off")  # a council's current version is its latest of these
TRACKER_STATES = ("not_received", "rejected", "accepted_open_queries", "accepted", "signed_off")
TRACKER_LABELS = {
    "not_received": "Not received",
    "rejected": "Received with errors",
    "accepted_open_queries": "Accepted with open queries",
    "accepted": "Accepted",
    "signed_off": "Signed off",
}


def is_current_status(status: str) -> bool:
    return status in CURRENT_STATUSES


def version_state(status: str, open_queries: int) -> str:
    """The tracker state a return is in when this version is the one that counts: a rejected
    version is "received with errors"; an accepted one with queries not yet explained has "open
    queries"."""
    if status == "signed_off":
        return "signed_off"
    if status not in CURRENT_STATUSES:
        return "rejected"
    return "accepted_open_queries" if open_queries > 0 else "accepted"
