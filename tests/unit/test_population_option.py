"""`--population` is one option with one check, in every command that computes rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from lscb.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", "--period", "2025-Q1", "--out", "OUT"],
        ["annual", "--year", "2025-26", "--out", "OUT"],
        ["run-quarter", "--period", "2025-Q1", "--no-migrate"],
        ["run-annual", "--year", "2025-26", "--no-migrate"],
    ],
)
def test_a_missing_population_file_is_named_before_any_work(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "population.csv"
    args = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main([*args, "--population", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"lscb {argv[0]}: population file {missing} not found"
    assert not (tmp_path / "out").exists()
