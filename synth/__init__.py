"""Synthetic quarterly returns with a ground truth (issue 2, item 6).

Public API: `generate(SynthOptions(...)) -> SynthResult`. It writes one return per council per
period (`<council_code>_<period>.xlsx`, or `.zip` for a CSV bundle), `ground_truth.json` and
`manifest.json` into `options.out`, and sets each file's mtime to its time of receipt.

The same options and seed give byte-identical files. What the ground truth holds:
- `findings`: every injected breach, as the finding validation must report
  (`council_code, period, file, rule, severity, sheet, cell, field, local_child_id`, plus the
  `injection` kind that made it); a clean return (error rate 0) has none;
- `cross_council`: the X1-X5 cases (`rule, period, from_council_code, to_council_code,
  from_local_child_id, to_local_child_id`; councils and local ids only, never identifiers), and
  `moves`: the good moves, which must raise nothing; `whole_picture`: the X6 cases (same
  fields; `to` is the council now responsible, `from` the council that recorded the signs, whose
  id is never given);
- `missing` (councils that sent nothing), `late`, and `returns` (one entry per file, with
  `has_errors` when an injected breach is an error, so the return would be rejected).
"""

from __future__ import annotations

import functools
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from schemas.calendar import Period
from schemas.register import Council, load_register
from schemas.standard import load_standard
from synth.crosscouncil import Planner
from synth.inject import Injector, Kind, choose_kinds, cover_every_kind, inject, locate, severity
from synth.returns import build_return
from synth.world import CouncilWorld, WorldBuilder
from synth.write import csv_zip_bytes, xlsx_bytes

__all__ = ["SynthOptions", "SynthResult", "generate", "return_file_name"]

GENERATOR = "lscb synth"
GOOD_MOVES_PER_COUNCIL = 0.10  # good moves per period, per council taking part
CASES_PER_COUNCIL = 0.02  # cases of each rule X1-X5 per period, per council taking part


@dataclass
class SynthOptions:
    period: str
    out: Path
    periods: int = 1
    councils: str | list[str] = "all"  # "all" or council codes
    children: int = 200
    seed: int = 0
    error_rate: float = 0.0
    missing_rate: float = 0.0
    late_rate: float = 0.0
    resubmit_rate: float = 0.0  # of the returns with errors: how many the council corrects and sends again
    cover_kinds: bool = True  # with errors: every kind of mistake somewhere (False: only those drawn)
    format: Literal["xlsx", "csv"] = "xlsx"


@dataclass
class SynthResult:
    out: Path
    files: list[Path]
    ground_truth: dict[str, Any]
    manifest: dict[str, Any]
    children_rows: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def return_file_name(council_code: str, period: str, fmt: str) -> str:
    return f"{council_code}_{period}.{'xlsx' if fmt == 'xlsx' else 'zip'}"


def _check(options: SynthOptions) -> list[Period]:
    if options.periods < 1:
        raise ValueError("--periods must be 1 or more")
    if options.children < 0:
        raise ValueError("--children must be 0 or more")
    for name in ("error_rate", "missing_rate", "late_rate", "resubmit_rate"):
        value = getattr(options, name)
        if not 0 <= value <= 1:
            raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1, not {value}")
    if options.format not in ("xlsx", "csv"):
        raise ValueError("--format must be xlsx or csv")
    first = Period.parse(options.period)
    periods = [first]
    while len(periods) < options.periods:
        periods.append(periods[-1].next())
    return periods


def _received_at(rng: random.Random, period: Period, late: bool) -> datetime:
    if late:
        day = period.deadline + timedelta(days=rng.randint(1, 45))
    else:
        day = period.end + timedelta(days=rng.randint(3, 41))
    return datetime(
        day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59), tzinfo=UTC
    )


def generate(options: SynthOptions) -> SynthResult:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    periods = _check(options)
    register = load_register()
    standard = load_standard("1.0")
    rng = random.Random(f"lscb-synth:{options.seed}")  # noqa: S311 (synthetic data, not secrets)

    # Councils per period, keyed by lineage so a recoded council keeps its children.
    expected: list[dict[str, Council]] = [
        {register.lineage_id(c.council_code): c for c in register.expected(p)} for p in periods
    ]
    wanted: set[str] | None = None
    if options.councils != "all":
        codes = [options.councils] if isinstance(options.councils, str) else list(options.councils)
        wanted = set()
        for code in codes:
            council = register.find(code.strip())
            if council is None:
                raise ValueError(f"{code!r} is not a council in the register")
            lineage = register.lineage_id(council.council_code)
            if not any(lineage in e for e in expected):
                raise ValueError(f"{code} is not expected to return in {periods[0].code}..{periods[-1].code}")
            wanted.add(lineage)
        expected = [{k: v for k, v in e.items() if k in wanted} for e in expected]
    lineages = sorted({k for e in expected for k in e})
    codes_by: dict[tuple[str, int], str] = {
        (lineage, i): council.council_code for i, e in enumerate(expected) for lineage, council in e.items()
    }

    all_la = sorted({c.la_number for e in register_expected_all(register, periods) for c in e})
    builder = WorldBuilder(rng, standard, all_la)
    worlds: dict[str, CouncilWorld] = {}
    for lineage in lineages:
        council = next(e[lineage] for e in expected if lineage in e)
        worlds[lineage] = builder.council(lineage, council.la_number, options.children, periods)

    present: list[set[str]] = []
    missing: list[dict[str, str]] = []
    received: dict[tuple[str, int], tuple[datetime, bool]] = {}
    kinds: dict[tuple[str, int], list[str]] = {}

    def applicable(key: tuple[str, int], kind: Kind) -> bool:
        return kind.can_apply(expected[key[1]][key[0]], periods[key[1]], register)

    for i, period in enumerate(periods):
        here = set()
        for lineage in sorted(expected[i]):
            if rng.random() < options.missing_rate:
                missing.append({"council_code": codes_by[(lineage, i)], "period": period.code})
                continue
            here.add(lineage)
            late = rng.random() < options.late_rate
            received[(lineage, i)] = (_received_at(rng, period, late), late)
            kinds[(lineage, i)] = choose_kinds(rng, options.error_rate, functools.partial(applicable, (lineage, i)))
        present.append(here)

    if options.error_rate > 0 and options.cover_kinds:
        # a separate stream, so covering rare kinds never shifts the rest of the world
        cover_every_kind(kinds, applicable, random.Random(f"lscb-synth-cover:{options.seed}"))  # noqa: S311
    dirty = {key for key, names in kinds.items() if any(severity(standard, _rule_of(k)) == "E" for k in names)}
    # The councils that correct a rejected return and send it again (a separate stream, so the
    # rest of the world stays as it was): their corrected return is the one in the national data.
    resubmit_rng = random.Random(f"lscb-synth-resubmit:{options.seed}")  # noqa: S311
    resubmitted = {key for key in sorted(dirty) if resubmit_rng.random() < options.resubmit_rate}

    planner = Planner(builder, worlds, periods, codes=codes_by, present=present, dirty=dirty - resubmitted)
    taking_part = max((len(p) for p in present), default=0)
    if taking_part >= 2:
        planner.plan(
            good_moves=max(1, round(GOOD_MOVES_PER_COUNCIL * taking_part)),
            each_rule=max(1, round(CASES_PER_COUNCIL * taking_part)),
        )
    timings["world"] = time.perf_counter() - started

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    findings: list[dict[str, Any]] = []
    returns: list[dict[str, Any]] = []
    manifest_files: list[dict[str, Any]] = []
    late_list: list[dict[str, str]] = []
    resubmissions: list[dict[str, str]] = []
    rows_total = 0
    write_seconds = 0.0
    for i, period in enumerate(periods):
        codes_now = sorted(c.council_code for c in register.expected(period))
        for lineage in sorted(present[i]):
            council = expected[i][lineage]
            at, late = received[(lineage, i)]
            return_rng = random.Random(  # noqa: S311 (synthetic data, not secrets)
                f"lscb-synth:{options.seed}:{council.council_code}:{period.code}"
            )
            doc = build_return(worlds[lineage], council, i, period, received_at=at, rng=return_rng, standard=standard)
            injector = Injector(doc, return_rng, register=register, standard=standard, council_codes=codes_now)
            injected = inject(injector, kinds[(lineage, i)])
            name = return_file_name(council.council_code, period.code, options.format)
            has_errors = False
            for e in injected:
                cell, child_id = locate(doc, e)
                sev = severity(standard, e.rule)
                has_errors = has_errors or sev == "E"
                findings.append(
                    {
                        "council_code": council.council_code,
                        "period": period.code,
                        "file": name,
                        "rule": e.rule,
                        "severity": sev,
                        "sheet": e.sheet,
                        "cell": cell,
                        "field": e.field,
                        "local_child_id": child_id,
                        "injection": e.kind,
                    }
                )
            t0 = time.perf_counter()
            written = _write(options, doc, standard, name=name, at=at, injected=[e.kind for e in injected],
                             has_errors=has_errors)  # fmt: skip
            write_seconds += time.perf_counter() - t0
            files.append(written.path)
            rows_total += len(doc.rows)
            returns.append(written.entry)
            manifest_files.append(written.manifest)
            if late:
                late_list.append({"council_code": council.council_code, "period": period.code, "file": name})
            if (lineage, i) in resubmitted and has_errors:  # (a mistake that could not be made leaves it clean)
                t0 = time.perf_counter()
                corrected = _corrected(
                    options, worlds[lineage], council, index=i, period=period, at=at, standard=standard
                )
                write_seconds += time.perf_counter() - t0
                files.append(corrected.path)
                returns.append({**corrected.entry, "resubmission_of": name})
                manifest_files.append({**corrected.manifest, "resubmission_of": name})
                resubmissions.append(
                    {
                        "council_code": council.council_code,
                        "period": period.code,
                        "file": name,
                        "corrected": corrected.path.name,
                    }
                )
    timings["write"] = write_seconds

    arguments = {
        "period": periods[0].code,
        "periods": options.periods,
        "councils": options.councils if isinstance(options.councils, str) else ",".join(options.councils),
        "children": options.children,
        "seed": options.seed,
        "error_rate": options.error_rate,
        "missing_rate": options.missing_rate,
        "late_rate": options.late_rate,
        "resubmit_rate": options.resubmit_rate,
        "format": options.format,
    }
    ground_truth = {
        "generator": GENERATOR,
        "standard_version": standard.version,
        "arguments": arguments,
        "periods": [p.code for p in periods],
        "returns": returns,
        "missing": missing,
        "late": late_list,
        "resubmitted": resubmissions,
        "findings": findings,
        "cross_council": [c.to_json() for c in sorted(planner.cases)],
        "moves": [m.to_json() for m in sorted(planner.moves)],
        "whole_picture": [c.to_json() for c in sorted(planner.whole_picture_cases())],
    }
    manifest = {"generator": GENERATOR, "arguments": arguments, "files": manifest_files}
    (out / "ground_truth.json").write_text(json.dumps(ground_truth, indent=2) + "\n", encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    seconds = time.perf_counter() - started
    return SynthResult(out, files, ground_truth, manifest, rows_total, seconds, timings)


@dataclass
class _Written:
    path: Path
    entry: dict[str, Any]  # the ground truth's `returns` entry
    manifest: dict[str, Any]  # the manifest's `files` entry


def _write(
    options: SynthOptions,
    doc: Any,
    standard: Any,
    *,
    name: str,
    at: datetime,
    injected: list[str],
    has_errors: bool,
) -> _Written:
    """Write one return file, dated by its time of receipt, and describe it."""
    data = xlsx_bytes(doc) if options.format == "xlsx" else csv_zip_bytes(doc, standard)
    path = Path(options.out) / name
    path.write_bytes(data)
    os.utime(path, (at.timestamp(), at.timestamp()))
    late = doc.period.is_late(at)
    where = {"council_code": doc.council.council_code, "period": doc.period.code}
    received = at.isoformat()
    entry = {**where, "file": name, "received_at": received, "late": late, "children": len(doc.rows),
             "injected": injected, "has_errors": has_errors}  # fmt: skip
    manifest = {"file": name, **where, "format": options.format, "received_at": received, "late": late,
                "bytes": len(data)}  # fmt: skip
    return _Written(path, entry, manifest)


def _corrected(
    options: SynthOptions,
    world: CouncilWorld,
    council: Council,
    *,
    index: int,
    period: Period,
    at: datetime,
    standard: Any,
) -> _Written:
    """The council's corrected copy of a rejected return: the same return without the injected
    mistakes (the same random stream builds the same rows), sent one to four days later, and
    still on time when the first was (by noon on the deadline day at the latest)."""
    rng = random.Random(f"lscb-synth-resubmit:{options.seed}:{council.council_code}:{period.code}")  # noqa: S311
    again = at + timedelta(days=rng.randint(1, 4), minutes=rng.randint(0, 600))
    if not period.is_late(at):
        again = min(again, datetime.combine(period.deadline, datetime.min.time(), tzinfo=UTC) + timedelta(hours=11))
        again = max(again, at + timedelta(minutes=30))
    return_rng = random.Random(f"lscb-synth:{options.seed}:{council.council_code}:{period.code}")  # noqa: S311
    # the same About as the first (signed off before it was sent), so the same random draws follow
    doc = build_return(world, council, index, period, received_at=at, rng=return_rng, standard=standard)
    ext = "xlsx" if options.format == "xlsx" else "zip"
    name = f"{council.council_code}_{period.code}_corrected.{ext}"
    return _write(options, doc, standard, name=name, at=again, injected=[], has_errors=False)


def register_expected_all(register: Any, periods: list[Period]) -> list[list[Council]]:
    return [register.expected(p) for p in periods]


def _rule_of(kind: str) -> str:
    from synth.inject import KINDS

    return next(k.rule for k in KINDS if k.name == kind)
