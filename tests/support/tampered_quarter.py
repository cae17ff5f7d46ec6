"""Run the quarterly_return DAG with a compile whose tracker loses a council's row after it is
written: the staged outputs are tampered with between the compile and the audit, as a fault
would. For tests/e2e/test_quarterly_dag.py (`python -m tests.support.tampered_quarter PERIOD`):
prints the DAG run's result as JSON, like `lscb run-quarter --json`.

dag.test() runs every task in this process, so replacing `pipeline.compile.compile_period` here
reaches the compile task (`lscb.airflow_support.compile_outputs` imports it when it runs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TAMPERED_COUNCIL_ROW = 1  # the first council's row of tracker.csv (row 0 is the header)


def drop_tracker_row(folder: Path) -> str:
    """Delete the first council's row from `folder/tracker.csv`; returns its council code."""
    path = folder / "tracker.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    removed = lines.pop(TAMPERED_COUNCIL_ROW)
    path.write_text("".join(lines), encoding="utf-8")
    return removed.split(",")[header.index("new_la_code")]


def main(period: str) -> int:
    import pipeline.compile as compile_module
    from lscb import airflow_support

    real = compile_module.compile_period

    def tampered(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        drop_tracker_row(Path(outcome.out_dir))
        return outcome

    compile_module.compile_period = tampered  # type: ignore[assignment]
    airflow_support.apply_airflow_environment()
    result = airflow_support.test_dag("quarterly_return", {"period": period})
    print("\n" + json.dumps(result, indent=2, default=str))
    return 0 if result["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
