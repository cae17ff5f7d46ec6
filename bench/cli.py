"""What a council officer waits for: `lscb validate FILE --json`, wall time from process start.

    .venv/bin/python bench/cli.py                      # 1,000 and 10,000 children
    .venv/bin/python bench/cli.py --children 5000      # one size
    .venv/bin/python bench/cli.py --runs 9

Each size: one council's return made by synth (not timed; its child rows are counted), then the
real command in a fresh process `--runs` times: the time from starting the process to its exit
(interpreter start-up, imports, reading, validating and printing the JSON), and the process's
own peak memory (wait4). Also once with `-X importtime`, to say how long the imports take and
that no Great Expectations module is imported on this path.

Targets (issue 11): under 1.5 s for 1,000 children and 2.5 s for 10,000 on the 2-core machine.
Prints a table and one `RESULT {...}` JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COUNCIL = "E08000025"  # Birmingham: the largest council
PERIOD = "2025-Q1"
TARGETS = {1000: 1.5, 10000: 2.5}
LSCB = Path(sys.executable).with_name("lscb")


def _return(out: Path, children: int) -> tuple[Path, int]:
    """A return of about `children` rows (synth varies each council's size: asked once more,
    scaled by what the first ask gave)."""
    from synth import SynthOptions, generate

    asked = children
    for _ in range(2):
        result = generate(SynthOptions(period=PERIOD, out=out, councils=[COUNCIL], children=asked, seed=11))
        if abs(result.children_rows - children) <= children * 0.02:
            break
        asked = max(1, round(asked * children / max(1, result.children_rows)))
    path = next(p for p in result.files if p.suffix == ".xlsx")
    return path, result.children_rows


def _command(path: Path) -> list[str]:
    return [str(LSCB), "validate", str(path), "--council", COUNCIL, "--json"]


def _run_once(command: list[str]) -> tuple[float, float, int]:
    """(wall seconds from start to exit, peak RSS MB of the child, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def _imports(command: list[str]) -> tuple[float, list[str]]:
    """Seconds of imports (-X importtime, top-level imports' cumulative times) and every
    great_expectations module imported."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lscb.cli", *command[1:]],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    total_us = 0
    gx = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        if not name.startswith("  "):  # a top-level import (nested ones are indented further)
            total_us += int(cumulative)
        if name.strip().split(".")[0] == "great_expectations":
            gx.append(name.strip())
    return total_us / 1e6, gx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, action="append", help="children per return (default 1,000 and 10,000)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = args.children or [1000, 10000]
    print(f"lscb validate --json, wall time from process start ({args.runs} runs each, {os.cpu_count()} cores)")
    header = ("children", "rows", "best s", "median s", "max s", "imports s", "peak MB")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (9, 7, 7, 9, 6, 10, 8), strict=True)) + " target")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="lscb-bench-cli-") as folder:
            path, rows = _return(Path(folder), size)
            command = _command(path)
            _run_once(command)  # the page cache warm, as for an officer's second try
            runs = [_run_once(command) for _ in range(args.runs)]
            imports, gx = _imports(command)
        times = [wall for wall, _, _ in runs]
        peak = max(rss for _, rss, _ in runs)
        codes = sorted({code for _, _, code in runs})
        target = TARGETS.get(size)
        met = "" if target is None else ("met" if statistics.median(times) < target else "NOT met") + f" (< {target} s)"
        print(
            f"{size:>9,} {rows:>7,} {min(times):>7.2f} {statistics.median(times):>9.2f} {max(times):>6.2f} "
            f"{imports:>10.2f} {peak:>8.0f} {met}"
        )
        if gx:
            print(f"  great_expectations imported on this path: {', '.join(gx[:5])}")
        result = {
            "benchmark": "cli_validate",
            "children": size,
            "child_rows": rows,
            "runs": args.runs,
            "best_s": round(min(times), 3),
            "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3),
            "imports_s": round(imports, 3),
            "peak_mb": round(peak, 1),
            "exit_codes": codes,
            "great_expectations_imported": bool(gx),
            "target_s": target,
        }
        print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
