"""Values written to a CSV or XLSX file are data, never formulas (OWASP, "CSV injection").

A spreadsheet program opening a CSV runs a cell that starts with `=`, `+`, `-` or `@` (and, in
some programs, a tab or carriage return before one) as a formula: `=HYPERLINK(...)` typed as a
child's id by a council would become a live link in an analyst's copy of the national tables.
Every text written to a CSV or XLSX file passes through `neutralise`, which puts a `'` in front
of such a text (what OWASP advises; Excel shows the text as typed). Numbers stay numbers, so
`-3` as a count is untouched; the text "-3" is shown as text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """`value`, with a text that a spreadsheet could run made inert."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
