"""Cross-council cases: good moves, one deliberately broken case per rule X1-X5, and X6.

The cases follow the definitions in `transforms.link` (the national linker), so each planned case
is found there exactly once and nothing else is:

- good move: A closes the case MOVED_OUT to B on day d; B opens it on or after d (same period,
  or the next period when one is generated) naming moved_from_council A and, mostly, A's
  local_child_id. A's case was opened before the period (so A's record is never itself a "new
  case" next to B's open one). A two-hop chain A -> B (period P) -> C (P+1) shows linkage through
  either identifier: UPN only in A, UPN and NHS number in B, NHS number only in C.
- X1: A closes MOVED_OUT to B; the child is in no return of B for P or P+1.
- X2: A has the child open at the end of P and never closes it; B opens it as a new case in P
  (closing it again in P, so it is not open in two places) or, when P+1 is generated, A drops
  the child unclosed and B opens it in P+1. Reported in the period B's case appears.
- X3: a child in A only in P (identified and closed there) and a record in B in P with the same
  identifier but another birth month or sex (closed in P as well).
- X4: B names moved_from_council A for a child A never reported (closed in P so it is named once).
- X5: open at the end of the first generated period in A and in B, both opened before it (so
  neither is a new case); B closes it early in the next period, so it is open in two places at
  one period end only.
- X6: a good move in which A recorded warning signs (indicators Y, sometimes a higher risk level)
  that B's record does not show. Every other record of a child in a case shows the same signs
  in both councils (indicators copied, no missing episodes), so it raises no X6.
For X3 and X5 `from` is the council that reported the child first, ties broken by code, as the
linker orders them. Records in a case get a `role`, so error injection leaves them alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from schemas.calendar import Period
from synth.world import (
    CouncilWorld,
    Record,
    WorldBuilder,
    birthday18,
    day_between,
)
from transforms.picture import WINDOW_QUARTERS


@dataclass(frozen=True, order=True)
class Case:
    rule: str
    period: str
    from_council_code: str
    to_council_code: str
    from_local_child_id: str | None
    to_local_child_id: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, order=True)
class Move:
    period: str  # when A closed the case
    arrival_period: str  # when B opened it
    from_council_code: str
    to_council_code: str
    from_local_child_id: str
    to_local_child_id: str
    identifiers: str  # which identifiers each side shows, e.g. "upn -> upn+nhs"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Planner:
    def __init__(
        self,
        builder: WorldBuilder,
        worlds: dict[str, CouncilWorld],
        periods: list[Period],
        *,
        codes: dict[tuple[str, int], str],
        present: list[set[str]],
        dirty: set[tuple[str, int]],
    ) -> None:
        self.builder = builder
        self.rng: random.Random = builder.rng
        self.worlds = worlds
        self.periods = periods
        self.codes = codes
        self.present = present
        self.dirty = dirty
        self.cases: list[Case] = []
        self.moves: list[Move] = []
        self.pictures: list[tuple[Record, Record, str, str, int]] = []  # X6: (A's, B's, a, b, index)

    # ---- choosing councils and records

    def _councils(self, indexes: tuple[int, ...], count: int) -> list[str] | None:
        pool = sorted(set.intersection(*(self.present[i] for i in indexes)))
        clean = [c for c in pool if not any((c, i) in self.dirty for i in indexes)]
        source = clean if len(clean) >= count else pool
        if len(source) < count:
            return None
        return self.rng.sample(source, count)

    def _pick(self, lineage: str, index: int, test: Callable[[Record], bool]) -> Record | None:
        period = self.periods[index]
        candidates = [
            r
            for r in self.worlds[lineage].records
            if r.role is None
            and r.in_return(index, period)
            and r.open_at_end(period)
            and (r.person.upn is not None or r.person.nhs is not None)
            and test(r)
        ]
        if not candidates:
            return None
        return self.rng.choice(candidates)

    def code(self, lineage: str, index: int) -> str:
        return self.codes[(lineage, index)]

    def _shared_views(self, record: Record) -> tuple[tuple[bool, bool], tuple[bool, bool], str]:
        """Which identifiers the two sides show: always at least one in common."""
        person = record.person
        if person.upn is None or person.nhs is None:
            both = (person.upn is not None, person.nhs is not None)
            return both, both, _views(both, both)
        options = [
            ((True, True), (True, True)),
            ((True, False), (True, True)),
            ((True, True), (False, True)),
            ((False, True), (True, True)),
            ((True, True), (True, False)),
        ]
        a, b = self.rng.choice(options)
        return a, b, _views(a, b)

    def _new_record(self, lineage: str, source: Record, identified_on: Any, view: tuple[bool, bool]) -> Record:
        """The same child in another council, with the same warning signs (so that only a
        planned X6 shows a sign one council recorded and the other did not)."""
        world = self.worlds[lineage]
        record = self.builder.record(world, source.person, identified_on, risk=source.risk)
        record.indicators = dict(source.indicators)
        record.show_upn, record.show_nhs = view
        record.no_id_reason = None
        world.records.append(record)
        return record

    # ---- the cases

    def plan(self, good_moves: int, each_rule: int) -> None:
        last = len(self.periods) - 1
        for index in range(len(self.periods)):
            for n in range(good_moves):
                if index < last and n % 4 == 3:
                    self.chain(index)
                else:
                    self.good_move(index, next_period=index < last and n % 3 == 1)
            for n in range(each_rule):
                self.x1(index)
                self.x2(index, next_period=index < last and n % 2 == 1)
                self.x3(index)
                self.x4(index)
                if index == 0:
                    self.x5(index)
        for index in range(len(self.periods)):  # after the others, so they stay as they were
            for n in range(each_rule):
                self.x6(index, next_period=index < last and n % 2 == 1)

    def good_move(self, index: int, *, next_period: bool, keep_open: bool = False) -> Record | None:
        period = self.periods[index]
        arrival = index + 1 if next_period else index
        pair = self._councils((index, arrival) if next_period else (index,), 2)
        if pair is None:
            return None
        a, b = pair
        source = self._pick(
            a, index, lambda r: r.identified_on < period.start and birthday18(r.dob) > period.end + timedelta(days=120)
        )
        if source is None:
            return None
        return self._move(source, a, b, index, arrival, keep_open=keep_open)

    def _move(
        self,
        source: Record,
        a: str,
        b: str,
        index: int,
        arrival: int,
        *,
        keep_open: bool = False,
        views: tuple[tuple[bool, bool], tuple[bool, bool], str] | None = None,
    ) -> Record:
        period = self.periods[index]
        lo = max(period.start, source.identified_on)
        moved_on = (
            day_between(self.rng, lo, period.end - timedelta(days=6))
            if arrival == index
            else day_between(self.rng, lo, period.end)
        )
        source.closed_on, source.closure_reason = moved_on, "MOVED_OUT"
        source.moved_to = self.code(b, index)
        source.role = "move"
        view_a, view_b, label = views or self._shared_views(source)
        source.show_upn, source.show_nhs = view_a
        if arrival == index:
            opened = moved_on + timedelta(days=self.rng.randint(0, 3))
        else:
            opened = self.periods[arrival].start + timedelta(days=self.rng.randint(0, 40))
        target = self._new_record(b, source, opened, view_b)
        target.moved_from = self.code(a, index)
        target.moved_from_child_id = source.local_id if self.rng.random() < 0.9 else None
        target.role = "move"
        self.builder.plan_closure(target, self.periods, arrival, keep_open_until=arrival if keep_open else -1)
        self.moves.append(
            Move(
                period.code,
                self.periods[arrival].code,
                self.code(a, index),
                self.code(b, arrival),
                source.local_id,
                target.local_id,
                label,
            )
        )
        return target

    def chain(self, index: int) -> None:
        """A -> B in P, then B -> C in P+1: UPN only in A, both in B, NHS number only in C."""
        trio = self._councils((index, index + 1), 3)
        if trio is None:
            return
        a, b, c = trio
        period, following = self.periods[index], self.periods[index + 1]
        source = self._pick(
            a,
            index,
            lambda r: (
                r.identified_on < period.start
                and r.person.upn is not None
                and r.person.nhs is not None
                and birthday18(r.dob) > following.end + timedelta(days=120)
            ),
        )
        if source is None:
            return
        middle = self._move(
            source, a, b, index, index, keep_open=True, views=((True, False), (True, True), "upn -> upn+nhs")
        )
        self._move(middle, b, c, index + 1, index + 1, views=((True, True), (False, True), "upn+nhs -> nhs"))

    def x1(self, index: int) -> None:
        period = self.periods[index]
        window = tuple(i for i in (index, index + 1) if i < len(self.periods))
        pair = self._councils(window, 2)
        if pair is None:
            return
        a, b = pair
        source = self._pick(a, index, lambda r: True)
        if source is None:
            return
        source.closed_on = day_between(self.rng, max(period.start, source.identified_on), period.end)
        source.closure_reason, source.moved_to, source.role = "MOVED_OUT", self.code(b, index), "X1"
        self.cases.append(Case("X1", period.code, self.code(a, index), self.code(b, index), source.local_id, None))

    def x2(self, index: int, *, next_period: bool) -> None:
        period, last_end = self.periods[index], self.periods[-1].end
        arrival = index + 1 if next_period else index
        pair = self._councils((index, arrival) if next_period else (index,), 2)
        if pair is None:
            return
        a, b = pair
        source = self._pick(
            a,
            index,
            lambda r: (
                r.identified_on <= period.end - timedelta(days=10) and birthday18(r.dob) > last_end + timedelta(days=1)
            ),
        )
        if source is None:
            return
        source.closed_on = source.closure_reason = None  # A never closes it
        source.role = "X2"
        _view_a, view_b, _ = self._shared_views(source)
        if next_period:
            source.last_period = index  # A drops the child without closing the case
            opened = self.periods[arrival].start + timedelta(days=self.rng.randint(0, 40))
            target = self._new_record(b, source, opened, view_b)
            self.builder.plan_closure(target, self.periods, arrival)
        else:
            opened = day_between(
                self.rng, max(period.start, source.identified_on + timedelta(days=1)), period.end - timedelta(days=3)
            )
            target = self._new_record(b, source, opened, view_b)
            target.closed_on, target.closure_reason = day_between(self.rng, opened, period.end), "RISK_REDUCED"
        target.role = "X2"
        self.cases.append(
            Case(
                "X2",
                self.periods[arrival].code,
                self.code(a, index),
                self.code(b, arrival),
                source.local_id,
                target.local_id,
            )
        )

    def x3(self, index: int) -> None:
        period = self.periods[index]
        pair = self._councils((index,), 2)
        if pair is None:
            return
        a, b = pair
        rng = self.rng
        opened_a = day_between(rng, period.start, period.end - timedelta(days=20))
        world_a = self.worlds[a]
        person = self.builder.person(
            world_a.la_number, opened_a, alive_until=period.end + timedelta(days=1), both_ids=True
        )
        record_a = self.builder.record(world_a, person, opened_a)
        record_a.closed_on = day_between(rng, opened_a, period.end - timedelta(days=10))
        record_a.closure_reason, record_a.role = "RISK_REDUCED", "X3"
        world_a.records.append(record_a)
        view_a, view_b, _ = self._shared_views(record_a)
        record_a.show_upn, record_a.show_nhs = view_a
        opened_b = day_between(rng, record_a.closed_on + timedelta(days=1), period.end - timedelta(days=2))
        record_b = self._new_record(b, record_a, opened_b, view_b)
        if person.sex in ("F", "M") and rng.random() < 0.5:
            record_b.sex = "M" if person.sex == "F" else "F"
        else:  # a year and a few months younger: another birth month, still a child
            record_b.dob = person.dob + timedelta(days=365 + 31 * rng.randint(1, 5))
            if record_b.dob.month == 2 and record_b.dob.day == 29:
                record_b.dob += timedelta(days=1)
        record_b.closed_on = day_between(rng, opened_b, period.end)
        record_b.closure_reason, record_b.role = "RISK_REDUCED", "X3"
        self.cases.append(
            self._ordered(
                "X3", period.code, (self.code(a, index), record_a.local_id), (self.code(b, index), record_b.local_id)
            )
        )

    def x4(self, index: int) -> None:
        period = self.periods[index]
        pair = self._councils((index,), 2)
        if pair is None:
            return
        a, b = pair
        rng = self.rng
        world_b = self.worlds[b]
        opened = day_between(rng, period.start, period.end - timedelta(days=5))
        person = self.builder.person(world_b.la_number, opened, alive_until=period.end + timedelta(days=1))
        if person.upn is None and person.nhs is None:
            person.nhs = self.builder.ids.nhs()
        record = self.builder.record(world_b, person, opened)
        record.no_id_reason = None
        record.show_upn, record.show_nhs = person.upn is not None, person.nhs is not None
        record.moved_from = self.code(a, index)
        record.moved_from_child_id = self.worlds[a].unused_local_id(rng) if rng.random() < 0.7 else None
        record.closed_on, record.closure_reason = day_between(rng, opened, period.end), "RISK_REDUCED"
        record.role = "X4"
        world_b.records.append(record)
        self.cases.append(Case("X4", period.code, self.code(a, index), self.code(b, index), None, record.local_id))

    def x5(self, index: int) -> None:
        period = self.periods[index]
        pair = self._councils((index,), 2)
        if pair is None:
            return
        a, b = pair
        rng = self.rng
        world_a = self.worlds[a]
        opened_a = period.start - timedelta(days=rng.randint(30, 300))
        person = self.builder.person(
            world_a.la_number, opened_a, alive_until=period.end + timedelta(days=200), both_ids=True
        )
        record_a = self.builder.record(world_a, person, opened_a)
        world_a.records.append(record_a)
        view_a, view_b, _ = self._shared_views(record_a)
        record_a.show_upn, record_a.show_nhs = view_a
        self.builder.plan_closure(record_a, self.periods, index, keep_open_until=index)
        record_a.role = "X5"
        opened_b = period.start - timedelta(days=rng.randint(30, 300))
        record_b = self._new_record(b, record_a, opened_b, view_b)
        if index + 1 < len(self.periods):
            following = self.periods[index + 1]
            record_b.closed_on = following.start + timedelta(days=rng.randint(0, 20))
            record_b.closure_reason = "RISK_REDUCED"
        record_b.role = "X5"
        self.cases.append(
            self._ordered(
                "X5", period.code, (self.code(a, index), record_a.local_id), (self.code(b, index), record_b.local_id)
            )
        )

    def x6(self, index: int, *, next_period: bool) -> None:
        """A good move in which A recorded warning signs B's record of the child does not show:
        one or two indicators Y in A only, and sometimes a risk level B assessed lower. B is told
        in every period it has the child open while A's record is within the last 12 months."""
        source_period = self.periods[index]
        arrival = index + 1 if next_period else index
        pair = self._councils((index, arrival) if next_period else (index,), 2)
        if pair is None:
            return
        a, b = pair
        source = self._pick(
            a,
            index,
            lambda r: (
                r.identified_on < source_period.start and birthday18(r.dob) > source_period.end + timedelta(days=400)
            ),
        )
        if source is None:
            return
        signs = self.rng.sample(sorted(source.indicators), self.rng.randint(1, 2))
        for name in signs:
            source.indicators[name] = "Y"
        target = self._move(source, a, b, index, arrival)
        target.indicators = {name: "N" for name in target.indicators}
        if source.risk != "LOW" and self.rng.random() < 0.5:
            target.risk = {"HIGH": "MEDIUM", "MEDIUM": "LOW"}[source.risk]
        source.role = target.role = "X6"
        self.moves.pop()  # not a good move: the move itself raises nothing, the picture does
        self.pictures.append((source, target, a, b, index))

    def whole_picture_cases(self) -> list[Case]:
        """The X6 cases of the planted pictures: B has the child open at a period end within
        the last 12 months (that period and the three before) of A's record, both returns sent
        and without errors (a rejected return is not in the national data)."""
        cases = []
        for _source, target, a, b, index in self.pictures:
            if (a, index) in self.dirty:
                continue
            for q in range(index, min(len(self.periods), index + WINDOW_QUARTERS)):
                period = self.periods[q]
                if b not in self.present[q] or (b, q) in self.dirty:
                    continue
                if target.in_return(q, period) and target.open_at_end(period):
                    cases.append(Case("X6", period.code, self.code(a, index), self.code(b, q), None, target.local_id))
        return cases

    @staticmethod
    def _ordered(rule: str, period: str, one: tuple[str, str], two: tuple[str, str]) -> Case:
        first, second = sorted((one, two))
        return Case(rule, period, first[0], second[0], first[1], second[1])


def _views(a: tuple[bool, bool], b: tuple[bool, bool]) -> str:
    def name(view: tuple[bool, bool]) -> str:
        return "+".join(n for n, shown in zip(("upn", "nhs"), view, strict=True) if shown)

    return f"{name(a)} -> {name(b)}"
