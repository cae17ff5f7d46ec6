"""Portal load test on loopback: every council's officer uploads a 1,000-child return at once.

    .venv/bin/python bench/portal_load.py                       # every expected council, 1,000 children
    .venv/bin/python bench/portal_load.py --councils 20 --children 200
    .venv/bin/python bench/portal_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Synthesises one clean return per council (not timed), starts the real portal (`uvicorn
portal.app:app`: `--workers` web processes, each with its pool of `--validators` processes that
check and store uploads) on a loopback port over a fresh project database, and
lets every council user sign in and upload, the users arriving evenly within `--within` seconds
(a minute by default; 0 for all at once), at most `--concurrency` of them active at once, with a
deadline for the whole run (`--max-seconds`). Then checks the database: every upload
stored exactly once (one version per council, with all its child rows), none lost. Prints the
wall time, uploads per second, and the p50 / p95 / max response time of the upload request
(validation and storing included), and one `RESULT {...}` JSON line. Exit status 1 when
anything was lost, duplicated or failed, or the run missed its deadline.

With --database-url (PostgreSQL) the schema `lscb_portal_load` is dropped and recreated first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.calendar import Period  # noqa: E402
from schemas.register import load_register  # noqa: E402
from tests.support.portal_load import run_load  # noqa: E402


def _postgres_schema(url: str, schema: str) -> str:
    """A fresh schema on the server, and the URL that selects it."""
    import urllib.parse

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={urllib.parse.quote(f'-csearch_path={schema}')}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--period", default="2025-Q1")
    parser.add_argument("--councils", type=int, default=0, help="how many councils (default: every expected one)")
    parser.add_argument("--children", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="users uploading at once")
    parser.add_argument(
        "--within",
        type=float,
        default=60.0,
        help="users arrive evenly over this many seconds (0: all at once; default 60)",
    )
    parser.add_argument("--workers", type=int, default=1, help="portal web processes (uvicorn --workers)")
    parser.add_argument("--validators", type=int, help="processes checking uploads (default: one per core)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="deadline for the whole run")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from synth import SynthOptions, generate

    period = Period.parse(args.period)
    codes = sorted(c.council_code for c in load_register().expected(period))
    if args.councils:
        codes = codes[: args.councils]
    work = Path(tempfile.mkdtemp(prefix="lscb-portal-load-", dir=ROOT / "var" if (ROOT / "var").is_dir() else None))
    try:
        started = time.perf_counter()
        synth = generate(
            SynthOptions(
                period=period.code, out=work / "returns", councils=codes, children=args.children, seed=args.seed
            )
        )
        files = {r["council_code"]: work / "returns" / r["file"] for r in synth.ground_truth["returns"]}
        children = {r["council_code"]: int(r["children"]) for r in synth.ground_truth["returns"]}
        print(
            f"portal load: {len(files)} returns of about {args.children:,} children synthesised in "
            f"{time.perf_counter() - started:.0f} s (not timed)",
            flush=True,
        )
        url = _postgres_schema(args.database_url, "lscb_portal_load") if args.database_url else None
        result = run_load(
            files,
            period.code,
            work / "data",
            children=children,
            concurrency=args.concurrency,
            workers=args.workers,
            validators=args.validators,
            database_url=url,
            max_seconds=args.max_seconds,
            spread=args.within,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = result.summary()
    print(
        f"portal load: {summary['uploads_ok']}/{summary['councils']} uploads in {summary['wall_s']} s "
        f"({summary['uploads_per_s']} uploads/s; {args.concurrency} at once; {args.workers} web process(es), "
        f"{args.validators or 'one per core'} validator processes; {summary['database']})"
    )
    print(f"upload response time: p50 {summary['p50_s']} s, p95 {summary['p95_s']} s, max {summary['max_s']} s")
    print(
        f"stored exactly once: {summary['stored_exactly_once']} (lost {len(summary['lost'])}, "
        f"duplicated {len(summary['duplicated'])}, wrong child rows {len(summary['wrong_child_rows'])})"
    )
    print(
        f"all {summary['councils']} arrived within {args.within:.0f} s; the last answer came at {summary['wall_s']} s"
    )
    for failure in summary["failures"][:10]:
        print(f"  failed: {failure}")
    print("RESULT " + json.dumps(summary))
    return 0 if result.exactly_once and result.wall_seconds <= args.max_seconds else 1


if __name__ == "__main__":
    sys.exit(main())
