"""Children to trace: the use cases behind the portal's "Children to trace" pages and
`lscb findings` (RETURN_STANDARD section 5, X1-X6; section 6: a council sees only its own ids, and
X6 goes to the council now responsible for the child only).

- `record_compile`: what a compile found goes to the store (`store.tracing.record_compile`), and
  the compile's gap table gets the findings open longer than 28 days; called by
  `pipeline.compile.compile_period` once its tables are built.
- `children_to_trace`: the cases a council is told about (`transforms.link.TOLD`), as that council
  sees them: its own local_child_id only, the other council named, never the other council's id
  (not even in a note written by the other council); a council with no record of the child (X1's
  receiving council) gets what it needs to look: closure date, month of birth, sex.
- `acknowledge`, `resolve`, `reopen`: a council told about a case moves it on, with a note.
- `tracing_summary`: for analysts, open and resolved counts and ages per council and per pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from reports.compile import CompileTables
from schemas.register import Register, load_register
from schemas.standard import load_standard
from store.engine import get_engine
from store.queries import StoreError, check_actor, normalise_council, normalise_period, require_ready
from store.tracing import (
    TracedFinding,
    all_traced_findings,
    change_status,
    traced_finding,
    traced_findings_for,
)
from store.tracing import record_compile as store_compile
from transforms.link import (
    PROVISIONAL_X1,
    RESOLUTION_LABELS,
    RESOLUTIONS,
    RULE_RESOLUTIONS,
    TOLD,
    TRACE_ACTIONS,
    TRACE_STATUSES,
    WHOLE_PICTURE,
    CrossCouncilFinding,
    council_findings,
    x1_decided_through,
)
from transforms.measures import OPEN_TOO_LONG_DAYS, findings_open_too_long, trace_summary, whole_picture_summary
from transforms.picture import WholePicture, describe
from transforms.picture import summary as picture_summary

MAX_NOTE = 2000
SEX_NAMES = {"F": "female", "M": "male", "U": "not known"}
WITHHELD = "[the other council's id]"
RESOLUTION_NAMES = {  # what a person may type (CLI, form) -> the stored code
    "found": "found_recorded",
    "found_recorded": "found_recorded",
    "found and recorded": "found_recorded",
    "not_ours": "not_ours",
    "not ours": "not_ours",
    "already_known": "already_known",
    "already known": "already_known",
    "known": "already_known",
    "acted_on": "acted_on",
    "acted on": "acted_on",
    "other": "other",
}


@dataclass(frozen=True)
class TraceView:
    """One case as one council sees it: only its own local_child_id."""

    id: int
    reference: str  # the start of the identity: enough to name the case on the phone
    rule: str
    rule_label: str
    period: str
    side: str  # "from" or "to": which side of the finding this council is
    local_child_id: str | None  # this council's own id; None when it holds no record of the child
    other_council_code: str
    other_council_name: str
    message: str
    # what to look for, given only to a council with no record of the child (else None)
    closed_on: date | None
    birth_month: str | None
    sex: str | None
    status: str
    resolution: str | None
    note: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    first_seen_on: date
    last_seen_on: date
    present: bool  # found by the latest compile that covered its period
    # X6 only: the combined picture (other councils named, never their ids) and it in words
    picture: WholePicture | None = None
    picture_lines: tuple[str, ...] = ()
    other_councils: tuple[str, ...] = ()  # X6: every other council's name, latest record first

    @property
    def resolutions(self) -> dict[str, str]:
        """The answers a council may give this case: code -> label."""
        return {code: RESOLUTION_LABELS[code] for code in RULE_RESOLUTIONS.get(self.rule, RESOLUTIONS)}

    @property
    def provisional(self) -> bool:
        """A provisional X1 (§8) from the daily run: the quarter's X1 will decide."""
        return self.rule == PROVISIONAL_X1

    @property
    def resolution_label(self) -> str | None:
        return RESOLUTION_LABELS.get(self.resolution) if self.resolution else None

    def days_open(self, today: date) -> int:
        return max(0, (today - self.first_seen_on).days)

    def overdue(self, today: date) -> bool:
        return self.status != "resolved" and self.present and self.days_open(today) > OPEN_TOO_LONG_DAYS

    @property
    def look_for(self) -> str | None:
        """For a council with no record of the child: what the other council's record says."""
        if self.local_child_id is not None:
            return None
        parts = []
        if self.closed_on is not None:
            parts.append(f"closed by {self.other_council_name} on {self.closed_on:%-d %B %Y}")
        if self.birth_month:
            try:
                parts.append(f"born {datetime.strptime(self.birth_month, '%Y-%m'):%B %Y}")
            except ValueError:
                parts.append(f"born {self.birth_month}")
        if self.sex:
            parts.append(f"sex {SEX_NAMES.get(self.sex, self.sex)}")
        return "; ".join(parts) or None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, WholePicture):
                value = value.to_json()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value.isoformat() if isinstance(value, date | datetime) else value
        return out


@dataclass(frozen=True)
class TracingSummary:
    """Analysts' view: per council told and per pair of councils (`transforms.measures.trace_summary`
    columns, plus council names)."""

    today: date
    councils: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    # X6 per region of the council now responsible, England last (`region_name` "England")
    whole_picture: list[dict[str, Any]] = field(default_factory=list)


# ---- the compile ------------------------------------------------------------------------------


def record_compile(engine: Engine | str, tables: CompileTables, *, today: date | None = None) -> CompileTables:
    """Record the compile's cross-council findings as children to trace (idempotent), and return
    the tables with the gap report's `findings_open_over_28_days`."""
    today = today or date.today()
    period = tables.period
    decided = x1_decided_through(period, today)

    def in_scope(rule: str, finding_period: str) -> bool:
        # only what this compile decided can be "no longer found": X1 waits for the next quarter
        return finding_period <= (decided.code if rule == "X1" else period.code)

    engine = get_engine(engine)
    with engine.begin() as connection:
        store_compile(connection, tables.traceable, period=period.code, today=today, in_scope=in_scope)
        traced = _frame(all_traced_findings(connection, through=period.code))
    return replace(tables, gaps=findings_open_too_long(tables.gaps, traced, today))


def _frame(rows: list[TracedFinding]) -> pd.DataFrame:
    """The store's cases as `transforms.measures.trace_ages` reads them (no local ids)."""
    columns = [
        "id",
        "rule",
        "period",
        "from_council_code",
        "to_council_code",
        "status",
        "present",
        "first_seen_on",
        "resolved_at",
    ]
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)


# ---- a council's cases --------------------------------------------------------------------------


def council_codes(council_code: str, register: Register | None = None) -> list[str]:
    """Every code of the council through recodes (a recoded council keeps its cases)."""
    return (register or load_register()).recodes(normalise_council(council_code))


def _side(case: TracedFinding, codes: list[str]) -> str | None:
    sides = TOLD.get(case.rule, ())
    if "from" in sides and case.from_council_code in codes:
        return "from"
    if "to" in sides and case.to_council_code in codes:
        return "to"
    return None


def _withhold(text: str | None, other_id: str | None) -> str | None:
    """A note as the other council may read it: the writer's own local_child_id taken out (ids
    shorter than 3 characters are left: they would match ordinary words and numbers)."""
    if not text or not other_id or len(other_id) < 3:
        return text
    return re.sub(rf"(?<![\w-]){re.escape(other_id)}(?![\w-])", WITHHELD, text, flags=re.IGNORECASE)


def view(case: TracedFinding, side: str, register: Register | None = None) -> TraceView:
    """`case` as the council on `side` sees it."""
    register = register or load_register()
    finding = CrossCouncilFinding(
        case.rule,
        case.period,
        case.from_council_code,
        case.to_council_code,
        case.from_local_child_id,
        case.to_local_child_id,
    )
    own_code = case.from_council_code if side == "from" else case.to_council_code
    other_code = case.to_council_code if side == "from" else case.from_council_code
    own_id = case.from_local_child_id if side == "from" else case.to_local_child_id
    other_id = case.to_local_child_id if side == "from" else case.from_local_child_id
    rule = load_standard().rule(case.rule)
    other = register.find(other_code)
    no_record = own_id is None
    picture = None
    if case.rule == WHOLE_PICTURE:
        picture = WholePicture.from_json(
            case.picture or {}, period=case.period, council_code=own_code, local_child_id=own_id
        )
        names = [_council_name(register, code) for code in picture.other_councils] or [
            _council_name(register, other_code)
        ]
        message = rule.message.format(
            local_child_id=own_id,
            period=case.period,
            other_council=_and(names),
            signs=picture_summary(picture, lambda code: _council_name(register, code)),
        )
        told = []
    else:
        told = [t for t in council_findings([finding], register=register) if t.council_code == own_code]
        message = told[0].message if told else rule.description
    return TraceView(
        id=case.id,
        reference=case.identity[:12],
        rule=case.rule,
        rule_label=rule.description.split(":")[0],
        period=case.period,
        side=side,
        local_child_id=own_id,
        other_council_code=other_code,
        other_council_name=other.name if other else other_code,
        message=message,
        closed_on=case.closed_on if no_record else None,
        birth_month=case.birth_month if no_record else None,
        sex=case.sex if no_record else None,
        status=case.status,
        resolution=case.resolution,
        note=_withhold(case.note, other_id),
        acknowledged_by=case.acknowledged_by,
        acknowledged_at=case.acknowledged_at,
        resolved_by=case.resolved_by,
        resolved_at=case.resolved_at,
        first_seen_on=case.first_seen_on,
        last_seen_on=case.last_seen_on,
        present=case.present,
        picture=picture,
        picture_lines=tuple(describe(picture, lambda code: _council_name(register, code))) if picture else (),
        other_councils=tuple(_council_name(register, code) for code in picture.other_councils) if picture else (),
    )


def _council_name(register: Register, code: str) -> str:
    council = register.find(code)
    return council.name if council else code


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def children_to_trace(
    engine: Engine | str,
    council_code: str,
    *,
    period: str | None = None,
    status: str | None = None,
    whole_picture: bool = True,
) -> list[TraceView]:
    """The cases the council is told about, oldest period first, as it sees them.

    `whole_picture=False` leaves out X6: the picture is for the council now responsible for the
    child; anyone else looking at the council's cases (a national analyst) sees counts only."""
    register = load_register()
    codes = council_codes(council_code, register)
    period = normalise_period(period) if period else None
    statuses = None
    if status:
        status = status.strip().lower()
        if status not in TRACE_STATUSES:
            raise StoreError(f"status {status!r} is not one of {', '.join(TRACE_STATUSES)}")
        statuses = [status]
    engine = get_engine(engine)
    require_ready(engine)
    with engine.connect() as connection:
        cases = traced_findings_for(
            connection,
            codes,
            from_rules=[r for r, sides in TOLD.items() if "from" in sides],
            to_rules=[r for r, sides in TOLD.items() if "to" in sides],
            period=period,
            statuses=statuses,
        )
    out = []
    for case in cases:
        side = _side(case, codes)
        if side is not None and (whole_picture or case.rule != WHOLE_PICTURE):
            out.append(view(case, side, register))
    return out


def parse_resolution(text: str) -> str:
    """The stored code for a resolution as typed: `found`, `not-ours`, `already-known`,
    `acted-on`, `other` (or the codes)."""
    typed = str(text or "").strip().lower()
    code = RESOLUTION_NAMES.get(typed.replace("-", "_")) or RESOLUTION_NAMES.get(typed)
    if code is None or code not in RESOLUTIONS:
        raise StoreError(
            "the resolution is one of: found (found and recorded), not-ours, already-known, acted-on, other"
        )
    return code


def _check_resolution(rule: str, resolution: str) -> None:
    allowed = RULE_RESOLUTIONS.get(rule, RESOLUTIONS)
    if resolution not in allowed:
        words = ", ".join(code.replace("_", "-") for code in allowed)
        raise StoreError(f"a {rule} case is resolved as one of: {words}")


def _move(
    engine: Engine | str,
    trace_id: int,
    council_code: str,
    action: str,
    *,
    by: str,
    note: str | None,
    resolution: str | None = None,
) -> TraceView:
    code = normalise_council(council_code)
    by = check_actor(by, "who is acting (--by)")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise StoreError(f"the note is longer than {MAX_NOTE} characters")
    register = load_register()
    codes = council_codes(code, register)
    engine = get_engine(engine)
    require_ready(engine)
    allowed, to_status = TRACE_ACTIONS[action]
    with engine.begin() as connection:
        case = traced_finding(connection, int(trace_id))
        side = _side(case, codes) if case is not None else None
        if case is None or side is None:  # another council's case is as absent as a missing one
            raise StoreError(f"{code} has no child to trace numbered {trace_id}")
        if resolution is not None:
            _check_resolution(case.rule, resolution)
        if case.status not in allowed or not change_status(
            connection, case, action, by=by, council_code=code, resolution=resolution, note=note
        ):
            raise StoreError(f"case {trace_id} is {case.status}: it cannot be {to_status} now")
        updated = traced_finding(connection, case.id)
        assert updated is not None
    return view(updated, side, register)


def acknowledge(
    engine: Engine | str, trace_id: int, council_code: str, *, by: str, note: str | None = None
) -> TraceView:
    """The council has seen the case and is looking (open -> acknowledged)."""
    return _move(engine, trace_id, council_code, "acknowledge", by=by, note=note)


def resolve(
    engine: Engine | str, trace_id: int, council_code: str, resolution: str, *, by: str, note: str | None = None
) -> TraceView:
    """The case is settled: found and recorded, not ours, or other (which needs a note)."""
    code = parse_resolution(resolution)
    if code == "other" and not (note or "").strip():
        raise StoreError("say in the note how the case was resolved")
    return _move(engine, trace_id, council_code, "resolve", by=by, note=note, resolution=code)


def reopen(engine: Engine | str, trace_id: int, council_code: str, *, by: str, note: str | None = None) -> TraceView:
    """Back to open (e.g. the child was not found after all)."""
    return _move(engine, trace_id, council_code, "reopen", by=by, note=note)


# ---- analysts ---------------------------------------------------------------------------------


def cases_by_rule(engine: Engine | str, *, period: str | None = None) -> dict[str, tuple[int, int]]:
    """Per rule, the cases the latest compiles found (about `period`, or every period) and how
    many councils they reached (`TOLD`, by lineage): e.g. {"X6": (12, 9)}. Counts only."""
    register = load_register()
    engine = get_engine(engine)
    require_ready(engine)
    with engine.connect() as connection:
        cases = [c for c in all_traced_findings(connection) if c.present and (period is None or c.period == period)]
    out: dict[str, tuple[int, int]] = {}
    for rule in TOLD:
        mine = [c for c in cases if c.rule == rule]
        councils = {
            register.lineage_or_self(c.from_council_code if side == "from" else c.to_council_code)
            for c in mine
            for side in TOLD[rule]
        }
        out[rule] = (len(mine), len(councils))
    return out


def tracing_summary(engine: Engine | str, today: date | None = None) -> TracingSummary:
    """Open and resolved counts and ages, per council told and per pair of councils."""
    today = today or date.today()
    register = load_register()
    engine = get_engine(engine)
    require_ready(engine)
    with engine.connect() as connection:
        traced = _frame(all_traced_findings(connection))
    by_council, by_pair = trace_summary(traced, today, register=register)

    def name(code: str) -> str:
        council = register.find(code)
        return council.name if council else code

    councils = [{**row, "council_name": name(row["council_code"])} for row in _records(by_council)]
    pairs = [
        {**row, "from_council_name": name(row["from_council_code"]), "to_council_name": name(row["to_council_code"])}
        for row in _records(by_pair)
    ]
    regions = register.regions()
    picture = [
        {**row, "region_name": regions.get(row["region_code"], row["region_code"]) if row["region_code"] else "England"}
        for row in _records(whole_picture_summary(traced, today, register=register))
    ]
    return TracingSummary(today=today, councils=councils, pairs=pairs, whole_picture=picture)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (no numpy scalars, None for a missing age)."""
    out = []
    for row in frame.to_dict("records"):
        out.append(
            {k: None if v is None or (isinstance(v, float) and pd.isna(v)) else _plain(v) for k, v in row.items()}
        )
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# ---- provisional X1 (§8): the daily run ----------------------------------------------------------------


def provisional_run(engine: Engine | str, *, today: date | None = None) -> dict[str, int]:
    """The daily run of provisional X1: over each council's latest current return (any period),
    the children closed MOVED_OUT more than 28 days ago by a council that submitted in the last
    week, and not in the receiving council's latest data (`transforms.link.provisional_x1`),
    recorded as cases both councils see on their "children to trace" pages; those the quarter
    has decided meanwhile, or whose child arrived, go. Returns counts (new, seen_again, gone)."""
    from schemas.calendar import LONDON, Period
    from store.national import load_national
    from store.tracing import record_provisional
    from transforms.link import provisional_x1

    engine = get_engine(engine)
    require_ready(engine)
    day = today or datetime.now(LONDON).date()
    data = load_national(engine, Period.containing(day))
    subs = data.submissions
    children = data.children
    latest = subs.groupby("council_code", as_index=False)["received_at"].max() if not subs.empty else subs
    if not children.empty:
        # each council's latest period with a current version: "its latest data"
        newest = children.groupby("council_code")["period"].transform("max")
        children = children[children["period"] == newest]
    cases = provisional_x1(children, latest, today=day) if not children.empty else []
    with engine.begin() as connection:
        return record_provisional(connection, cases, rule=PROVISIONAL_X1, today=day)
