"""Benchmark of the national compile: every expected council x 4 quarters x 1,000 children.

Builds the national data in memory (made-up records with carried-over children, moves between
councils and keys), then times linkage + measures + gaps (`compile_tables`) and writing every
output (`write_compile`: CSVs, XLSX, dashboard), and prints the peak resident memory.

    .venv/bin/python bench/compile.py                      # the full national size
    .venv/bin/python bench/compile.py --children 100 --quarters 2 --councils 40
    .venv/bin/python bench/compile.py --database-url sqlite:///var/lscb.sqlite --period 2025-Q4

With --database-url the data is read from the store instead (timing `load_national` too).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.calendar import Period  # noqa: E402
from schemas.register import load_register  # noqa: E402
from transforms.measures import NationalData  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_national(first: Period, quarters: int, councils: int | None, children: int, seed: int) -> NationalData:
    rng = random.Random(seed)
    register = load_register()
    periods = [first]
    while len(periods) < quarters:
        periods.append(periods[-1].next())
    subs, strategy, activity, rows = [], [], [], []
    next_child = 0
    open_children: dict[str, list[dict[str, object]]] = {}
    arriving: dict[str, list[dict[str, object]]] = {}
    for period in periods:
        expected = [c.council_code for c in register.expected(period)]
        if councils:
            expected = expected[:councils]
        new_arriving: dict[str, list[dict[str, object]]] = {}
        for code in expected:
            lineage = register.lineage_id(code)
            carried = [c for c in open_children.get(lineage, []) if rng.random() < 0.75]
            records = carried + arriving.get(lineage, [])
            while len(records) < children:
                next_child += 1
                records.append(
                    {
                        "local_child_id": f"L{next_child}",
                        "upn_key": f"u{next_child}" if rng.random() < 0.8 else None,
                        "nhs_key": f"n{next_child}" if rng.random() < 0.6 else None,
                        "birth_month": f"{rng.randint(2008, 2016)}-{rng.randint(1, 12):02d}",
                        "sex": rng.choice("FM"),
                        "identified_on": period.start + timedelta(days=rng.randint(0, 80)),
                    }
                )
            still_open = []
            for child in records[:children]:
                row = {
                    **child,
                    "council_code": code,
                    "period": period.code,
                    "closed_on": None,
                    "closure_reason": None,
                    "moved_to_council": None,
                    "moved_from_council": child.get("moved_from_council"),
                    "moved_from_child_id": child.get("moved_from_child_id"),
                    "missing_episodes": rng.choice([0, 0, 0, 1, 2]),
                    "return_interview_offered": rng.choice("YYN"),
                    "risk_level": rng.choice(["LOW", "MEDIUM", "HIGH"]),
                    "referred_to_police": rng.choice("YN"),
                }
                roll = rng.random()
                if roll < 0.02:
                    destination = rng.choice(expected)
                    row.update(
                        closed_on=period.end - timedelta(days=5),
                        closure_reason="MOVED_OUT",
                        moved_to_council=destination,
                    )
                    next_child += 1
                    new_arriving.setdefault(register.lineage_id(destination), []).append(
                        {
                            **{k: child[k] for k in ("upn_key", "nhs_key", "birth_month", "sex")},
                            "local_child_id": f"L{next_child}",
                            "identified_on": period.next().start,
                            "moved_from_council": code,
                            "moved_from_child_id": child["local_child_id"],
                        }
                    )
                elif roll < 0.2:
                    row.update(closed_on=period.end - timedelta(days=10), closure_reason="RISK_REDUCED")
                else:
                    still_open.append({k: v for k, v in child.items() if not k.startswith("moved_from")})
                rows.append(row)
            open_children[lineage] = still_open
            received = datetime.combine(period.deadline, datetime.min.time(), UTC) + timedelta(days=rng.randint(-20, 5))
            subs.append(
                {
                    "council_code": code,
                    "period": period.code,
                    "version": 1,
                    "status": "accepted",
                    "received_at": received,
                    "errors": 0,
                    "queries": rng.randint(0, 3),
                    "open_queries": 0,
                }
            )
            strategy.append(
                {
                    "council_code": code,
                    "period": period.code,
                    "cse_strategy": rng.choice(["NONE", "PLANNING", "IN_PLACE", "REVIEWED"]),
                    "multi_agency_team": rng.choice(["NONE", "VIRTUAL", "CO_LOCATED"]),
                    "info_sharing_protocol": rng.choice(["NONE", "DRAFT", "SIGNED"]),
                    "protocol_includes_health": rng.choice("YN"),
                    "cse_lead_named": "Y",
                    "team_police": "Y",
                    "team_health": "Y",
                    "team_social_care": "Y",
                    "team_education": "N",
                    "team_youth_justice": "N",
                    "team_voluntary": "N",
                }
            )
            activity.append(
                {
                    "council_code": code,
                    "period": period.code,
                    "children_newly_identified": children // 4,
                    "children_open_at_end": children,
                    "referrals_to_police": children // 3,
                    "missing_episodes": children // 5,
                    "children_missing": children // 6,
                    "return_interviews_offered": children // 7,
                    "return_interviews_within_72h": children // 8,
                    "charges": children // 20,
                }
            )
        arriving = new_arriving
    return NationalData(pd.DataFrame(subs), pd.DataFrame(strategy), pd.DataFrame(activity), pd.DataFrame(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--period", default="2025-Q1", help="first quarter (in memory) or the period compiled (store)")
    parser.add_argument("--quarters", type=int, default=4)
    parser.add_argument("--councils", type=int, default=None, help="only the first N expected councils")
    parser.add_argument("--children", type=int, default=1000, help="children per council per quarter")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="compile from this store instead of in-memory data")
    parser.add_argument("--out", type=Path, help="output directory (default: a temporary one)")
    args = parser.parse_args()

    from reports.compile import compile_tables, write_compile
    from store.national import load_national

    started = time.perf_counter()
    if args.database_url:
        compiled = Period.parse(args.period)
        data = load_national(args.database_url, compiled.next())
        print(f"load_national: {time.perf_counter() - started:.1f} s")
    else:
        first = Period.parse(args.period)
        data = synthetic_national(first, args.quarters, args.councils, args.children, args.seed)
        compiled = first
        for _ in range(args.quarters - 1):
            compiled = compiled.next()
        print(f"generated in memory: {time.perf_counter() - started:.1f} s")
    councils = data.submissions[["council_code"]].drop_duplicates().shape[0]
    print(f"{councils} councils, {data.submissions.shape[0]} returns, {len(data.children):,} child records")
    before = peak_mb()
    started = time.perf_counter()
    tables = compile_tables(compiled, data, today=compiled.next().deadline + timedelta(days=1))
    computed = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        started = time.perf_counter()
        outcome = write_compile(tables, out)
        written = time.perf_counter() - started
    print(f"compile_tables ({compiled.code}): {computed:.1f} s; findings {outcome.findings}")
    print(f"write_compile (CSV, XLSX, HTML): {written:.1f} s")
    print(f"peak memory: {peak_mb():.0f} MB (before compiling: {before:.0f} MB)")


if __name__ == "__main__":
    main()
