"""The main job's cost: wall time and peak memory of a national quarter through Airflow, by step.

    .venv/bin/python bench/main_job.py                      # every council x 200 and x 1,000 children
    .venv/bin/python bench/main_job.py --children 200       # one size

For each size: synthesise every expected council's return (with the demo's bad and hostile files;
not part of the main job's time), then, in a fresh process with a fresh project database, run the
`quarterly_return` DAG through Airflow (`dag.test()`, as `make demo` does) and time each step by
wrapping the functions that do it:

| step | function |
|---|---|
| ingest+validate | `pipeline.receive.validate_upload` (safe open, read, the standard's rules) |
| store | `pipeline.receive.store_validated` (pseudonymise, write the version) |
| load | `store.national.load_national` (read every stored return back for the compile) |
| link | `transforms.link.link` (cross-council matching, X1-X5) |
| compile | `reports.compile.compile_tables`, less link (tracker, league tables, gaps) |
| reports | `reports.compile.write_compile` (CSVs, XLSX, dashboard) |
| airflow+other | the rest of the DAG run: scheduling, task start-up, XComs, inbox moves |

Peak memory is the maximum resident set size of that process (everything runs in it), and by
step the largest resident set seen while the step ran (sampled every 20 ms). Each step
is shown as wall seconds (CPU seconds): on a shared machine the CPU time is the steadier figure,
and the 1-minute load average at the end of the run is printed beside it. Prints a table and one
`RESULT {...}` JSON line per size. Targets: x 1,000 under 5 minutes; x 5,000 under 2 GB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("ingest+validate", "store", "load", "link", "compile", "reports")


_current: list[str] = []  # the steps running now, innermost last (compile_tables holds link)
_peaks: dict[str, float] = defaultdict(float)  # step -> largest RSS (MB) seen while it ran


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def _sample_memory(stop: Any) -> None:
    while not stop.wait(0.02):
        if _current:
            rss = _rss_mb()
            for step in tuple(_current):
                _peaks[step] = max(_peaks[step], rss)


def _install_timers(totals: dict[str, float], counts: dict[str, int], cpu: dict[str, float]) -> None:
    """Wrap each step's function wherever a module holds a reference to it."""
    import pipeline.receive
    import reports.compile
    import store.national
    import transforms.link

    targets: dict[str, tuple[Any, str]] = {
        "ingest+validate": (pipeline.receive, "validate_upload"),
        "store": (pipeline.receive, "store_validated"),
        "load": (store.national, "load_national"),
        "link": (transforms.link, "link"),
        "compile_tables": (reports.compile, "compile_tables"),
        "reports": (reports.compile, "write_compile"),
    }
    for step, (module, name) in targets.items():
        original = getattr(module, name)

        def timed(*args: Any, _original: Callable[..., Any] = original, _step: str = step, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.process_time()
            _current.append(_step)
            try:
                return _original(*args, **kwargs)
            finally:
                _current.remove(_step)
                totals[_step] += time.perf_counter() - started
                cpu[_step] += time.process_time() - cpu_started
                counts[_step] += 1

        for loaded in list(sys.modules.values()):
            if getattr(loaded, "__name__", "").startswith(("transforms", "reports", "lscb", "pipeline", "store")):
                for attribute, value in list(vars(loaded).items()):
                    if value is original:
                        setattr(loaded, attribute, timed)


def child(args: argparse.Namespace) -> int:
    """One main job in this process; prints a JSON line."""
    data = Path(args.data)
    os.environ["LSCB_DATA_DIR"] = str(data)
    os.environ["LSCB_DATABASE_URL"] = f"sqlite:///{data / 'lscb.sqlite'}"
    os.environ["LSCB_DEMO"] = "1"
    from lscb import airflow_support

    airflow_support.apply_airflow_environment()
    airflow_support.ensure_store_pool()
    started = time.perf_counter()
    from store.migrate import upgrade

    upgrade(os.environ["LSCB_DATABASE_URL"])
    setup = time.perf_counter() - started

    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    cpu: dict[str, float] = defaultdict(float)
    _install_timers(totals, counts, cpu)
    conf: dict[str, Any] = {"period": args.period}
    population = ROOT / "data" / "population" / "SYNTHETIC_population_0_17.csv"
    if population.is_file():
        conf["population_csv"] = str(population)
    import threading

    stop = threading.Event()
    sampler = threading.Thread(target=_sample_memory, args=(stop,), daemon=True)
    sampler.start()
    run_started, cpu_started = time.perf_counter(), time.process_time()
    result = airflow_support.test_dag("quarterly_return", conf)
    wall = time.perf_counter() - run_started
    stop.set()
    cpu_total = time.process_time() - cpu_started
    load = os.getloadavg()[0]

    steps = {step: totals.get(step, 0.0) for step in STEPS if step != "compile"}
    steps["compile"] = totals.get("compile_tables", 0.0) - totals.get("link", 0.0)
    steps = {step: steps[step] for step in STEPS}
    steps["airflow+other"] = wall - sum(steps.values())
    cpu_steps = {step: cpu.get(step, 0.0) for step in STEPS if step != "compile"}
    cpu_steps["compile"] = cpu.get("compile_tables", 0.0) - cpu.get("link", 0.0)
    cpu_steps = {step: cpu_steps[step] for step in STEPS}
    cpu_steps["airflow+other"] = cpu_total - sum(cpu_steps.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "CHILD "
        + json.dumps(
            {
                "state": result["state"],
                "tasks": result["tasks"],
                "setup_seconds": round(setup, 1),
                "dag_run_seconds": round(wall, 1),
                "steps_seconds": {step: round(value, 1) for step, value in steps.items()},
                "cpu_seconds": round(cpu_total, 1),
                "steps_cpu_seconds": {step: round(value, 1) for step, value in cpu_steps.items()},
                "load_average_1min": round(load, 1),
                "files_validated": counts.get("ingest+validate", 0),
                "peak_rss_mb": round(peak_mb),
                "peak_rss_mb_by_step": {
                    ("compile" if step == "compile_tables" else step): round(value) for step, value in _peaks.items()
                },
            }
        ),
        flush=True,
    )
    return 0 if result["state"] == "success" else 1


def one_size(children: int, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir).resolve()
    data = work / f"x{children}"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "LSCB_"))}
    env.update(LSCB_DATA_DIR=str(data), LSCB_DEMO="1", AIRFLOW_HOME=str(work / "airflow"))

    started = time.perf_counter()
    staging = work / "synth"  # reused across runs: the same seed gives the same bytes
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "lscb.cli",
            "demo",
            "prepare",
            "--period",
            args.period,
            "--children",
            str(children),
            "--seed",
            str(args.seed),
            "--inbox",
            str(data / "inbox"),
            "--staging",
            str(staging),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-2000:])
    synth_seconds = time.perf_counter() - started
    files = json.loads(completed.stdout.strip().splitlines()[-1])

    completed = subprocess.run(
        [sys.executable, __file__, "--child", "--data", str(data), "--period", args.period],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    (work / f"x{children}.log").write_text(completed.stdout + completed.stderr)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("CHILD ")]
    if not lines:
        raise RuntimeError(f"main job x{children} failed: {completed.stderr[-3000:]}")
    measured = json.loads(lines[-1][len("CHILD ") :])
    return {
        "children": children,
        "period": args.period,
        "files": files,
        "synth_seconds": round(synth_seconds, 1),
        **measured,
    }


def main(argv: list[str] | None = None) -> int:
    from schemas.calendar import Period

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--period", default=Period.latest_closed().code)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=str(ROOT / "var" / "bench-main"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env["LSCB_DATA_DIR"] = str(work)
    subprocess.run(
        [sys.executable, "-c", "from lscb.airflow_support import migrate_airflow_db; migrate_airflow_db()"],
        env={**env, "AIRFLOW_HOME": str(work / "airflow")},
        check=True,
    )
    results = []
    ok = True
    for children in args.children:
        print(f"main job: {args.period}, every council x {children} children ...", flush=True)
        result = one_size(children, args)
        results.append(result)
        ok = ok and result["state"] == "success"
        print("RESULT " + json.dumps(result), flush=True)

    print()
    header = ["children", "files", "DAG run s (CPU s)", *STEPS, "airflow+other", "peak MB", "load", "state"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for result in results:
        n_files = sum(result["files"][key] for key in ("good", "rejected", "refused"))
        row = [str(result["children"]), str(n_files), f"{result['dag_run_seconds']} ({result['cpu_seconds']})"]
        row += [
            f"{result['steps_seconds'][step]} ({result['steps_cpu_seconds'][step]})"
            for step in (*STEPS, "airflow+other")
        ]
        row += [str(result["peak_rss_mb"]), str(result["load_average_1min"]), result["state"]]
        print(" | ".join(row))
    print()
    print("peak memory (MB) while each step ran: " + "; ".join(
        f"x {r['children']}: " + ", ".join(f"{step} {mb}" for step, mb in r["peak_rss_mb_by_step"].items())
        for r in results
    ))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
