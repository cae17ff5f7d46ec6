"""Storage benchmark: a national quarter (every expected council x 1,000 children) stored on
SQLite and on PostgreSQL; prints submissions/s and child rows/s.

    .venv/bin/python bench/store_quarter.py [--councils N] [--children N] [--period 2025-Q1]
        [--backends sqlite,postgresql] [--postgres-url URL]

Measures `pipeline.receive.store_validated` (pseudonymisation, one transaction per return with
its findings, facts and child rows) on synthetic validated returns built beforehand, so the
figure is storage alone; validation has its own benchmark. PostgreSQL uses a throw-away schema
(`LSCB_TEST_POSTGRES_URL`, or --postgres-url); SQLite a throw-away file under var/bench.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from pipeline.receive import store_validated  # noqa: E402
from schemas.calendar import Period  # noqa: E402
from schemas.register import load_register  # noqa: E402
from store import migrate  # noqa: E402
from store.engine import dispose_engines  # noqa: E402
from tests.support.synthetic import synthetic_result  # noqa: E402

SECRET = b"benchmark secret (synthetic data)"


def _sqlite_url() -> tuple[str, Path]:
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"store-{uuid.uuid4().hex[:8]}.sqlite"
    return f"sqlite:///{path}", path


def _postgres_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def run(url: str, councils: list[str], period: str, children: int) -> tuple[float, int]:
    migrate.upgrade(url)
    results = [synthetic_result(code, period, children=children, seed=i, queries=2) for i, code in enumerate(councils)]
    started = time.perf_counter()
    rows = 0
    for code, result in zip(councils, results, strict=True):
        outcome = store_validated(result, code, submitted_by="bench", secret=SECRET, engine_or_url=url)
        assert outcome.status == "accepted", outcome.message
        rows += children
    elapsed = time.perf_counter() - started
    dispose_engines()
    return elapsed, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2025-Q1")
    parser.add_argument("--councils", type=int, default=0, help="how many councils (default: every expected one)")
    parser.add_argument("--children", type=int, default=1000, help="children per return (default 1000)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("LSCB_TEST_POSTGRES_URL", ""))
    args = parser.parse_args(argv)

    period = Period.parse(args.period)
    councils = [c.council_code for c in load_register().expected(period)]
    if args.councils:
        councils = councils[: args.councils]
    print(f"store benchmark: {len(councils)} councils x {args.children} children, {period.code}")
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "sqlite":
            url, path = _sqlite_url()
            try:
                elapsed, rows = run(url, councils, period.code, args.children)
            finally:
                for leftover in path.parent.glob(path.name + "*"):
                    leftover.unlink()
        elif backend == "postgresql":
            if not args.postgres_url:
                print("postgresql: skipped (set LSCB_TEST_POSTGRES_URL or --postgres-url)")
                continue
            url, schema = _postgres_url(args.postgres_url)
            try:
                elapsed, rows = run(url, councils, period.code, args.children)
            finally:
                _drop_schema(args.postgres_url, schema)
        else:
            parser.error(f"unknown backend {backend!r}")
        print(
            f"{backend:<10}  {len(councils)} submissions in {elapsed:6.1f} s  "
            f"{len(councils) / elapsed:7.2f} submissions/s  {rows / elapsed:10,.0f} child rows/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
