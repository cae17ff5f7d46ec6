import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lscb.cli import main
from reports.standard_doc import render_standard
from schemas.calendar import DEADLINE_DAYS, Period
from schemas.standard import load_standard

STANDARD = load_standard("1.0")


@pytest.fixture(scope="module", params=["md", "html"])
def page(request: pytest.FixtureRequest) -> tuple[str, str]:
    fmt = request.param
    text = render_standard("1.0", fmt)
    # compare against plain text: unescape HTML entities, drop Markdown escapes
    return fmt, html.unescape(text) if fmt == "html" else text.replace("\\|", "|")


def test_every_field_code_rule_and_refusal_appears(page: tuple[str, str]) -> None:
    _, text = page
    for sheet in STANDARD.sheets:
        assert sheet.name in text and sheet.description in text and sheet.csv_file in text
        for field_ in sheet.fields:
            assert field_.name in text, field_.ref
            assert field_.hint in text, field_.ref
    for code_list in STANDARD.code_lists.values():
        assert code_list.description in text
        for code, label in code_list.values.items():
            assert re.search(rf"\b{re.escape(code)}\b", text), code
            assert label in text, label
    for rule in STANDARD.rules:
        assert re.search(rf"\b{re.escape(rule.id)}\b", text), rule.id
        assert rule.description in text, rule.id
        shown = re.sub(r"\{(\w+)\}", r"[\1]", rule.message)
        assert shown in text, rule.id
    for refusal in STANDARD.refusals:
        assert refusal.id in text
        assert re.sub(r"\{(\w+)\}", r"[\1]", refusal.message) in text


def test_decisions_calendar_severities_and_pseudonymisation(page: tuple[str, str]) -> None:
    _, text = page
    decisions = [s.decision for s in STANDARD.sheets if s.decision]
    decisions += [f.decision for s in STANDARD.sheets for f in s.fields if f.decision]
    decisions += [r.decision for r in STANDARD.rules if r.decision]
    assert decisions
    for decision in decisions:
        assert decision in text
    assert f"{DEADLINE_DAYS} calendar days" in text
    q1 = Period.parse("2025-Q1")
    assert q1.deadline.isoformat() in text and q1.end.isoformat() in text
    assert "E = Error" in text and "Q = Query" in text
    assert "HMAC-SHA256" in text and "Pseudonymisation" in text
    for field_ in STANDARD.identifier_fields:
        assert f"{field_.name}" in text


def test_html_is_accessible_and_well_formed() -> None:
    page = render_standard("1.0", "html")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in page
    tables = page.count("<table>")
    assert tables > 5 and page.count("<caption>") == tables
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert not re.search(r"<th(?=[\s>])(?![^>]*scope=)", page)

    class Checker(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.problems: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in {"meta", "br", "link"}:
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if not self.stack or self.stack.pop() != tag:
                self.problems.append(tag)

    checker = Checker()
    checker.feed(page)
    assert checker.problems == [] and checker.stack == []


def test_markdown_tables_have_a_blank_line_before_them() -> None:
    lines = render_standard("1.0", "md").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            assert lines[i - 1] == "", (i, line)


def test_bad_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        render_standard("1.0", "pdf")


@pytest.mark.parametrize(("name", "fmt", "marker"), [("page.md", "md", "# "), ("page.html", "html", "<!DOCTYPE html>")])
def test_cli_format_from_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fmt: str, marker: str
) -> None:
    out = tmp_path / name
    assert main(["standard", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith(marker)
    assert f"({fmt})" in capsys.readouterr().out


def test_cli_explicit_format_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "page.txt"
    assert main(["standard", "--out", str(out), "--format", "html"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    capsys.readouterr()
    assert main(["standard", "--out", str(tmp_path / "page.txt2")]) == 2
    assert main(["standard", "--out", str(tmp_path / "p.md"), "--version", "9.9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err
