"""`lscb validate` as a council officer runs it: exit codes, the JSON shape, the report, and
hostile files refused with exit 2 and one line, in bounded time and memory, with no traceback.

The hostile files run the real console command in a child process (with no project settings in
its environment, in an empty working folder), so what is checked is what a person sees: the
exit status, stdout, stderr and the child's own peak memory (from `wait4`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import children_rows, sample_about, sample_activity, sample_strategy, write_csv_bundle, write_xlsx_return
from hostile import png_file, rewrite_zip, with_doctype, worksheet_part, zip_bomb_declared

from lscb.cli import main

ROOT = Path(__file__).resolve().parents[2]
MAX_SECONDS = 30  # a whole process: interpreter start and imports included
MAX_RSS_MB = 600
FINDING_KEYS = {"rule", "severity", "sheet", "cell", "field", "local_child_id", "message"}
RESULT_KEYS = {"status", "council_code", "period", "errors", "queries", "findings"}


def _activity(children: int) -> dict[str, Any]:
    """The sample Activity sheet agreeing with `children` sample children (all new, all open)."""
    return sample_activity(children_newly_identified=children, children_open_at_end=children)


def _write(path: Path, children: list[dict[str, Any]]) -> Path:
    return write_xlsx_return(path, sample_about(), sample_strategy(), _activity(len(children)), children)


def _good(folder: Path, name: str = "good.xlsx", children: int = 5) -> Path:
    return _write(folder / name, children_rows(children))


def _tall(xml: bytes) -> bytes:
    at = xml.index(b"<sheetData")
    return xml[:at] + b'<dimension ref="A1:Z2000000000"/>' + xml[at:]


def _entity_bomb(folder: Path) -> Path:
    good = _good(folder)
    return rewrite_zip(good, folder / "lol.xlsx", change={worksheet_part(good, "Children"): with_doctype})


def _xlsm(folder: Path) -> Path:
    return rewrite_zip(_good(folder), folder / "return.xlsm", add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 vba"})


def _formula(folder: Path) -> Path:
    activity = sample_activity()
    activity["children_open_at_end"] = "=SUM(1,2)"
    return write_xlsx_return(folder / "formula.xlsx", sample_about(), sample_strategy(), activity, children_rows(3))


def _two_billion_rows(folder: Path) -> Path:
    good = _good(folder)
    return rewrite_zip(good, folder / "tall.xlsx", change={worksheet_part(good, "Children"): _tall})


def _empty(folder: Path) -> Path:
    path = folder / "empty.xlsx"
    path.write_bytes(b"")
    return path


def _bundle_without_children(folder: Path) -> Path:
    return write_csv_bundle(
        folder / "bundle.zip",
        sample_about(),
        sample_strategy(),
        sample_activity(),
        children_rows(3),
        omit=["children.csv"],
    )


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zip bomb": (lambda folder: zip_bomb_declared(folder / "bomb.xlsx"), "zip bomb"),
    "XML entity bomb": (_entity_bomb, "entity definitions"),
    "xlsm with a VBA part": (_xlsm, "macro"),
    "formula": (_formula, "Activity!B3"),
    "2 GB-row claim": (_two_billion_rows, "2,000,000,000"),
    "empty file": (_empty, "empty"),
    "PNG renamed .xlsx": (lambda folder: png_file(folder / "picture.xlsx"), "not an Excel workbook"),
    "CSV bundle missing a file": (_bundle_without_children, "children.csv"),
}


# The child writes its own peak (VmHWM of its own address space) at exit: the rusage of a child
# forked from a large pytest worker counts the worker's copied pages too (Linux keeps the
# pre-exec high-water mark in ru_maxrss), so it would report the worker's size, not the CLI's.
_PEAK_AT_EXIT = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def _peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak_file, "w") as out:
        out.write(kb)
atexit.register(_peak)
sys.argv[0] = "lscb"
runpy.run_module("lscb.cli", run_name="__main__", alter_sys=True)
"""


def run_cli(args: list[str], cwd: Path) -> tuple[int, str, str, float, float]:
    """`lscb ...` in a child process: (exit status, stdout, stderr, seconds, the child's peak RSS
    in MB). The child's output goes to files beside `cwd`; it is reaped with `wait4`, and its
    peak is its own high-water mark (written at exit; the rusage figure if it never exits)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSCB_", "AIRFLOW"))}
    env["HOME"] = str(cwd)
    out_path, err_path = cwd.parent / f"{cwd.name}.stdout", cwd.parent / f"{cwd.name}.stderr"
    peak_path = cwd.parent / f"{cwd.name}.peak"
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - fixed argument list
            [sys.executable, "-c", _PEAK_AT_EXIT, str(peak_path), *args], cwd=cwd, env=env, stdout=out, stderr=err
        )
        deadline = time.monotonic() + MAX_SECONDS * 4
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    texts = out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8")
    out_path.unlink()
    err_path.unlink()
    peak_mb = usage.ru_maxrss / 1024
    if peak_path.exists():
        peak_mb = int(peak_path.read_text()) / 1024
        peak_path.unlink()
    return process.returncode, texts[0], texts[1], elapsed, peak_mb


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_file_is_refused_with_exit_2_and_one_line(kind: str, tmp_path: Path) -> None:
    build, says = HOSTILE[kind]
    files = tmp_path / "files"
    files.mkdir()
    path = build(files)
    work = tmp_path / "work"
    work.mkdir()
    code, out, err, seconds, peak_mb = run_cli(["validate", str(path)], work)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lscb validate: refused: {path.name}: "), lines[0]
    assert says.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err
    assert seconds < MAX_SECONDS, f"{kind}: {seconds:.1f} s"
    assert peak_mb < MAX_RSS_MB, f"{kind}: peak {peak_mb:.0f} MB"
    assert list(work.iterdir()) == []  # nothing written


def test_refused_file_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = png_file(tmp_path / "picture.xlsx")
    assert main(["validate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert set(result) >= RESULT_KEYS
    assert result["status"] == "refused" and result["findings"] == [] and result["errors"] == 0
    assert result["reason"].startswith("picture.xlsx: ")


def test_missing_file_and_bad_report_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nowhere.xlsx")]) == 2
    assert "no such file" in capsys.readouterr().err
    good = _good(tmp_path)
    assert main(["validate", str(good), "--report", str(tmp_path / "feedback.pdf")]) == 2
    assert "--report" in capsys.readouterr().err


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["validate", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_clean_return_is_accepted_with_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = _json([str(_good(tmp_path)), "--council", "E06000001"], capsys)
    assert code == 0
    assert set(result) == RESULT_KEYS
    assert result["status"] == "accepted"
    assert (result["council_code"], result["period"]) == ("E06000001", "2025-Q1")
    assert result["errors"] == 0


def test_errors_give_exit_1_and_cell_precise_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    children = children_rows(4)
    children[2]["sex"] = "X"  # Excel row 4
    path = _write(tmp_path / "r.xlsx", children)
    code, result = _json([str(path)], capsys)
    assert code == 1
    assert result["status"] == "rejected" and result["errors"] >= 1
    for finding in result["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["severity"] in ("E", "Q")
    sex = [f for f in result["findings"] if f["field"] == "sex"]
    assert len(sex) == 1
    assert sex[0]["sheet"] == "Children" and sex[0]["local_child_id"] == children[2]["local_child_id"]
    # the builder writes the standard's fields in schema order: sex is the sixth column, F
    assert sex[0]["cell"] == "Children!F4"


def test_a_council_cannot_validate_as_another(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = _json([str(_good(tmp_path)), "--council", "E06000002"], capsys)
    assert code == 1
    assert [f["rule"] for f in result["findings"]] == ["ABT-05"]


def test_queries_alone_still_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    children = children_rows(3)
    for child in children:
        child["risk_level"], child["referred_to_police"] = "HIGH", "N"  # a query (high risk, no referral)
    path = _write(tmp_path / "q.xlsx", children)
    code, result = _json([str(path)], capsys)
    assert result["errors"] == 0 and result["queries"] >= 1, result
    assert code == 0 and result["status"] == "accepted"


def test_human_summary_names_rules_and_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    children = children_rows(4)
    children[1]["ethnicity"] = "ZZZZ"
    path = _write(tmp_path / "r.xlsx", children)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED" in out and "VAL-02" in out and "Children!" in out


@pytest.mark.parametrize("suffix", ["xlsx", "html"])
def test_report_is_the_only_thing_written_and_needs_no_key_or_database(tmp_path: Path, suffix: str) -> None:
    children = children_rows(4)
    children[0]["sex"] = "X"
    source = tmp_path / "in"
    source.mkdir()
    path = _write(source / "r.xlsx", children)
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, _, err, _, _ = run_cli(["validate", str(path), "--report", f"feedback.{suffix}"], work)
    assert code == 1, err
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert sorted(set(after) - set(before)) == [Path("work") / f"feedback.{suffix}"]
    report = work / f"feedback.{suffix}"
    if suffix == "xlsx":
        assert zipfile.is_zipfile(report)
    else:
        assert "Children!" in report.read_text(encoding="utf-8")
    assert not (ROOT / "var" / "lscb-validate").exists()


def test_cli_reports_exactly_synths_injected_breaches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from synth import SynthOptions, generate

    truth = generate(
        SynthOptions(
            period="2025-Q1",
            out=tmp_path,
            councils=["E06000001", "E08000025", "E09000033"],
            children=25,
            seed=7,
            error_rate=0.4,
            format="csv",
        )
    ).ground_truth
    assert truth["findings"]
    for entry in truth["returns"]:
        code, result = _json([str(tmp_path / entry["file"]), "--council", entry["council_code"]], capsys)
        want = sorted((f["rule"], f["cell"], f["field"]) for f in truth["findings"] if f["file"] == entry["file"])
        got = sorted((f["rule"], f["cell"], f["field"]) for f in result["findings"])
        assert got == want, entry["file"]
        assert code == (1 if result["errors"] else 0)
        assert result["status"] == ("rejected" if result["errors"] else "accepted")


def test_identifiers_typed_into_other_columns_are_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.hostile import identifiers_in_other_columns

    path, planted = identifiers_in_other_columns(tmp_path / "typed.xlsx")
    assert main(["validate", str(path), "--json"]) == 1
    out = capsys.readouterr()
    result = json.loads(out.out)
    rules = {(f["rule"], f["field"]) for f in result["findings"]}
    assert {("VAL-02", "ethnicity"), ("VAL-02", "sex"), ("VAL-02", "risk_level"), ("CHD-25", "local_child_id")} <= rules
    for text in planted:
        assert text not in out.out + out.err, text
        assert text.upper() not in (out.out + out.err).upper()
    assert "[identifier]" in out.out
    assert main(["validate", str(path)]) == 1  # the human report too
    human = capsys.readouterr()
    assert not any(text.upper() in (human.out + human.err).upper() for text in planted)


def test_an_unknown_header_is_quoted_masked_and_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.hostile import planted_identifiers

    upn, _ = planted_identifiers()
    children = children_rows(2)
    for child in children:
        child[upn] = "x"
        child["n" * 300] = "y"
    path = write_xlsx_return(tmp_path / "headers.xlsx", sample_about(), sample_strategy(), _activity(2), children)
    assert main(["validate", str(path), "--json"]) == 1
    out = capsys.readouterr().out
    unknown = [f["message"] for f in json.loads(out)["findings"] if f["rule"] == "STRUCT-01"]
    assert len(unknown) == 2 and upn not in out and "n" * 41 not in out
