"""Runs the annual_report DAG through `dag.test()` and answers its approval as a statistician
would in Airflow's Required Actions page, through `lscb.airflow_support.test_dag(answers=...)` (the
path `lscb run-annual --approve-as` takes): the answer is recorded as Airflow's HITL REST endpoint
records it (responded_by, responded_at, chosen_options, then the parked task resumed), in the same
metadata database, from another process.

`python -m tests.support.annual_release --year Y --outputs DIR --release DIR --answer Approve|Reject`
(with AIRFLOW_HOME, its migrated database and the LSCB_* environment set by the caller); prints
the final task states as JSON.
"""

from __future__ import annotations

import argparse
import json

TASK = "approve_release"
RESPONDER = {"id": "statistician", "name": "Head of profession for statistics"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.annual_release")
    parser.add_argument("--year", required=True)
    parser.add_argument("--outputs", required=True)
    parser.add_argument("--release", required=True)
    parser.add_argument("--population")
    parser.add_argument("--answer", choices=("Approve", "Reject"), required=True)
    args = parser.parse_args(argv)

    from lscb.airflow_support import test_dag

    conf = {"year": args.year, "outputs": args.outputs, "release": args.release, "population_csv": args.population}
    result = test_dag("annual_report", conf, answers={TASK: (args.answer, RESPONDER)})
    states = {task_id: next(iter(counts)) for task_id, counts in result["tasks"].items()}
    answered = states.get(TASK) in ("success", "failed")
    print(json.dumps({"run_state": result["state"], "answered": answered, "states": states}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
