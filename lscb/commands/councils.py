"""`lscb councils`: the councils expected to return for a period, or one council's details."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from lscb.cli import UserError
from schemas.calendar import Period
from schemas.register import Council, Register, load_register


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "councils",
        help="list the councils expected to return for a period, or look one up",
        description="List the councils expected to return for a period, or show one council's "
        "details (by GSS code or DfE LA number), including predecessors and successors.",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--period", metavar="YYYY-Qn", help="list the councils expected for this period")
    what.add_argument("--lookup", metavar="CODE", help="show one council, by GSS code or 3-digit LA number")
    parser.add_argument("--on", metavar="YYYY-MM-DD", help="with --lookup: the council in operation on this date")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = load_register()
    if args.lookup is not None:
        return _lookup(registry, args.lookup, _parse_date(args.on), args.json)
    if args.on is not None:
        raise UserError("--on goes with --lookup")
    try:
        period = Period.parse(args.period)
    except ValueError as error:
        raise UserError(str(error)) from None
    return _list(registry.expected(period), period, args.json)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def _summary(council: Council) -> dict[str, str]:
    return {
        "council_code": council.council_code,
        "la_number": council.la_number,
        "name": council.name,
        "region_code": council.region_code,
        "region_name": council.region_name,
    }


def _list(councils: list[Council], period: Period, as_json: bool) -> int:
    if as_json:
        print(json.dumps([_summary(c) for c in councils], indent=2))
        return 0
    header = {"council_code": "Code", "la_number": "LA", "name": "Name", "region_name": "Region"}
    rows = [header] + [_summary(c) for c in councils]
    widths = {key: max(len(row[key]) for row in rows) for key in header}
    for row in rows:
        print("  ".join(row[key].ljust(widths[key]) for key in header).rstrip())
    print(f"{len(councils)} councils expected for {period} ({period.start} to {period.end}, due {period.deadline})")
    return 0


def _lookup(registry: Register, code: str, on: date | None, as_json: bool) -> int:
    try:
        council = registry.get(code, on)
    except KeyError as error:
        raise UserError(str(error)) from None
    links = registry.lineage_links()
    details: dict[str, Any] = {
        **_summary(council),
        "entity_code": council.entity_code,
        "start": council.start.isoformat(),
        "end": council.end.isoformat() if council.end else None,
        "lineage_id": registry.lineage_id(council.council_code),
        "predecessors": [
            _link_summary(link.predecessor_code, link.kind, link.effective_on, registry)
            for link in links
            if link.successor_code == council.council_code
        ],
        "successors": [
            _link_summary(link.successor_code, link.kind, link.effective_on, registry)
            for link in links
            if link.predecessor_code == council.council_code
        ],
    }
    if as_json:
        print(json.dumps(details, indent=2))
        return 0
    for label, key in [
        ("GSS code", "council_code"),
        ("LA number", "la_number"),
        ("Name", "name"),
        ("Region", "region_name"),
        ("Region code", "region_code"),
        ("Type", "entity_code"),
        ("In operation from", "start"),
        ("In operation to", "end"),
        ("Lineage id", "lineage_id"),
    ]:
        print(f"{label + ':':<19}{details[key] or '(still in operation)'}")
    for label, key in [("Predecessors", "predecessors"), ("Successors", "successors")]:
        print(f"{label + ':':<19}{'' if details[key] else 'none'}".rstrip())
        for item in details[key]:
            code, number, name = item["council_code"], item["la_number"], item["name"]
            print(f"  {code} {number} {name} ({item['kind']} {item['effective_on']})")
    return 0


def _link_summary(code: str, kind: str, effective_on: date, registry: Register) -> dict[str, str]:
    other = registry.get(code)
    return {
        "council_code": other.council_code,
        "la_number": other.la_number,
        "name": other.name,
        "kind": kind,
        "effective_on": effective_on.isoformat(),
    }
