"""The rule table: one mutation of the valid baseline per case, and the exact findings expected.

Every case names the rule it is about and whether that rule fires or stays quiet; `expected`
is the complete list of (rule, cell) the mutated return must give, so a case also proves that
one mistake gives one finding. Cells follow docs/DEVELOPING.md ("Where a finding points").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rules.baseline import (
    NHS,
    UPNS,
    ReturnData,
    child_cell,
    dt,
    keyvalue_cell,
    make_upn,
    wrong_nhs_digit,
    wrong_upn_letter,
)
from transforms.ingest.model import Hidden
from transforms.validate.model import PreviousReturn

Mutation = Callable[[ReturnData], None]


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    fires: bool
    mutate: Mutation
    expected: tuple[tuple[str, str | None], ...]
    options: dict[str, Any] = field(default_factory=dict)  # claimed_council, previous, today, ...


def kv(sheet: str, **values: Any) -> Mutation:
    def apply(d: ReturnData) -> None:
        getattr(d, sheet.lower()).update(values)

    return apply


def ch(who: str, /, **values: Any) -> Mutation:
    def apply(d: ReturnData) -> None:
        d.child(who).update(values)

    return apply


def both(*mutations: Mutation) -> Mutation:
    def apply(d: ReturnData) -> None:
        for mutation in mutations:
            mutation(d)

    return apply


def nothing(d: ReturnData) -> None:
    return None


def extra_header(sheet: str, text: str) -> Mutation:
    return lambda d: d.extra_headers.setdefault(sheet, []).append(text)


def duplicate_header(sheet: str, name: str) -> Mutation:
    return lambda d: d.duplicate_headers.setdefault(sheet, []).append(name)


def drop(sheet: str, name: str) -> Mutation:
    return lambda d: d.drop_fields.setdefault(sheet, []).append(name)


A, S, T = "About", "Strategy", "Activity"


def a(name: str) -> str:
    return keyvalue_cell(A, name)


def s(name: str) -> str:
    return keyvalue_cell(S, name)


def t(name: str) -> str:
    return keyvalue_cell(T, name)


def blank_children(d: ReturnData) -> None:
    from schemas.standard import load_standard

    d.children.clear()
    d.drop_fields["Children"] = list(load_standard().sheet("Children").field_names)


def error_cell(cell: str, text: str) -> Mutation:
    def apply(d: ReturnData) -> None:
        d.error_cells[cell] = text

    return apply


def hide(*parts: Hidden) -> Mutation:
    def apply(d: ReturnData) -> None:
        d.hidden.extend(parts)

    return apply


def c(name: str, local_child_id: str) -> str:
    return child_cell(name, local_child_id)


PREVIOUS = {
    "children_newly_identified": 4,
    "children_open_at_end": 3,
    "referrals_to_police": 2,
    "missing_episodes": 2,
    "children_missing": 1,
    "return_interviews_offered": 1,
    "return_interviews_within_72h": 1,
    "abduction_warning_notices": 0,
    "investigations_started": 1,
    "charges": 0,
    "convictions": 0,
}


def previous(**changes: int) -> PreviousReturn:
    return PreviousReturn(period="2024-Q4", activity={**PREVIOUS, **changes})


CASES: tuple[Case, ...] = (
    # ---- structure
    Case("unknown row", "STRUCT-01", True, extra_header(S, "cse_coordinator"), (("STRUCT-01", "Strategy!A15"),)),
    Case(
        "unknown column", "STRUCT-01", True, extra_header("Children", "worker_name"), (("STRUCT-01", "Children!AA1"),)
    ),
    Case("duplicate only", "STRUCT-01", False, duplicate_header(T, "charges"), (("STRUCT-03", "Activity!A13"),)),
    Case("missing row", "STRUCT-02", True, drop(S, "staff_trained"), (("STRUCT-02", None),)),
    Case("missing column", "STRUCT-02", True, drop("Children", "looked_after"), (("STRUCT-02", None),)),
    Case("optional column absent", "STRUCT-02", False, drop("Children", "moved_from_child_id"), ()),
    Case("optional row absent", "STRUCT-02", False, drop(A, "signed_off_by"), ()),
    Case(
        "repeated row", "STRUCT-03", True, duplicate_header(T, "referrals_to_police"), (("STRUCT-03", "Activity!A13"),)
    ),
    Case("unknown only", "STRUCT-03", False, extra_header(A, "notes"), (("STRUCT-01", "About!A9"),)),
    Case(
        "error cell in free text",
        "STRUCT-04",
        True,
        both(ch("C002", local_child_id="#REF!"), error_cell(c("local_child_id", "C002"), "#REF!")),
        (("STRUCT-04", c("local_child_id", "C002")),),
    ),
    Case(
        "error cell in a coded field",
        "STRUCT-04",
        False,
        both(ch("C002", sex="#N/A"), error_cell(c("sex", "C002"), "#N/A")),
        (("VAL-02", c("sex", "C002")),),
    ),
    Case(
        "blank Children sheet",
        "STRUCT-06",
        True,
        blank_children,
        (("STRUCT-06", None), ("XS-02", t("children_newly_identified"))),
    ),
    Case(
        "header row and no children",
        "STRUCT-06",
        False,
        lambda d: d.children.clear(),
        (("XS-02", t("children_newly_identified")),),
    ),
    Case("hidden rows", "STRUCT-05", True, hide(Hidden("Children", "rows", ("3",), 1)), (("STRUCT-05", None),)),
    Case("hidden sheet", "STRUCT-05", True, hide(Hidden("Strategy", "sheet")), (("STRUCT-05", None),)),
    Case("nothing hidden", "STRUCT-05", False, hide(), ()),
    # ---- values
    Case("blank ethnicity", "VAL-01", True, ch("C002", ethnicity=None), (("VAL-01", c("ethnicity", "C002")),)),
    Case("blank count", "VAL-01", True, kv(T, convictions=None), (("VAL-01", t("convictions")),)),
    Case("blank as spaces", "VAL-01", True, kv(A, prepared_by_email="   "), (("VAL-01", a("prepared_by_email")),)),
    Case("optional blank", "VAL-01", False, kv(A, signed_off_by=None, signed_off_on=None), ()),
    Case("bad sex", "VAL-02", True, ch("C001", sex="X"), (("VAL-02", c("sex", "C001")),)),
    Case("lower-case code", "VAL-02", True, kv(S, cse_lead_named="y"), (("VAL-02", s("cse_lead_named")),)),
    Case("code with spaces", "VAL-02", False, both(kv(S, cse_lead_named=" Y "), ch("C002", sex=" M")), ()),
    Case(
        "impossible date",
        "VAL-03",
        True,
        ch("C002", date_of_birth="31/02/2010"),
        (("VAL-03", c("date_of_birth", "C002")),),
    ),
    Case(
        "words for a date", "VAL-03", True, kv(A, signed_off_on="end of the quarter"), (("VAL-03", a("signed_off_on")),)
    ),
    Case("US date", "VAL-03", True, ch("C002", date_of_birth="2010/09/30"), (("VAL-03", c("date_of_birth", "C002")),)),
    Case(
        "UK and ISO text dates",
        "VAL-03",
        False,
        both(
            ch("C001", date_of_birth="01/05/2010"),
            ch("C002", identified_on="2024-11-01"),
            kv(A, signed_off_on="15/07/2025"),
        ),
        (),
    ),
    Case(
        "words for a count",
        "VAL-04",
        True,
        ch("C002", missing_episodes="two"),
        (("VAL-04", c("missing_episodes", "C002")),),
    ),
    Case(
        "negative count",
        "VAL-04",
        True,
        kv(T, abduction_warning_notices=-1),
        (("VAL-04", t("abduction_warning_notices")),),
    ),
    Case("fractional count", "VAL-04", True, kv(S, staff_trained=2.5), (("VAL-04", s("staff_trained")),)),
    Case("whole float and digit text", "VAL-04", False, both(kv(S, staff_trained=12.0), kv(T, charges="0")), ()),
    Case("long id", "VAL-05", True, ch("C002", local_child_id="X" * 37), (("VAL-05", c("local_child_id", "C002")),)),
    Case("id of 36", "VAL-05", False, ch("C002", local_child_id="X" * 36), ()),
    Case(
        "unknown council",
        "VAL-06",
        True,
        ch("C004", moved_from_council="E06999999"),
        (("VAL-06", c("moved_from_council", "C004")),),
    ),
    Case("terminated council moved from", "VAL-06", False, ch("C004", moved_from_council="E10000021"), ()),
    Case(
        "not an email",
        "VAL-07",
        True,
        kv(A, prepared_by_email="CSE returns team"),
        (("VAL-07", a("prepared_by_email")),),
    ),
    Case("plus email", "VAL-07", False, kv(A, prepared_by_email="cse.team+q1@hartlepool.gov.uk"), ()),
    Case("two digits", "VAL-08", True, kv(A, la_number="80"), (("VAL-08", a("la_number")),)),
    Case("LA number as a float", "VAL-08", False, kv(A, la_number=805.0), ()),
    Case("words for a period", "VAL-09", True, kv(A, period="Q1 2025"), (("VAL-09", a("period")),)),
    Case("period with spaces", "VAL-09", False, kv(A, period=" 2025-Q1 "), ()),
    # ---- About
    Case(
        "terminated council",
        "ABT-01",
        True,
        kv(A, council_code="E10000021", la_number="928"),
        (("ABT-01", a("council_code")),),
    ),
    Case("new unitary", "ABT-01", False, both(kv(A, council_code="E06000061", la_number="940")), ()),
    Case("other LA number", "ABT-02", True, kv(A, la_number="806"), (("ABT-02", a("la_number")),)),
    Case("council not in register", "ABT-02", False, kv(A, council_code="E06999999"), (("VAL-06", a("council_code")),)),
    Case("future period", "ABT-03", True, nothing, (("ABT-03", a("period")),), {"today": date(2025, 3, 1)}),
    Case("period in progress", "ABT-03", False, nothing, (), {"today": date(2025, 4, 1)}),
    Case(
        "future period, dates compared with it",
        "ABT-03",
        True,
        kv(A, period="2026-Q1"),
        (("ABT-03", a("period")),),
        {"today": date(2025, 9, 1)},
    ),
    Case("signed before end", "ABT-04", True, kv(A, signed_off_on=dt("2025-06-20")), (("ABT-04", a("signed_off_on")),)),
    Case("signed on the end", "ABT-04", False, kv(A, signed_off_on=dt("2025-06-30")), ()),
    Case(
        "other council claimed",
        "ABT-05",
        True,
        nothing,
        (("ABT-05", a("council_code")),),
        {"claimed_council": "E06000002"},
    ),
    Case("other period claimed", "ABT-05", True, nothing, (("ABT-05", a("period")),), {"claimed_period": "2025-Q2"}),
    Case("claim matches", "ABT-05", False, nothing, (), {"claimed_council": "E06000001", "claimed_period": "2025-Q1"}),
    # ---- Strategy
    Case(
        "reviewed long ago",
        "STR-01",
        True,
        kv(S, strategy_reviewed_on=dt("2024-01-01")),
        (("STR-01", s("cse_strategy")),),
    ),
    Case("reviewed without date", "STR-01", True, kv(S, strategy_reviewed_on=None), (("STR-01", s("cse_strategy")),)),
    Case(
        "in place, old review",
        "STR-01",
        False,
        kv(S, cse_strategy="IN_PLACE", strategy_reviewed_on=dt("2020-01-01")),
        (),
    ),
    Case(
        "reviewed after the end",
        "STR-01",
        False,
        kv(S, strategy_reviewed_on=dt("2025-07-10")),
        (("STR-02", s("strategy_reviewed_on")),),
    ),
    Case(
        "review after end",
        "STR-02",
        True,
        kv(S, cse_strategy="IN_PLACE", strategy_reviewed_on=dt("2025-07-10")),
        (("STR-02", s("strategy_reviewed_on")),),
    ),
    Case("review on the end", "STR-02", False, kv(S, strategy_reviewed_on=dt("2025-06-30")), ()),
    Case(
        "team without a team",
        "STR-03",
        True,
        kv(
            S,
            multi_agency_team="NONE",
            team_police="N",
            team_health="Y",
            team_social_care="N",
            team_education="N",
            team_youth_justice="N",
            team_voluntary="N",
        ),
        (("STR-03", s("team_health")),),
    ),
    Case(
        "no team, all N",
        "STR-03",
        False,
        kv(
            S,
            multi_agency_team="NONE",
            team_police="N",
            team_health="N",
            team_social_care="N",
            team_education="N",
            team_youth_justice="N",
            team_voluntary="N",
        ),
        (),
    ),
    Case(
        "health in a draft",
        "STR-04",
        True,
        kv(S, info_sharing_protocol="DRAFT"),
        (("STR-04", s("protocol_includes_health")),),
    ),
    Case(
        "no health in a draft", "STR-04", False, kv(S, info_sharing_protocol="DRAFT", protocol_includes_health="N"), ()
    ),
    # ---- Activity
    Case(
        "fewer episodes than children", "ACT-01", True, kv(T, children_missing=3), (("ACT-01", t("missing_episodes")),)
    ),
    Case(
        "children missing unreadable",
        "ACT-01",
        False,
        kv(T, children_missing="x"),
        (("VAL-04", t("children_missing")),),
    ),
    Case(
        "more within 72h",
        "ACT-02",
        True,
        kv(T, return_interviews_within_72h=2),
        (("ACT-02", t("return_interviews_offered")),),
    ),
    Case("equal interviews", "ACT-02", False, kv(T, return_interviews_offered=2, return_interviews_within_72h=2), ()),
    # ---- Children
    Case("repeated id", "CHD-01", True, ch("C002", local_child_id="C001"), (("CHD-01", c("local_child_id", "C002")),)),
    Case(
        "two blank ids",
        "CHD-01",
        False,
        both(ch("C002", local_child_id=None), ch("C003", local_child_id=None)),
        (("VAL-01", c("local_child_id", "C002")), ("VAL-01", c("local_child_id", "C003"))),
    ),
    Case("no identifier", "CHD-02", True, ch("C004", upn=None, nhs_number=None), (("CHD-02", c("upn", "C004")),)),
    Case("NHS number only", "CHD-02", False, ch("C004", upn=None), ()),
    Case(
        "reason with identifier",
        "CHD-03",
        True,
        ch("C001", no_id_reason="NOT_KNOWN"),
        (("CHD-03", c("no_id_reason", "C001")),),
    ),
    Case("reason with a malformed UPN", "CHD-03", False, ch("C003", upn="R8050"), (("CHD-04", c("upn", "C003")),)),
    Case("short UPN", "CHD-04", True, ch("C001", upn=UPNS[0][:12]), (("CHD-04", c("upn", "C001")),)),
    Case("UPN spaced, lower case", "CHD-04", False, ch("C001", upn=f" {UPNS[0][:5].lower()} {UPNS[0][5:]} "), ()),
    Case(
        "wrong check letter", "CHD-05", True, ch("C001", upn=wrong_upn_letter(UPNS[0])), (("CHD-05", c("upn", "C001")),)
    ),
    Case("temporary UPN", "CHD-05", False, ch("C001", upn=make_upn(serial=77, temporary_letter="K")), ()),
    Case(
        "UPN of no council",
        "CHD-06",
        True,
        ch("C001", upn=make_upn(la="000", serial=3)),
        (("CHD-06", c("upn", "C001")),),
    ),
    Case(
        "bad letter and LA digits",
        "CHD-06",
        False,
        ch("C001", upn=wrong_upn_letter(make_upn(la="000", serial=3))),
        (("CHD-05", c("upn", "C001")),),
    ),
    Case("NHS too short", "CHD-07", True, ch("C002", nhs_number=NHS[1][:9]), (("CHD-07", c("nhs_number", "C002")),)),
    Case(
        "NHS spaced and as a number",
        "CHD-07",
        False,
        both(ch("C002", nhs_number=f"{NHS[1][:3]} {NHS[1][3:6]} {NHS[1][6:]}"), ch("C004", nhs_number=int(NHS[3]))),
        (),
    ),
    Case(
        "NHS check digit",
        "CHD-08",
        True,
        ch("C002", nhs_number=wrong_nhs_digit(NHS[1])),
        (("CHD-08", c("nhs_number", "C002")),),
    ),
    Case(
        "NHS with a letter",
        "CHD-08",
        False,
        ch("C002", nhs_number=NHS[1][:9] + "X"),
        (("CHD-07", c("nhs_number", "C002")),),
    ),
    Case(
        "adult when identified",
        "CHD-09",
        True,
        ch("C002", date_of_birth=dt("2005-01-01")),
        (("CHD-09", c("date_of_birth", "C002")),),
    ),
    Case("a day short of 18", "CHD-09", False, ch("C002", date_of_birth=dt("2006-11-02")), ()),
    Case(
        "born after identified",
        "CHD-10",
        True,
        ch("C002", date_of_birth=dt("2025-01-01")),
        (("CHD-10", c("date_of_birth", "C002")),),
    ),
    Case("identified at birth", "CHD-10", False, ch("C002", date_of_birth=dt("2024-11-01")), ()),
    Case(
        "identified after the end",
        "CHD-11",
        True,
        both(ch("C005", identified_on=dt("2025-07-05")), kv(T, children_newly_identified=3)),
        (("CHD-11", c("identified_on", "C005")),),
    ),
    Case("identified on the last day", "CHD-11", False, ch("C005", identified_on=dt("2025-06-30")), ()),
    Case(
        "missing but not flagged", "CHD-12", True, ch("C001", ind_missing="N"), (("CHD-12", c("ind_missing", "C001")),)
    ),
    Case(
        "episodes unreadable",
        "CHD-12",
        False,
        ch("C001", missing_episodes="two", ind_missing="N"),
        (("VAL-04", c("missing_episodes", "C001")),),
    ),
    Case(
        "interview not said",
        "CHD-13",
        True,
        ch("C001", return_interview_offered=None),
        (("CHD-13", c("return_interview_offered", "C001")),),
    ),
    Case(
        "no episodes, no interview", "CHD-13", False, ch("C001", missing_episodes=0, return_interview_offered=None), ()
    ),
    Case(
        "closed before the period",
        "CHD-14",
        True,
        ch("C002", closed_on=dt("2025-03-01")),
        (("CHD-14", c("closed_on", "C002")),),
    ),
    Case(
        "closed date unreadable", "CHD-14", False, ch("C002", closed_on="soon"), (("VAL-03", c("closed_on", "C002")),)
    ),
    Case("closed on the first day", "CHD-14", False, ch("C002", closed_on=dt("2025-04-01")), ()),
    Case(
        "closed before identified",
        "CHD-15",
        True,
        ch("C003", closed_on=dt("2025-05-20")),
        (("CHD-15", c("closed_on", "C003")),),
    ),
    Case("closed the day identified", "CHD-15", False, ch("C003", closed_on=dt("2025-06-01")), ()),
    Case(
        "closed without reason",
        "CHD-16",
        True,
        ch("C002", closure_reason=None),
        (("CHD-16", c("closure_reason", "C002")),),
    ),
    Case(
        "unreadable close, no reason",
        "CHD-16",
        False,
        ch("C002", closed_on="x", closure_reason=None),
        (("VAL-03", c("closed_on", "C002")),),
    ),
    Case(
        "reason without close",
        "CHD-17",
        True,
        ch("C001", closure_reason="RISK_REDUCED"),
        (("CHD-17", c("closed_on", "C001")),),
    ),
    Case(
        "bad reason without close",
        "CHD-17",
        False,
        ch("C001", closure_reason="DONE"),
        (("VAL-02", c("closure_reason", "C001")),),
    ),
    Case(
        "moved out to nowhere",
        "CHD-18",
        True,
        ch("C003", moved_to_council=None),
        (("CHD-18", c("moved_to_council", "C003")),),
    ),
    Case(
        "risk reduced, no destination",
        "CHD-18",
        False,
        ch("C003", closure_reason="RISK_REDUCED", moved_to_council=None),
        (),
    ),
    Case(
        "moved to a defunct council",
        "CHD-19",
        True,
        ch("C003", moved_to_council="E10000021"),
        (("CHD-19", c("moved_to_council", "C003")),),
    ),
    Case(
        "moved to an unknown code",
        "CHD-19",
        False,
        ch("C003", moved_to_council="E06999999"),
        (("VAL-06", c("moved_to_council", "C003")),),
    ),
    Case(
        "moved to itself",
        "CHD-20",
        True,
        ch("C003", moved_to_council="E06000001"),
        (("CHD-20", c("moved_to_council", "C003")),),
    ),
    Case("moved next door", "CHD-20", False, ch("C003", moved_to_council="E06000003"), ()),
    Case(
        "destination without move",
        "CHD-21",
        True,
        ch("C002", moved_to_council="E06000002"),
        (("CHD-21", c("moved_to_council", "C002")),),
    ),
    Case(
        "destination, unreadable reason",
        "CHD-21",
        False,
        ch("C002", moved_to_council="E06000002", closure_reason="GONE"),
        (("VAL-02", c("closure_reason", "C002")),),
    ),
    Case(
        "turned 18, still open",
        "CHD-22",
        True,
        ch("C005", date_of_birth=dt("2007-05-01")),
        (("CHD-22", c("date_of_birth", "C005")),),
    ),
    Case("turned 18, closed", "CHD-22", False, ch("C003", date_of_birth=dt("2007-06-10")), ()),
    Case(
        "18 when identified, open",
        "CHD-22",
        False,
        ch("C005", date_of_birth=dt("2007-01-01")),
        (("CHD-09", c("date_of_birth", "C005")),),
    ),
    Case(
        "high risk not referred",
        "CHD-23",
        True,
        ch("C001", referred_to_police="N"),
        (("CHD-23", c("risk_level", "C001")),),
    ),
    Case(
        "high risk, referral unreadable",
        "CHD-23",
        False,
        ch("C001", referred_to_police="No"),
        (("VAL-02", c("referred_to_police", "C001")),),
    ),
    Case(
        "other id without council",
        "CHD-24",
        True,
        ch("C002", moved_from_child_id="X1"),
        (("CHD-24", c("moved_from_child_id", "C002")),),
    ),
    Case(
        "other id with council",
        "CHD-24",
        False,
        ch("C002", moved_from_child_id="X1", moved_from_council="E06000003"),
        (),
    ),
    Case(
        "NHS number as local_child_id",
        "CHD-25",
        True,
        ch("C002", local_child_id=NHS[0]),
        (("CHD-25", c("local_child_id", "C002")),),
    ),
    Case(
        "another child's UPN as local_child_id",
        "CHD-25",
        True,
        ch("C002", local_child_id=UPNS[0]),
        (("CHD-25", c("local_child_id", "C002")),),
    ),
    Case("case system id", "CHD-25", False, ch("C002", local_child_id="MOS-4471-2"), ()),
    # ---- across sheets
    Case("open count too low", "XS-01", True, kv(T, children_open_at_end=2), (("XS-01", t("children_open_at_end")),)),
    Case("open count higher", "XS-01", False, kv(T, children_open_at_end=10), ()),
    Case(
        "new count differs",
        "XS-02",
        True,
        kv(T, children_newly_identified=5),
        (("XS-02", t("children_newly_identified")),),
    ),
    Case(
        "identified unreadable",
        "XS-02",
        False,
        ch("C001", identified_on="April"),
        (("VAL-03", c("identified_on", "C001")),),
    ),
    # ---- previous return
    Case(
        "referrals fell",
        "PRV-01",
        True,
        nothing,
        (("PRV-01", t("referrals_to_police")),),
        {"previous": previous(referrals_to_police=20)},
    ),
    Case("from zero to many", "PRV-01", True, kv(T, charges=11), (("PRV-01", t("charges")),), {"previous": previous()}),
    Case("no previous return", "PRV-01", False, kv(T, charges=11), ()),
    Case("change of 10", "PRV-01", False, nothing, (), {"previous": previous(referrals_to_police=12)}),
    Case(
        "change under half",
        "PRV-01",
        False,
        kv(T, referrals_to_police=44),
        (),
        {"previous": previous(referrals_to_police=30)},
    ),
    Case("from zero to a few", "PRV-01", False, kv(T, charges=2), (), {"previous": previous()}),
)
