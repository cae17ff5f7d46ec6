import json

import pytest

from lscb.cli import main
from schemas.calendar import Period
from schemas.register import load_register


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["councils", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_lists_the_expected_councils(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--period", "2025-Q1", "--json")
    assert (code, err) == (0, "")
    councils = json.loads(out)
    assert isinstance(councils, list)
    expected = load_register().expected(Period.parse("2025-Q1"))
    assert len(councils) == len(expected) == 153
    required = {"council_code", "la_number", "name", "region_code"}
    for item in councils:
        assert required <= set(item) <= required | {"region_name"}
        assert all(isinstance(value, str) for value in item.values())
    assert [item["council_code"] for item in councils] == [c.council_code for c in expected]
    barnsley = next(item for item in councils if item["la_number"] == "370")
    assert barnsley == {
        "council_code": "E08000038",
        "la_number": "370",
        "name": "Barnsley",
        "region_code": "E12000003",
        "region_name": "Yorkshire and The Humber",
    }


def test_text_table_with_count_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--period", " 2022-q1 ")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Code", "LA", "Name"]
    assert len(lines) == 1 + 152 + 1
    assert lines[-1].startswith("152 councils expected for 2022-Q1")
    cumbria = next(line for line in lines if line.startswith("E10000006"))
    assert "909" in cumbria and "Cumbria" in cumbria and "North West" in cumbria
    name_column = lines[0].index("Name")
    assert all(line[name_column - 2 : name_column] == "  " for line in lines[1:-1])  # aligned


@pytest.mark.parametrize("period", ["2025-Q5", "2025", "Q1", "2025-26"])
def test_invalid_period_is_a_one_line_error(capsys: pytest.CaptureFixture[str], period: str) -> None:
    code, out, err = _run(capsys, "--period", period)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "invalid period" in err and "Traceback" not in err


def test_lookup_by_la_number_on_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--lookup", "370", "--on", "2025-04-15")
    assert code == 0
    assert "E08000016" in out and "Barnsley" in out
    assert "E08000038" in out  # shown as its successor (recode)
    code, out, _ = _run(capsys, "--lookup", "370", "--on", "2025-06-01", "--json")
    assert code == 0
    assert json.loads(out)["council_code"] == "E08000038"


def test_lookup_shows_predecessors_and_successors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--lookup", "E06000058", "--json")
    assert code == 0
    details = json.loads(out)
    assert details["name"] == "Bournemouth, Christchurch and Poole"
    assert [p["council_code"] for p in details["predecessors"]] == ["E06000028", "E06000029", "E10000009"]
    assert details["successors"] == []
    code, out, _ = _run(capsys, "--lookup", "e10000006")
    assert code == 0
    assert "Cumbria" in out and "E06000063" in out and "E06000064" in out and "split" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lookup", "999"], "neither the GSS code nor the DfE LA number"),
        (["--lookup", "820", "--on", "2020-01-01"], "not a council in operation"),
        (["--lookup", "370", "--on", "2025-13-01"], "invalid date"),
        (["--period", "2025-Q1", "--on", "2025-04-01"], "--on goes with --lookup"),
    ],
)
def test_lookup_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err
