"""`make demo-year` timed from a fresh data directory: the whole year and each step.

    .venv/bin/python bench/demo_year.py                   # the default (100 children per council)
    .venv/bin/python bench/demo_year.py --children 150 --keep

Runs `scripts/demo-year` with LSCB_DATA_DIR and AIRFLOW_HOME in a new temporary folder (so
nothing of an earlier run is reused: synthesis, both migrations, every quarter's DAG run, the
late-returns run, the annual DAG and the ground-truth check), and prints each step's wall
seconds, the total against the target (10 minutes on this machine), the 1-minute load average
at the end, and one `RESULT {...}` JSON line. Exits 1 when the demo fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 600
STEP = re.compile(r"^demo: (\d+/\d+ .*?)(?: \(|:|$)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, help="children per council (default: the demo's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lscb-demo-year-"))
    env = {
        **os.environ,
        "LSCB_DATA_DIR": str(folder / "var"),
        "AIRFLOW_HOME": str(folder / "var" / "airflow"),
        "LSCB_DEMO_SEED": str(args.seed),
    }
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    if args.children:
        env["LSCB_DEMO_CHILDREN"] = str(args.children)
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    mark, name = started, "synthesis and migrations"
    log = folder / "demo-year.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(  # noqa: S603 (our own script)
            [str(ROOT / "scripts" / "demo-year")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            found = STEP.match(line)
            if found or line.startswith("demo: what reached"):
                now = time.perf_counter()
                steps.append((name, now - mark))
                mark, name = now, found[1] if found else "mail summary and ground-truth check"
            if line.startswith(("demo: ", "  rule", "  X", "  the compile")):
                print(line, end="", flush=True)
        code = process.wait()
    steps.append((name, time.perf_counter() - mark))
    total = time.perf_counter() - started
    load = os.getloadavg()[0]
    print()
    for step, seconds in steps:
        print(f"{seconds:8.1f} s  {step}")
    verdict = "within" if total <= TARGET_SECONDS else "OVER"
    print(f"{total:8.1f} s  total ({verdict} the {TARGET_SECONDS} s target); load average {load:.2f}; exit {code}")
    print("RESULT " + json.dumps({"seconds": round(total, 1), "exit": code, "load_1min": round(load, 2),
                                  "steps": {s: round(t, 1) for s, t in steps}}))  # fmt: skip
    if args.keep:
        print(f"kept {folder} (log: {log})")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
