"""Time `read_return` on a Children sheet of N rows (default 10,000), xlsx and CSV bundle.

    .venv/bin/python bench/read.py [rows]

The files are built with the test builders (openpyxl / csv), in var/bench/.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from builders import (  # noqa: E402 - the builders live with the tests
    children_rows,
    sample_about,
    sample_activity,
    sample_strategy,
    write_csv_bundle,
    write_xlsx_return,
)

from transforms.ingest import read_return  # noqa: E402


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    sheets = (sample_about(), sample_strategy(), sample_activity(), children_rows(rows))
    files = {
        "xlsx": write_xlsx_return(out / f"children-{rows}.xlsx", *sheets),
        "csv": write_csv_bundle(out / f"children-{rows}.zip", *sheets),
    }
    for kind, path in files.items():
        read_return(path)  # warm: imports, the standard's YAML
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            result = read_return(path)
            timings.append(time.perf_counter() - started)
        assert len(result.table("Children").frame) == rows
        size = path.stat().st_size / 1_048_576
        best, median = min(timings), sorted(timings)[1]
        print(f"{kind:4} {rows:,} children, {size:.1f} MB: best {best:.2f} s, median {median:.2f} s")


if __name__ == "__main__":
    main()
