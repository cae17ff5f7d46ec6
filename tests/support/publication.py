"""A generated year to publish: every council's four quarters of 2025-26 stored (a few councils
send nothing, many have small counts and some rows of zeros), then the annual publication and
the last quarter's compile built from it. Shared by the screener, disclosure-attack, PDF and
browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lscb.settings import PROJECT_ROOT
from schemas.calendar import financial_year_periods
from schemas.register import load_register

YEAR = "2025-26"
TODAY = date(2026, 11, 1)
POPULATION = PROJECT_ROOT / "data" / "population" / "SYNTHETIC_population_0_17.csv"
SECRET = b"publication-test-key"


@dataclass
class GeneratedYear:
    url: str
    annual_dir: Path
    quarter_dir: Path


def store_year(root: Path, *, quarters: int = 4) -> str:
    """Stores a year of small synthetic returns; returns the database URL."""
    from pipeline.receive import store_validated
    from store.migrate import upgrade
    from tests.support.synthetic import synthetic_result

    url = f"sqlite:///{root / 'lscb.sqlite'}"
    upgrade(url)
    register = load_register()
    for period in financial_year_periods(YEAR)[:quarters]:
        previous = None
        for i, council in enumerate(register.expected(period)):
            if i % 29 == 11:
                continue  # a few councils send nothing
            children = (i * 7 + period.quarter) % 9  # 0 to 8: small counts, some councils with none
            activity = None if i % 5 else {"charges": 0, "referrals_to_police": 0, "return_interviews_within_72h": 0}
            result = synthetic_result(
                council.council_code, period.code, children=children, seed=i, queries=i % 2, activity=activity
            )
            assert result.typed is not None
            frame = result.typed.children
            if previous is not None and len(frame) and i % 6 == period.quarter:
                # the previous council's first child is open here too (X5, X2): a few findings per council
                first = frame.index[0]
                for column in ("upn", "nhs_number", "no_id_reason", "date_of_birth", "sex"):
                    frame.at[first, column] = previous[column]
            if len(frame) and frame.iloc[0]["upn"]:
                previous = dict(frame.iloc[0])
            received = datetime.combine(period.deadline, datetime.min.time(), UTC) + timedelta(days=i % 9 - 6)
            store_validated(
                result,
                council.council_code,
                submitted_by="publication@example.gov.uk",
                received_at=received,
                engine_or_url=url,
                secret=SECRET,
            )
    return url


def generate_year(root: Path) -> GeneratedYear:
    from pipeline.annual import build_annual
    from pipeline.compile import compile_period

    url = store_year(root)
    annual_dir = root / "annual"
    build_annual(url, YEAR, annual_dir, population_csv=POPULATION, today=TODAY)
    last = financial_year_periods(YEAR)[-1]
    quarter_dir = root / "quarter"
    compile_period(url, last, quarter_dir, population_csv=POPULATION, today=TODAY)
    return GeneratedYear(url=url, annual_dir=annual_dir, quarter_dir=quarter_dir)
