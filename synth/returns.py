"""One council's return for one period, as sheets of values, built from the synthetic world.

`ReturnDoc` holds the four sheets in the layout they are written in: key/value sheets as
ordered [field, value] pairs (row 2 onwards), Children as a column list and one dict per child
(row 2 onwards), so injected breaches can add, drop or repeat fields and still say exactly which
Excel cell they broke.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from schemas.calendar import Period
from schemas.register import Council
from schemas.standard import Standard
from synth.world import MISSING_CHANCE, CouncilWorld, Record, day_between


@dataclass
class ReturnDoc:
    council: Council
    period: Period
    index: int
    received_at: datetime
    kv: dict[str, list[list[Any]]]  # sheet -> [[field, value], ...] in row order from row 2
    columns: list[str]
    rows: list[dict[str, Any]]
    sources: list[Record]  # the record behind each row
    extra_columns: dict[str, list[Any]] = field(default_factory=dict)  # injected unknown columns

    def kv_value(self, sheet: str, name: str) -> Any:
        for key, value in self.kv[sheet]:
            if key == name:
                return value
        raise KeyError(name)

    def set_kv(self, sheet: str, name: str, value: Any) -> None:
        for entry in self.kv[sheet]:
            if entry[0] == name:
                entry[1] = value
                return
        raise KeyError(name)

    def table(self) -> list[list[Any]]:
        """Children as written: the header row, then one list per child."""
        out: list[list[Any]] = [list(self.columns)]
        for i, row in enumerate(self.rows):
            out.append([self.extra_columns[c][i] if c in self.extra_columns else row.get(c) for c in self.columns])
        return out


def email_for(council: Council) -> str:
    slug = re.sub(r"[^a-z]+", "", council.name.lower().replace("&", "and"))[:40] or "council"
    return f"cse.returns@{slug}.gov.uk"


def build_return(
    world: CouncilWorld,
    council: Council,
    index: int,
    period: Period,
    *,
    received_at: datetime,
    rng: random.Random,
    standard: Standard,
) -> ReturnDoc:
    records = sorted((r for r in world.records if r.in_return(index, period)), key=lambda r: r.local_id)
    rows = [_child_row(r, period, rng) for r in records]
    about = _about(council, period, received_at, rng)
    strategy = _strategy(world, period, rng)
    activity = _activity(rows, period, rng)
    kv = {
        "About": [[f.name, about.get(f.name)] for f in standard.sheet("About").fields],
        "Strategy": [[f.name, strategy.get(f.name)] for f in standard.sheet("Strategy").fields],
        "Activity": [[f.name, activity.get(f.name)] for f in standard.sheet("Activity").fields],
    }
    columns = list(standard.sheet("Children").field_names)
    return ReturnDoc(council, period, index, received_at, kv, columns, rows, records)


def _child_row(record: Record, period: Period, rng: random.Random) -> dict[str, Any]:
    episodes = 0
    interview: str | None
    if rng.random() < MISSING_CHANCE[record.risk]:
        episodes = min(12, 1 + int(rng.expovariate(0.6)))
    if episodes:
        ind_missing, interview = "Y", ("Y" if rng.random() < 0.85 else "N")
    else:
        ind_missing = "Y" if rng.random() < 0.1 else "N"
        interview = "N" if rng.random() < 0.1 else None
    if record.role is not None:
        # a child in a cross-council case: no missing episodes in either council, so the two
        # records show the same warning signs unless the case plants a picture (X6)
        episodes, ind_missing, interview = 0, "N", None
    closed = record.closed_on is not None and record.closed_on <= period.end
    row: dict[str, Any] = {
        "local_child_id": record.local_id,
        "upn": record.upn,
        "nhs_number": record.nhs,
        "no_id_reason": record.no_id_reason,
        "date_of_birth": record.dob,
        "sex": record.sex,
        "ethnicity": record.person.ethnicity,
        "identified_on": record.identified_on,
        "risk_level": record.risk,
        "looked_after": record.looked_after,
        "missing_episodes": episodes,
        "ind_missing": ind_missing,
        **record.indicators,
        "return_interview_offered": interview,
        "referred_to_police": record.referred,
        "moved_from_council": record.moved_from,
        "moved_from_child_id": record.moved_from_child_id,
        "closed_on": record.closed_on if closed else None,
        "closure_reason": record.closure_reason if closed else None,
        "moved_to_council": record.moved_to if closed else None,
    }
    return row


def _about(council: Council, period: Period, received_at: datetime, rng: random.Random) -> dict[str, Any]:
    signatories = ["LSCB chair", "LSCB chair", "Director of Children's Services", "LSCB business manager", None]
    signed_by = rng.choice(signatories)
    signed_on = day_between(rng, period.end, received_at.date()) if signed_by else None
    return {
        "standard_version": "1.0",
        "council_code": council.council_code,
        "la_number": council.la_number,
        "period": period.code,
        "prepared_by_email": email_for(council),
        "signed_off_by": signed_by,
        "signed_off_on": signed_on,
    }


def _strategy(world: CouncilWorld, period: Period, rng: random.Random) -> dict[str, Any]:
    profile = world.strategy
    reviewed = profile["reviewed_on"]
    if profile["cse_strategy"] == "REVIEWED":
        assert isinstance(reviewed, date)
        if reviewed < period.end - timedelta(days=300) or reviewed > period.end:
            reviewed = day_between(rng, period.start, period.end - timedelta(days=1))
            profile["reviewed_on"] = reviewed
    none_team = profile["multi_agency_team"] == "NONE"
    teams = profile["teams"]
    assert isinstance(teams, dict)
    base = profile["staff_base"]
    assert isinstance(base, int)
    return {
        "cse_strategy": profile["cse_strategy"],
        "strategy_reviewed_on": reviewed,
        "cse_lead_named": profile["cse_lead_named"],
        "multi_agency_team": profile["multi_agency_team"],
        **{name: ("N" if none_team else value) for name, value in teams.items()},
        "info_sharing_protocol": profile["info_sharing_protocol"],
        "protocol_includes_health": profile["protocol_includes_health"],
        "staff_trained": max(0, base + rng.randint(-3, 3)),
    }


def _activity(rows: list[dict[str, Any]], period: Period, rng: random.Random) -> dict[str, int]:
    new = [r for r in rows if period.start <= r["identified_on"] <= period.end]
    referred_new = sum(1 for r in new if r["referred_to_police"] == "Y")
    referrals = referred_new + (rng.randint(0, 2) if rows else 0)
    offered = sum(1 for r in rows if r["missing_episodes"] > 0 and r["return_interview_offered"] == "Y")
    investigations = round(referrals * rng.uniform(0.3, 0.6))
    charges = round(investigations * rng.uniform(0.1, 0.4))
    high = sum(1 for r in rows if r["risk_level"] == "HIGH")
    return {
        "children_newly_identified": len(new),
        "children_open_at_end": sum(1 for r in rows if r["closed_on"] is None),
        "referrals_to_police": referrals,
        "missing_episodes": sum(r["missing_episodes"] for r in rows),
        "children_missing": sum(1 for r in rows if r["missing_episodes"] > 0),
        "return_interviews_offered": offered,
        "return_interviews_within_72h": round(offered * rng.uniform(0.55, 0.9)),
        "abduction_warning_notices": round(high * rng.uniform(0.02, 0.15)),
        "investigations_started": investigations,
        "charges": charges,
        "convictions": round(charges * rng.uniform(0.2, 0.6)),
    }
