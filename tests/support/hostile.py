"""A hostile corpus, built at test time (no binary fixtures are committed).

Each case is a file an attacker could send, with what every way in must answer: the refusal
id (or, for files that are read, the findings they must give). The same corpus runs through
`lscb validate`/`submit`, the portal upload and the inbox DAG task (tests/integration/
test_hostile_corpus.py), so the answer is the same everywhere.
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.builders import children_rows, sample_about, sample_activity, sample_strategy, write_xlsx_return
from tests.unit.hostile import (
    honest,
    ole2_file,
    png_file,
    rewrite_zip,
    shared_strings,
    with_doctype,
    with_shared_strings,
    write_raw_zip,
    zip_bomb_declared,
    zip_bomb_lying,
    zip_bomb_ratio,
    zip_members,
)

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def good_return(path: Path, children: int = 5) -> Path:
    return write_xlsx_return(path, sample_about(), sample_strategy(), sample_activity(), children_rows(children))


def _children_part(path: Path) -> str:
    # openpyxl writes the sheets in order: About, Strategy, Activity, Children
    return "xl/worksheets/sheet4.xml"


def write_members(target: Path, members: list[tuple[str, bytes]]) -> Path:
    """A zip of the members in this order, names written exactly as given (backslashes too)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return target


def smuggled_worksheet(
    path: Path,
    *,
    name: str = "xl\\worksheets\\sheet4.xml",
    comment_bytes: int = 70_000,
    formula: str = "cmd|' /C calc'!A0",
    far_cell: str = "XFD1048576",
) -> Path:
    """Issue 16 item 1: a second Children worksheet stored under a backslash name, after the real
    one, with a big XML comment before its root (past any first-64 KB look), a DDE formula and a
    cell far beyond the limits. A reader that treats `\\` as `/` reads this one."""
    source = good_return(path.with_name(path.stem + "-source.xlsx"))
    members = list(zip_members(source).items())
    hostile = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!--'
        + b"x" * comment_bytes
        + f'--><worksheet xmlns="{MAIN_NS}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>local_child_id</t></is></c></row>'
        f'<row r="2"><c r="A2" t="str"><f>{formula}</f><v>1</v></c></row>'
        f'<row r="3"><c r="{far_cell}" t="inlineStr"><is><t>far</t></is></c></row>'
        "</sheetData></worksheet>".encode()
    )
    members.append((name, hostile))
    return write_members(path, members)


def _with_members(path: Path, change: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> Path:
    source = good_return(path.with_name(path.stem + "-source.xlsx"))
    return write_members(path, change(list(zip_members(source).items())))


def _edit(path: Path, part: str, edit: Callable[[bytes], bytes]) -> Path:
    return _with_members(path, lambda members: [(n, edit(d) if n == part else d) for n, d in members])


def renamed_worksheet(path: Path, name: str) -> Path:
    """The Children sheet stored under another spelling of its name (no second copy)."""
    part = _children_part(path)

    def change(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [(name if n == part else n, _with_formula(d) if n == part else d) for n, d in members]

    return _with_members(path, change)


def _with_formula(sheet: bytes) -> bytes:
    return sheet.replace(
        b"</sheetData>", b'<row r="60"><c r="A60" t="str"><f>cmd|\' /C calc\'!A0</f></c></row></sheetData>'
    )


def duplicate_by_spelling(path: Path, spelling: str) -> Path:
    """A second Children part whose name differs from the first only in spelling."""
    part = _children_part(path)
    return _with_members(path, lambda members: [*members, (spelling, _with_formula(dict(members)[part]))])


def comment_hiding_sheet_data(path: Path) -> Path:
    """`<sheetData/>` inside a comment, the real cells (with a formula) after it."""

    def edit(sheet: bytes) -> bytes:
        return _with_formula(sheet.replace(b"<sheetData>", b"<!-- <sheetData/> --><sheetData>", 1))

    return _edit(path, _children_part(path), edit)


def worksheet_elsewhere_with_long_prolog(path: Path) -> Path:
    """The Children sheet moved to an unexpected folder with a 70 KB comment before its root."""
    part = _children_part(path)
    new = "xl/media/notes.xml"

    def change(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        out = []
        for name, data in members:
            if name == part:
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                out.append((new, b"<!--" + b"x" * 70_000 + b"-->" + _with_formula(body)))
            elif name == "xl/_rels/workbook.xml.rels":
                rels = data.replace(b"/xl/worksheets/sheet4.xml", b"/" + new.encode())
                out.append((name, rels.replace(b"worksheets/sheet4.xml", b"media/notes.xml")))
            else:
                out.append((name, data))
        return out

    return _with_members(path, change)


def dde_in_defined_name(path: Path) -> Path:
    name = b"<definedName name=\"x\">cmd|' /C calc'!A0</definedName>"

    def edit(workbook: bytes) -> bytes:
        if b"<definedNames>" in workbook:
            return workbook.replace(b"<definedNames>", b"<definedNames>" + name, 1)
        return workbook.replace(b"</sheets>", b"</sheets><definedNames>" + name + b"</definedNames>", 1)

    return _edit(path, "xl/workbook.xml", edit)


def dde_in_data_validation(path: Path) -> Path:
    validation = (
        b'<dataValidations count="1"><dataValidation type="list" sqref="B2">'
        b"<formula1>cmd|' /C calc'!A0</formula1></dataValidation></dataValidations>"
    )

    def edit(sheet: bytes) -> bytes:
        return re.sub(rb"</sheetData>", b"</sheetData>" + validation, sheet, count=1)

    return _edit(path, "xl/worksheets/sheet1.xml", edit)


EXTERNAL_LINK_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"


def external_link_elsewhere(path: Path) -> Path:
    """An external-link part under another folder and name, wired in by its relationship type."""

    def change(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        out = []
        for name, data in members:
            if name == "xl/_rels/workbook.xml.rels":
                rel = f'<Relationship Id="rIdX" Type="{EXTERNAL_LINK_REL}" Target="misc/item1.xml"/>'
                out.append((name, data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")))
            else:
                out.append((name, data))
        link = f'<externalLink xmlns="{MAIN_NS}"><externalBook/></externalLink>'.encode()
        return [*out, ("xl/misc/item1.xml", link)]

    return _with_members(path, change)


SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def shared_string_amplifier(path: Path, *, text_chars: int = 1_900, rows: int = 20_000, columns: int = 26) -> Path:
    """Issue 16 item 2: one long shared text used by every cell of a big Children sheet: a few
    hundred KB on disk, gigabytes once each cell holds its own copy."""
    source = good_return(path.with_name(path.stem + "-source.xlsx"))
    members = zip_members(source)
    letters = [chr(65 + i) for i in range(columns)]
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{letter}{r}" t="s"><v>0</v></c>' for letter in letters) + "</row>"
        for r in range(2, rows + 2)
    )
    header = members[_children_part(path)].split(b"<sheetData>")[0]
    sheet = header + f"<sheetData>{body}</sheetData></worksheet>".encode()
    sst = shared_strings(rows * columns, 1, ["x" * text_chars])
    del members[_children_part(path)]
    members[_children_part(path)] = sheet
    rebuilt = path.with_name(path.stem + "-rebuilt.xlsx")
    with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return with_shared_strings(rebuilt, path, sst)


def long_text_cell(path: Path, chars: int = 30_000) -> Path:
    """One shared text longer than any field needs."""
    return with_shared_strings(
        good_return(path.with_name(path.stem + "-source.xlsx")), path, shared_strings(1, 1, ["y" * chars])
    )


def planted_identifiers() -> tuple[str, str]:
    """A UPN and an NHS number with valid check characters (synthetic)."""
    from schemas.identifiers import nhs_check_digit, upn_check_letter

    body = "938123456789"
    first_nine = "943476591"
    return upn_check_letter(body) + body, first_nine + str(nhs_check_digit(first_nine))


def identifiers_in_other_columns(path: Path) -> tuple[Path, list[str]]:
    """Issue 16 item 3: a UPN typed into ethnicity, an NHS number (3-3-4) into sex, a child's
    own UPN copied into risk_level, and an NHS number used as a local_child_id."""
    upn, nhs = planted_identifiers()
    own_upn = "Z" + "938123456780"  # not a valid check letter: known only as this return's UPN
    children = children_rows(4)
    children[0]["ethnicity"] = upn
    children[1]["sex"] = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    children[2].update(upn=own_upn, no_id_reason=None, risk_level=own_upn.lower())
    children[3]["local_child_id"] = nhs
    activity = sample_activity(children_newly_identified=4, children_open_at_end=4)
    written = write_xlsx_return(path, sample_about(), sample_strategy(), activity, children)
    return written, [upn, nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", own_upn, own_upn.lower()]


# ---- the corpus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileCase:
    """A file an attacker could send and the refusal every way in must answer with."""

    name: str
    build: Callable[[Path], Path]  # writes into the folder it is given, returns the file
    refusal: str


def _in(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _rewritten(folder: Path, name: str, part: str, change: Callable[[bytes], bytes]) -> Path:
    source = good_return(_in(folder, f"{name}-source.xlsx"))
    return rewrite_zip(source, folder / name, change={part: change})


def _raw_zip(folder: Path, name: str, member_names: list[str]) -> Path:
    members = [honest(n, b"<worksheet/>") for n in member_names]
    return write_raw_zip(_in(folder, name), [honest("[Content_Types].xml", b"<Types/>"), *members])


def _far_cell(xml: bytes) -> bytes:
    return xml.replace(b"</sheetData>", b'<row r="3"><c r="XFD1048576"><v>1</v></c></row></sheetData>')


def _two_billion_rows(xml: bytes) -> bytes:
    at = xml.index(b"<sheetData")
    return xml[:at] + b'<dimension ref="A1:Z2000000000"/>' + xml[at:]


def _deeply_nested(xml: bytes) -> bytes:
    """100,000 nested elements in the workbook part (names vary, so it does not compress away)."""
    names = [f"n{random.Random(i).getrandbits(40):x}".encode() for i in range(100_000)]
    nest = b"".join(b"<" + n + b">" for n in names) + b"".join(b"</" + n + b">" for n in reversed(names))
    return xml.replace(b"</workbook>", nest + b"</workbook>")


def _csv_bundle_with_a_huge_line(folder: Path) -> Path:
    from tests.builders import write_csv_bundle

    line = b"local_child_id\n" + random.Random(16).randbytes(1_000_000).hex().encode() + b"\n"
    path = _in(folder, "bundle.zip")
    return write_csv_bundle(
        path, sample_about(), sample_strategy(), sample_activity(), children_rows(2), raw={"children.csv": line}
    )


def _csv_bundle_too_many_rows(folder: Path) -> Path:
    from tests.builders import write_csv_bundle

    body = b"field,value\n" + b"council_code,E06000001\n" * 400
    path = _in(folder, "rows.zip")
    return write_csv_bundle(path, sample_about(), sample_strategy(), sample_activity(), [], raw={"about.csv": body})


CORPUS: tuple[HostileCase, ...] = (
    # issue 16: what got past the checks
    HostileCase("backslash-smuggled DDE sheet", lambda f: smuggled_worksheet(_in(f, "smuggled.xlsx")), "REF-CORRUPT"),
    HostileCase(
        "sheet under a backslash name",
        lambda f: renamed_worksheet(_in(f, "backslash.xlsx"), "xl\\worksheets\\sheet4.xml"),
        "REF-FORMULA",
    ),
    HostileCase(
        "case duplicate of a sheet",
        lambda f: duplicate_by_spelling(_in(f, "case.xlsx"), "XL/Worksheets/Sheet4.xml"),
        "REF-CORRUPT",
    ),
    HostileCase("comment hiding the cells", lambda f: comment_hiding_sheet_data(_in(f, "c.xlsx")), "REF-XML-HIDDEN"),
    HostileCase(
        "sheet elsewhere behind a 70 KB prolog",
        lambda f: worksheet_elsewhere_with_long_prolog(_in(f, "p.xlsx")),
        "REF-XML-HIDDEN",
    ),
    HostileCase("DDE in a defined name", lambda f: dde_in_defined_name(_in(f, "dn.xlsx")), "REF-FORMULA-PART"),
    HostileCase("DDE in a data validation", lambda f: dde_in_data_validation(_in(f, "dv.xlsx")), "REF-FORMULA-PART"),
    HostileCase(
        "external link under another folder", lambda f: external_link_elsewhere(_in(f, "x.xlsx")), "REF-EXTERNAL-LINK"
    ),
    HostileCase("one shared text in every cell", lambda f: shared_string_amplifier(_in(f, "amp.xlsx")), "REF-TEXT"),
    HostileCase("a 30,000-character text", lambda f: long_text_cell(_in(f, "long.xlsx")), "REF-TEXT"),
    HostileCase(
        "a far cell reference",
        lambda f: _rewritten(f, "far.xlsx", "xl/worksheets/sheet4.xml", _far_cell),
        "REF-TOO-LARGE",
    ),
    # what already held
    HostileCase(
        "two billion rows claimed",
        lambda f: _rewritten(f, "tall.xlsx", "xl/worksheets/sheet4.xml", _two_billion_rows),
        "REF-TOO-LARGE",
    ),
    HostileCase("zip slip", lambda f: _raw_zip(f, "slip.xlsx", ["../../etc/passwd"]), "REF-CORRUPT"),
    HostileCase("absolute member path", lambda f: _raw_zip(f, "abs.xlsx", ["/etc/passwd"]), "REF-CORRUPT"),
    HostileCase(
        "exact duplicate members",
        lambda f: _raw_zip(f, "dup.xlsx", ["xl/workbook.xml", "xl/workbook.xml"]),
        "REF-CORRUPT",
    ),
    HostileCase("zip bomb by declared size", lambda f: zip_bomb_declared(_in(f, "declared.xlsx")), "REF-ZIP-BOMB"),
    HostileCase("zip bomb by ratio", lambda f: zip_bomb_ratio(_in(f, "ratio.zip"), size=20_000_000), "REF-ZIP-BOMB"),
    HostileCase(
        "member lying about its size",
        lambda f: zip_bomb_lying(_in(f, "lying.xlsx"), real_size=32 * 1_048_576),
        "REF-ZIP-BOMB",
    ),
    HostileCase(
        "many entries", lambda f: _raw_zip(f, "many.xlsx", [f"xl/media/i{i}.bin" for i in range(1_500)]), "REF-ZIP-BOMB"
    ),
    HostileCase(
        "entity bomb in a sheet",
        lambda f: _rewritten(f, "lol.xlsx", "xl/worksheets/sheet4.xml", with_doctype),
        "REF-XML",
    ),
    HostileCase(
        "deep nesting",
        lambda f: _rewritten(f, "deep.xlsx", "xl/workbook.xml", _deeply_nested),
        "REF-CORRUPT",
    ),
    HostileCase("PNG renamed .xlsx", lambda f: png_file(_in(f, "picture.xlsx")), "REF-FORMAT"),
    HostileCase(
        "password-protected workbook",
        lambda f: ole2_file(_in(f, "locked.xlsx"), ["EncryptionInfo", "EncryptedPackage"]),
        "REF-ENCRYPTED",
    ),
    HostileCase("old binary .xls renamed", lambda f: ole2_file(_in(f, "old.xlsx"), ["Workbook"]), "REF-FORMAT"),
    HostileCase("CSV with a 2 MB line", _csv_bundle_with_a_huge_line, "REF-TOO-LARGE"),
    HostileCase("CSV with too many rows", _csv_bundle_too_many_rows, "REF-TOO-LARGE"),
)
