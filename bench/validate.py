"""Validation cost: one council's return of 1,000 and of 10,000 children (XLSX).

    .venv/bin/python bench/validate.py                   # 1,000 and 10,000 children
    .venv/bin/python bench/validate.py --children 5000   # one size
    .venv/bin/python bench/validate.py --error-rate 0.3  # with injected breaches

Each size runs in a fresh process, on a realistic return made by `lscb synth` (one council, the
template's layout). Imports and the one-off set-up of a process (the standard, the register
and the expectations generated from it, built on a small warm-up return) are timed apart, because the portal,
the DAG workers and `lscb validate` pay them once per process, not per return. Then, best and
median of three runs each:

- raw read: python-calamine alone, every cell of the four sheets into Python values, no checks;
- read_return: the safe ingest (zip and XML checks, limits, cell positions, typed frames);
- validate: `validate_return` on the read return (every rule of the standard: typing, the
  expectations in the vectorised evaluator, rule functions, cross-sheet rules);
- total: read_return + validate, what a council waits for; ratio = total / raw read.

Then where the time goes: read_return's phases (checks: the zip and every part's bytes before
any parser; values: python-calamine; frames: rows into sheets) and validate_return's (typing,
expectations: the standard's expectations, functions: the rule functions, typed_return: values
for storage).

Peak memory is the process's maximum resident set size after the runs. Targets (issue 3):
validation within 3x the raw read time, and a 1,000-child return validated in under 1 s.
Prints a table and one `RESULT {...}` JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
COUNCIL = "E08000025"  # Birmingham: the largest council
PERIOD = "2025-Q1"
RUNS = 3


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synth(out: Path, children: int, error_rate: float, seed: int) -> Path:
    from synth import SynthOptions, generate

    result = generate(
        SynthOptions(period=PERIOD, out=out, councils=COUNCIL, children=children, seed=seed, error_rate=error_rate)
    )
    return next(path for path in result.files if path.suffix == ".xlsx")


def _raw_read(path: Path) -> int:
    """Every cell of every sheet through python-calamine, nothing else: the floor."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    cells = 0
    for name in workbook.sheet_names:
        for row in workbook.get_sheet_by_name(name).to_python(skip_empty_area=False):
            cells += len(row)
    return cells


def _timed(action: Callable[[], T]) -> tuple[list[float], T]:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return timings, result


def measure(children: int, error_rate: float, seed: int) -> dict[str, object]:
    """One size, in this process (run by `main` in a fresh one)."""
    started = time.perf_counter()
    from transforms.ingest import read_return
    from transforms.validate import validate_return

    imports = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="lscb-bench-validate-") as folder:
        warm = _synth(Path(folder) / "warm", 20, 0.0, seed)
        started = time.perf_counter()
        validate_return(read_return(warm), claimed_council=COUNCIL)
        setup = time.perf_counter() - started
        path = _synth(Path(folder) / "return", children, error_rate, seed)
        size_mb = path.stat().st_size / 1_048_576
        raw, cells = _timed(lambda: _raw_read(path))
        read, ret = _timed(lambda: read_return(path))
        check, result = _timed(lambda: validate_return(ret, claimed_council=COUNCIL))
        totals = [r + c for r, c in zip(read, check, strict=True)]
    findings = len(result.findings)
    phases = {f"read_{k}_s": round(v, 3) for k, v in ret.timings.items()}
    phases.update({f"validate_{k}_s": round(v, 3) for k, v in result.timings.items() if k != "total"})
    return {
        "children": children,
        "file_mb": round(size_mb, 2),
        "cells": cells,
        "findings": findings,
        "imports_s": round(imports, 2),
        "process_setup_s": round(setup, 2),
        "raw_read_s": round(min(raw), 3),
        "read_return_s": round(min(read), 3),
        "validate_s": round(min(check), 3),
        "total_s": round(min(totals), 3),
        "total_median_s": round(statistics.median(totals), 3),
        "ratio_total_to_raw": round(min(totals) / min(raw), 2),
        "ratio_validate_to_raw": round(min(check) / min(raw), 2),
        "peak_mb": round(_peak_mb()),
        "phases": phases,  # of the last run of each: where the time goes
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, action="append", help="children per return (repeatable)")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size here
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(measure(args.one, args.error_rate, args.seed)), flush=True)
        return
    sizes = args.children or [1_000, 10_000]
    results = []
    for children in sizes:
        command = [
            sys.executable,
            __file__,
            "--one",
            str(children),
            "--error-rate",
            str(args.error_rate),
            "--seed",
            str(args.seed),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"bench/validate: the run for {children} children failed")
        results.append(json.loads(lines[-1].removeprefix("RESULT ")))
        print(lines[-1], flush=True)
    print()
    print(
        f"{'children':>9} {'MB':>5} {'raw read':>9} {'read_return':>12} {'validate':>9} {'total':>7} "
        f"{'total/raw':>10} {'findings':>9} {'peak MB':>8}"
    )
    for r in results:
        print(
            f"{r['children']:>9,} {r['file_mb']:>5} {r['raw_read_s']:>8.3f}s {r['read_return_s']:>11.3f}s "
            f"{r['validate_s']:>8.3f}s {r['total_s']:>6.3f}s {r['ratio_total_to_raw']:>9.1f}x "
            f"{r['findings']:>9} {r['peak_mb']:>8}"
        )
    print("\nwhere the time goes (seconds, last run; read_* are read_return's phases):")
    names = list(results[0]["phases"])
    print(f"{'children':>9} " + " ".join(f"{n.removesuffix('_s'):>{max(9, len(n) - 2)}}" for n in names))
    for r in results:
        print(f"{r['children']:>9,} " + " ".join(f"{r['phases'].get(n, 0):>{max(9, len(n) - 2)}.3f}" for n in names))
    first = results[0]
    print(
        f"\nonce per process: imports {first['imports_s']} s, standard, register and expectations "
        f"{first['process_setup_s']} s (not in the figures above)"
    )
    print("targets: total within 3x the raw read; 1,000 children under 1 s")


if __name__ == "__main__":
    main()
