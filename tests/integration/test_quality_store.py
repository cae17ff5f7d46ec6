"""The data-quality gate reads the stored child records as the store returns them, on SQLite and
on PostgreSQL (dates, whole numbers and blanks typed by each driver): clean records pass, a
record written straight to the database with closed_on before identified_on fails by rule, and
a rejected version's records (none are stored) or another period's never enter the batch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from schemas.calendar import Period
from tests.support.synthetic import synthetic_result

PERIOD = Period.parse("2025-Q1")
COUNCILS = ("E06000001", "E06000002", "E08000025")


def test_stored_records_through_each_database(migrated_url: str, tmp_path: Path) -> None:
    from pipeline.quality import audit_quarter
    from pipeline.receive import store_validated
    from store.engine import get_engine
    from store.models import child_records

    received = datetime(2025, 8, 1, tzinfo=UTC)
    for i, code in enumerate(COUNCILS):
        for period in (PERIOD, PERIOD.next()):
            result = synthetic_result(code, period.code, children=6 + i, seed=i)
            store_validated(result, code, secret=b"k", engine_or_url=migrated_url, submitted_by="t@example.gov.uk",
                            received_at=received)  # fmt: skip
    store_validated(
        synthetic_result(COUNCILS[0], PERIOD.code, children=4, seed=9, errors=2),
        COUNCILS[0],
        secret=b"k",
        engine_or_url=migrated_url,
        submitted_by="t@example.gov.uk",
        received_at=received,
    )

    clean = audit_quarter(migrated_url, PERIOD, tmp_path / "none", tmp_path / "docs-clean")
    assert clean.suites["child_records"]["failed"] == 0, clean.messages
    assert clean.messages == [
        f"tracker.csv: not written (expected in {tmp_path / 'none'})",
        f"league_table.csv: not written (expected in {tmp_path / 'none'})",
    ]
    assert not clean.success  # no compiled tables: nothing to publish

    engine = get_engine(migrated_url)
    with engine.begin() as connection:
        first = connection.execute(
            select(child_records).where(child_records.c.period == PERIOD.code).limit(1)
        ).mappings().one()  # fmt: skip
        row = {k: v for k, v in first.items() if k != "id"}
        row.update(local_child_id="WRITTEN-DIRECTLY", identified_on=PERIOD.end, closed_on=PERIOD.start,
                   closure_reason="RISK_REDUCED")  # fmt: skip
        connection.execute(insert(child_records), [row])
    tampered = audit_quarter(migrated_url, PERIOD, tmp_path / "none", tmp_path / "docs")
    assert tampered.failures["child_records"] == {"CHD-15 closed_on": 1}
    (line,) = [m for m in tampered.messages if m.startswith("child_records")]
    assert line == (
        "child_records: CHD-15 Children.closed_on is at least identified_on: 1 of "
        f"{sum(6 + i for i in range(len(COUNCILS))) + 1} row(s) fail ({first['council_code']}: 1)"
    )
    docs = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "docs").rglob("*.html"))
    assert "WRITTEN-DIRECTLY" not in docs and str(first["local_child_id"]) not in docs
