"""A small cross-council world for the children-to-trace tests: real return files for three
councils over 2025-Q1 and 2025-Q2, stored through `pipeline.receive.submit_file` (validation,
pseudonymisation) and compiled, so the cases come from the real linkage.

Hartlepool (A) closes HART-LOST-01 as MOVED_OUT to Middlesbrough (B), which never reports it (X1,
by UPN); closes HART-NOKEY-03, who has no identifier, as MOVED_OUT to Redcar (C), which never
reports it (X1, by lineage and local id); and keeps HART-BOTH-02 open while B opens the same child
as MIDD-BOTH-07 (X2 to A, X5 to both). Every local_child_id of A starts `HART-`, so a test can
search everything B is shown for `HART-`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from schemas.register import load_register
from tests.builders import sample_about, sample_activity, sample_child, sample_strategy, write_csv_bundle
from tests.support.synthetic import synthetic_upn

A, B, C = "E06000001", "E06000002", "E06000003"  # Hartlepool, Middlesbrough, Redcar and Cleveland
Q1, Q2 = "2025-Q1", "2025-Q2"
TODAY = date(2026, 1, 15)  # after 2025-Q2's deadline: X1 for 2025-Q1 is decided
A_IDS = ("HART-LOST-01", "HART-BOTH-02", "HART-NOKEY-03")
B_IDS = ("MIDD-BOTH-07", "MIDD-OWN-01")

_rng = random.Random("children-to-trace")  # noqa: S311 - made-up identifiers
UPN_LOST = synthetic_upn(_rng, "805")
UPN_BOTH = synthetic_upn(_rng, "805")


def _child(local_id: str, number: int, **fields: Any) -> dict[str, Any]:
    values = sample_child(number, local_child_id=local_id, **fields)
    if values.get("upn"):
        values["no_id_reason"] = None
    return values


def children(council: str, period: str, *, lost_arrives: bool = False, variant: int = 0) -> list[dict[str, Any]]:
    """The council's children for the period; `lost_arrives`: B's 2025-Q2 return includes the
    child A lost; `variant` adds unrelated children (a new file, so a new version)."""
    rows: list[dict[str, Any]] = []
    if council == A and period == Q1:
        rows = [
            _child("HART-LOST-01", 1, upn=UPN_LOST, sex="M", date_of_birth=date(2011, 3, 14),
                   identified_on=date(2025, 4, 20), closed_on=date(2025, 6, 10), closure_reason="MOVED_OUT",
                   moved_to_council=B),
            _child("HART-BOTH-02", 2, upn=UPN_BOTH, identified_on=date(2025, 4, 2)),
            _child("HART-NOKEY-03", 3, identified_on=date(2025, 4, 3), closed_on=date(2025, 6, 20),
                   closure_reason="MOVED_OUT", moved_to_council=C),
        ]  # fmt: skip
    elif council == B:
        rows = [
            _child("MIDD-BOTH-07", 7, upn=UPN_BOTH, identified_on=date(2025, 5, 1)),
            _child("MIDD-OWN-01", 1, identified_on=date(2025, 4, 9)),
        ]
        if period == Q2 and lost_arrives:
            rows.append(
                _child("MIDD-NEW-09", 9, upn=UPN_LOST, sex="M", date_of_birth=date(2011, 3, 14),
                       identified_on=date(2025, 7, 15), moved_from_council=A)
            )  # fmt: skip
    elif council == C:
        rows = [_child("REDC-OWN-01", 1, identified_on=date(2025, 4, 9))]
    rows += [_child(f"{council[-3:]}-EXTRA-{n:02d}", 20 + n, identified_on=date(2025, 4, 9)) for n in range(variant)]
    return rows


def write_return(directory: Path, council: str, period: str, **options: Any) -> Path:
    la = load_register().get(council).la_number
    rows = children(council, period, **options)
    open_at_end = sum(1 for r in rows if not r.get("closed_on"))
    new = sum(1 for r in rows if r["identified_on"] >= (date(2025, 4, 1) if period == Q1 else date(2025, 7, 1)))
    about = sample_about(council_code=council, la_number=la, period=period, signed_off_by=None, signed_off_on=None)
    activity = sample_activity(children_newly_identified=new, children_open_at_end=open_at_end)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{council}-{period}-{options.get('variant', 0)}{'-arrived' if options.get('lost_arrives') else ''}.zip"
    return write_csv_bundle(directory / name, about, sample_strategy(), activity, rows)


def store_return(url: str, directory: Path, council: str, period: str, secret: bytes, **options: Any) -> str:
    from pipeline.receive import submit_file

    outcome = submit_file(
        write_return(directory, council, period, **options),
        council,
        secret=secret,
        engine_or_url=url,
        submitted_by=f"officer@{council.lower()}.example.gov.uk",
    )
    assert outcome.status in ("accepted", "signed_off"), outcome.message
    return outcome.status


@dataclass
class World:
    url: str
    directory: Path
    secret: bytes
    compiled: list[Any] = field(default_factory=list)

    def compile(self, period: str = Q1, today: date = TODAY) -> Any:
        from pipeline.compile import compile_period
        from schemas.calendar import Period

        outcome = compile_period(
            self.url, Period.parse(period), self.directory / f"out-{len(self.compiled)}", today=today
        )
        self.compiled.append(outcome)
        return outcome


def build_world(url: str, directory: Path, secret: bytes) -> World:
    """Migrate `url`, store the five returns (A: 2025-Q1; B and C: both quarters); not compiled."""
    from store.migrate import ensure_current

    ensure_current(url)
    for council, period in ((A, Q1), (B, Q1), (B, Q2), (C, Q1), (C, Q2)):
        store_return(url, directory / "returns", council, period, secret)
    return World(url, directory, secret)
