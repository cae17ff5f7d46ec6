"""Cross-council linkage (standard section 5, rules X1 to X6), as pure functions over tables.

Input: the child records of every current submission (a council's latest accepted or signed-off
version of each period) up to the period being compiled plus the next one, as a DataFrame with
the columns of `child_records` (`council_code, period, local_child_id, upn_key, nhs_key,
birth_month, sex, identified_on, closed_on, closure_reason, moved_to_council,
moved_from_council, moved_from_child_id`, others ignored), and the list of current submissions
(`council_code, period`), so that "B sent a return without the child" can be told from "B sent
nothing".

Records are clustered into children (union-find by label propagation):
- records sharing a UPN key or an NHS key are one child, so a child with UPN only in one return,
  UPN and NHS in another and NHS only in a third is one child;
- records of one council (through recodes) with the same local_child_id are one child;
- a record naming `moved_from_council` + `moved_from_child_id` joins that council's record with
  that id, unless both records carry a key of the same kind and the keys differ (the keys are
  stronger evidence than a typed-in id).

Councils are compared through the register: a recode is the same council (never X1/X2/X5
between its codes), and a council "is or became" its successors, so a child who moved to
Cumbria and appears in Cumberland after the split has arrived. Findings carry each council's
own local_child_id only; keys never leave this module.

X6, the whole picture, is `transforms.picture`'s: it is about one child and the council now
responsible for it, so it is kept apart from the findings about pairs (`LinkResult.whole_pictures`).

Each finding also gets a stable identity (`ChildToTrace.identity`, a sha256 of the child's key,
the rule, the pair of councils and the period), so that the councils told about it can follow it
up across recompiles: the same case found again is the same case, never a new one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from schemas.calendar import Period
from schemas.register import Register, load_register
from schemas.standard import Standard, load_standard
from transforms.picture import INDICATORS, PICTURE_COLUMNS, WholePicture, whole_pictures

RULES = ("X1", "X2", "X3", "X4", "X5")  # findings about a pair of councils (counted per pair)
WHOLE_PICTURE = "X6"  # about one child and the council now responsible (counted per council)
# §8: X1 reported weeks before the quarter decides it, from councils that submit through the API
PROVISIONAL_X1 = "X1P"
PROVISIONAL_AFTER_DAYS = 28  # closed MOVED_OUT more than this many days before the daily run
WEEKLY_DAYS = 7  # "submits at least weekly": the closing council sent a return within this many days
MOVED_OUT = "MOVED_OUT"
UNKNOWN_SEX = "U"

CHILD_COLUMNS = (
    "council_code",
    "period",
    "local_child_id",
    "upn_key",
    "nhs_key",
    "birth_month",
    "sex",
    "identified_on",
    "closed_on",
    "closure_reason",
    "moved_to_council",
    "moved_from_council",
    "moved_from_child_id",
    *PICTURE_COLUMNS,
)

# X1 is also reported to the receiving council, which holds no record of the child, so the
# schema's message (written for the council that owns the record) cannot name the child there.
# Decision: the receiving council is told which council and period, never the other's id.
X1_RECEIVING_MESSAGE = (
    "{other_council} closed a child as MOVED_OUT to you in {period}; the child is not in your "
    "return for {period} or the next quarter."
)

PROVISIONAL_X1_RECEIVING_MESSAGE = (
    "Provisional: {other_council} closed a child as MOVED_OUT to you in {period} more than 28 days ago; "
    "the child is not in your latest data. The quarter's X1 will decide."
)


@dataclass(frozen=True, order=True)
class CrossCouncilFinding:
    """One cross-council finding about one child and one pair of councils (analysts only)."""

    rule: str
    period: str
    from_council_code: str
    to_council_code: str
    from_local_child_id: str | None
    to_local_child_id: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, order=True)
class CouncilFinding:
    """A cross-council finding as one council sees it: its own local_child_id only."""

    council_code: str
    rule: str
    period: str
    local_child_id: str | None
    other_council_code: str
    message: str


@dataclass(frozen=True)
class ChildToTrace:
    """A cross-council finding with what following it up needs (analysts and the store only).

    `identity`: sha256 hex of the child's pseudonymised key, the rule, the two councils (by the
    first code of their lineage, so a recode, even one the register learns later, keeps it) and
    the period. The same case found by a later compile has the same identity. The key is the
    smallest UPN key, else the smallest NHS key, of the child's records up to the finding's
    period (later returns cannot change it); for a child with no key, the smallest council
    lineage + local_child_id among those records. Only the hash leaves this module.

    `closed_on`, `birth_month` (YYYY-MM), `sex`: from the record the finding is about (for X1 the
    sending council's closing record): what a council that holds no record of the child needs to
    look for it.
    """

    identity: str
    finding: CrossCouncilFinding
    closed_on: date | None
    birth_month: str | None
    sex: str | None
    # X6 only: the combined picture (its `finding` names B as `to` with B's id, and the other
    # council with the latest record as `from`, without its id)
    picture: WholePicture | None = None


@dataclass(frozen=True)
class LinkResult:
    findings: list[CrossCouncilFinding]
    children: int  # distinct children (clusters) among the records
    traceable: list[ChildToTrace] = field(default_factory=list)  # one per finding, in the same order
    # X6: one per child, council now responsible and period (never in `findings`: they are
    # about pairs of councils and go to analysts with both ids)
    whole_pictures: list[ChildToTrace] = field(default_factory=list)

    def for_period(self, period: str) -> list[CrossCouncilFinding]:
        return [f for f in self.findings if f.period == period]


# --------------------------------------------------------------------------------------------
# Register relations (cached: the same few hundred pairs are asked about many times)


class _Relations:
    def __init__(self, register: Register) -> None:
        self.register = register
        self._lineage: dict[str, str] = {}
        self._became: dict[tuple[str, str], bool] = {}
        self._first: dict[str, str] = {}

    def lineage(self, code: str) -> str:
        if code not in self._lineage:
            try:
                self._lineage[code] = self.register.lineage_id(code)
            except KeyError:
                self._lineage[code] = code
        return self._lineage[code]

    def first_code(self, code: str) -> str:
        """The oldest code of the council's lineage: stable when the register gains a recode."""
        if code not in self._first:
            try:
                self._first[code] = self.register.recodes(code)[0]
            except KeyError:
                self._first[code] = code
        return self._first[code]

    def same(self, a: str, b: str) -> bool:
        return self.lineage(a) == self.lineage(b)

    def is_or_became(self, old: str, new: str) -> bool:
        if (old, new) not in self._became:
            try:
                self._became[(old, new)] = self.same(old, new) or self.register.is_or_became(old, new)
            except KeyError:
                self._became[(old, new)] = False
        return self._became[(old, new)]

    def related(self, a: str, b: str) -> bool:
        """Same council, or one is a predecessor of the other (a reorganisation, not a move)."""
        return self.is_or_became(a, b) or self.is_or_became(b, a)


# --------------------------------------------------------------------------------------------
# Clustering


def _ordinal(period: str) -> int:
    p = Period.parse(period)
    return p.year * 4 + p.quarter - 1


def _period_code(ordinal: int) -> str:
    return Period(ordinal // 4, ordinal % 4 + 1).code


def prepare(children: pd.DataFrame, register: Register | None = None) -> pd.DataFrame:
    """Normalise the columns linkage needs: text stripped, blanks as None, dates as Timestamps."""
    relations = _Relations(register or load_register())
    frame = pd.DataFrame(index=range(len(children)))
    source = children.reset_index(drop=True)
    for column in CHILD_COLUMNS:
        if column in source.columns:
            frame[column] = source[column]
        else:
            frame[column] = None
    for column in (
        "council_code",
        "period",
        "local_child_id",
        "upn_key",
        "nhs_key",
        "sex",
        "closure_reason",
        "moved_to_council",
        "moved_from_council",
        "moved_from_child_id",
        *INDICATORS,
        "risk_level",
        "return_interview_offered",
    ):
        # object dtype on purpose: pandas 3 would infer `str` and turn None into NaN
        frame[column] = pd.Series(_texts(frame[column]), dtype=object)
    frame["birth_month"] = pd.Series([_month(v) for v in frame["birth_month"]], dtype=object)
    for column in ("identified_on", "closed_on"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
    periods = {code: _ordinal(code) for code in frame["period"].dropna().unique()}
    frame["p"] = frame["period"].map(periods).astype("int64")
    frame["lineage"] = frame["council_code"].map({c: relations.lineage(c) for c in frame["council_code"].unique()})
    starts = {code: pd.Timestamp(Period.parse(code).start) for code in periods}
    ends = {code: pd.Timestamp(Period.parse(code).end) for code in periods}
    # as datetimes even when there are no rows (an empty map is object dtype, which no date compares with)
    frame["period_start"] = pd.to_datetime(frame["period"].map(starts))
    frame["period_end"] = pd.to_datetime(frame["period"].map(ends))
    frame["open_at_end"] = frame["closed_on"].isna() | (frame["closed_on"] > frame["period_end"])
    frame["identified_in_period"] = (
        frame["identified_on"].notna()
        & (frame["identified_on"] >= frame["period_start"])
        & (frame["identified_on"] <= frame["period_end"])
    )
    return frame


def _texts(column: pd.Series) -> np.ndarray:
    """Text values with blanks as None; values from the store are already trimmed, so only
    columns holding anything but text take the slow path."""
    values = column.to_numpy(dtype=object).copy()
    missing = pd.isna(values)
    values[missing] = None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return np.array([_text(v) for v in values], dtype=object)
    values[values == ""] = None
    return values


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or pd.isna(value):  # type: ignore[arg-type]
        return None
    text = value.strip() if isinstance(value, str) else str(value).strip()
    return text or None


def _month(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    text = str(value).strip()
    return text[:7] if len(text) >= 7 else None


def cluster(records: pd.DataFrame, register: Register | None = None) -> np.ndarray:
    """A child number per record (the smallest record index in its cluster); `records` as from
    `prepare`."""
    n = len(records)
    labels = np.arange(n, dtype=np.int64)
    groupings: list[np.ndarray] = []
    for column in ("upn_key", "nhs_key"):
        groupings.append(_group_ids(records[column]))
    groupings.append(_group_ids(records["lineage"].astype(str) + "\x1f" + records["local_child_id"].astype(str)))
    edges = _moved_from_edges(records, _Relations(register or load_register()))
    while True:
        before = labels.copy()
        for groups in groupings:
            mask = groups >= 0
            if mask.any():
                minima = pd.Series(labels[mask]).groupby(groups[mask]).transform("min").to_numpy()
                labels[mask] = np.minimum(labels[mask], minima)
        if len(edges):
            u, v = edges[:, 0], edges[:, 1]
            m = np.minimum(labels[u], labels[v])
            np.minimum.at(labels, u, m)
            np.minimum.at(labels, v, m)
        labels = labels[labels]  # pointer jumping: follow each label to its own label
        if np.array_equal(labels, before):
            return labels


def _group_ids(values: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


def _moved_from_edges(records: pd.DataFrame, relations: _Relations) -> np.ndarray:
    refs = records[records["moved_from_council"].notna() & records["moved_from_child_id"].notna()]
    if refs.empty:
        return np.empty((0, 2), dtype=np.int64)
    targets = pd.DataFrame(
        {
            "j": np.arange(len(records)),
            "lineage": records["lineage"].to_numpy(),
            "id": records["local_child_id"].to_numpy(),
        }
    )
    sources = pd.DataFrame(
        {
            "i": refs.index.to_numpy(),
            "lineage": [relations.lineage(c) for c in refs["moved_from_council"]],
            "id": refs["moved_from_child_id"].to_numpy(),
        }
    )
    pairs = sources.merge(targets, on=["lineage", "id"], how="inner")
    upn, nhs = records["upn_key"].to_numpy(), records["nhs_key"].to_numpy()
    edges = [
        (int(i), int(j))
        for i, j in zip(pairs["i"], pairs["j"], strict=True)
        if not (_keys_disagree(upn[i], upn[j]) or _keys_disagree(nhs[i], nhs[j]))
    ]
    return np.array(edges, dtype=np.int64).reshape(-1, 2)


def _keys_disagree(a: object, b: object) -> bool:
    return a is not None and b is not None and a != b


# --------------------------------------------------------------------------------------------
# The rules


def x1_decided_through(period: Period, today: date) -> Period:
    """X1 for a closure in P needs P+1: it is decided for P once P+1's deadline has passed,
    else only up to P-1 (the compile of P and the annual publication ask the same question)."""
    return period if today > period.next().deadline else period.previous()


def link(
    children: pd.DataFrame,
    submissions: pd.DataFrame | Iterable[tuple[str, str]],
    *,
    register: Register | None = None,
    through: Period | str | None = None,
    x1_decided_through: Period | str | None = None,
) -> LinkResult:
    """Run X1 to X5 over the records of current submissions.

    `submissions`: the current submissions (`council_code, period` pairs) the records come from,
    including those with no children. `through`: the latest period whose records are used
    (default: the latest present). X1 for a closure in P needs P+1: it is decided for closures up
    to `x1_decided_through` (default: every period, i.e. a missing P+1 counts as "not there").
    Returns every finding of every period; filter with `LinkResult.for_period`.
    """
    register = register or load_register()
    relations = _Relations(register)
    records = prepare(children, register)
    through_code = through.code if isinstance(through, Period) else through
    if through_code is not None:
        records = records[records["p"] <= _ordinal(through_code)].reset_index(drop=True)
    subs = _submission_set(submissions, relations, _ordinal(through_code) if through_code else None)
    if records.empty:
        return LinkResult(findings=[], children=0)
    records["child"] = cluster(records, register)
    decided_code = x1_decided_through.code if isinstance(x1_decided_through, Period) else x1_decided_through
    decided = _ordinal(decided_code) if decided_code else None

    found: dict[CrossCouncilFinding, int] = {}  # each finding -> the record it is about
    by_child: dict[int, list[int]] = defaultdict(list)
    for i, child in enumerate(records["child"].to_numpy()):
        by_child[int(child)].append(i)
    multi = records.groupby("child")["lineage"].nunique()
    multi_children = set(multi.index[multi > 1].astype(int))
    cols = {c: records[c].to_numpy() for c in records.columns}

    for finding, row in (
        *_x1(records, by_child, cols, relations, decided),
        *_x2(multi_children, by_child, cols, relations, subs),
        *_x3(records, cols, relations),
        *_x4(records, by_child, cols, relations),
        *_x5(records, multi_children, by_child, cols, relations),
    ):
        found.setdefault(finding, row)
    findings = sorted(found, key=_finding_order)
    traceable = _traceable(findings, found, by_child, cols, relations)
    pictures = _whole_pictures(multi_children, by_child, cols, relations)
    return LinkResult(findings=findings, children=len(by_child), traceable=traceable, whole_pictures=pictures)


def _finding_order(f: CrossCouncilFinding) -> tuple[str, ...]:
    return (
        f.period,
        f.rule,
        f.from_council_code,
        f.to_council_code,
        f.from_local_child_id or "",
        f.to_local_child_id or "",
    )


def _submission_set(
    submissions: pd.DataFrame | Iterable[tuple[str, str]], relations: _Relations, through: int | None
) -> set[tuple[str, int]]:
    pairs: Iterable[tuple[str, str]] = (
        zip(submissions["council_code"], submissions["period"], strict=True)
        if isinstance(submissions, pd.DataFrame)
        else submissions
    )
    result = set()
    for council, period in pairs:
        p = _ordinal(str(period))
        if through is None or p <= through:
            result.add((relations.lineage(str(council)), p))
    return result


def _x1(
    records: pd.DataFrame,
    by_child: dict[int, list[int]],
    cols: dict[str, np.ndarray],
    relations: _Relations,
    decided: int | None,
) -> list[tuple[CrossCouncilFinding, int]]:
    """Closed MOVED_OUT to B in P; the child is in no return of B (or what B became) for P or P+1."""
    out = []
    moved = records.index[(records["closure_reason"] == MOVED_OUT) & records["moved_to_council"].notna()]
    for i in moved:
        a, b, p = cols["council_code"][i], cols["moved_to_council"][i], int(cols["p"][i])
        if decided is not None and p > decided:
            continue
        if relations.same(a, b):
            continue
        arrived = any(
            int(cols["p"][j]) in (p, p + 1) and relations.is_or_became(b, cols["council_code"][j])
            for j in by_child[int(cols["child"][i])]
        )
        if not arrived:
            out.append((CrossCouncilFinding("X1", cols["period"][i], a, b, cols["local_child_id"][i], None), int(i)))
    return out


def _x2(
    multi_children: set[int],
    by_child: dict[int, list[int]],
    cols: dict[str, np.ndarray],
    relations: _Relations,
    subs: set[tuple[str, int]],
) -> list[tuple[CrossCouncilFinding, int]]:
    """Open in A in P, a new case in B in P or P+1, and A never closed it.

    "New case" in B: B's first record of the child, identified in that period, or B had sent a
    return for the period before without the child. Reported once, in the period the new case
    appears in B. A reorganisation (B is what A became) is not a move.
    """
    out = []
    for child in multi_children:
        rows = by_child[child]
        by_lineage: dict[str, list[int]] = defaultdict(list)
        for j in rows:
            by_lineage[cols["lineage"][j]].append(j)
        for lineage_a, rows_a in by_lineage.items():
            if any(not pd.isna(cols["closed_on"][j]) for j in rows_a):
                continue  # A closed it at some point: the move (or an end) was recorded
            open_periods = {int(cols["p"][j]): j for j in rows_a if cols["open_at_end"][j]}
            for lineage_b, rows_b in by_lineage.items():
                if lineage_b == lineage_a:
                    continue
                first = min(rows_b, key=lambda j: (int(cols["p"][j]), cols["council_code"][j]))
                pb = int(cols["p"][first])
                new = bool(cols["identified_in_period"][first]) or (lineage_b, pb - 1) in subs
                if not new:
                    continue
                a_row = open_periods.get(pb, open_periods.get(pb - 1))
                if a_row is None:
                    continue
                a, b = cols["council_code"][a_row], cols["council_code"][first]
                if relations.related(a, b):
                    continue
                finding = CrossCouncilFinding(
                    "X2", cols["period"][first], a, b, cols["local_child_id"][a_row], cols["local_child_id"][first]
                )
                out.append((finding, a_row))
    return out


def _x3(
    records: pd.DataFrame, cols: dict[str, np.ndarray], relations: _Relations
) -> list[tuple[CrossCouncilFinding, int]]:
    """The same key in two councils with a different birth month or sex (U matches any sex).

    One finding per child and pair of councils, in the first period both conflicting records
    exist; `from` is the council that reported the child first.
    """
    found: dict[tuple[str, str, str, str], tuple[CrossCouncilFinding, int]] = {}
    for column in ("upn_key", "nhs_key"):
        keyed = records[records[column].notna()]
        counts = keyed.groupby(column)["lineage"].nunique()
        shared = keyed[keyed[column].isin(counts.index[counts > 1])]
        for _, group in shared.groupby(column):
            rows = sorted(group.index, key=lambda j: (int(cols["p"][j]), cols["council_code"][j]))
            for x, i in enumerate(rows):
                for j in rows[x + 1 :]:
                    if cols["lineage"][i] == cols["lineage"][j] or not _conflict(cols, i, j):
                        continue
                    a, b = cols["council_code"][i], cols["council_code"][j]
                    if relations.same(a, b):
                        continue
                    period = cols["period"][j]  # the later of the two: when the conflict exists
                    key = (
                        cols["lineage"][i],
                        cols["lineage"][j],
                        str(cols["local_child_id"][i]),
                        str(cols["local_child_id"][j]),
                    )
                    finding = CrossCouncilFinding(
                        "X3", period, a, b, cols["local_child_id"][i], cols["local_child_id"][j]
                    )
                    if key not in found or finding.period < found[key][0].period:
                        found[key] = (finding, int(i))
    return list(found.values())


def _conflict(cols: dict[str, np.ndarray], i: int, j: int) -> bool:
    month_i, month_j = cols["birth_month"][i], cols["birth_month"][j]
    if month_i is not None and month_j is not None and month_i != month_j:
        return True
    sex_i, sex_j = cols["sex"][i], cols["sex"][j]
    return sex_i is not None and sex_j is not None and UNKNOWN_SEX not in (sex_i, sex_j) and sex_i != sex_j


def _x4(
    records: pd.DataFrame, by_child: dict[int, list[int]], cols: dict[str, np.ndarray], relations: _Relations
) -> list[tuple[CrossCouncilFinding, int]]:
    """B names moved_from_council A; A (or a predecessor or successor of A) never reported the child.

    Reported once per child and pair, in the first period B names A.
    """
    first: dict[tuple[int, str, str], int] = {}
    named = records.index[records["moved_from_council"].notna()]
    for i in named:
        a, b = cols["moved_from_council"][i], cols["council_code"][i]
        if relations.same(a, b):
            continue
        key = (int(cols["child"][i]), relations.lineage(a), cols["lineage"][i])
        if key not in first or (int(cols["p"][i]), b) < (int(cols["p"][first[key]]), cols["council_code"][first[key]]):
            first[key] = int(i)
    out = []
    for (child, _lineage_a, _lineage_b), i in first.items():
        a = cols["moved_from_council"][i]
        reported = any(relations.related(a, cols["council_code"][j]) for j in by_child[child])
        if not reported:
            finding = CrossCouncilFinding(
                "X4", cols["period"][i], a, cols["council_code"][i], None, cols["local_child_id"][i]
            )
            out.append((finding, i))
    return out


def _x5(
    records: pd.DataFrame,
    multi_children: set[int],
    by_child: dict[int, list[int]],
    cols: dict[str, np.ndarray],
    relations: _Relations,
) -> list[tuple[CrossCouncilFinding, int]]:
    """Open at the same period end in two councils (not two codes of one council).

    One finding per child, pair and period; `from` is the council that reported the child first.
    """
    out = []
    for child in multi_children:
        rows = by_child[child]
        first_seen: dict[str, tuple[int, str]] = {}
        for j in rows:
            seen = (int(cols["p"][j]), cols["council_code"][j])
            lineage = cols["lineage"][j]
            if lineage not in first_seen or seen < first_seen[lineage]:
                first_seen[lineage] = seen
        by_period: dict[int, dict[str, int]] = defaultdict(dict)
        for j in rows:
            if cols["open_at_end"][j]:
                by_period[int(cols["p"][j])].setdefault(cols["lineage"][j], j)
        for p, open_rows in by_period.items():
            if len(open_rows) < 2:
                continue
            ordered = sorted(open_rows.items(), key=lambda item: (first_seen[item[0]], item[0]))
            for x, (_, i) in enumerate(ordered):
                for _, j in ordered[x + 1 :]:
                    a, b = cols["council_code"][i], cols["council_code"][j]
                    if relations.related(a, b):
                        continue
                    finding = CrossCouncilFinding(
                        "X5", _period_code(p), a, b, cols["local_child_id"][i], cols["local_child_id"][j]
                    )
                    out.append((finding, i))
    return out


# --------------------------------------------------------------------------------------------
# Stable identities (children to trace)


def trace_identity(child: str, rule: str, period: str, from_lineage: str, to_lineage: str) -> str:
    """sha256 hex of one case: the child's token (a key, or lineage + local id), the rule, the
    period and the two councils' lineages. Versioned, so a change of recipe is never a collision."""
    text = "\x1f".join(("lscb-trace/1", child, rule, period, from_lineage, to_lineage))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _traceable(
    findings: list[CrossCouncilFinding],
    rows: dict[CrossCouncilFinding, int],
    by_child: dict[int, list[int]],
    cols: dict[str, np.ndarray],
    relations: _Relations,
) -> list[ChildToTrace]:
    tokens: dict[tuple[int, int], str] = {}
    out = []
    for f in findings:
        i = rows[f]
        child, p = int(cols["child"][i]), _ordinal(f.period)
        if (child, p) not in tokens:
            # records up to the finding's period only: a later return cannot move the identity
            earlier = [j for j in by_child[child] if int(cols["p"][j]) <= p] or [i]
            tokens[(child, p)] = _child_token(earlier, cols, relations)
        closed = cols["closed_on"][i]
        out.append(
            ChildToTrace(
                identity=trace_identity(
                    tokens[(child, p)],
                    f.rule,
                    f.period,
                    relations.first_code(f.from_council_code),
                    relations.first_code(f.to_council_code),
                ),
                finding=f,
                closed_on=None if pd.isna(closed) else pd.Timestamp(closed).date(),
                birth_month=cols["birth_month"][i],
                sex=cols["sex"][i],
            )
        )
    return out


def _whole_pictures(
    multi_children: set[int], by_child: dict[int, list[int]], cols: dict[str, np.ndarray], relations: _Relations
) -> list[ChildToTrace]:
    """X6 (`transforms.picture`) as cases: the identity is the child's, the rule's, the period's
    and B's alone (a late return from another council adds to the picture, not a new case)."""
    out = []
    tokens: dict[tuple[int, int], str] = {}
    found = whole_pictures(sorted(multi_children), by_child, cols, related=relations.related)
    for picture, _row in sorted(found, key=lambda item: (item[0].period, item[0].council_code, item[1])):
        child, p = picture.child, _ordinal(picture.period)
        if (child, p) not in tokens:
            earlier = [j for j in by_child[child] if int(cols["p"][j]) <= p]
            tokens[(child, p)] = _child_token(earlier, cols, relations)
        b = relations.first_code(picture.council_code)
        finding = CrossCouncilFinding(
            WHOLE_PICTURE, picture.period, picture.other_councils[0], picture.council_code, None, picture.local_child_id
        )
        out.append(
            ChildToTrace(
                identity=trace_identity(tokens[(child, p)], WHOLE_PICTURE, picture.period, b, b),
                finding=finding,
                closed_on=None,
                birth_month=None,
                sex=None,
                picture=picture,
            )
        )
    return out


def _child_token(rows: list[int], cols: dict[str, np.ndarray], relations: _Relations) -> str:
    for kind, column in (("UPN", "upn_key"), ("NHS", "nhs_key")):
        keys = [str(cols[column][j]) for j in rows if cols[column][j] is not None]
        if keys:
            return f"{kind}:{min(keys)}"
    return "ID:" + min(f"{relations.first_code(cols['council_code'][j])}\x1f{cols['local_child_id'][j]}" for j in rows)


# --------------------------------------------------------------------------------------------
# What each council is told, and counts per pair

# Which side of a finding is told about it (and may follow it up): X1 both councils (the
# receiving one without any id); X2 the council that never closed the case; X3 and X5 both; X4
# the council that named the other.
TOLD: dict[str, tuple[str, ...]] = {
    "X1": ("from", "to"),
    "X2": ("from",),
    "X3": ("from", "to"),
    "X4": ("to",),
    "X5": ("from", "to"),
    WHOLE_PICTURE: ("to",),  # the council now responsible only
    PROVISIONAL_X1: ("from", "to"),  # as X1: both councils, the receiving one without any id
}

# Following a finding up: open -> acknowledged -> resolved (how, with a note); reopen goes back.
TRACE_STATUSES = ("open", "acknowledged", "resolved")
RESOLUTIONS = ("found_recorded", "not_ours", "already_known", "acted_on", "other")
RESOLUTION_LABELS = {
    "found_recorded": "Found and recorded",
    "not_ours": "Not ours",
    "already_known": "Already known",
    "acted_on": "Acted on (for example, a strategy meeting held)",
    "other": "Other",
}
# what a council may answer: a child to find (X1-X5) is found or not ours; a picture (X6) was
# already known to the council, or it acted on it
RULE_RESOLUTIONS: dict[str, tuple[str, ...]] = {
    **{rule: ("found_recorded", "not_ours", "other") for rule in RULES},
    WHOLE_PICTURE: ("already_known", "acted_on", "not_ours", "other"),
    PROVISIONAL_X1: ("found_recorded", "not_ours", "other"),
}
TRACE_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {  # action -> (from statuses, to status)
    "acknowledge": (("open",), "acknowledged"),
    "resolve": (("open", "acknowledged"), "resolved"),
    "reopen": (("acknowledged", "resolved"), "open"),
}


def council_findings(
    findings: Iterable[CrossCouncilFinding],
    *,
    register: Register | None = None,
    standard: Standard | None = None,
) -> list[CouncilFinding]:
    """Each finding as the councils concerned see it (`TOLD`), with only their own local_child_id."""
    register = register or load_register()
    standard = standard or load_standard()

    def name(code: str) -> str:
        council = register.find(code)
        return f"{council.name} ({code})" if council else code

    out: list[CouncilFinding] = []
    for f in findings:
        template = standard.rule(f.rule).message

        def told(
            council: str, own_id: str | None, other: str, text: str = template, f: CrossCouncilFinding = f
        ) -> None:
            message = text.format(local_child_id=own_id, other_council=name(other), period=f.period)
            out.append(CouncilFinding(council, f.rule, f.period, own_id, other, message))

        for side in TOLD[f.rule]:
            if side == "from":
                told(f.from_council_code, f.from_local_child_id, f.to_council_code)
            elif f.rule == "X1":  # the receiving council holds no record: it gets no id
                told(f.to_council_code, None, f.from_council_code, X1_RECEIVING_MESSAGE)
            elif f.rule == PROVISIONAL_X1:
                told(f.to_council_code, None, f.from_council_code, PROVISIONAL_X1_RECEIVING_MESSAGE)
            else:
                told(f.to_council_code, f.to_local_child_id, f.from_council_code)
    return sorted(out, key=lambda t: (t.council_code, t.period, t.rule, t.local_child_id or "", t.other_council_code))


def pair_counts(findings: Iterable[CrossCouncilFinding]) -> pd.DataFrame:
    """Children per period, rule and pair of councils (`time_period, rule, from_council_code,
    to_council_code, children`)."""
    frame = pd.DataFrame([f.to_json() for f in findings], columns=list(CrossCouncilFinding.__dataclass_fields__))
    if frame.empty:
        return pd.DataFrame(columns=["time_period", "rule", "from_council_code", "to_council_code", "children"])
    counts = (
        frame.groupby(["period", "rule", "from_council_code", "to_council_code"])
        .size()
        .rename("children")
        .reset_index()
    )
    return counts.rename(columns={"period": "time_period"}).sort_values(
        ["time_period", "rule", "from_council_code", "to_council_code"], ignore_index=True
    )


# --------------------------------------------------------------------------------------------
# Provisional X1 (§8): the daily run, weeks before the quarter decides


def provisional_x1(
    children: pd.DataFrame,
    latest: pd.DataFrame,
    *,
    today: date,
    register: Register | None = None,
) -> list[ChildToTrace]:
    """Children closed MOVED_OUT to council B more than 28 days before `today`, by a council
    that submitted in the last week, who are not in B's latest data; the quarter's X1 has not yet
    decided their period (`x1_decided_through`): once it has, X1 speaks and these disappear.

    `children`: the child records of each council's latest current version (any period);
    `latest`: one row per council: `council_code`, `received_at` (its latest submission, UTC)."""
    register = register or load_register()
    relations = _Relations(register)
    if children.empty:
        return []
    records = prepare(children, register)
    records["child"] = cluster(records, register)
    by_child: dict[int, list[int]] = defaultdict(list)
    for i, child in enumerate(records["child"].to_numpy()):
        by_child[int(child)].append(i)
    cols = {c: records[c].to_numpy() for c in records.columns}
    received = {
        str(code): pd.Timestamp(at).date()
        for code, at in zip(latest["council_code"], latest["received_at"], strict=True)
    }
    cutoff = pd.Timestamp(today) - pd.Timedelta(days=PROVISIONAL_AFTER_DAYS)
    moved = records.index[
        (records["closure_reason"] == MOVED_OUT)
        & records["moved_to_council"].notna()
        & records["closed_on"].notna()
        & (records["closed_on"] < cutoff)
    ]
    found: dict[CrossCouncilFinding, int] = {}
    for i in moved:
        a, b, period = cols["council_code"][i], cols["moved_to_council"][i], cols["period"][i]
        sent = received.get(str(a))
        if sent is None or (today - sent).days > WEEKLY_DAYS or relations.same(a, b):
            continue
        if x1_decided_through(Period.parse(period), today).code >= period:
            continue  # the quarter has decided: X1 (or nothing)
        arrived = any(relations.is_or_became(b, cols["council_code"][j]) for j in by_child[int(cols["child"][i])])
        if not arrived:
            found.setdefault(CrossCouncilFinding(PROVISIONAL_X1, period, a, b, cols["local_child_id"][i], None), int(i))
    return _traceable(sorted(found, key=_finding_order), found, by_child, cols, relations)
