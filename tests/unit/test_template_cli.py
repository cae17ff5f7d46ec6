from pathlib import Path

import openpyxl
import pytest

from lscb.cli import main


def test_writes_the_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "return.xlsx"
    code = main(["template", "--council", "E06000001", "--period", "2025-Q1", "--out", str(out)])
    assert code == 0
    assert str(out) in capsys.readouterr().out
    assert openpyxl.load_workbook(out).sheetnames[:4] == ["About", "Strategy", "Activity", "Children"]


@pytest.mark.parametrize(
    ("council", "period"),
    [("E99000001", "2025-Q1"), ("E10000021", "2025-Q1"), ("E06000001", "2025-13"), ("E06000001", "2025-Q1")],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], council: str, period: str
) -> None:
    # the last case is a good council and period with a bad output suffix
    out = tmp_path / ("return.csv" if period == "2025-Q1" and council == "E06000001" else "return.xlsx")
    code = main(["template", "--council", council, "--period", period, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("lscb template: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    assert not out.exists()
