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
