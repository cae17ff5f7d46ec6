"""Safe ingest: refuse hostile or malformed files, then read a return into raw sheets.

Public API: `read_return(path, display_name=None) -> ReturnFile` (raises `Refused`).
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
