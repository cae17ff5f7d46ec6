"""The formats of the standard's field types, as regular expressions over a value's trimmed text.

One table for the typing of every value, the per-return expectations (`matches: type_format`),
the GX suites and the reference page.
"""

from __future__ import annotations

EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
WHOLE_NUMBER = r"-?\d+"
LA_NUMBER = r"\d{3}"
PERIOD = r"\d{4}-Q[1-4]"
UPN_FORMAT = r"[ABCDEFGHJKLMNPQRTUVWXYZ]\d{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]"
NHS_FORMAT = r"\d{10}"
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
UK_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
# Case-system extracts and Excel's CSV export often write a date as a date-time at midnight
# ("2025-07-15 00:00:00", "15/07/2025 00:00"): the same date, so it is read as one. Any other
# time of day is not a date and is reported.
MIDNIGHT = r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"

# Format of a value of each type, as a regular expression over the given text (None: no
# format check beyond typing). The GX suite uses the same table.
TYPE_FORMATS: dict[str, str] = {
    "email": EMAIL,
    "integer": WHOLE_NUMBER,
    "la_number": LA_NUMBER,
    "period": PERIOD,
    "upn": UPN_FORMAT,
    "nhs_number": NHS_FORMAT,
}
