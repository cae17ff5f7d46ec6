"""The reporting calendar (standard section 1).

The reporting year is the financial year, 1 April to 31 March. Period `YYYY-Qn` is quarter n of
the year that starts in April of YYYY, so `2025-Q4` runs from 1 January to 31 March 2026.
A return is due 42 calendar days after its period ends; one received after the end of the
deadline day (Europe/London) is late. Annual outputs are named `2025-26`.

Lateness is defined here once: `Period.is_late(received_at)` and
`Period.days_after_deadline(received_at)` are what the store, the tracker, the league tables
and the portal use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEADLINE_DAYS = 42
# Councils without an accepted return are reminded this many days from the deadline (the day
# after it: +1).
REMINDER_DAYS = (-14, -3, 1)
FIRST_MONTH = 4  # April
LONDON = ZoneInfo("Europe/London")  # deadlines are days in England

_PERIOD_CODE = re.compile(r"(\d{4})-Q([1-4])")
_FINANCIAL_YEAR = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Period:
    """One reporting quarter; orders chronologically."""

    year: int  # financial year start, e.g. 2025 for 2025-Q1..2025-Q4
    quarter: int  # 1..4

    def __post_init__(self) -> None:
        if self.quarter not in (1, 2, 3, 4):
            raise ValueError(f"quarter must be 1 to 4, not {self.quarter!r}")

    @classmethod
    def parse(cls, code: str) -> Period:
        """Parse a period code such as `2025-Q1` (surrounding spaces and case are ignored)."""
        match = _PERIOD_CODE.fullmatch(str(code).strip().upper())
        if match is None:
            raise ValueError(
                f"invalid period {code!r}: expected YYYY-Qn with n from 1 to 4, e.g. 2025-Q1 "
                "(quarter n of the financial year starting in April YYYY)"
            )
        return cls(int(match[1]), int(match[2]))

    @property
    def code(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @property
    def start(self) -> date:
        months = FIRST_MONTH - 1 + 3 * (self.quarter - 1)
        return date(self.year + months // 12, months % 12 + 1, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    @property
    def deadline(self) -> date:
        """Last day a return counts as on time: the period end plus 42 calendar days."""
        return self.end + timedelta(days=DEADLINE_DAYS)

    def deadline_end(self) -> datetime:
        """The first instant after the deadline day (midnight in London), in UTC."""
        return datetime.combine(self.deadline + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)

    @property
    def final_compile_day(self) -> date:
        """The day the final compile of the period runs: the day after its deadline."""
        return self.deadline + timedelta(days=1)

    def is_late(self, received_at: datetime) -> bool:
        """Whether something received at `received_at` (timezone-aware) missed the deadline."""
        return received_at >= self.deadline_end()

    def days_after_deadline(self, received_at: datetime | date) -> int:
        """Days after (+) or before (-) the deadline, by the London date of receipt (a `date` is
        taken as a London date already)."""
        if isinstance(received_at, datetime):
            stamp = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
            received_at = stamp.astimezone(LONDON).date()
        return (received_at - self.deadline).days

    @property
    def financial_year(self) -> str:
        return format_financial_year(self.year)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.quarter == 4 else Period(self.year, self.quarter + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 4) if self.quarter == 1 else Period(self.year, self.quarter - 1)

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    @classmethod
    def containing(cls, d: date) -> Period:
        months_into_year = (d.month - FIRST_MONTH) % 12
        year = d.year if d.month >= FIRST_MONTH else d.year - 1
        return cls(year, months_into_year // 3 + 1)

    @classmethod
    def latest_closed(cls, today: date | None = None) -> Period:
        """The most recent period that ended before `today` (default: the current date)."""
        return cls.containing(today or date.today()).previous()

    def __str__(self) -> str:
        return self.code


def format_financial_year(year: int) -> str:
    """2025 -> `2025-26`."""
    return f"{year}-{(year + 1) % 100:02d}"


def parse_financial_year(year: str) -> int:
    """`2025-26` -> 2025 (the calendar year in which the financial year starts)."""
    text = str(year).strip()
    match = _FINANCIAL_YEAR.fullmatch(text)
    if match is None or int(match[2]) != (int(match[1]) + 1) % 100:
        raise ValueError(f"invalid financial year {year!r}: expected YYYY-YY with consecutive years, e.g. 2025-26")
    return int(match[1])


def collection_period(day: date) -> Period:
    """The period a day's run collects, chases and compiles: the latest closed quarter. Its
    returns arrive from the day after it ends; the final compile runs the day after its deadline
    (`Period.final_compile_day`); later runs still take late returns for it."""
    return Period.latest_closed(day)


def latest_complete_year(today: date | None = None) -> str:
    """The latest financial year whose four quarters have all closed (e.g. `2025-26`)."""
    latest = Period.latest_closed(today)
    return format_financial_year(latest.year if latest.quarter == 4 else latest.year - 1)


def financial_year_periods(year: str) -> list[Period]:
    """The four quarters of a financial year such as `2025-26`, in order."""
    start = parse_financial_year(year)
    return [Period(start, quarter) for quarter in (1, 2, 3, 4)]
