import re
import zipfile
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from reports.feedback import ERROR_FILL_COLOUR, IDENTIFIER_NOTE, QUERY_FILL_COLOUR, write_feedback
from schemas.standard import load_standard
from transforms.findings import Finding
from transforms.ingest.model import HeaderProblem, KeyValueSheet, Location, ReturnFile, TableSheet
from transforms.validate.model import ValidationResult

STANDARD = load_standard("1.0")
UPNS = ["H801200001001", "K805300002002"]
NHS = ["943 476 5919", "9434765870"]
SECRETS = [*UPNS, *NHS, "9434765919"]

# Children columns deliberately NOT in schema order, as a case-system extract might have them
CHILD_COLUMNS = {
    "nhs_number": "A",
    "local_child_id": "B",
    "upn": "C",
    "date_of_birth": "D",
    "risk_level": "E",
    "referred_to_police": "F",
    "sex": "G",
    "ethnicity": "H",
}


def _keyvalue(name: str, values: dict[str, object]) -> KeyValueSheet:
    locations = {field: Location(name, row, "B") for row, field in enumerate(values, start=2)}
    return KeyValueSheet(name=name, values=dict(values), locations=locations)


def make_return() -> ReturnFile:
    about = _keyvalue(
        "About",
        {
            "standard_version": "1.0",
            "council_code": "E06000001",
            "la_number": "805",
            "period": "2025-Q1",
            "prepared_by_email": None,
            "signed_off_by": '=HYPERLINK("http://x")',  # typed text that looks like a formula
            "signed_off_on": date(2025, 7, 1),
        },
    )
    strategy_fields = STANDARD.sheet("Strategy").fields
    strategy = _keyvalue("Strategy", {f.name: "N" if f.codes == "yes_no" else None for f in strategy_fields})
    activity = _keyvalue("Activity", {f.name: 3 for f in STANDARD.sheet("Activity").fields})
    frame = pd.DataFrame(
        {
            "nhs_number": [NHS[0], NHS[1], None],
            "local_child_id": ["C-1", "C-2", "C<3>"],
            "upn": [UPNS[0], None, UPNS[1]],
            "date_of_birth": [date(2010, 5, 1), datetime(2009, 1, 2), "31/02/2011"],
            "risk_level": ["HIGH", "LOW", "high"],
            "referred_to_police": ["N", "Y", "N"],
            "sex": ["F", "M", "X"],
            "ethnicity": ["WBRI", "WBRI", "AOTH"],
        },
        index=[2, 3, 5],  # Excel rows; row 4 was blank and dropped by ingest
        dtype=object,
    )
    children = TableSheet(
        name="Children",
        frame=frame,
        columns=dict(CHILD_COLUMNS),
        header_problems=[HeaderProblem("unknown", "notes", Location("Children", 1, "I"))],
    )
    return ReturnFile(
        source_name="hartlepool-2025-Q1.xlsx",
        format="xlsx",
        checksum="0" * 64,
        size_bytes=1234,
        standard_version="1.0",
        sheets={"About": about, "Strategy": strategy, "Activity": activity, "Children": children},
        from_template=True,
    )


FINDINGS = [
    Finding(
        "CHD-23",
        "Q",
        "Children",
        "Children!E2",
        "risk_level",
        "C-1",
        "risk_level is HIGH but the child was not referred to the police; refer, or explain why not.",
        2,
    ),
    Finding(
        "VAL-01",
        "E",
        "About",
        "About!B6",
        "prepared_by_email",
        None,
        "prepared_by_email is required; this cell is blank.",
        6,
    ),
    Finding(
        "CHD-05",
        "E",
        "Children",
        "Children!C5",
        "upn",
        "C<3>",
        "The UPN's check letter (its first character) is wrong; the UPN has been mistyped.",
        5,
    ),
    Finding(
        "VAL-02",
        "E",
        "Children",
        "Children!E5",
        "risk_level",
        "C<3>",
        "'high' is not allowed for risk_level; use one of: LOW, MEDIUM, HIGH.",
        5,
    ),
    Finding(
        "CHD-23",
        "Q",
        "Children",
        "Children!E5",
        "risk_level",
        "C<3>",
        "risk_level is HIGH but the child was not referred to the police; refer, or explain why not.",
        5,
    ),
    Finding(
        "XS-02",
        "Q",
        "Activity",
        "Activity!B2",
        "children_newly_identified",
        None,
        "children_newly_identified is 3, but 2 children on the Children sheet were identified in the quarter.",
        2,
    ),
    Finding(
        "STRUCT-02",
        "E",
        "Children",
        None,
        "looked_after",
        None,
        "The Children sheet has no looked_after field; it is required.",
        None,
    ),
    Finding(
        "STRUCT-01",
        "E",
        "Children",
        "Children!I1",
        None,
        None,
        "'notes' is not a field of the Children sheet. Check the spelling, or remove it.",
        1,
    ),
    # a buggy rule that echoed an identifier (spaced): the report must still not repeat it
    Finding(
        "CHD-07",
        "E",
        "Children",
        "Children!A2",
        "nhs_number",
        "C-1",
        "The NHS number 943 476 5919 must be 10 digits.",
        2,
    ),
]


def make_result() -> ValidationResult:
    return ValidationResult(
        source_name="hartlepool-2025-Q1.xlsx",
        checksum="0" * 64,
        standard_version="1.0",
        council_code="E06000001",
        period="2025-Q1",
        findings=list(FINDINGS),
    )


def _all_text(path: Path) -> str:
    """The file's bytes, and every member decompressed when it is a zip (xlsx)."""
    data = path.read_bytes()
    texts = [data.decode("latin-1")]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            texts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(texts)


@pytest.fixture(scope="module")
def xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feedback(make_return(), make_result(), tmp_path_factory.mktemp("fb") / "feedback.xlsx")


@pytest.fixture(scope="module")
def html_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feedback(make_return(), make_result(), tmp_path_factory.mktemp("fb") / "feedback.html")


def test_sheets(xlsx: Path) -> None:
    workbook = openpyxl.load_workbook(xlsx)
    assert workbook.sheetnames == ["Findings", "Summary", "About", "Strategy", "Activity", "Children"]


def test_findings_sheet_errors_first_with_links(xlsx: Path) -> None:
    ws = openpyxl.load_workbook(xlsx)["Findings"]
    assert [c.value for c in ws[1]] == ["rule", "severity", "sheet", "cell", "field", "local_child_id", "message"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert len(rows) == len(FINDINGS)
    severities = [r[1] for r in rows]
    assert severities == sorted(severities, key=lambda s: s != "Error")
    assert severities.count("Error") == 6 and severities.count("Query") == 3
    # errors in sheet order (About before Children); a whole-sheet finding first, then by row and column
    assert [r[0] for r in rows[:6]] == ["VAL-01", "STRUCT-02", "STRUCT-01", "CHD-07", "CHD-05", "VAL-02"]
    assert ws.auto_filter.ref == "A1:G10"
    assert ws.freeze_panes == "A2"
    for row in ws.iter_rows(min_row=2):
        cell = row[3]
        if cell.value:
            assert cell.hyperlink is not None and cell.hyperlink.target is None
            sheet, coordinate = cell.value.split("!")
            assert cell.hyperlink.location == f"'{sheet}'!{coordinate}"
        else:
            assert cell.hyperlink is None  # STRUCT-02: no cell to point at
    fills = {row[0].value + ":" + (row[3].value or ""): row[1].fill.fgColor.rgb for row in ws.iter_rows(min_row=2)}
    assert fills["VAL-01:About!B6"] == ERROR_FILL_COLOUR
    assert fills["XS-02:Activity!B2"] == QUERY_FILL_COLOUR


def test_internal_links_have_no_external_relationships(xlsx: Path) -> None:
    with zipfile.ZipFile(xlsx) as archive:
        rels = [n for n in archive.namelist() if n.endswith(".rels")]
        assert not any("hyperlink" in archive.read(n).decode() for n in rels)


def test_copy_keeps_original_rows_and_columns(xlsx: Path) -> None:
    workbook = openpyxl.load_workbook(xlsx)
    about = workbook["About"]
    assert (about["A1"].value, about["B1"].value) == ("field", "value")
    assert (about["A3"].value, about["B3"].value) == ("council_code", "E06000001")
    assert about["B8"].value == datetime(2025, 7, 1) and about["B8"].number_format == "dd/mm/yyyy"
    # text a spreadsheet could run is neutralised (OWASP), and written as text (issue 16 item 6)
    assert about["B7"].value == '\'=HYPERLINK("http://x")' and about["B7"].data_type == "s"
    children = workbook["Children"]
    for name, letter in CHILD_COLUMNS.items():
        assert children[f"{letter}1"].value == name
    assert children["I1"].value == "notes"
    assert children["B2"].value == "C-1" and children["B3"].value == "C-2" and children["B5"].value == "C<3>"
    assert all(children[f"{col}4"].value is None for col in "ABCDEFGH")  # the dropped blank row stays blank
    assert children["E5"].value == "high" and children["D5"].value == "31/02/2011"
    assert children["D3"].value == datetime(2009, 1, 2)


def test_offending_cells_are_filled_and_commented(xlsx: Path) -> None:
    workbook = openpyxl.load_workbook(xlsx)
    children = workbook["Children"]
    e2, e5 = children["E2"], children["E5"]
    assert e2.fill.fgColor.rgb == QUERY_FILL_COLOUR
    assert e2.comment is not None and "CHD-23 (Query)" in e2.comment.text
    assert e5.fill.fgColor.rgb == ERROR_FILL_COLOUR  # an error and a query: red wins
    assert e5.comment is not None and "VAL-02 (Error)" in e5.comment.text and "CHD-23 (Query)" in e5.comment.text
    assert children["I1"].comment is not None and "STRUCT-01" in children["I1"].comment.text
    assert children["C5"].fill.fgColor.rgb == ERROR_FILL_COLOUR and "CHD-05" in children["C5"].comment.text
    assert children["F2"].comment is None and children["F2"].fill.fgColor.rgb in (None, "00000000")
    about = workbook["About"]
    assert about["B6"].fill.fgColor.rgb == ERROR_FILL_COLOUR
    assert "prepared_by_email is required" in about["B6"].comment.text
    assert workbook["Activity"]["B2"].fill.fgColor.rgb == QUERY_FILL_COLOUR


def test_identifier_columns_are_blank_with_a_note(xlsx: Path) -> None:
    children = openpyxl.load_workbook(xlsx)["Children"]
    for letter in (CHILD_COLUMNS["upn"], CHILD_COLUMNS["nhs_number"]):
        assert children[f"{letter}1"].comment is not None
        assert IDENTIFIER_NOTE in children[f"{letter}1"].comment.text
        assert all(children[f"{letter}{row}"].value is None for row in range(2, 6))


@pytest.mark.parametrize("kind", ["xlsx", "html"])
def test_no_identifier_value_anywhere(kind: str, xlsx: Path, html_path: Path) -> None:
    text = _all_text(xlsx if kind == "xlsx" else html_path)
    for secret in SECRETS:
        assert secret not in text, secret
    assert "[identifier removed]" in text  # the buggy CHD-07 message was scrubbed


def test_no_formulas_in_the_workbook(xlsx: Path) -> None:
    with zipfile.ZipFile(xlsx) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<(\w+:)?f[ >]", archive.read(name).decode()), name


def test_summary_sheet(xlsx: Path) -> None:
    ws = openpyxl.load_workbook(xlsx)["Summary"]
    values = {row[0].value: row[1].value for row in ws.iter_rows(min_row=2, max_row=11)}
    assert values["Errors"] == 6 and values["Queries"] == 3
    assert values["Council"] == "E06000001" and values["Period"] == "2025-Q1"
    assert str(values["Status"]).startswith("rejected")


def test_html_page_is_accessible_and_grouped_by_rule(html_path: Path) -> None:
    page = html_path.read_text(encoding="utf-8")
    assert '<html lang="en-GB">' in page
    assert page.count("<table>") == page.count("<caption>") > 3
    assert not re.search(r"<th(?=[\s>])(?![^>]*scope=)", page)
    for rule in {f.rule for f in FINDINGS}:
        assert f'id="rule-{rule}"' in page
    # errors before queries
    assert page.index('id="rule-VAL-01"') < page.index('id="rule-CHD-23"')
    assert "C&lt;3&gt;" in page and "C<3>" not in page  # escaped
    assert "Offending rows" in page and "(not reproduced)" in page
    assert "Rejected" in page

    class Checker(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.problems: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in {"meta", "br"}:
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if not self.stack or self.stack.pop() != tag:
                self.problems.append(tag)

    checker = Checker()
    checker.feed(page)
    assert checker.problems == [] and checker.stack == []


def test_clean_return_says_so(tmp_path: Path) -> None:
    result = make_result()
    result.findings = []
    page = write_feedback(make_return(), result, tmp_path / "ok.html").read_text(encoding="utf-8")
    assert "no findings" in page and "Accepted" in page
    ws = openpyxl.load_workbook(write_feedback(make_return(), result, tmp_path / "ok.xlsx"))["Findings"]
    assert ws.max_row == 1


def test_other_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.xlsx or \.html"):
        write_feedback(make_return(), make_result(), tmp_path / "feedback.pdf")
    assert not (tmp_path / "feedback.pdf").exists()


def test_identifier_pasted_into_another_column_is_not_reproduced(tmp_path: Path) -> None:
    ret = make_return()
    children = ret.table("Children")
    children.frame.at[3, "local_child_id"] = UPNS[0].lower()  # someone used the UPN as the case id
    result = make_result()
    result.findings = [
        Finding("CHD-23", "Q", "Children", "Children!E3", "risk_level", UPNS[0].lower(), "A message.", 3),
    ]
    for suffix in ("xlsx", "html"):
        out = write_feedback(ret, result, tmp_path / f"feedback.{suffix}")
        text = _all_text(out).upper()
        assert UPNS[0] not in text
    ws = openpyxl.load_workbook(tmp_path / "feedback.xlsx")
    assert ws["Children"]["B3"].value == "[identifier removed]"
    assert ws["Findings"]["F2"].value == "[identifier removed]"


def test_writes_only_the_report(xlsx: Path, html_path: Path) -> None:
    assert [p.name for p in xlsx.parent.iterdir()] == ["feedback.xlsx"]
    assert [p.name for p in html_path.parent.iterdir()] == ["feedback.html"]
