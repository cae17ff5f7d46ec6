"""What validation returns, and what storage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import pandas as pd

from transforms.findings import Finding


@dataclass
class TypedReturn:
    """The return's values typed per the standard (only meaningful when there are no errors).

    about/strategy/activity: field -> typed value (str codes, int counts, datetime.date dates,
    None for blanks). children: one row per child, indexed by Excel row, one column per field of
    the standard (absent optional columns present as all-None); dates as datetime.date, counts as
    int, codes as str, blanks as None. Raw `upn` and `nhs_number` are still present here, in
    memory only: pseudonymisation replaces them before anything is stored.
    """

    about: dict[str, object]
    strategy: dict[str, object]
    activity: dict[str, object]
    children: pd.DataFrame


@dataclass
class PreviousReturn:
    """The council's previous accepted return, for PRV-01 (comparable Activity counts)."""

    period: str
    activity: dict[str, int]


@dataclass
class ValidationResult:
    source_name: str
    checksum: str
    standard_version: str
    council_code: str | None  # as given in About (None when unreadable)
    period: str | None  # as given in About
    findings: list[Finding]
    typed: TypedReturn | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "E")

    @property
    def queries(self) -> int:
        return sum(1 for f in self.findings if f.severity == "Q")

    @property
    def status(self) -> Literal["accepted", "rejected"]:
        return "rejected" if self.errors else "accepted"


def period_dates(period: str) -> tuple[date, date]:
    from schemas.calendar import Period

    p = Period.parse(period)
    return p.start, p.end
