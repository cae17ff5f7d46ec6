"""Safe ingest: refuse hostile or malformed files, then read a return into raw sheets.

Public API: `read_return(path, display_name=None) -> ReturnFile` (raises `Refused`).

Order of checks (cheapest and most dangerous first): size on disk -> first bytes (empty, OLE2
encrypted or old .xls, zip, anything else) -> zip central directory (member count, names,
encryption, declared sizes and ratios) -> xlsx part names (macros, external links) -> every
part's raw bytes, inflated by hand and never past its declared size (DOCTYPE/ENTITY, UTF-8
only; worksheets: formulas, dimension, row and column limits; shared strings: claimed count)
-> sheet names -> values with python-calamine -> standard version. CSV bundles: members,
then each file decoded and counted while streaming.

Decisions where the brief is silent (kept here so validation and the portal agree):
- The limits and refusal texts used before the file's version is known are the newest
  standard's.
- At most 1,000 zip members; a member path that is absolute, has `..` or a drive letter,
  repeats another, or uses a compression other than stored/deflate is REF-CORRUPT.
- A key/value sheet whose row 1 is not `field`,`value` is read from row 1 (nothing lost);
  columns after B are notes and ignored; a value whose column A is blank is an unknown
  field named "". A Children column without a header that holds data is an unknown field "".
- The template's `Lists` sheet is recognised by its A1 marker; a hidden `Lists` without it is
  ignored, a visible one is an extra sheet.
- A version written as a number (1.0 or 1) reads as "1.0".
- CSV rows are numbered by record (header = 1), which is the line number unless a quoted value
  spans lines; then it is the row Excel shows. Text with control characters is REF-ENCODING.
- A shared-strings table claiming more texts than it holds is REF-TOO-LARGE (calamine reserves
  memory for the claim and aborts the whole process on a claim of two billion).
"""

from transforms.ingest.model import (
    HeaderProblem,
    KeyValueSheet,
    Location,
    Refused,
    ReturnFile,
    Sheet,
    TableSheet,
)
from transforms.ingest.reader import read_return

__all__ = [
    "HeaderProblem",
    "KeyValueSheet",
    "Location",
    "Refused",
    "ReturnFile",
    "Sheet",
    "TableSheet",
    "read_return",
]
