"""National measures (standard section 7) as plain tables: no formatting, no suppression.

Inputs are `NationalData` (built from the store by `store.national`, or by hand in tests):
every submission version, and the Strategy and Activity facts and child records of each
council's current version (latest accepted or signed-off) per period. Councils are matched to
the register by lineage, so a recoded council (Barnsley, E08000016 -> E08000038) is one council
whose returns count under the code expected for the period.

Outputs (one row per expected council and period, or per council and financial year):
- `tracker`: state of every expected return (`not_received`, `rejected`,
  `accepted_open_queries`, `accepted`, `signed_off`), lateness, versions.
- `league_table`: the measures of section 7 with value, rank, band A (best) to D, the England
  and regional values and the change on the previous period (see `MEASURES` for each definition).
- `gaps`: missing and late returns, strategy gaps, field completeness, children with missing
  episodes and no return interview offered, cross-council findings per council, and (given the
  children-to-trace frame) the findings a council has left unresolved for more than 28 days.
- `trace_summary`: the children to trace per council and per pair of councils: open and resolved
  counts and ages.

Value `None` means "not available" (`x`: no return, or no population); `NOT_APPLICABLE` means
the measure has no meaning there (`z`: a rate over zero).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from schemas.calendar import Period, financial_year_periods, format_financial_year
from schemas.lifecycle import CURRENT_STATUSES, version_state
from schemas.register import COUNTRY_CODE, Council, Register, load_register
from schemas.standard import Standard, load_standard
from transforms.link import TOLD, WHOLE_PICTURE

BANDS = ("A", "B", "C", "D")
NOT_APPLICABLE = "z"
NOT_AVAILABLE = "x"

# Strategy fields whose lowest code means "nothing in place" (section 7 gap report).
WEAK_STRATEGY = ("NONE", "PLANNING")


@dataclass
class NationalData:
    """What the compile reads from the store (every frame keyed by council_code and period)."""

    submissions: pd.DataFrame  # every version: council_code, period, version, status, received_at, errors,
    # queries, open_queries (queries without an explanation, or whose explanation an analyst rejected)
    strategy: pd.DataFrame  # current versions: council_code, period, <Strategy fields>
    activity: pd.DataFrame  # current versions: council_code, period, <Activity fields>
    children: pd.DataFrame  # current versions: council_code, period, local_child_id, keys, <Children fields>

    @classmethod
    def empty(cls) -> NationalData:
        return cls(
            submissions=pd.DataFrame(
                columns=[
                    "council_code",
                    "period",
                    "version",
                    "status",
                    "received_at",
                    "errors",
                    "queries",
                    "open_queries",
                ]
            ),
            strategy=pd.DataFrame(columns=["council_code", "period"]),
            activity=pd.DataFrame(columns=["council_code", "period"]),
            children=pd.DataFrame(columns=["council_code", "period", "local_child_id"]),
        )

    def with_submissions(self, submissions: pd.DataFrame) -> NationalData:
        """The same facts and records with another submissions frame."""
        return replace(self, submissions=submissions)

    def current_submissions(self) -> pd.DataFrame:
        """(council_code, period) of every current version."""
        subs = self.submissions
        current = subs[subs["status"].isin(CURRENT_STATUSES)]
        return current[["council_code", "period"]].drop_duplicates().reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Population


def population_for(population: pd.DataFrame | None, register: Register, council: Council, year: int) -> float | None:
    """The council's 0-17 population for `year` (the latest earlier year if that one is absent),
    under any of its codes through recodes."""
    if population is None:
        return None
    lineage = register.lineage_id(council.council_code)
    rows = population[population["council_code"].map(register.lineage_or_self) == lineage]
    rows = rows[(rows["year"] <= year) & rows["population_0_17"].notna()]
    if rows.empty:
        return None
    return float(rows.sort_values("year").iloc[-1]["population_0_17"])


# ---------------------------------------------------------------------------------------------
# Tracker


def days_after_deadline(period: Period, received_at: Any) -> int:
    """`Period.days_after_deadline` for a stored timestamp (pandas or Python, naive = UTC)."""
    stamp = pd.Timestamp(received_at)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return period.days_after_deadline(stamp.to_pydatetime())


def _by_lineage(frame: pd.DataFrame, register: Register) -> pd.DataFrame:
    out = frame.copy()
    codes = {c: register.lineage_or_self(c) for c in out["council_code"].unique()} if len(out) else {}
    out["lineage"] = out["council_code"].map(codes) if len(out) else pd.Series(dtype=object)
    return out


def tracker(
    periods: Iterable[Period], data: NationalData, *, register: Register | None = None, today: date | None = None
) -> pd.DataFrame:
    """Every expected council for every period with the state of its return.

    Columns: period, council_code, state, versions, current_version, first_received_at,
    current_received_at, errors (in the first version), open_queries (current version),
    days_after_deadline (of the first accepted version; of the first version when none was
    accepted; of `today` when nothing arrived and the deadline has passed), late (bool or None
    while a return is not yet due).
    """
    register = register or load_register()
    today = today or date.today()
    subs = _by_lineage(data.submissions, register)
    if "open_queries" not in subs.columns:
        subs["open_queries"] = subs.get("queries", 0)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in subs.to_dict("records"):
        groups.setdefault((str(record["period"]), record["lineage"]), []).append(record)
    rows = []
    for period in periods:
        for council in register.expected(period):
            versions = groups.get((period.code, register.lineage_id(council.council_code)), [])
            row: dict[str, Any] = {"period": period.code, "council_code": council.council_code}
            if not versions:
                overdue = (today - period.deadline).days
                row.update(
                    state="not_received",
                    versions=0,
                    current_version=None,
                    first_received_at=None,
                    current_received_at=None,
                    errors=None,
                    open_queries=None,
                    days_after_deadline=overdue if overdue > 0 else None,
                    late=True if overdue > 0 else None,
                )
                rows.append(row)
                continue
            versions = sorted(versions, key=lambda v: (pd.Timestamp(v["received_at"]), int(v["version"])))
            current = [v for v in versions if v["status"] in CURRENT_STATUSES]
            first = versions[0]
            if not current:
                timing, latest = first, versions[-1]
            else:
                latest = max(current, key=lambda v: int(v["version"]))
                timing = current[0]
            state = version_state(str(latest["status"]), int(latest.get("open_queries") or 0))
            days = days_after_deadline(period, timing["received_at"])
            if not current:
                days = max(days, (today - period.deadline).days)
            row.update(
                state=state,
                versions=len(versions),
                current_version=int(latest["version"]) if current else None,
                first_received_at=_iso(first["received_at"]),
                current_received_at=_iso(latest["received_at"]) if current else None,
                errors=int(first.get("errors") or 0),
                open_queries=int(latest.get("open_queries") or 0) if current else None,
                days_after_deadline=days,
                late=days > 0,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=TRACKER_COLUMNS)


TRACKER_COLUMNS = [
    "period",
    "council_code",
    "state",
    "versions",
    "current_version",
    "first_received_at",
    "current_received_at",
    "errors",
    "open_queries",
    "days_after_deadline",
    "late",
]


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# Strategy maturity


def strategy_maturity(row: dict[str, Any], standard: Standard | None = None) -> float | None:
    """A score from 0 to 10, derived from the code lists' order (lowest code = 0 points).

    cse_strategy 0-3 (NONE, PLANNING, IN_PLACE, REVIEWED), multi_agency_team 0-2 (NONE, VIRTUAL,
    CO_LOCATED), 1 for a team with at least four of the six team_ partners, info_sharing_protocol
    0-2 (NONE, DRAFT, SIGNED), 1 for health in the protocol, 1 for a named CSE lead.
    """
    standard = standard or load_standard()
    sheet = standard.sheet("Strategy")
    score = 0.0
    for name in ("cse_strategy", "multi_agency_team", "info_sharing_protocol"):
        codes = standard.codes(sheet.field(name))
        value = row.get(name)
        if value not in codes:
            return None
        score += codes.index(value)
    partners = [f.name for f in sheet.fields if f.name.startswith("team_")]
    if sum(row.get(p) == "Y" for p in partners) >= 4:
        score += 1
    score += row.get("protocol_includes_health") == "Y"
    score += row.get("cse_lead_named") == "Y"
    return score


MATURITY_MAX = 10


# ---------------------------------------------------------------------------------------------
# League tables


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    unit: str
    higher_is_better: bool
    definition: str
    count: str | None = None  # the count behind the value, for disclosure (numerator)
    dp: int = 1  # decimal places published and shown (the EES metadata's indicator_dp)


MEASURES: tuple[Measure, ...] = (
    Measure(
        "timeliness_days",
        "Timeliness (days after deadline)",
        "days",
        False,
        "Days after (+) or before (-) the deadline that the first accepted version arrived; for a "
        "year, the mean over the quarters received.",
    ),
    Measure(
        "data_quality_issues",
        "Data quality (errors and open queries)",
        "findings",
        False,
        "Errors in the first version sent plus queries left without an explanation in the current "
        "version; for a year, the sum over the quarters.",
    ),
    Measure(
        "strategy_maturity",
        "Strategy maturity (0-10)",
        "score",
        True,
        "Score out of 10 from cse_strategy, the multi-agency team, the information-sharing protocol, "
        "health in the protocol and a named lead (see strategy_maturity); for a year, the last quarter "
        "returned.",
    ),
    Measure(
        "identified_per_10000",
        "Children identified per 10,000 aged 0-17",
        "rate",
        True,
        "children_newly_identified per 10,000 children aged 0-17 (population CSV); higher is read as "
        "better identification.",
        count="children_newly_identified",
    ),
    Measure(
        "return_interview_72h_pct",
        "Missing children offered a return interview within 72 hours (%)",
        "%",
        True,
        "return_interviews_within_72h as a percentage of children_missing.",
        count="return_interviews_within_72h",
    ),
    Measure(
        "referrals_per_child",
        "Referrals to police per child at risk",
        "ratio",
        True,
        "referrals_to_police divided by the children in the return (every child open in the quarter).",
        count="referrals_to_police",
        dp=2,
    ),
    Measure(
        "charges_per_100_referrals",
        "Charges per 100 referrals to police",
        "rate",
        True,
        "charges per 100 referrals_to_police.",
        count="charges",
    ),
)
MEASURE_NAMES = tuple(m.name for m in MEASURES)


def _components(
    council: Council,
    periods: list[Period],
    *,
    tracked: pd.DataFrame,
    strategy: dict[tuple[str, str], dict[str, Any]],
    activity: dict[tuple[str, str], dict[str, Any]],
    child_counts: dict[tuple[str, str], int],
    population: pd.DataFrame | None,
    register: Register,
    standard: Standard,
) -> dict[str, Any]:
    """Numerators and denominators for one council over one or more periods (summed)."""
    lineage = register.lineage_id(council.council_code)
    comp: dict[str, Any] = {
        "days": [],
        "issues": None,
        "maturity": None,
        "identified": None,
        "population": None,
        "within_72h": None,
        "children_missing": None,
        "referrals": None,
        "children": None,
        "charges": None,
    }
    for period in periods:
        row = tracked.get((period.code, lineage))
        if row is None or row["state"] in ("not_received", "rejected"):
            continue
        comp["days"].append(row["days_after_deadline"])
        comp["issues"] = (comp["issues"] or 0) + int(row["errors"] or 0) + int(row["open_queries"] or 0)
        s = strategy.get((period.code, lineage))
        if s is not None:
            score = strategy_maturity(s, standard)
            if score is not None:
                comp["maturity"] = score  # the latest quarter returned
        a = activity.get((period.code, lineage))
        if a is not None:
            for key, column in (
                ("identified", "children_newly_identified"),
                ("within_72h", "return_interviews_within_72h"),
                ("children_missing", "children_missing"),
                ("referrals", "referrals_to_police"),
                ("charges", "charges"),
            ):
                value = a.get(column)
                if value is not None and not (isinstance(value, float) and math.isnan(value)):
                    comp[key] = (comp[key] or 0) + int(value)
        comp["children"] = (comp["children"] or 0) + child_counts.get((period.code, lineage), 0)
    if comp["identified"] is not None:
        comp["population"] = population_for(population, register, council, periods[0].year)
    return comp


def _values(comp: dict[str, Any]) -> dict[str, Any]:
    def ratio(num: Any, den: Any, scale: float) -> Any:
        if num is None or den is None:
            return None
        if den == 0:
            return NOT_APPLICABLE
        return num / den * scale

    return {
        "timeliness_days": float(np.mean(comp["days"])) if comp["days"] else None,
        "data_quality_issues": comp["issues"],
        "strategy_maturity": comp["maturity"],
        "identified_per_10000": ratio(comp["identified"], comp["population"], 10000),
        "return_interview_72h_pct": ratio(comp["within_72h"], comp["children_missing"], 100),
        "referrals_per_child": ratio(comp["referrals"], comp["children"], 1),
        "charges_per_100_referrals": ratio(comp["charges"], comp["referrals"], 100),
    }


def _sum_components(comps: list[dict[str, Any]]) -> dict[str, Any]:
    """Components of an area: sums of councils' counts (rates are recomputed, never averaged);
    timeliness, data quality and maturity are means over councils with a value."""
    out: dict[str, Any] = {"days": [d for c in comps for d in c["days"]]}
    for key in ("identified", "within_72h", "children_missing", "referrals", "children", "charges"):
        values = [c[key] for c in comps if c[key] is not None]
        out[key] = sum(values) if values else None
    pops = [c for c in comps if c["identified"] is not None and c["population"] is not None]
    if pops and len(pops) == len([c for c in comps if c["identified"] is not None]):
        out["population"] = sum(c["population"] for c in pops)
    else:
        out["population"] = None  # an area rate needs every contributing council's population
    issues = [c["issues"] for c in comps if c["issues"] is not None]
    out["issues"] = float(np.mean(issues)) if issues else None
    maturity = [c["maturity"] for c in comps if c["maturity"] is not None]
    out["maturity"] = float(np.mean(maturity)) if maturity else None
    return out


def rank_and_band(values: pd.Series, higher_is_better: bool) -> tuple[pd.Series, pd.Series]:
    """Rank 1 = best (ties share the best rank) and quartile band A (best quarter) to D among
    councils with a numeric value; others get None."""
    numeric = pd.to_numeric(
        values.where(values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))), errors="coerce"
    )
    ranks = numeric.rank(method="min", ascending=not higher_is_better)
    n = int(numeric.notna().sum())
    band_list = [None if pd.isna(r) else BANDS[min(3, int((r - 1) * 4 // n))] for r in ranks]
    rank_list = [None if pd.isna(r) else int(r) for r in ranks]
    return pd.Series(rank_list, index=values.index, dtype=object), pd.Series(
        band_list, index=values.index, dtype=object
    )


def league_table(
    periods: list[Period],
    data: NationalData,
    *,
    population: pd.DataFrame | None = None,
    register: Register | None = None,
    standard: Standard | None = None,
    today: date | None = None,
    annual: bool = False,
) -> pd.DataFrame:
    """League tables for each period (or, with `annual`, for each financial year of `periods`).

    One row per geography (England, each region, each expected council) and time period:
    `period, geographic_level, code, <measure>`, and for councils `<measure>_rank`,
    `<measure>_band`; `<measure>_change` is the change on the previous period (or year).
    """
    register = register or load_register()
    standard = standard or load_standard()
    frames = []
    groups = _year_groups(periods) if annual else [(p.code, [p]) for p in periods]
    for label, group in groups:
        previous = _previous_group(label, group, annual)
        current = _league_one(
            label, group, data=data, population=population, register=register, standard=standard, today=today
        )
        before = _league_one(
            previous[0],
            previous[1],
            data=data,
            population=population,
            register=register,
            standard=standard,
            today=today,
        )
        for name in MEASURE_NAMES:
            prior = dict(zip(before["code"], before[name], strict=True))
            current[f"{name}_change"] = [
                _change(v, prior.get(code)) for code, v in zip(current["code"], current[name], strict=True)
            ]
        frames.append(current)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _year_groups(periods: list[Period]) -> list[tuple[str, list[Period]]]:
    years = sorted({p.year for p in periods})
    return [(format_financial_year(y), financial_year_periods(format_financial_year(y))) for y in years]


def _previous_group(label: str, group: list[Period], annual: bool) -> tuple[str, list[Period]]:
    if annual:
        year = format_financial_year(group[0].year - 1)
        return year, financial_year_periods(year)
    p = group[0].previous()
    return p.code, [p]


def _change(value: Any, prior: Any) -> Any:
    if isinstance(value, int | float) and isinstance(prior, int | float) and not isinstance(value, bool):
        return value - prior
    return None


def _league_one(
    label: str,
    periods: list[Period],
    *,
    data: NationalData,
    population: pd.DataFrame | None,
    register: Register,
    standard: Standard,
    today: date | None,
) -> pd.DataFrame:
    tracked_frame = tracker(periods, data, register=register, today=today)
    tracked = {
        (row["period"], register.lineage_id(row["council_code"])): row for row in tracked_frame.to_dict("records")
    }
    strategy = _current_facts(data.strategy, register)
    activity = _current_facts(data.activity, register)
    children = _by_lineage(data.children, register)
    child_counts = (
        {(p, lin): int(n) for (p, lin), n in children.groupby(["period", "lineage"]).size().items()}
        if len(children)
        else {}
    )
    councils = _councils_of(periods, register)
    comps = {
        c.council_code: _components(
            c,
            periods,
            tracked=tracked,
            strategy=strategy,
            activity=activity,
            child_counts=child_counts,
            population=population,
            register=register,
            standard=standard,
        )
        for c in councils
    }
    rows: list[dict[str, Any]] = []
    rows.append(
        {
            "period": label,
            "geographic_level": "National",
            "code": COUNTRY_CODE,
            **_values(_sum_components(list(comps.values()))),
        }
    )
    for region_code in sorted({c.region_code for c in councils}):
        members = [comps[c.council_code] for c in councils if c.region_code == region_code]
        rows.append(
            {"period": label, "geographic_level": "Regional", "code": region_code, **_values(_sum_components(members))}
        )
    council_rows = [
        {
            "period": label,
            "geographic_level": "Local authority",
            "code": c.council_code,
            **_values(comps[c.council_code]),
        }
        for c in councils
    ]
    frame = pd.DataFrame(rows + council_rows)
    is_council = frame["geographic_level"] == "Local authority"
    for m in MEASURES:
        ranks, bands = rank_and_band(frame.loc[is_council, m.name], m.higher_is_better)
        frame[f"{m.name}_rank"] = None
        frame[f"{m.name}_band"] = None
        frame.loc[is_council, f"{m.name}_rank"] = ranks
        frame.loc[is_council, f"{m.name}_band"] = bands
    return frame


def _councils_of(periods: list[Period], register: Register) -> list[Council]:
    """Expected councils over the periods, one per lineage, under the code of the last period."""
    by_lineage: dict[str, Council] = {}
    for period in periods:
        for council in register.expected(period):
            by_lineage[register.lineage_id(council.council_code)] = council
    return sorted(by_lineage.values(), key=lambda c: c.council_code)


def _current_facts(frame: pd.DataFrame, register: Register) -> dict[tuple[str, str], dict[str, Any]]:
    if frame is None or frame.empty:
        return {}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in frame.to_dict("records"):
        out[(row["period"], register.lineage_or_self(row["council_code"]))] = row
    return out


# ---------------------------------------------------------------------------------------------
# Gap reports


def children_fields(standard: Standard | None = None) -> list[tuple[str, str]]:
    """(field of the standard, stored column) for every Children field: identifiers are stored as
    keys and the date of birth as a month."""
    standard = standard or load_standard()
    replaced = {"upn": "upn_key", "nhs_number": "nhs_key", "date_of_birth": "birth_month"}
    return [(f.name, replaced.get(f.name, f.name)) for f in standard.sheet("Children").fields]


def gaps(
    periods: list[Period],
    data: NationalData,
    *,
    cross_council: pd.DataFrame | None = None,
    traced: pd.DataFrame | None = None,
    register: Register | None = None,
    standard: Standard | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """One row per expected council and period.

    missing (no accepted return), late, days_after_deadline, no_strategy (cse_strategy NONE or
    PLANNING), no_co_located_team, no_health_in_protocol, children, missing_no_interview
    (children with missing episodes and return_interview_offered not Y), x1..x5 (cross-council
    findings in which the council is either side), completeness_<field> (% of the council's
    children with a value); with `traced` (the children to trace, see `trace_ages`),
    findings_open_over_28_days (`findings_open_too_long`).
    """
    register = register or load_register()
    standard = standard or load_standard()
    tracked = tracker(periods, data, register=register, today=today)
    strategy = _current_facts(data.strategy, register)
    children = _by_lineage(data.children, register)
    fields = children_fields(standard)
    cc = _cross_counts(cross_council, register)
    completeness, child_counts, no_interview = _child_summaries(children, fields)
    rows = []
    for row in tracked.to_dict("records"):
        lineage = register.lineage_id(row["council_code"])
        key = (row["period"], lineage)
        received = row["state"] not in ("not_received", "rejected")
        s = strategy.get(key) if received else None
        out: dict[str, Any] = {
            "period": row["period"],
            "council_code": row["council_code"],
            "state": row["state"],
            "missing": not received,
            "late": row["late"],
            "days_after_deadline": row["days_after_deadline"],
            "no_strategy": None if s is None else s.get("cse_strategy") in WEAK_STRATEGY,
            "no_co_located_team": None if s is None else s.get("multi_agency_team") != "CO_LOCATED",
            "no_health_in_protocol": None if s is None else s.get("protocol_includes_health") != "Y",
            "children": child_counts.get(key, 0) if received else None,
            "missing_no_interview": no_interview.get(key, 0) if received else None,
        }
        for rule in ("X1", "X2", "X3", "X4", "X5"):
            out[rule.lower()] = cc.get((row["period"], lineage, rule), 0)
        shares = completeness.get(key) if received else None
        for name, _column in fields:
            out[f"completeness_{name}"] = None if shares is None else shares[name]
        rows.append(out)
    frame = pd.DataFrame(rows)
    if traced is not None:
        frame = findings_open_too_long(frame, traced, today or date.today(), register=register)
    return frame


def _child_summaries(
    children: pd.DataFrame, fields: list[tuple[str, str]]
) -> tuple[dict[tuple[str, str], dict[str, float]], dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Per (period, lineage): % of children with each field filled, children, and children with
    missing episodes and no return interview offered."""
    if children.empty:
        return {}, {}, {}
    filled = pd.DataFrame(index=children.index)
    for name, column in fields:
        if column in children.columns:
            values = children[column]
            filled[name] = values.notna() & (values != "")
        else:
            filled[name] = False
    keys = [children["period"], children["lineage"]]
    shares = (filled.groupby(keys).mean() * 100).round(1)
    completeness = {key: row for key, row in zip(shares.index, shares.to_dict("records"), strict=True)}
    counts = {key: int(n) for key, n in children.groupby(keys).size().items()}
    episodes = pd.to_numeric(children.get("missing_episodes"), errors="coerce").fillna(0)
    offered = children["return_interview_offered"] if "return_interview_offered" in children.columns else None
    flag = (episodes > 0) & (offered != "Y" if offered is not None else True)
    no_interview = {key: int(n) for key, n in flag.groupby(keys).sum().items()}
    return completeness, counts, no_interview


def _cross_counts(cross_council: pd.DataFrame | None, register: Register) -> dict[tuple[str, str, str], int]:
    counts: dict[tuple[str, str, str], int] = {}
    if cross_council is None or cross_council.empty:
        return counts
    for row in cross_council.to_dict("records"):
        sides = {register.lineage_or_self(row["from_council_code"]), register.lineage_or_self(row["to_council_code"])}
        for lineage in sides:
            key = (row["time_period"], lineage, row["rule"])
            counts[key] = counts.get(key, 0) + int(row["children"])
    return counts


# ---------------------------------------------------------------------------------------------
# Children to trace: how long cross-council findings stay unresolved

OPEN_TOO_LONG_DAYS = 28  # a child unaccounted for longer than four weeks is a gap to report
TRACED_COLUMNS = (
    "rule",
    "period",
    "from_council_code",
    "to_council_code",
    "status",
    "present",
    "first_seen_on",
    "resolved_at",
)


def trace_ages(traced: pd.DataFrame, today: date) -> pd.DataFrame:
    """The children-to-trace frame (one row per case: `TRACED_COLUMNS`, as `store.tracing` keeps
    them) with `unresolved` (open or acknowledged), `days_open` (from first seen to `today`, for
    unresolved cases), `days_to_resolve` (for resolved ones) and `over_limit` (unresolved, found by
    the latest compile, open more than `OPEN_TOO_LONG_DAYS`)."""
    out = pd.DataFrame({c: traced[c] if c in traced.columns else None for c in TRACED_COLUMNS}, index=traced.index)
    first = pd.to_datetime(out["first_seen_on"])
    out["unresolved"] = out["status"] != "resolved"
    open_days = (pd.Timestamp(today) - first).dt.days.clip(lower=0)
    out["days_open"] = open_days.where(out["unresolved"])
    resolved = pd.to_datetime(out["resolved_at"], utc=True).dt.tz_localize(None).dt.normalize()
    out["days_to_resolve"] = (resolved - first).dt.days.clip(lower=0).where(~out["unresolved"])
    out["over_limit"] = out["unresolved"] & out["present"].astype(bool) & (open_days > OPEN_TOO_LONG_DAYS)
    return out


def _told_lineages(ages: pd.DataFrame, register: Register) -> pd.DataFrame:
    """One row per case and council told about it (`TOLD`), with that council's `lineage`."""
    rows = []
    for index, rule, from_code, to_code in zip(
        ages.index, ages["rule"], ages["from_council_code"], ages["to_council_code"], strict=True
    ):
        for side in TOLD.get(rule, ()):
            rows.append((index, register.lineage_or_self(from_code if side == "from" else to_code)))
    told = pd.DataFrame(rows, columns=["case", "lineage"])
    return told.join(ages, on="case")


def findings_open_too_long(
    gaps_frame: pd.DataFrame, traced: pd.DataFrame, today: date, *, register: Register | None = None
) -> pd.DataFrame:
    """`gaps_frame` with `findings_open_over_28_days`: per council row, the cross-council findings
    the council is told about, not resolved, found by the latest compile, about the row's period
    or earlier, and first seen more than 28 days before `today`."""
    register = register or load_register()
    out = gaps_frame.copy()
    column = f"findings_open_over_{OPEN_TOO_LONG_DAYS}_days"
    if out.empty:
        out[column] = pd.Series(dtype="int64")
        return out
    told = _told_lineages(trace_ages(traced, today), register)
    told = told[told["over_limit"]]
    out[column] = [
        int(((told["lineage"] == register.lineage_or_self(code)) & (told["period"] <= period)).sum())
        for code, period in zip(out["council_code"], out["period"], strict=True)
    ]
    return out


SUMMARY_COLUMNS = [
    "open",  # unresolved (open or acknowledged) and found by the latest compile
    "acknowledged",  # of which acknowledged
    "no_longer_found",  # unresolved, but the latest compile did not find it again
    "resolved",
    f"over_{OPEN_TOO_LONG_DAYS}_days",
    "oldest_open_days",
    "median_open_days",
    "median_days_to_resolve",
]


def _summarise(group: pd.DataFrame) -> dict[str, Any]:
    current = group[group["unresolved"] & group["present"].astype(bool)]
    resolved = group[~group["unresolved"]]
    return {
        "open": len(current),
        "acknowledged": int((current["status"] == "acknowledged").sum()),
        "no_longer_found": int((group["unresolved"] & ~group["present"].astype(bool)).sum()),
        "resolved": len(resolved),
        f"over_{OPEN_TOO_LONG_DAYS}_days": int(group["over_limit"].sum()),
        "oldest_open_days": int(current["days_open"].max()) if len(current) else None,
        "median_open_days": float(current["days_open"].median()) if len(current) else None,
        "median_days_to_resolve": float(resolved["days_to_resolve"].median()) if len(resolved) else None,
    }


def trace_summary(
    traced: pd.DataFrame, today: date, *, register: Register | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Children to trace for analysts: (per council told, per pair of councils), each with
    `SUMMARY_COLUMNS`. Councils and pairs by lineage, under the latest code; X6 is in the
    councils' rows, not the pairs' (`whole_picture_summary` has it by region)."""
    register = register or load_register()
    ages = trace_ages(traced, today)
    told = _told_lineages(ages, register)
    councils = [{"council_code": lineage, **_summarise(group)} for lineage, group in told.groupby("lineage", sort=True)]
    pairs_of = ages[ages["rule"] != WHOLE_PICTURE]  # X6 is about one council: counted per council and region
    pairs_of = pairs_of.assign(
        from_lineage=[register.lineage_or_self(c) for c in pairs_of["from_council_code"]],
        to_lineage=[register.lineage_or_self(c) for c in pairs_of["to_council_code"]],
    )
    pairs = [
        {"from_council_code": a, "to_council_code": b, **_summarise(group)}
        for (a, b), group in pairs_of.groupby(["from_lineage", "to_lineage"], sort=True)
    ]
    return (
        pd.DataFrame(councils, columns=["council_code", *SUMMARY_COLUMNS]),
        pd.DataFrame(pairs, columns=["from_council_code", "to_council_code", *SUMMARY_COLUMNS]),
    )


def whole_picture_summary(traced: pd.DataFrame, today: date, *, register: Register | None = None) -> pd.DataFrame:
    """X6 cases for analysts, per region of the council now responsible and for England
    (`region_code` "" for England), with `SUMMARY_COLUMNS`: counts and ages, never the children."""
    register = register or load_register()
    ages = trace_ages(traced, today)
    ages = ages[ages["rule"] == WHOLE_PICTURE]

    def region(code: str) -> str:
        council = register.find(code)
        return council.region_code if council else ""

    ages = ages.assign(region_code=[region(c) for c in ages["to_council_code"]])
    rows = [{"region_code": code, **_summarise(group)} for code, group in ages.groupby("region_code", sort=True)]
    rows.append({"region_code": "", **_summarise(ages)})
    return pd.DataFrame(rows, columns=["region_code", *SUMMARY_COLUMNS])
