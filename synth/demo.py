"""The main job's demo data: a national quarter of synthetic returns delivered to the inbox, with a
few bad and hostile files among them (`lscb demo prepare`, `make demo`).

`prepare` synthesises every council the register expects (`synth.generate`, into a staging
folder, so its manifest never lands in the inbox), then swaps a few councils' files for bad ones,
each keeping the council's name and time of receipt:
- one return with errors (a text where a count belongs): stored as `rejected`, feedback recorded;
- a zip bomb, a workbook with a formula, and a PNG image renamed `.xlsx`: refused, quarantined;
- one file whose name names no council: refused, quarantined.
The same seed gives the same bytes, so preparing again and rerunning stores nothing new.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Which councils (by position in the sorted list) get a bad file instead of their return.
REJECTED_AT = 3
HOSTILE_AT = {"zip_bomb": 7, "formula": 11, "png": 15}
UNATTRIBUTABLE_NAME = "final_return_v2.xlsx"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class DemoFiles:
    period: str
    good: list[str] = field(default_factory=list)  # names expected to be stored as accepted
    rejected: list[str] = field(default_factory=list)  # stored with errors
    refused: list[str] = field(default_factory=list)  # quarantined

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def synthesise(period: str, out_dir: Path, *, children: int, seed: int) -> list[Path]:
    """Synthetic returns for every expected council into `out_dir`; the workbooks written."""
    from synth import SynthOptions, generate

    out_dir.mkdir(parents=True, exist_ok=True)
    generate(SynthOptions(period=period, out=out_dir, councils="all", children=children, seed=seed))
    return sorted(out_dir.glob(f"*_{period}.xlsx"))


def write_zip_bomb(path: Path, *, expanded_mb: int = 256) -> None:
    """An `.xlsx`-looking zip whose one worksheet expands ~1000x (a few hundred kB on disk)."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(expanded_mb):
                member.write(chunk)


def add_formula(path: Path) -> None:
    """Put a formula into a workbook's first data sheet."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook["Activity"] if "Activity" in workbook.sheetnames else workbook.worksheets[0]
    sheet.cell(row=2, column=sheet.max_column + 1, value="=SUM(1,2)")
    workbook.save(path)


def add_errors(path: Path) -> int:
    """Write text into the first two whole-number cells of the Activity sheet (type errors)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook["Activity"] if "Activity" in workbook.sheetnames else workbook.worksheets[0]
    changed = 0
    for row in sheet.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, int) and not isinstance(cell.value, bool) and changed < 2:
                cell.value = "lots"
                changed += 1
    workbook.save(path)
    return changed


def write_png(path: Path) -> None:
    path.write_bytes(PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)


def inject_bad_files(files: list[Path], period: str) -> DemoFiles:
    """Swap a few councils' files for bad ones (keeping name and time of receipt) and add one file
    named after no council. Needs at least 16 files; fewer get fewer bad files."""
    result = DemoFiles(period=period)
    by_position = dict(enumerate(sorted(files)))
    kinds = {REJECTED_AT: "rejected", **{index: kind for kind, index in HOSTILE_AT.items()}}
    for index, path in by_position.items():
        kind = kinds.get(index)
        stat = path.stat()
        if kind is None:
            result.good.append(path.name)
            continue
        if kind == "rejected":
            add_errors(path)
            result.rejected.append(path.name)
        else:
            {"zip_bomb": write_zip_bomb, "formula": add_formula, "png": write_png}[kind](path)
            result.refused.append(path.name)
        os.utime(path, (stat.st_atime, stat.st_mtime))  # the time of receipt stays the council's
    if files:
        stray = sorted(files)[0].parent / UNATTRIBUTABLE_NAME
        write_png(stray)  # any content: it is refused for its name before it is opened
        mtime = sorted(files)[0].stat().st_mtime
        os.utime(stray, (mtime, mtime))
        result.refused.append(UNATTRIBUTABLE_NAME)
    return result


def deliver(staging: Path, inbox: Path) -> list[Path]:
    """Copy the staged returns into the inbox, keeping their times of receipt."""
    inbox.mkdir(parents=True, exist_ok=True)
    delivered = []
    for path in sorted(staging.glob("*.xlsx")):
        delivered.append(Path(shutil.copy2(path, inbox / path.name)))
    return delivered


def prepare(period: str, *, inbox: Path, staging: Path, children: int, seed: int) -> DemoFiles:
    """Synthesise the quarter (once per period, children and seed), add the bad files, deliver."""
    staging = staging / f"{period}-x{children}-s{seed}"
    manifest = staging / "demo-files.json"
    if manifest.exists():
        files = DemoFiles(**json.loads(manifest.read_text()))
    else:
        if staging.exists():
            shutil.rmtree(staging)  # a half-made staging folder from an interrupted run
        written = synthesise(period, staging, children=children, seed=seed)
        if not written:
            raise RuntimeError(f"no synthetic returns were written for {period}")
        files = inject_bad_files(written, period)
        manifest.write_text(json.dumps(files.to_json(), indent=2))
    deliver(staging, inbox)
    return files


# ------------------------------------------------------------------ one world per data directory

WORLD_MARKER = "demo-world.json"


def world_description(world: dict[str, Any]) -> str:
    what = f"year {world['year']}" if world.get("year") else f"quarter {world['period']}"
    return f"{what}, {world['children']} children per council, seed {world['seed']}"


def _slug(world: dict[str, Any]) -> str:
    what = f"year-{world['year']}" if world.get("year") else str(world["period"])
    return f"demo-{what}-x{world['children']}-s{world['seed']}"


def _used(data_dir: Path) -> bool:
    """Whether a data directory already holds a project database or received files."""
    if (data_dir / "lscb.sqlite").exists():
        return True
    return any(any((data_dir / kind).rglob("*.*")) for kind in ("inbox", "archive") if (data_dir / kind).is_dir())


def claim_world(data_dir: Path, world: dict[str, Any]) -> tuple[Path, str | None]:
    """The data directory a demonstration world runs in, and a line to print when it is not
    `data_dir`. A data directory holds one synthetic world (its marker file says which): the same
    world carries on where it is; another world, or a directory used without a marker, is never
    mixed into it (the same identifiers with other dates of birth would be X3 conflicts), and the
    new world starts fresh in a directory of its own beside it."""
    marker = data_dir / WORLD_MARKER
    if marker.is_file():
        held = json.loads(marker.read_text(encoding="utf-8"))
        if held == world:
            return data_dir, None
        why = f"{data_dir} holds another demonstration world ({world_description(held)})"
    elif _used(data_dir):
        why = f"{data_dir} holds data that is not this demonstration world's"
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(world, indent=2) + "\n", encoding="utf-8")
        return data_dir, None
    fresh = data_dir.parent / f"{data_dir.name}-{_slug(world)}"
    state = "carrying on with" if (fresh / WORLD_MARKER).is_file() else "starting"
    chosen, _ = claim_world(fresh, world)
    if chosen != fresh:  # the slug names the world, so only a directory made by hand gets here
        raise RuntimeError(f"{fresh} holds something else; remove it or choose another LSCB_DATA_DIR")
    return fresh, f"{why}; {state} this one ({world_description(world)}) in {fresh}"


# ------------------------------------------------------------------ a demonstration year

YEAR_ERROR_RATE = 0.0005  # each kind of mistake, per return: a few returns rejected, all corrected later
YEAR_LATE_RATE = 0.03
YEAR_MISSING_RATE = 0.01


@dataclass
class YearFiles:
    year: str
    periods: list[str]
    files: list[dict[str, Any]]  # the manifest's entries (file, council_code, period, received_at, ...)
    truth: str  # path of ground_truth.json

    def between(self, start: str | None, end: str | None) -> list[dict[str, Any]]:
        """The files received in [start, end) (ISO instants; None: unbounded), oldest first."""
        return [
            f
            for f in self.files
            if (start is None or f["received_at"] >= start) and (end is None or f["received_at"] < end)
        ]


def prepare_year(year: str, *, staging: Path, children: int, seed: int) -> YearFiles:
    """One synthetic world over the four quarters of `year` (children carried forward, moves,
    children lost in transfer, X6 pictures, a few missing, late and rejected returns, each
    rejected one corrected and sent again), written once per year, children and seed."""
    from schemas.calendar import financial_year_periods
    from synth import SynthOptions, generate

    periods = financial_year_periods(year)
    staging = staging / f"year-{year}-x{children}-s{seed}"
    done = staging / "demo-year.json"
    if done.exists():
        return YearFiles(**json.loads(done.read_text(encoding="utf-8")))
    if staging.exists():
        shutil.rmtree(staging)  # a half-made staging folder from an interrupted run
    result = generate(
        SynthOptions(
            period=periods[0].code,
            out=staging,
            periods=len(periods),
            councils="all",
            children=children,
            seed=seed,
            error_rate=YEAR_ERROR_RATE,
            cover_kinds=False,
            missing_rate=YEAR_MISSING_RATE,
            late_rate=YEAR_LATE_RATE,
            resubmit_rate=1.0,
        )
    )
    entries = sorted(result.manifest["files"], key=lambda f: (f["received_at"], f["file"]))
    files = YearFiles(year, [p.code for p in periods], entries, str(staging / "ground_truth.json"))
    done.write_text(json.dumps(asdict(files), indent=2), encoding="utf-8")
    return files


def deliver_files(staging: Path, inbox: Path, entries: list[dict[str, Any]]) -> list[Path]:
    """Copy these staged files into the inbox, keeping their times of receipt."""
    inbox.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(staging / entry["file"], inbox / entry["file"])) for entry in entries]
