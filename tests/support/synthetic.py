"""Synthetic validated returns for the store's tests and benchmark (no file, no validation).

Every value is made up: UPNs and NHS numbers carry valid check characters but are random.
`synthetic_result` builds the `ValidationResult` that validation would return for a clean return
(plus any query or error findings asked for), so storage can be tested and measured on its own.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from schemas.calendar import Period
from schemas.identifiers import nhs_check_digit, upn_check_letter
from schemas.register import load_register
from schemas.standard import load_standard
from transforms.findings import Finding

if TYPE_CHECKING:
    from transforms.validate.model import ValidationResult


def synthetic_upn(rng: random.Random, la_number: str) -> str:
    body = la_number + "".join(rng.choice("0123456789") for _ in range(9))
    return upn_check_letter(body) + body


def synthetic_nhs_number(rng: random.Random) -> str:
    while True:
        first = "".join(rng.choice("0123456789") for _ in range(9))
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def synthetic_result(
    council_code: str,
    period: str,
    *,
    children: int = 20,
    seed: int = 0,
    queries: int = 0,
    errors: int = 0,
    activity: dict[str, int] | None = None,
    variant: str = "",
) -> ValidationResult:
    """A validated return for `council_code` and `period` with `children` child rows (Excel rows
    2, 3, ...). `queries` adds CHD-23 query findings on the first rows; `errors` adds VAL-02
    error findings (making the return rejected). `variant` changes the checksum only."""
    from transforms.validate.model import TypedReturn, ValidationResult

    register = load_register()
    council = register.get(council_code)
    p = Period.parse(period)
    rng = random.Random(f"{council_code}:{period}:{seed}")  # noqa: S311 - made-up data, not secrets
    standard = load_standard()
    about: dict[str, object] = {
        "standard_version": standard.version,
        "council_code": council.council_code,
        "la_number": council.la_number,
        "period": p.code,
        "prepared_by_email": "data.officer@example.org",
        "signed_off_by": None,
        "signed_off_on": None,
    }
    strategy: dict[str, object] = {
        "cse_strategy": "IN_PLACE",
        "strategy_reviewed_on": None,
        "cse_lead_named": "Y",
        "multi_agency_team": "CO_LOCATED",
        "team_police": "Y",
        "team_health": "Y",
        "team_social_care": "Y",
        "team_education": "Y",
        "team_youth_justice": "N",
        "team_voluntary": "N",
        "info_sharing_protocol": "SIGNED",
        "protocol_includes_health": "Y",
        "staff_trained": rng.randint(0, 40),
    }
    rows: list[dict[str, Any]] = []
    for i in range(children):
        identified = p.start + timedelta(days=rng.randint(0, (p.end - p.start).days))
        born = identified - timedelta(days=rng.randint(10 * 365, 17 * 365))
        kind = i % 4
        missing = rng.choice((0, 0, 0, 1, 2))
        rows.append(
            {
                "local_child_id": f"C{council.la_number}-{seed}-{i:06d}",
                "upn": synthetic_upn(rng, council.la_number) if kind in (0, 1) else None,
                "nhs_number": synthetic_nhs_number(rng) if kind in (1, 2) else None,
                "no_id_reason": "NOT_KNOWN" if kind == 3 else None,
                "date_of_birth": born,
                "sex": rng.choice("FMU"),
                "ethnicity": rng.choice(standard.code_lists["ethnicity"].codes),
                "identified_on": identified,
                "risk_level": rng.choice(("LOW", "MEDIUM", "HIGH")),
                "looked_after": rng.choice("YN"),
                "missing_episodes": missing,
                "ind_missing": "Y" if missing else "N",
                "ind_unexplained_injury": rng.choice("YN"),
                "ind_sti": "N",
                "ind_pregnancy": "N",
                "ind_offending": rng.choice("YN"),
                "ind_truancy": rng.choice("YN"),
                "ind_substance_misuse": rng.choice("YN"),
                "ind_gang_association": rng.choice("YN"),
                "return_interview_offered": "Y" if missing else None,
                "referred_to_police": "Y",
                "moved_from_council": None,
                "moved_from_child_id": None,
                "closed_on": None,
                "closure_reason": None,
                "moved_to_council": None,
            }
        )
    columns = list(standard.sheet("Children").field_names)
    frame = pd.DataFrame(rows, columns=columns, index=pd.Index(range(2, children + 2), name="row"), dtype=object)
    counts = {f.name: rng.randint(5, 30) for f in standard.sheet("Activity").fields}
    counts["children_open_at_end"] = children
    counts["children_newly_identified"] = children
    counts["missing_episodes"] = max(counts["missing_episodes"], counts["children_missing"])
    counts["return_interviews_offered"] = max(
        counts["return_interviews_offered"], counts["return_interviews_within_72h"]
    )
    counts.update(activity or {})
    findings: list[Finding] = []
    rule_q = standard.rule("CHD-23")
    for i in range(queries):
        excel_row = 2 + i
        findings.append(
            Finding(
                rule=rule_q.id,
                severity="Q",
                sheet="Children",
                cell=f"Children!I{excel_row}",
                field="risk_level",
                local_child_id=str(frame.at[excel_row, "local_child_id"]) if excel_row in frame.index else None,
                message=rule_q.message,
                row=excel_row,
            )
        )
    for i in range(errors):
        excel_row = 2 + i
        findings.append(
            Finding(
                rule="VAL-02",
                severity="E",
                sheet="Children",
                cell=f"Children!F{excel_row}",
                field="sex",
                local_child_id=str(frame.at[excel_row, "local_child_id"]) if excel_row in frame.index else None,
                message="sex must be one of F, M, U; 'X' is not.",
                row=excel_row,
            )
        )
    checksum = hashlib.sha256(f"{council_code}|{period}|{seed}|{children}|{queries}|{errors}|{variant}".encode())
    return ValidationResult(
        source_name=f"{council.la_number}_{p.code}.xlsx",
        checksum=checksum.hexdigest(),
        standard_version=standard.version,
        council_code=council.council_code,
        period=p.code,
        findings=findings,
        typed=TypedReturn(about=about, strategy=strategy, activity=dict(counts), children=frame),
    )


def raw_identifiers(result: ValidationResult) -> list[str]:
    """Every raw UPN and NHS number in a synthetic result (for leak tests)."""
    assert result.typed is not None
    frame = result.typed.children
    return [str(v) for column in ("upn", "nhs_number") for v in frame[column] if v]


def birth_dates(result: ValidationResult) -> list[date]:
    assert result.typed is not None
    return list(result.typed.children["date_of_birth"])


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.support.synthetic URL COUNCIL PERIOD [--children N] [--seed S]
    [--start-at EPOCH]`: store one synthetic return (the fault and concurrency tests run this in
    child processes; `--start-at` lines several processes up to start together)."""
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(prog="python -m tests.support.synthetic")
    parser.add_argument("url")
    parser.add_argument("council")
    parser.add_argument("period")
    parser.add_argument("--children", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=0)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--secret", default="synthetic test secret")
    parser.add_argument("--pause-after", type=int, default=0, help="fault tests: pause after N child rows")
    parser.add_argument("--pause-marker", default="", help="fault tests: the file touched at the pause")
    args = parser.parse_args(argv)

    from pipeline.receive import store_validated

    if args.pause_after:
        from pathlib import Path

        from tests.support.fault import install_pause

        install_pause(args.pause_after, Path(args.pause_marker))

    result = synthetic_result(args.council, args.period, children=args.children, seed=args.seed, queries=args.queries)
    delay = args.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    outcome = store_validated(
        result, args.council, submitted_by="synthetic", secret=args.secret.encode(), engine_or_url=args.url
    )
    print(json.dumps({"status": outcome.status, "version": outcome.version, "id": outcome.submission_id}))
    return 0 if outcome.status in ("accepted", "duplicate") else 1


if __name__ == "__main__":
    raise SystemExit(main())
