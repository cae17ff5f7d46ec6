from datetime import date, timedelta

import pytest

from schemas.calendar import Period, financial_year_periods, parse_financial_year


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2025-Q1", date(2025, 4, 1), date(2025, 6, 30)),
        ("2025-Q2", date(2025, 7, 1), date(2025, 9, 30)),
        ("2025-Q3", date(2025, 10, 1), date(2025, 12, 31)),
        ("2025-Q4", date(2026, 1, 1), date(2026, 3, 31)),
        ("2023-Q4", date(2024, 1, 1), date(2024, 3, 31)),  # ends on 31 March in a leap year too
    ],
)
def test_period_dates(code: str, start: date, end: date) -> None:
    period = Period.parse(code)
    assert (period.start, period.end) == (start, end)
    assert period.code == str(period) == code


def test_q4_belongs_to_the_financial_year_that_started_in_april() -> None:
    q4 = Period.parse("2025-Q4")
    assert q4.financial_year == "2025-26"
    assert q4.start.year == 2026
    assert q4.next() == Period(2026, 1)
    assert Period(2026, 1).previous() == q4


def test_deadline_is_42_calendar_days_after_the_end() -> None:
    assert Period.parse("2025-Q1").deadline == date(2025, 8, 11)
    assert Period.parse("2025-Q3").deadline == date(2026, 2, 11)
    q4 = Period.parse("2025-Q4")
    assert q4.deadline - q4.end == timedelta(days=42)


@pytest.mark.parametrize("code", [" 2025-q2 ", "2025-Q2\n", "2025-q2"])
def test_parse_tolerates_space_and_case(code: str) -> None:
    assert Period.parse(code) == Period(2025, 2)


@pytest.mark.parametrize("code", ["2025-Q5", "2025-Q0", "2025Q1", "25-Q1", "2025-26", "", "2025-Q1x", "Q1-2025"])
def test_parse_rejects_invalid_codes(code: str) -> None:
    with pytest.raises(ValueError, match="invalid period"):
        Period.parse(code)


def test_quarter_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="quarter"):
        Period(2025, 5)


def test_periods_order_chronologically() -> None:
    periods = [Period.parse(c) for c in ["2025-Q1", "2024-Q4", "2025-Q4", "2024-Q1"]]
    assert [p.code for p in sorted(periods)] == ["2024-Q1", "2024-Q4", "2025-Q1", "2025-Q4"]
    assert Period(2024, 4) < Period(2025, 1)


def test_next_and_previous_round_trip_across_years() -> None:
    period = Period(2023, 3)
    for _ in range(9):
        assert period.next().previous() == period
        assert period.next().start == period.end + timedelta(days=1)
        period = period.next()
    assert period == Period(2025, 4)


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (date(2025, 4, 1), "2025-Q1"),
        (date(2025, 6, 30), "2025-Q1"),
        (date(2025, 7, 1), "2025-Q2"),
        (date(2025, 12, 31), "2025-Q3"),
        (date(2026, 1, 1), "2025-Q4"),
        (date(2026, 3, 31), "2025-Q4"),
    ],
)
def test_containing(day: date, code: str) -> None:
    period = Period.containing(day)
    assert period.code == code
    assert period.contains(day)
    assert not period.next().contains(day)
    assert not period.previous().contains(day)


@pytest.mark.parametrize(
    ("today", "code"),
    [
        (date(2025, 6, 30), "2024-Q4"),  # 2025-Q1 has not ended yet on its last day
        (date(2025, 7, 1), "2025-Q1"),
        (date(2026, 1, 15), "2025-Q3"),
        (date(2026, 4, 1), "2025-Q4"),
    ],
)
def test_latest_closed(today: date, code: str) -> None:
    period = Period.latest_closed(today)
    assert period.code == code
    assert period.end < today <= period.next().end


def test_latest_closed_defaults_to_today() -> None:
    assert Period.latest_closed().end < date.today()


def test_financial_year_periods() -> None:
    periods = financial_year_periods("2025-26")
    assert [p.code for p in periods] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert all(p.financial_year == "2025-26" for p in periods)
    assert periods[0].start == date(2025, 4, 1)
    assert periods[-1].end == date(2026, 3, 31)
    assert financial_year_periods("1999-00")[3].end == date(2000, 3, 31)


@pytest.mark.parametrize("year", ["2025-27", "2025", "2025/26", "25-26", "2025-2026", ""])
def test_financial_year_rejects_invalid(year: str) -> None:
    with pytest.raises(ValueError, match="invalid financial year"):
        parse_financial_year(year)
    with pytest.raises(ValueError):
        financial_year_periods(year)


def test_parse_financial_year() -> None:
    assert parse_financial_year(" 2025-26 ") == 2025
