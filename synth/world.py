"""The synthetic world: children, the councils' cases about them, and how cases run over periods.

A `Person` is one real child (date of birth, sex, UPN, NHS number). A `Record` is one council's
case about a person: it opens on `identified_on`, may close within a period, and is reported in
every return of that council whose period it overlaps (a case open at the end of P is in P+1's
return unless it closed). Cross-council cases (good moves and the broken cases X1-X5) are made by
`synth.crosscouncil` by editing and adding records; every other record is "plain" and
carries identifiers no other person has, so no cross-council case arises by accident.

Identifiers: UPNs are built with the DfE check letter over a global serial (so no two persons
share one); NHS numbers come from the 999 range, which the NHS never issues to patients, with a
valid Modulus 11 check digit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from schemas.calendar import Period
from schemas.identifiers import nhs_check_digit, upn_check_letter
from schemas.standard import Standard

SEX_WEIGHTS = {"F": 75, "M": 23, "U": 2}
RISK_WEIGHTS = {"LOW": 45, "MEDIUM": 35, "HIGH": 20}
AGE_WEIGHTS = {8: 1, 9: 2, 10: 4, 11: 7, 12: 10, 13: 14, 14: 17, 15: 18, 16: 16, 17: 11}
ETHNICITY_WEIGHTS = {
    "WBRI": 620,
    "WIRI": 10,
    "WIRT": 5,
    "WOTH": 50,
    "WROM": 5,
    "MWBC": 40,
    "MWBA": 15,
    "MWAS": 20,
    "MOTH": 25,
    "AIND": 15,
    "APKN": 40,
    "ABAN": 10,
    "AOTH": 10,
    "BCRB": 20,
    "BAFR": 30,
    "BOTH": 10,
    "CHNE": 3,
    "OOTH": 20,
    "REFU": 7,
    "NOBT": 20,
}
# Chance of each warning-sign indicator at MEDIUM risk; LOW halves it, HIGH multiplies by 1.7.
INDICATOR_BASE = {
    "ind_unexplained_injury": 0.12,
    "ind_sti": 0.08,
    "ind_pregnancy": 0.05,
    "ind_offending": 0.2,
    "ind_truancy": 0.35,
    "ind_substance_misuse": 0.25,
    "ind_gang_association": 0.15,
}
RISK_FACTOR = {"LOW": 0.5, "MEDIUM": 1.0, "HIGH": 1.7}
MISSING_CHANCE = {"LOW": 0.15, "MEDIUM": 0.35, "HIGH": 0.6}
POLICE_CHANCE = {"LOW": 0.12, "MEDIUM": 0.45, "HIGH": 1.0}  # HIGH always referred (no CHD-23)
LOOKED_AFTER_CHANCE = {"LOW": 0.15, "MEDIUM": 0.25, "HIGH": 0.4}
CLOSE_CHANCE = 0.33  # per period: with 35% new a period, the caseload stays about level
PLAIN_CLOSURES = {"RISK_REDUCED": 55, "TRANSFERRED": 15, "OTHER": 30}
NO_ID_REASONS = ("ARRIVED_FROM_ABROAD", "NOT_IN_EDUCATION", "NOT_KNOWN")
ID_STYLES = ("C{:07d}", "LCS{:06d}", "{la}-{:06d}", "MOS{:08d}", "EC{:06d}", "{:09d}", "uuid")


def weighted(rng: random.Random, weights: dict[str, int] | dict[int, int]) -> object:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]  # type: ignore[index]


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def birthday18(dob: date) -> date:
    return add_years(dob, 18)


def day_between(rng: random.Random, lo: date, hi: date) -> date:
    if hi <= lo:
        return lo
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


@dataclass(eq=False)
class Person:
    dob: date
    sex: str
    ethnicity: str
    upn: str | None
    nhs: str | None


@dataclass(eq=False)
class Record:
    council: str  # lineage id of the council (its latest code)
    local_id: str
    person: Person
    identified_on: date
    risk: str
    looked_after: str
    referred: str
    indicators: dict[str, str]
    show_upn: bool
    show_nhs: bool
    no_id_reason: str | None
    dob: date
    sex: str
    closed_on: date | None = None
    closure_reason: str | None = None
    moved_to: str | None = None
    moved_from: str | None = None
    moved_from_child_id: str | None = None
    last_period: int | None = None  # not reported after this period index (a case dropped unclosed)
    role: str | None = None  # set when the record takes part in a cross-council case

    def in_return(self, index: int, period: Period) -> bool:
        if self.last_period is not None and index > self.last_period:
            return False
        if self.identified_on > period.end:
            return False
        return self.closed_on is None or self.closed_on >= period.start

    def open_at_end(self, period: Period) -> bool:
        return self.closed_on is None or self.closed_on > period.end

    @property
    def upn(self) -> str | None:
        return self.person.upn if self.show_upn else None

    @property
    def nhs(self) -> str | None:
        return self.person.nhs if self.show_nhs else None


@dataclass
class CouncilWorld:
    lineage: str
    la_number: str
    base: int  # typical number of children in a return
    id_style: str
    next_serial: int
    records: list[Record] = field(default_factory=list)
    strategy: dict[str, object] = field(default_factory=dict)

    def new_local_id(self, rng: random.Random) -> str:
        if self.id_style == "uuid":
            value = f"{rng.getrandbits(128):032x}"
            return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:32]}"
        serial = self.next_serial
        self.next_serial += rng.randint(1, 9)
        return self.id_style.format(serial, la=self.la_number)

    def unused_local_id(self, rng: random.Random) -> str:
        """An id in this council's style that it never uses (for a moved_from_child_id it never had)."""
        if self.id_style == "uuid":
            return self.new_local_id(rng)
        return self.id_style.format(self.next_serial + 5_000_000 + rng.randint(0, 999_999), la=self.la_number)


class IdentifierFactory:
    """Unique, valid identifiers: no two persons ever share a UPN or an NHS number."""

    def __init__(self, rng: random.Random) -> None:
        self._upn_serial = rng.randint(0, 10**8)
        self._nhs_serial = rng.randint(0, 10**5)
        self._nhs_used = 0

    def upn(self, la_number: str) -> str:
        self._upn_serial += 1
        digits = f"{(self._upn_serial * 7919 + 104_729) % 10**9:09d}"
        body = la_number + digits
        return upn_check_letter(body) + body

    def nhs(self) -> str:
        while True:
            self._nhs_used += 1
            if self._nhs_used > 10**6:
                raise RuntimeError("the synthetic NHS number range (999...) is exhausted")
            self._nhs_serial += 1
            six = f"{(self._nhs_serial * 7919 + 12_345) % 10**6:06d}"
            first_nine = "999" + six
            check = nhs_check_digit(first_nine)
            if check is not None:
                return first_nine + str(check)


class WorldBuilder:
    def __init__(self, rng: random.Random, standard: Standard, la_numbers: list[str]) -> None:
        self.rng = rng
        self.standard = standard
        self.ids = IdentifierFactory(rng)
        self.all_la_numbers = la_numbers
        self.ethnicities = {c: ETHNICITY_WEIGHTS.get(c, 5) for c in standard.code_lists["ethnicity"].codes}

    # ---- persons and records

    def person(self, la_number: str, identified_on: date, *, alive_until: date, both_ids: bool = False) -> Person:
        """A child aged mostly 11-17 on `identified_on` who is still under 18 on `alive_until`."""
        rng = self.rng
        for _ in range(200):
            age = int(weighted(rng, AGE_WEIGHTS))  # type: ignore[call-overload]
            dob = identified_on - timedelta(days=int(age * 365.25) + rng.randint(0, 364))
            if dob.month == 2 and dob.day == 29:
                continue
            if birthday18(dob) > max(alive_until, identified_on + timedelta(days=30)):
                break
        else:
            dob = identified_on - timedelta(days=int(9 * 365.25))
        sex = str(weighted(rng, SEX_WEIGHTS))
        ethnicity = str(weighted(rng, self.ethnicities))
        if both_ids:
            kind = "both"
        else:
            kind = str(weighted(rng, {"both": 62, "upn": 20, "nhs": 12, "none": 6}))
        upn_la = la_number if rng.random() < 0.9 else rng.choice(self.all_la_numbers)
        upn = self.ids.upn(upn_la) if kind in ("both", "upn") else None
        nhs = self.ids.nhs() if kind in ("both", "nhs") else None
        return Person(dob=dob, sex=sex, ethnicity=ethnicity, upn=upn, nhs=nhs)

    def record(self, council: CouncilWorld, person: Person, identified_on: date, risk: str | None = None) -> Record:
        rng = self.rng
        risk = risk or str(weighted(rng, RISK_WEIGHTS))
        factor = RISK_FACTOR[risk]
        indicators = {
            name: ("Y" if rng.random() < min(0.95, chance * factor) else "N") for name, chance in INDICATOR_BASE.items()
        }
        no_id = None if (person.upn or person.nhs) else rng.choice(NO_ID_REASONS)
        return Record(
            council=council.lineage,
            local_id=council.new_local_id(rng),
            person=person,
            identified_on=identified_on,
            risk=risk,
            looked_after="Y" if rng.random() < LOOKED_AFTER_CHANCE[risk] else "N",
            referred="Y" if rng.random() < POLICE_CHANCE[risk] else "N",
            indicators=indicators,
            show_upn=person.upn is not None,
            show_nhs=person.nhs is not None,
            no_id_reason=no_id,
            dob=person.dob,
            sex=person.sex,
        )

    def plan_closure(self, record: Record, periods: list[Period], first: int, *, keep_open_until: int = -1) -> None:
        """Close the case in some later period (or never), from period index `first` on.

        A child turning 18 is closed TURNED_18 on the birthday, so no open case is 18 or over at a
        period end (CHD-22). No closure in periods up to `keep_open_until`.
        """
        rng = self.rng
        record.closed_on = record.closure_reason = None
        eighteen = birthday18(record.dob)
        for index in range(first, len(periods)):
            period = periods[index]
            lo = max(record.identified_on, period.start)
            if lo > period.end:
                continue
            close_on: date | None = None
            reason: str | None = None
            if index > keep_open_until and rng.random() < CLOSE_CHANCE:
                close_on = day_between(rng, lo, period.end)
                reason = str(weighted(rng, PLAIN_CLOSURES))
            if eighteen <= period.end and (close_on is None or eighteen < close_on):
                close_on, reason = max(eighteen, lo), "TURNED_18"
            if close_on is not None:
                record.closed_on, record.closure_reason = close_on, reason
                return

    # ---- councils

    def council(self, lineage: str, la_number: str, children: int, periods: list[Period]) -> CouncilWorld:
        rng = self.rng
        base = round(children * rng.uniform(0.6, 1.4)) if children > 0 else 0
        world = CouncilWorld(
            lineage=lineage,
            la_number=la_number,
            base=base,
            id_style=rng.choice(ID_STYLES),
            next_serial=rng.randint(1000, 400_000),
        )
        first = periods[0]
        for _ in range(_jitter(rng, base * 0.7)):
            identified = first.start - timedelta(days=rng.randint(1, 540))
            person = self.person(la_number, identified, alive_until=first.start + timedelta(days=1))
            world.records.append(self.record(world, person, identified))
        for index, period in enumerate(periods):
            for _ in range(_jitter(rng, base * 0.35)):
                identified = day_between(rng, period.start, period.end)
                person = self.person(la_number, identified, alive_until=identified)
                world.records.append(self.record(world, person, identified))
            del index
        for record in world.records:
            self.plan_closure(record, periods, _first_index(record, periods))
        world.strategy = self._strategy_profile(first)
        return world

    def _strategy_profile(self, first: Period) -> dict[str, object]:
        rng = self.rng
        strategy = str(weighted(rng, {"NONE": 5, "PLANNING": 15, "IN_PLACE": 45, "REVIEWED": 35}))
        team = str(weighted(rng, {"NONE": 10, "VIRTUAL": 45, "CO_LOCATED": 45}))
        protocol = str(weighted(rng, {"NONE": 8, "DRAFT": 22, "SIGNED": 70}))
        return {
            "cse_strategy": strategy,
            "reviewed_on": (
                first.end - timedelta(days=rng.randint(10, 300))
                if strategy == "REVIEWED"
                else (first.end - timedelta(days=rng.randint(400, 900)) if strategy == "IN_PLACE" else None)
            ),
            "cse_lead_named": "Y" if rng.random() < 0.85 else "N",
            "multi_agency_team": team,
            "teams": {
                "team_police": "Y" if rng.random() < 0.9 else "N",
                "team_health": "Y" if rng.random() < 0.75 else "N",
                "team_social_care": "Y",
                "team_education": "Y" if rng.random() < 0.7 else "N",
                "team_youth_justice": "Y" if rng.random() < 0.6 else "N",
                "team_voluntary": "Y" if rng.random() < 0.5 else "N",
            },
            "info_sharing_protocol": protocol,
            "protocol_includes_health": "Y" if protocol == "SIGNED" and rng.random() < 0.7 else "N",
            "staff_base": rng.randint(5, 80),
        }


def _jitter(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    return max(0, round(mean * rng.uniform(0.85, 1.15)))


def _first_index(record: Record, periods: list[Period]) -> int:
    for index, period in enumerate(periods):
        if record.identified_on <= period.end:
            return index
    return len(periods)
