"""API load test on loopback (standard §8): every council's case system sends its daily delta.

    .venv/bin/python bench/api_load.py                    # 153 councils x a delta of 50 changed children
    .venv/bin/python bench/api_load.py --councils 20 --children 200 --changed 50
    .venv/bin/python bench/api_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Not timed: one synthetic return per council (`synth`), one API client each (`pipeline.api`,
production argon2), the real portal started (`uvicorn portal.app:app`, the API at `/api/v1`) over
a fresh project database, and each council's whole return sent once (POST) through the
reference client (`lscb.commands.push.Pusher`: token, retries, Idempotency-Key).

Timed: every council sends a delta (PATCH) of `--changed` changed children, the councils arriving
evenly within `--within` seconds (default 60), at most `--concurrency` at once. Then the
database is checked: every delta stored exactly once (two versions per council: the whole return
and the delta). Prints wall time, p50 / p95 / max response time of the PATCH (validation and
storing of the whole resulting return included) and one `RESULT {...}` JSON line. Target: every
delta within 60 s, p95 under 1 s. Exit status 1 when anything was lost or duplicated, or a
delta was answered with anything but a stored version.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.calendar import Period  # noqa: E402
from schemas.register import load_register  # noqa: E402


def _postgres_schema(url: str, schema: str) -> str:
    import urllib.parse

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={urllib.parse.quote(f'-csearch_path={schema}')}"


def _changed(document: dict[str, Any], count: int) -> dict[str, Any]:
    """The next day's return: `count` children with a warning sign recorded (or cleared)."""
    today = json.loads(json.dumps(document))
    for child in today["children"][:count]:
        child["ind_truancy"] = "N" if child.get("ind_truancy") == "Y" else "Y"
    return today


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--period", default="2025-Q1")
    parser.add_argument("--councils", type=int, default=0, help="how many councils (default: every expected one)")
    parser.add_argument("--children", type=int, default=200, help="children in each council's return")
    parser.add_argument("--changed", type=int, default=50, help="children changed in each daily delta")
    parser.add_argument("--concurrency", type=int, default=8, help="councils sending at once")
    parser.add_argument("--within", type=float, default=60.0, help="deltas arrive evenly over this many seconds")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import httpx
    from sqlalchemy import func, select

    from lscb.commands.push import Pusher
    from pipeline import api
    from store.engine import get_engine
    from store.migrate import ensure_current
    from store.models import Submission
    from synth import SynthOptions, generate
    from tests.support.portal import Server, default_database_url
    from transforms.delta import delta_between
    from transforms.ingest import read_return
    from transforms.ingest.json_return import return_to_document

    period = Period.parse(args.period)
    codes = sorted(c.council_code for c in load_register().expected(period))
    if args.councils:
        codes = codes[: args.councils]
    work = Path(tempfile.mkdtemp(prefix="lscb-api-load-", dir=ROOT / "var" if (ROOT / "var").is_dir() else None))
    try:
        started = time.perf_counter()
        synth = generate(
            SynthOptions(
                period=period.code, out=work / "returns", councils=codes, children=args.children, seed=args.seed
            )
        )
        documents = {
            r["council_code"]: return_to_document(read_return(work / "returns" / r["file"]))
            for r in synth.ground_truth["returns"]
        }
        data = work / "data"
        data.mkdir(parents=True)
        url = _postgres_schema(args.database_url, "lscb_api_load") if args.database_url else default_database_url(data)
        ensure_current(url)
        clients = {code: api.add_client(url, code, "bench-nightly", actor="bench") for code in documents}
        get_engine(url).dispose()
        print(
            f"api load: {len(documents)} returns of about {args.children:,} children and their clients made in "
            f"{time.perf_counter() - started:.0f} s (not timed)",
            flush=True,
        )
        latencies: list[float] = []
        answers: dict[str, int] = {}
        lock = threading.Lock()
        with Server(data, database_url=url) as server:
            http = httpx.Client(
                base_url=f"{server.url}/api/v1", timeout=120.0, limits=httpx.Limits(max_connections=args.concurrency)
            )
            # one client each, kept from the whole return to the delta: its token is fetched once
            pushers = {code: Pusher(http, client.client_id, secret) for code, (client, secret) in clients.items()}

            def pusher(code: str) -> Pusher:
                return pushers[code]

            def whole(code: str) -> None:
                response = pusher(code).send("POST", f"/returns/{period.code}", json.dumps(documents[code]).encode())
                if response.status_code != 201:
                    raise RuntimeError(f"{code}: the whole return was not stored: {response.text[:200]}")

            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(whole, documents))
            print(f"api load: every whole return sent (not timed); deltas of {args.changed} children now", flush=True)
            begin = time.perf_counter()
            gap = args.within / max(1, len(documents))

            def delta(item: tuple[int, str]) -> None:
                index, code = item
                time.sleep(max(0.0, begin + index * gap - time.perf_counter()))
                body = json.dumps(delta_between(documents[code], _changed(documents[code], args.changed))).encode()
                sent = time.perf_counter()
                response = pusher(code).send("PATCH", f"/returns/{period.code}", body)
                took = time.perf_counter() - sent
                with lock:
                    latencies.append(took)
                    answers[code] = response.status_code

            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(delta, enumerate(documents)))
            wall = time.perf_counter() - begin
        engine = get_engine(url)
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    select(Submission.council_code, func.count())
                    .where(Submission.period == period.code)
                    .group_by(Submission.council_code)
                ).all()
            )
        engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    exactly_once = all(stored.get(code) == 2 for code in documents) and all(s == 201 for s in answers.values())
    summary = {
        "councils": len(documents),
        "children": args.children,
        "changed": args.changed,
        "database": url.split(":", 1)[0],
        "wall_s": round(wall, 2),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(_percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies, default=0.0), 3),
        "stored_exactly_once": exactly_once,
        "not_stored_once": sorted(code for code in documents if stored.get(code) != 2),
        "answers": sorted(set(answers.values())),
    }
    print(
        f"api load: {len(latencies)}/{len(documents)} deltas of {args.changed} changed children in "
        f"{summary['wall_s']} s ({args.concurrency} at once, arriving within {args.within:.0f} s; "
        f"{summary['database']})"
    )
    print(f"delta response time: p50 {summary['p50_s']} s, p95 {summary['p95_s']} s, max {summary['max_s']} s")
    print(f"every delta stored exactly once: {exactly_once}")
    print("RESULT " + json.dumps(summary))
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
