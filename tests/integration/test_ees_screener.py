"""Every published CSV of a quarterly compile and of an annual publication passes DfE's own EES
screener (`tests/tools/eesyscreener`, installed by scripts/setup): PASSED, with no warning but
the data dictionary's (our column names are not in DfE's API dictionary, which is DfE's to
extend). Each CSV has its `.meta.csv` beside it, written from the same column definitions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reports.compile import STATISTICS
from reports.ees import META_COLUMNS, column_definitions, metadata

SCREEN = Path(__file__).resolve().parents[1] / "tools" / "eesyscreener" / "screen"
ANNUAL = ("returns", "league_table", "children", "cross_council", "strategy", "completeness", "whole_picture")


def screen(csv_path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(SCREEN), "--json", str(csv_path)], check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode in (0, 1), f"the screener could not run on {csv_path.name}: {done.stderr[-2000:]}"
    return dict(json.loads(done.stdout))


def published_csvs(generated_year: Any) -> list[Path]:
    annual = [generated_year.annual_dir / f"{name}.csv" for name in ANNUAL]
    quarter = [generated_year.quarter_dir / f"{name}.csv" for name in STATISTICS]
    return annual + quarter


def test_every_published_csv_has_its_metadata_and_passes_the_screener(generated_year: Any) -> None:
    files = published_csvs(generated_year)
    assert {p.name for p in generated_year.annual_dir.glob("*.csv") if not p.name.endswith(".meta.csv")} == {
        f"{name}.csv" for name in ANNUAL
    }
    verdicts = {}
    for path in files:
        assert path.with_name(f"{path.stem}.meta.csv").exists(), path
        verdict = screen(path)
        bad = [
            f"{r['check']} {r['result']}: {r['message'][:200]}"
            for r in verdict["results"]
            if r["result"] == "FAIL" or (r["result"] == "WARNING" and not r["check"].startswith("data_dict"))
        ]
        verdicts[f"{path.parent.name}/{path.name}"] = (verdict["passed"], bad)
    assert all(passed and not bad for passed, bad in verdicts.values()), verdicts


def test_the_screener_fails_a_csv_without_its_metadata(generated_year: Any, tmp_path: Path) -> None:
    copy = tmp_path / "children.csv"
    copy.write_bytes((generated_year.annual_dir / "children.csv").read_bytes())
    verdict = screen(copy)
    assert not verdict["passed"] and verdict["overall_stage"] == "File read"


def test_metadata_comes_from_the_column_definitions() -> None:
    frame = pd.DataFrame(
        {
            "time_period": ["202526"],
            "field": ["upn"],
            "completeness_pct": [50.0],
            "return_interview_72h_pct_change": [1.5],
        }
    )
    meta = metadata(frame)
    assert list(meta.columns) == META_COLUMNS
    rows = meta.set_index("col_name")
    assert rows.at["field", "col_type"] == "Filter" and rows.at["field", "filter_default"] == "upn"
    assert rows.at["completeness_pct", "indicator_unit"] == "%" and rows.at["completeness_pct", "indicator_dp"] == "1"
    assert rows.at["return_interview_72h_pct_change", "indicator_unit"] == "pp"
    assert "time_period" not in rows.index
    assert all(len(d.label) <= 100 for d in column_definitions().values())  # EES's API label limit
    with pytest.raises(KeyError, match="no EES definition"):
        metadata(frame.assign(undefined_column=[1]))


def test_published_numbers_have_the_decimals_their_metadata_gives(generated_year: Any) -> None:
    checked = 0
    for path in published_csvs(generated_year):
        data = pd.read_csv(path, dtype=str, keep_default_na=False)
        meta = pd.read_csv(path.with_name(f"{path.stem}.meta.csv"), dtype=str, keep_default_na=False)
        for row in meta[meta["col_type"] == "Indicator"].to_dict("records"):
            dp = int(row["indicator_dp"])
            for value in data[row["col_name"]]:
                if value.lstrip("-").replace(".", "", 1).isdigit():
                    decimals = len(value.split(".")[1]) if "." in value else 0
                    assert decimals <= dp, (path.name, row["col_name"], value, dp)
                    checked += 1
    assert checked > 1000


def test_a_quarter_without_findings_still_publishes_screenable_files(tmp_path: Path) -> None:
    """Day one (nothing stored): every published quarterly CSV still has rows (England's zeros
    for the cross-council rules) and passes the screener; a header-only file could not be read."""
    from datetime import date

    from pipeline.compile import compile_period
    from schemas.calendar import Period
    from store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    upgrade(url)
    outcome = compile_period(url, Period.parse("2026-Q1"), tmp_path / "q", today=date(2026, 11, 1))
    cross = pd.read_csv(outcome.paths["cross_council"])
    assert set(cross["geographic_level"]) == {"National"} and cross["children"].sum() == 0
    assert set(cross["rule"]) == {"X1", "X2", "X3", "X4", "X5"}
    for name in STATISTICS:
        verdict = screen(Path(outcome.out_dir) / f"{name}.csv")
        assert verdict["passed"], (name, [r for r in verdict["results"] if r["result"] == "FAIL"])
