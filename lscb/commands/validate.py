"""`lscb validate FILE`: check a return against the standard, as the portal would, and say what
to fix. Needs no database and no secret key; writes nothing except the report asked for.

Exit status: 0 no errors (queries allowed), 1 errors, 2 refused or unreadable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from lscb.cli import UserError

FIRST_CELLS = 10
REPORT_SUFFIXES = (".xlsx", ".html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a return (xlsx or zipped CSV bundle) against the standard",
        description="Check a council's return against the standard: errors (must be fixed) and "
        "queries (fix or explain), each pointing at the cell in the council's own file. "
        "Exit status 0 without errors, 1 with errors, 2 when the file is refused or unreadable.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the return: .xlsx, or .zip of the four CSV files")
    parser.add_argument("--council", metavar="CODE", help="the council the upload claims to be (GSS code)")
    parser.add_argument("--period", metavar="YYYY-Qn", help="the period the upload claims to be for")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--report", type=Path, metavar="OUT", help="also write the feedback report (.xlsx or .html)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from schemas.calendar import Period
    from transforms.ingest import Refused, read_return
    from transforms.validate import validate_return

    if args.period is not None:
        try:
            Period.parse(args.period)
        except ValueError as error:
            raise UserError(str(error)) from None
    report: Path | None = args.report
    if report is not None and report.suffix.lower() not in REPORT_SUFFIXES:
        raise UserError(f"--report must name an .xlsx or .html file, not {report.name!r}")

    path: Path = args.file
    try:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        ret = read_return(path)
    except Refused as refused:
        return _refused(refused.reason, args.json)
    except UserError as error:
        if args.json:
            return _refused(str(error), True)
        raise
    except OSError as error:
        return _refused(f"{path.name}: cannot read the file ({error.strerror or error})", args.json)

    result = validate_return(ret, claimed_council=args.council, claimed_period=args.period)
    if report is not None:
        from reports.feedback import write_feedback

        try:
            write_feedback(ret, result, report)
        except OSError as error:
            raise UserError(f"cannot write {report}: {error.strerror or error}") from None
    if args.json:
        print(json.dumps(_as_json(result), indent=2, ensure_ascii=False))
    else:
        _print_human(result, report)
    return 1 if result.errors else 0


def _refused(reason: str, as_json: bool) -> int:
    line = " ".join(reason.split())
    if as_json:
        payload = {**_payload("refused", None, None, 0, 0, []), "reason": line}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    print(f"lscb validate: refused: {line}", file=sys.stderr)
    return 2


def _as_json(result: Any) -> dict[str, Any]:
    findings = [f.to_json() for f in result.findings]  # rule, severity, sheet, cell, field, id, message
    return _payload(result.status, result.council_code, result.period, result.errors, result.queries, findings)


def _payload(  # noqa: PLR0917 - the JSON's fields, in its order
    status: str, council_code: str | None, period: str | None, errors: int, queries: int, findings: list[Any]
) -> dict[str, Any]:
    return {
        "status": status,
        "council_code": council_code,
        "period": period,
        "errors": errors,
        "queries": queries,
        "findings": findings,
    }


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"1 {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def _print_human(result: Any, report: Path | None) -> None:
    from schemas.standard import load_standard

    standard = load_standard(result.standard_version)
    who = ", ".join(part for part in (result.council_code, result.period) if part)
    print(f"{result.source_name}: {result.status.upper()}" + (f" ({who})" if who else ""))
    print(f"{_plural(result.errors, 'error')}, {_plural(result.queries, 'query')}")
    if result.findings:
        counts = Counter(f.rule for f in result.findings)
        order = {r.id: i for i, r in enumerate(standard.rules)}
        print("\nBy rule:")
        for rule_id in sorted(counts, key=lambda r: (standard.rule(r).severity != "E", order.get(r, 999))):
            rule = standard.rule(rule_id)
            label = "error" if rule.severity == "E" else "query"
            print(f"  {rule_id:<10} {label:<6} {counts[rule_id]:>6}  {rule.description}")
        ordered = [f for f in result.findings if f.severity == "E"] + [f for f in result.findings if f.severity == "Q"]
        shown = ordered[:FIRST_CELLS]
        print(f"\nFirst {len(shown)} of {len(ordered)} to fix:" if len(ordered) > len(shown) else "\nTo fix:")
        for f in shown:
            where = f.cell or f"{f.sheet} sheet"
            child = f" [{f.local_child_id}]" if f.local_child_id else ""
            print(f"  {where:<14} {f.rule:<10}{child} {f.message}")
    if report is not None:
        print(f"\nFeedback report: {report}")
