"""The life of a return, as the standard defines it (sections 1, 5 and 7), written once.

- Every upload that is read becomes a version: `rejected` (errors), `accepted` (no errors;
  queries allowed) or, after sign-off, `signed_off`.
- A council's **current version** for a period is its latest accepted or signed-off version;
  a later rejected upload never replaces it.
- A query is **explained** when an explanation names its rule and its row (a whole-return query
  has no row: the two "no row"s match) and no analyst has rejected that explanation. An analyst
  reviews an explanation: accepted (recorded, nothing else changes) or rejected with a reason
  (the query is open again until the council explains it again). Not yet reviewed counts as
  explained, so the review never holds up a council's sign-off.
- A query is raised by validation, or by a national analyst on the current version (rule scope
  `analyst` in the standard): either is explained the same way.
- Sign-off needs no errors and every query explained.
- A signed-off version is **reopened** (back to accepted, still the current version, to be
  signed off again) when an analyst reopens it with a reason, raises a query on it or rejects
  one of its explanations; its earlier sign-offs stay in its history.
- The tracker states of section 7, in order.
"""

from __future__ import annotations

SUBMISSION_STATUSES = ("rejected", "accepted", "signed_off")
CURRENT_STATUSES = ("accepted", "signed_off")  # a council's current version is its latest of these
EXPLANATION_REVIEWS = ("pending", "accepted", "rejected")  # an analyst's review of an explanation
REJECTED = "rejected"  # the one review that leaves the query open
REOPEN_CAUSES = ("reopened", "query_raised", "explanation_rejected")  # why a sign-off was undone
REOPEN_LABELS = {
    "reopened": "reopened by the national data team",
    "query_raised": "reopened: the national data team raised a query",
    "explanation_rejected": "reopened: the national data team rejected an explanation",
}
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
