"""Injected breaches: each kind breaks one rule in one place and produces exactly one finding.

The convention is the one in docs/DEVELOPING.md ("Where a finding points"): a value rule points
at the value's cell; a rule over several fields at the cell of the first field it lists; XS-*
at the Activity value cell; STRUCT-01/03 at the header cell; STRUCT-02 at no cell. A rule whose
inputs are blank or fail their type check stays quiet, so each kind below is built so that no
other rule notices it:
- a changed date of birth never touches identified_on, so the Activity counts stay right;
- identified_on is only moved (CHD-11) for an open case identified before the period, which was
  not counted as new either way; closures are only moved within "closed" (CHD-14, CHD-15), so
  rows open at the period end never increase;
- rows taking part in cross-council cases are never touched;
- VAL-09 (an unreadable period) silences every rule that needs the period's dates, so it is
  never combined with the kinds that depend on them;
- two kinds never touch the same field of a key/value sheet, nor the same child.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from schemas.calendar import Period
from schemas.identifiers import MASK, UPN_ALPHABET, looks_like_identifier, nhs_check_digit, upn_check_letter
from schemas.register import Council, Register
from schemas.standard import Standard
from synth.returns import ReturnDoc
from synth.world import add_years, day_between
from transforms.findings import column_letter


@dataclass(frozen=True)
class Expected:
    kind: str
    rule: str
    sheet: str
    field: str | None
    where: str  # "value", "header" or "absent"
    row: int | None = None  # Children row index (0-based) for a value finding
    header: str | None = None  # for "header": the header text
    occurrence: int = 0  # for "header": which occurrence of the header (0 = first)


@dataclass(frozen=True)
class Kind:
    name: str
    rule: str
    apply: Callable[[Injector], list[Expected] | None]
    claims: tuple[str, ...] = ()  # key/value fields or Children columns this kind edits
    needs_period: bool = False  # the rule reads the period's dates (silenced by VAL-09)
    order: int = 1  # 0 Children rows, 1 columns and key/value fields, 2 cross-sheet counts
    # whether the kind can be made in this council's return for this period (None: always)
    applies: Callable[[Council, Period, Register], bool] | None = None

    def can_apply(self, council: Council, period: Period, register: Register) -> bool:
        return self.applies is None or self.applies(council, period, register)


class Injector:
    def __init__(
        self, doc: ReturnDoc, rng: random.Random, *, register: Register, standard: Standard, council_codes: list[str]
    ) -> None:
        self.doc = doc
        self.rng = rng
        self.register = register
        self.standard = standard
        self.council_codes = council_codes  # councils in operation during the period
        self.used_rows: set[int] = set()
        self.period = doc.period

    # ---- helpers

    def pick(self, test: Callable[[dict[str, Any]], bool], count: int = 1) -> list[int] | None:
        candidates = [
            i
            for i, row in enumerate(self.doc.rows)
            if i not in self.used_rows and self.doc.sources[i].role is None and test(row)
        ]
        if len(candidates) < count:
            return None
        chosen = sorted(self.rng.sample(candidates, count))
        self.used_rows.update(chosen)
        return chosen

    def one(self, test: Callable[[dict[str, Any]], bool]) -> int | None:
        chosen = self.pick(test)
        return chosen[0] if chosen else None

    def in_period(self, d: object) -> bool:
        return isinstance(d, date) and self.period.start <= d <= self.period.end


def _child(kind: str, rule: str, field: str, row: int) -> list[Expected]:
    return [Expected(kind, rule, "Children", field, "value", row=row)]


def _kv(kind: str, rule: str, sheet: str, field: str) -> list[Expected]:
    return [Expected(kind, rule, sheet, field, "value")]


def _no_feb29(d: date) -> date:
    return d + timedelta(days=1) if (d.month, d.day) == (2, 29) else d


# ---- Children rows ------------------------------------------------------------------------


def _row_edit(  # noqa: PLR0917
    kind: str,
    rule: str,
    field: str,
    test: Callable[[Injector, dict[str, Any]], bool],
    edit: Callable[[Injector, dict[str, Any]], None],
) -> Callable[[Injector], list[Expected] | None]:
    def apply(x: Injector) -> list[Expected] | None:
        i = x.one(lambda row: test(x, row))
        if i is None:
            return None
        edit(x, x.doc.rows[i])
        return _child(kind, rule, field, i)

    return apply


def _any(x: Injector, row: dict[str, Any]) -> bool:
    return True


def _closed(x: Injector, row: dict[str, Any]) -> bool:
    return row["closed_on"] is not None


def _open(x: Injector, row: dict[str, Any]) -> bool:
    return row["closed_on"] is None


def _has_upn(x: Injector, row: dict[str, Any]) -> bool:
    return row["upn"] is not None


def _has_nhs(x: Injector, row: dict[str, Any]) -> bool:
    return row["nhs_number"] is not None


def _missing(x: Injector, row: dict[str, Any]) -> bool:
    return row["missing_episodes"] > 0


def _set(**values: Any) -> Callable[[Injector, dict[str, Any]], None]:
    def edit(x: Injector, row: dict[str, Any]) -> None:
        row.update(values)

    return edit


def _bad_dob(x: Injector, row: dict[str, Any]) -> None:
    row["date_of_birth"] = f"31/02/{row['date_of_birth'].year}"


def _long_id(x: Injector, row: dict[str, Any]) -> None:
    row["local_child_id"] = (str(row["local_child_id"]) + "-" + "0" * 40)[:41]


def _upn_format(x: Injector, row: dict[str, Any]) -> None:
    row["upn"] = row["upn"][:12]


def _upn_letter(x: Injector, row: dict[str, Any]) -> None:
    upn = row["upn"]
    wrong = [c for c in UPN_ALPHABET if c != upn[0]]
    row["upn"] = x.rng.choice(wrong) + upn[1:]


def _upn_la(x: Injector, row: dict[str, Any]) -> None:
    known = x.register.la_numbers()
    bad = next(n for n in (f"{v:03d}" for v in range(999, 99, -1)) if n not in known)
    body = bad + row["upn"][4:]
    row["upn"] = upn_check_letter(body) + body


def _nhs_short(x: Injector, row: dict[str, Any]) -> None:
    row["nhs_number"] = row["nhs_number"][:9]


def _nhs_check(x: Injector, row: dict[str, Any]) -> None:
    nhs = row["nhs_number"]
    row["nhs_number"] = nhs[:9] + str((int(nhs[9]) + x.rng.randint(1, 9)) % 10)


def _id_is_an_nhs_number(x: Injector, row: dict[str, Any]) -> None:
    """An NHS number (valid, but no child's) typed as the child's local_child_id (CHD-25)."""
    while True:
        first_nine = f"{x.rng.randint(10**8, 10**9 - 1)}"
        digit = nhs_check_digit(first_nine)
        if digit is not None:
            row["local_child_id"] = first_nine + str(digit)
            return


def _adult_at_identification(x: Injector, row: dict[str, Any]) -> None:
    row["date_of_birth"] = _no_feb29(add_years(row["identified_on"], -18) - timedelta(days=x.rng.randint(10, 200)))


def _born_after_identification(x: Injector, row: dict[str, Any]) -> None:
    row["date_of_birth"] = _no_feb29(row["identified_on"] + timedelta(days=x.rng.randint(1, 30)))


def _identified_before_period_young(x: Injector, row: dict[str, Any]) -> bool:
    return (
        row["closed_on"] is None
        and row["identified_on"] < x.period.start
        and add_years(row["date_of_birth"], 18) > x.period.end + timedelta(days=40)
    )


def _identified_after_end(x: Injector, row: dict[str, Any]) -> None:
    row["identified_on"] = x.period.end + timedelta(days=x.rng.randint(1, 20))


def _closed_long_after_identified(x: Injector, row: dict[str, Any]) -> bool:
    return row["closed_on"] is not None and row["identified_on"] <= x.period.start - timedelta(days=10)


def _closed_before_period(x: Injector, row: dict[str, Any]) -> None:
    gap = (x.period.start - row["identified_on"]).days
    row["closed_on"] = x.period.start - timedelta(days=x.rng.randint(1, min(30, gap - 1)))


def _identified_in_period_late(x: Injector, row: dict[str, Any]) -> bool:
    return x.in_period(row["identified_on"]) and row["identified_on"] >= x.period.start + timedelta(days=5)


def _closed_before_identified(x: Injector, row: dict[str, Any]) -> None:
    gap = (row["identified_on"] - x.period.start).days
    row["closed_on"] = row["identified_on"] - timedelta(days=x.rng.randint(1, min(4, gap)))
    if row["closure_reason"] is None:
        row["closure_reason"] = "RISK_REDUCED"


def _moved_to_defunct(x: Injector, row: dict[str, Any]) -> None:
    own = x.doc.council.council_code
    defunct = [
        c.council_code
        for c in x.register.all()
        if not c.in_operation_during(x.period) and not x.register.same_council(c.council_code, own)
    ]
    row["closure_reason"], row["moved_to_council"] = "MOVED_OUT", x.rng.choice(defunct)


def _moved_to_self(x: Injector, row: dict[str, Any]) -> None:
    row["closure_reason"], row["moved_to_council"] = "MOVED_OUT", x.doc.council.council_code


def _moved_to_without_move(x: Injector, row: dict[str, Any]) -> None:
    others = [c for c in x.council_codes if c != x.doc.council.council_code]
    row["moved_to_council"] = x.rng.choice(others)


def _turns_18_in_period(x: Injector, row: dict[str, Any]) -> bool:
    return row["closed_on"] is None and row["identified_on"] <= x.period.end - timedelta(days=60)


def _adult_at_end(x: Injector, row: dict[str, Any]) -> None:
    lo = max(row["identified_on"] + timedelta(days=30), x.period.end - timedelta(days=60))
    birthday = day_between(x.rng, lo, x.period.end - timedelta(days=1))
    dob = add_years(birthday, -18)
    if (dob.month, dob.day) == (2, 29) or add_years(dob, 18) > x.period.end:
        dob = add_years(lo, -18) - timedelta(days=1)
    row["date_of_birth"] = dob


def _chd01(x: Injector) -> list[Expected] | None:
    pair = x.pick(lambda row: True, 2)
    if pair is None:
        return None
    first, second = pair
    x.doc.rows[second]["local_child_id"] = x.doc.rows[first]["local_child_id"]
    return _child("CHD-01", "CHD-01", "local_child_id", second)


# ---- Children columns ---------------------------------------------------------------------


def _unknown_column(x: Injector) -> list[Expected]:
    name = "worker_name"
    x.doc.columns.append(name)
    x.doc.extra_columns[name] = [x.rng.choice(["A Smith", "J Patel", None, "K Jones"]) for _ in x.doc.rows]
    return [Expected("STRUCT-01/Children", "STRUCT-01", "Children", None, "header", header=name)]


def _drop_column(x: Injector) -> list[Expected]:
    x.doc.columns.remove("looked_after")
    return [Expected("STRUCT-02/Children", "STRUCT-02", "Children", "looked_after", "absent")]


def _repeat_column(x: Injector) -> list[Expected]:
    x.doc.columns.append("ind_truancy")
    return [
        Expected(
            "STRUCT-03/Children", "STRUCT-03", "Children", "ind_truancy", "header", header="ind_truancy", occurrence=1
        )
    ]


# ---- key/value sheets ---------------------------------------------------------------------


def _kv_set(
    kind: str, rule: str, sheet: str, field: str, value: Callable[[Injector], Any]
) -> Callable[[Injector], list[Expected] | None]:
    def apply(x: Injector) -> list[Expected] | None:
        x.doc.set_kv(sheet, field, value(x))
        return _kv(kind, rule, sheet, field)

    return apply


def _unknown_row(x: Injector) -> list[Expected]:
    x.doc.kv["Strategy"].append(["cse_coordinator", "Named"])
    return [Expected("STRUCT-01/Strategy", "STRUCT-01", "Strategy", None, "header", header="cse_coordinator")]


def _drop_row(x: Injector) -> list[Expected]:
    x.doc.kv["Strategy"] = [e for e in x.doc.kv["Strategy"] if e[0] != "staff_trained"]
    return [Expected("STRUCT-02/Strategy", "STRUCT-02", "Strategy", "staff_trained", "absent")]


def _repeat_row(x: Injector) -> list[Expected]:
    value = x.doc.kv_value("Activity", "referrals_to_police")
    x.doc.kv["Activity"].append(["referrals_to_police", value])
    return [
        Expected(
            "STRUCT-03/Activity",
            "STRUCT-03",
            "Activity",
            "referrals_to_police",
            "header",
            header="referrals_to_police",
            occurrence=1,
        )
    ]


def _other_la_number(x: Injector) -> str:
    own = x.doc.council
    numbers = sorted({x.register.get(c).la_number for c in x.council_codes} - {own.la_number})
    return x.rng.choice(numbers)


def _earlier_codes(council: Council, period: Period, register: Register) -> list[str]:
    """The council's own earlier codes (a recode: same council, same LA number) that were not in
    operation during the period."""
    return sorted(
        c.council_code
        for c in register.all()
        if c.council_code != council.council_code
        and register.same_council(c.council_code, council.council_code)
        and c.la_number == council.la_number
        and not c.in_operation_during(period)
    )


def _abt01(x: Injector) -> list[Expected] | None:
    """The council's own earlier code (a recode), not in operation during the period: ABT-05 and
    ABT-02 see the same council and the same LA number, so only ABT-01 fires."""
    earlier = _earlier_codes(x.doc.council, x.period, x.register)
    if not earlier:
        return None
    x.doc.set_kv("About", "council_code", x.rng.choice(earlier))
    return _kv("ABT-01", "ABT-01", "About", "council_code")


def _str01(x: Injector) -> list[Expected]:
    x.doc.set_kv("Strategy", "cse_strategy", "REVIEWED")
    x.doc.set_kv("Strategy", "strategy_reviewed_on", x.period.end - timedelta(days=x.rng.randint(380, 700)))
    return _kv("STR-01", "STR-01", "Strategy", "cse_strategy")


def _str02(x: Injector) -> list[Expected]:
    if x.doc.kv_value("Strategy", "cse_strategy") == "REVIEWED":
        x.doc.set_kv("Strategy", "cse_strategy", "IN_PLACE")
    x.doc.set_kv("Strategy", "strategy_reviewed_on", x.period.end + timedelta(days=x.rng.randint(1, 30)))
    return _kv("STR-02", "STR-02", "Strategy", "strategy_reviewed_on")


TEAMS = ("team_police", "team_health", "team_social_care", "team_education", "team_youth_justice", "team_voluntary")


def _str03(x: Injector) -> list[Expected]:
    x.doc.set_kv("Strategy", "multi_agency_team", "NONE")
    chosen = x.rng.choice(TEAMS)
    for team in TEAMS:
        x.doc.set_kv("Strategy", team, "Y" if team == chosen else "N")
    return _kv("STR-03", "STR-03", "Strategy", chosen)


def _str04(x: Injector) -> list[Expected]:
    x.doc.set_kv("Strategy", "info_sharing_protocol", x.rng.choice(["DRAFT", "NONE"]))
    x.doc.set_kv("Strategy", "protocol_includes_health", "Y")
    return _kv("STR-04", "STR-04", "Strategy", "protocol_includes_health")


def _act01(x: Injector) -> list[Expected]:
    missing = x.doc.kv_value("Activity", "children_missing")
    if missing >= 1:
        x.doc.set_kv("Activity", "missing_episodes", missing - 1)
    else:
        x.doc.set_kv("Activity", "children_missing", x.doc.kv_value("Activity", "missing_episodes") + 1)
    return _kv("ACT-01", "ACT-01", "Activity", "missing_episodes")


def _act02(x: Injector) -> list[Expected]:
    offered = x.doc.kv_value("Activity", "return_interviews_offered")
    x.doc.set_kv("Activity", "return_interviews_within_72h", offered + 1)
    return _kv("ACT-02", "ACT-02", "Activity", "return_interviews_offered")


def _xs01(x: Injector) -> list[Expected] | None:
    surely_open = sum(
        1
        for row in x.doc.rows
        if row["closed_on"] is None and isinstance(row["identified_on"], date) and row["identified_on"] <= x.period.end
    )
    if surely_open < 1:
        return None
    x.doc.set_kv("Activity", "children_open_at_end", surely_open - 1)
    return _kv("XS-01", "XS-01", "Activity", "children_open_at_end")


def _xs02(x: Injector) -> list[Expected]:
    new = sum(1 for row in x.doc.rows if x.in_period(row["identified_on"]))
    x.doc.set_kv("Activity", "children_newly_identified", new - 1 if new > 0 and x.rng.random() < 0.5 else new + 1)
    return _kv("XS-02", "XS-02", "Activity", "children_newly_identified")


LONG_SIGNATORY = (
    "Chair of the Local Safeguarding Children Board, on behalf of the Board and of its partner "
    "agencies, the Director of Children's Services, the Chief Constable and the Clinical "
    "Commissioning Group, after the meeting of the Board's quality assurance sub-group"
)


def _row_kind(
    name: str,
    field: str,
    test: Callable[[Injector, dict[str, Any]], bool],
    edit: Callable[[Injector, dict[str, Any]], None],
    *,
    needs_period: bool = False,
) -> Kind:
    rule = name.split("/", maxsplit=1)[0]
    return Kind(name, rule, _row_edit(name, rule, field, test, edit), needs_period=needs_period, order=0)


def _kv_kind(
    name: str, sheet: str, field: str, value: Callable[[Injector], Any], *, needs_period: bool = False
) -> Kind:
    rule = name.split("/", maxsplit=1)[0]
    return Kind(
        name, rule, _kv_set(name, rule, sheet, field, value), claims=(f"{sheet}.{field}",), needs_period=needs_period
    )


def _has_id(x: Injector, row: dict[str, Any]) -> bool:
    return _has_upn(x, row) or _has_nhs(x, row)


KINDS: tuple[Kind, ...] = (
    # Children rows
    _row_kind("VAL-01/Children", "ethnicity", _any, _set(ethnicity=None)),
    _row_kind("VAL-02/Children", "sex", _any, _set(sex="X")),
    _row_kind("VAL-03/Children", "date_of_birth", _any, _bad_dob),
    _row_kind("VAL-04/Children", "missing_episodes", _any, _set(missing_episodes="two")),
    _row_kind("VAL-05/Children", "local_child_id", _any, _long_id),
    _row_kind("CHD-25", "local_child_id", _any, _id_is_an_nhs_number),
    _row_kind("VAL-06/Children", "moved_from_council", _any, _set(moved_from_council="E06999999")),
    Kind("CHD-01", "CHD-01", _chd01, order=0),
    _row_kind("CHD-02", "upn", _any, _set(upn=None, nhs_number=None, no_id_reason=None)),
    _row_kind("CHD-03", "no_id_reason", _has_id, _set(no_id_reason="NOT_KNOWN")),
    _row_kind("CHD-04", "upn", _has_upn, _upn_format),
    _row_kind("CHD-05", "upn", _has_upn, _upn_letter),
    _row_kind("CHD-06", "upn", _has_upn, _upn_la),
    _row_kind("CHD-07", "nhs_number", _has_nhs, _nhs_short),
    _row_kind("CHD-08", "nhs_number", _has_nhs, _nhs_check),
    _row_kind("CHD-09", "date_of_birth", _closed, _adult_at_identification),
    _row_kind("CHD-10", "date_of_birth", _any, _born_after_identification),
    _row_kind("CHD-11", "identified_on", _identified_before_period_young, _identified_after_end, needs_period=True),
    _row_kind("CHD-12", "ind_missing", _missing, _set(ind_missing="N")),
    _row_kind("CHD-13", "return_interview_offered", _missing, _set(return_interview_offered=None)),
    _row_kind("CHD-14", "closed_on", _closed_long_after_identified, _closed_before_period, needs_period=True),
    _row_kind("CHD-15", "closed_on", _identified_in_period_late, _closed_before_identified),
    _row_kind("CHD-16", "closure_reason", _closed, _set(closure_reason=None)),
    _row_kind("CHD-17", "closed_on", _open, _set(closure_reason="RISK_REDUCED")),
    _row_kind("CHD-18", "moved_to_council", _closed, _set(closure_reason="MOVED_OUT", moved_to_council=None)),
    _row_kind("CHD-19", "moved_to_council", _closed, _moved_to_defunct, needs_period=True),
    _row_kind("CHD-20", "moved_to_council", _closed, _moved_to_self),
    _row_kind("CHD-21", "moved_to_council", _closed, _moved_to_without_move),
    _row_kind("CHD-22", "date_of_birth", _turns_18_in_period, _adult_at_end, needs_period=True),
    _row_kind("CHD-23", "risk_level", _any, _set(risk_level="HIGH", referred_to_police="N")),
    _row_kind("CHD-24", "moved_from_child_id", _any, _set(moved_from_child_id="C0004711")),
    # Children columns
    Kind("STRUCT-01/Children", "STRUCT-01", _unknown_column, claims=("Children.worker_name",)),
    Kind("STRUCT-02/Children", "STRUCT-02", _drop_column, claims=("Children.looked_after",)),
    Kind("STRUCT-03/Children", "STRUCT-03", _repeat_column, claims=("Children.ind_truancy",)),
    # About
    _kv_kind("VAL-05/About", "About", "signed_off_by", lambda x: LONG_SIGNATORY),
    _kv_kind("VAL-07", "About", "prepared_by_email", lambda x: "CSE returns team"),
    _kv_kind("VAL-08", "About", "la_number", lambda x: x.doc.council.la_number[:2]),
    _kv_kind("VAL-09", "About", "period", lambda x: f"Q{x.period.quarter} {x.period.year}"),
    _kv_kind("VAL-03/About", "About", "signed_off_on", lambda x: "end of the quarter"),
    _kv_kind("ABT-02", "About", "la_number", _other_la_number),
    Kind(
        "ABT-01",
        "ABT-01",
        _abt01,
        claims=("About.council_code",),
        needs_period=True,
        applies=lambda council, period, register: bool(_earlier_codes(council, period, register)),
    ),
    _kv_kind(
        "ABT-04",
        "About",
        "signed_off_on",
        lambda x: x.period.end - timedelta(days=x.rng.randint(1, 20)),
        needs_period=True,
    ),
    # Strategy
    Kind("STRUCT-01/Strategy", "STRUCT-01", _unknown_row, claims=("Strategy.cse_coordinator",)),
    Kind("STRUCT-02/Strategy", "STRUCT-02", _drop_row, claims=("Strategy.staff_trained",)),
    _kv_kind("VAL-02/Strategy", "Strategy", "cse_lead_named", lambda x: "Yes"),
    Kind(
        "STR-01", "STR-01", _str01, claims=("Strategy.cse_strategy", "Strategy.strategy_reviewed_on"), needs_period=True
    ),
    Kind(
        "STR-02", "STR-02", _str02, claims=("Strategy.cse_strategy", "Strategy.strategy_reviewed_on"), needs_period=True
    ),
    Kind("STR-03", "STR-03", _str03, claims=("Strategy.multi_agency_team", *(f"Strategy.{t}" for t in TEAMS))),
    Kind("STR-04", "STR-04", _str04, claims=("Strategy.info_sharing_protocol", "Strategy.protocol_includes_health")),
    # Activity
    Kind("STRUCT-03/Activity", "STRUCT-03", _repeat_row, claims=("Activity.referrals_to_police",)),
    _kv_kind("VAL-01/Activity", "Activity", "convictions", lambda x: None),
    _kv_kind("VAL-04/Activity", "Activity", "abduction_warning_notices", lambda x: "n/k"),
    Kind("ACT-01", "ACT-01", _act01, claims=("Activity.missing_episodes", "Activity.children_missing")),
    Kind(
        "ACT-02",
        "ACT-02",
        _act02,
        claims=("Activity.return_interviews_offered", "Activity.return_interviews_within_72h"),
    ),
    Kind("XS-01", "XS-01", _xs01, claims=("Activity.children_open_at_end",), needs_period=True, order=2),
    Kind("XS-02", "XS-02", _xs02, claims=("Activity.children_newly_identified",), needs_period=True, order=2),
)

KIND_NAMES: tuple[str, ...] = tuple(k.name for k in KINDS)
_BY_NAME = {k.name: k for k in KINDS}


def choose_kinds(rng: random.Random, error_rate: float, applicable: Callable[[Kind], bool] | None = None) -> list[str]:
    """Each kind that can be made in this return independently with probability `error_rate`."""
    return _compatible([k for k in KINDS if rng.random() < error_rate and (applicable is None or applicable(k))])


def _compatible(chosen: list[Kind]) -> list[str]:
    """VAL-09 excludes the period readers; two kinds claiming one field keep the first."""
    if any(k.name == "VAL-09" for k in chosen):
        chosen = [k for k in chosen if not k.needs_period]
    claimed: set[str] = set()
    kept = []
    for kind in chosen:
        if claimed.intersection(kind.claims):
            continue
        claimed.update(kind.claims)
        kept.append(kind.name)
    return kept


def cover_every_kind(chosen: dict[Any, list[str]], applicable: Callable[[Any, Kind], bool], rng: random.Random) -> None:
    """Make sure every kind is injected somewhere: a kind no return drew (a rare one, such as
    ABT-01, which only a recoded council's return can carry) goes to a return where it applies,
    ahead of whatever it would clash with there. Changes `chosen` in place."""
    drawn = {name for names in chosen.values() for name in names}
    for kind in KINDS:
        if kind.name in drawn:
            continue
        hosts = [key for key in sorted(chosen, key=str) if applicable(key, kind)]
        if not hosts:
            continue
        host = rng.choice(hosts)
        others = [_BY_NAME[n] for n in chosen[host]]
        # VAL-09 silences the period readers: the kind being placed wins over whichever it meets
        if kind.needs_period:
            others = [k for k in others if k.name != "VAL-09"]
        elif kind.name == "VAL-09":
            others = [k for k in others if not k.needs_period]
        chosen[host] = _compatible([kind, *others])
        assert kind.name in chosen[host]
        drawn.update(chosen[host])


def inject(injector: Injector, names: list[str]) -> list[Expected]:
    out: list[Expected] = []
    for kind in sorted((_BY_NAME[n] for n in names), key=lambda k: k.order):
        expected = kind.apply(injector)
        if expected:
            out.extend(expected)
    return out


def severity(standard: Standard, rule: str) -> str:
    return standard.rule(rule).severity


def locate(doc: ReturnDoc, expected: Expected) -> tuple[str | None, str | None]:
    """(cell, local_child_id) of an expected finding, in the file as written."""
    if expected.where == "absent":
        return None, None
    if expected.sheet == "Children":
        if expected.where == "header":
            positions = [i for i, c in enumerate(doc.columns) if c == expected.header]
            return f"Children!{column_letter(positions[expected.occurrence])}1", None
        assert expected.row is not None and expected.field is not None
        column = column_letter(doc.columns.index(expected.field))
        child_id = str(doc.rows[expected.row]["local_child_id"])
        # an identifier typed as the id (CHD-25) is masked in findings, and never in the ground truth
        return f"Children!{column}{expected.row + 2}", MASK if looks_like_identifier(child_id) else child_id
    entries = doc.kv[expected.sheet]
    if expected.where == "header":
        positions = [i for i, e in enumerate(entries) if e[0] == expected.header]
        return f"{expected.sheet}!A{positions[expected.occurrence] + 2}", None
    position = next(i for i, e in enumerate(entries) if e[0] == expected.field)
    return f"{expected.sheet}!B{position + 2}", None
