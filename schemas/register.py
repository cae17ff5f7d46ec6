"""The council register (standard section 2).

Built from the DfE reference list shipped in `schemas/register/` (`las.csv`, `regions.csv`) and
the hand-written `lineage.csv`, which records how councils changed: `recode` (same council, new
GSS code, same DfE LA number), `merge` and `split` (boundary changes).

A council is identified by its GSS code. Rows of `las.csv` whose code holds ` / ` (combined
reporting rows) and rows with a `z`/`x` code (not councils, or no DfE LA number) are left out.
"""

from __future__ import annotations

import csv
import functools
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal, cast

from schemas.calendar import Period

DATA_DIR = Path(__file__).with_name("register")

LineageKind = Literal["recode", "merge", "split"]
LINEAGE_KINDS: tuple[LineageKind, ...] = ("recode", "merge", "split")

_GSS_CODE = re.compile(r"E(06|08|09|10)\d{6}")
_LA_NUMBER = re.compile(r"\d{3}")
_NOT_A_COUNCIL = {"z", "x"}
_COMBINED = " / "


COUNTRY_CODE = "E92000001"  # England, ONS
COUNTRY_NAME = "England"


class UnknownCouncil(KeyError):
    """No council matches a code (or none was in operation on the date asked about)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Council:
    council_code: str  # GSS code
    la_number: str  # 3-digit DfE number as a string, e.g. "805"
    name: str
    region_code: str  # E12...
    region_name: str
    entity_code: str  # E06/E08/E09/E10
    start: date
    end: date | None

    def in_operation_on(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)

    def in_operation_during(self, period: Period) -> bool:
        """True when the council was in operation on any day of the period."""
        return self.start <= period.end and (self.end is None or period.start <= self.end)

    def describe_dates(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat() if self.end else 'now'}"


@dataclass(frozen=True)
class LineageLink:
    predecessor_code: str
    successor_code: str
    effective_on: date
    kind: LineageKind
    note: str


class Register:
    def __init__(self, councils: Iterable[Council], regions: dict[str, str], links: Iterable[LineageLink]):
        self._by_code = {council.council_code: council for council in councils}
        self._by_number: dict[str, list[Council]] = {}
        for council in sorted(self._by_code.values(), key=lambda c: c.start):
            self._by_number.setdefault(council.la_number, []).append(council)
        self._regions = dict(regions)
        self._links = list(links)
        self._recode_next: dict[str, str] = {}
        self._recode_previous: dict[str, str] = {}
        for link in self._links:
            for code in (link.predecessor_code, link.successor_code):
                if code not in self._by_code:
                    raise ValueError(f"lineage refers to {code}, which is not a council in the register")
            if link.kind == "recode":
                if link.predecessor_code in self._recode_next or link.successor_code in self._recode_previous:
                    raise ValueError(f"recode {link.predecessor_code} -> {link.successor_code} is not one-to-one")
                self._recode_next[link.predecessor_code] = link.successor_code
                self._recode_previous[link.successor_code] = link.predecessor_code

    def all(self) -> list[Council]:
        """Every council code ever, sorted by code."""
        return sorted(self._by_code.values(), key=lambda c: c.council_code)

    def lineage_links(self) -> list[LineageLink]:
        return list(self._links)

    def get(self, code: str, on: date | None = None) -> Council:
        """The council with this GSS code or 3-digit DfE LA number.

        An LA number that several codes share (a recode) resolves to the code in operation on
        `on`, or to the latest code when `on` is not given. When `on` is given, only a council in
        operation on that day is returned. Raises `UnknownCouncil` (a `KeyError`) otherwise.
        """
        key = str(code).strip().upper()
        if key in self._by_code:
            candidates = [self._by_code[key]]
        elif key in self._by_number:
            candidates = self._by_number[key]
        else:
            raise UnknownCouncil(f"{code!r} is neither the GSS code nor the DfE LA number of a council")
        if on is None:
            return candidates[-1]
        for council in candidates:
            if council.in_operation_on(on):
                return council
        known = "; ".join(f"{c.council_code} {c.name}, {c.describe_dates()}" for c in candidates)
        raise UnknownCouncil(f"{code!r} was not a council in operation on {on.isoformat()} ({known})")

    def find(self, code: str, on: date | None = None) -> Council | None:
        try:
            return self.get(code, on)
        except KeyError:
            return None

    def expected(self, period: Period) -> list[Council]:
        """Councils expected to return for the period, sorted by code.

        Every council in operation on any day of the period, except that a council recoded
        during the period counts once, under the code in operation at the period end.
        """
        by_lineage: dict[str, Council] = {}
        for council in sorted(self._by_code.values(), key=lambda c: c.start):
            if council.in_operation_during(period):
                by_lineage[self.lineage_id(council.council_code)] = council
        return sorted(by_lineage.values(), key=lambda c: c.council_code)

    def successors(self, code: str) -> list[Council]:
        """Councils that directly took over (part of) this council, from `lineage.csv`."""
        key = self.get(code).council_code
        return self._councils(link.successor_code for link in self._links if link.predecessor_code == key)

    def predecessors(self, code: str) -> list[Council]:
        key = self.get(code).council_code
        return self._councils(link.predecessor_code for link in self._links if link.successor_code == key)

    def descendants(self, code: str) -> list[Council]:
        """Every council that this one became, through any number of recodes, merges and splits."""
        seen: set[str] = set()
        queue = deque([self.get(code).council_code])
        while queue:
            for successor in self.successors(queue.popleft()):
                if successor.council_code not in seen:
                    seen.add(successor.council_code)
                    queue.append(successor.council_code)
        return sorted((self._by_code[c] for c in seen), key=lambda c: (c.start, c.council_code))

    def lineage_id(self, code: str) -> str:
        """One value for every code of one council through recodes: its latest code."""
        return list(self._recode_chain(code))[-1]

    def recodes(self, code: str) -> list[str]:
        """Every code of this council through recodes, oldest first. The first is a lineage that
        never changes when the register later gains a recode (`lineage_id` would move on)."""
        return list(self._recode_chain(code))

    def lineage_or_self(self, code: str) -> str:
        """`lineage_id` for a code the register knows; the code itself for one it does not (a
        population file or an old extract may carry codes from outside the register)."""
        try:
            return self.lineage_id(str(code))
        except KeyError:
            return str(code)

    def current_code(self, code: str, on: date) -> str:
        """The code, among this council's recodes, in operation on `on`; the code itself if none."""
        key = self.get(code).council_code
        for candidate in self._recode_chain(key):
            if self._by_code[candidate].in_operation_on(on):
                return candidate
        return key

    def same_council(self, a: str, b: str) -> bool:
        return self.lineage_id(a) == self.lineage_id(b)

    def is_or_became(self, old_code: str, new_code: str) -> bool:
        """True when `new_code` is `old_code` under any of its recodes, or a descendant of it.

        A child open to Cumbria in 2022 and found in Cumberland in 2023 has not been lost.
        """
        new = self.get(new_code).council_code
        return self.same_council(old_code, new) or any(c.council_code == new for c in self.descendants(old_code))

    def la_numbers(self) -> frozenset[str]:
        """Every DfE LA number of any council ever."""
        return frozenset(self._by_number)

    def regions(self) -> dict[str, str]:
        """Region code (E12...) -> region name."""
        return dict(self._regions)

    def _recode_chain(self, code: str) -> Iterator[str]:
        """This council's codes through recodes, oldest first."""
        first = self.get(code).council_code
        while first in self._recode_previous:
            first = self._recode_previous[first]
        current: str | None = first
        while current is not None:
            yield current
            current = self._recode_next.get(current)

    def _councils(self, codes: Iterable[str]) -> list[Council]:
        return sorted((self._by_code[code] for code in set(codes)), key=lambda c: c.council_code)


def _read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def _dfe_date(value: str) -> date:
    return datetime.strptime(value, "%d/%m/%Y").date()


def _is_council_row(row: dict[str, str]) -> bool:
    code, number = row["new_la_code"].strip(), row["old_la_code"].strip()
    if _COMBINED in code or code in _NOT_A_COUNCIL or number in _NOT_A_COUNCIL:
        return False
    if not (_GSS_CODE.fullmatch(code) and _LA_NUMBER.fullmatch(number)):
        raise ValueError(f"las.csv: unexpected council row {row}")
    return True


def _council(row: dict[str, str], regions: dict[str, str]) -> Council:
    region_code = row["parent_geography_code"].strip()
    if region_code not in regions:
        raise ValueError(f"las.csv: {row['new_la_code']} has unknown region {region_code!r}")
    return Council(
        council_code=row["new_la_code"].strip(),
        la_number=row["old_la_code"].strip(),
        name=row["la_name"].strip(),
        region_code=region_code,
        region_name=regions[region_code],
        entity_code=row["entity_code"].strip(),
        start=_dfe_date(row["date_of_operation"].strip()),
        end=_dfe_date(row["date_of_termination"].strip()) if row["date_of_termination"].strip() else None,
    )


def _link(row: dict[str, str]) -> LineageLink:
    kind = row["kind"].strip()
    if kind not in LINEAGE_KINDS:
        raise ValueError(f"lineage.csv: kind must be one of {', '.join(LINEAGE_KINDS)}, not {kind!r}")
    return LineageLink(
        predecessor_code=row["predecessor_code"].strip(),
        successor_code=row["successor_code"].strip(),
        effective_on=date.fromisoformat(row["effective_on"].strip()),
        kind=cast(LineageKind, kind),
        note=row["note"].strip(),
    )


@functools.cache
def load_register() -> Register:
    """The register shipped with the package (read once, then cached)."""
    regions = {
        row["region_code"].strip(): row["region_name"].strip()
        for row in _read_csv("regions.csv")
        if row["region_code"].strip().startswith("E12")
    }
    councils = [_council(row, regions) for row in _read_csv("las.csv") if _is_council_row(row)]
    links = [_link(row) for row in _read_csv("lineage.csv")]
    return Register(councils, regions, links)
