"""Streaming scans over raw part bytes, run before any XML parser (ours or calamine's) sees them.

- every part: no `<!DOCTYPE` or `<!ENTITY` (also spelled in UTF-16), so no entity expansion;
- worksheets: no cell formula inside `sheetData` (`<f>`, any namespace prefix; data-validation
  `<formula1>` and the `<xm:f>` of extended validations after `sheetData` are not cells), and
  no dimension, row or cell beyond the limits. The claimed dimension is checked first, so a
  sheet claiming two billion rows is refused after its first chunk.

The scans look at tags only, with bytes regexes, and carry the unfinished tail of a chunk over
to the next, so their cost is one pass over the bytes and their memory is one chunk.
"""

from __future__ import annotations

import array
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NoReturn

from transforms.findings import column_letter
from transforms.ingest.refusals import refuse, shown

_DECLARATION = re.compile(
    rb"<!(?:doctype|entity)|<\x00!\x00(?:d\x00o\x00c\x00t\x00y\x00p\x00e|e\x00n\x00t\x00i\x00t\x00y)", re.IGNORECASE
)
_OVERLAP = 32  # longer than any pattern above
_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_TAG = re.compile(
    rb"<(/?)" + _PREFIX + rb"(c|row|f|dimension|sheetData)(?=[\s/>])([^>]*)>",
)
_ATTR_R = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")
_ATTR_REF = re.compile(rb"""(?:^|\s)ref\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(rb"\$?([A-Za-z]{1,4})\$?(\d{1,12})$")
MAX_TAG_BYTES = 1_048_576  # an opening tag longer than this is not a spreadsheet


def column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + (letter - 64)
    return number


def check_declarations(chunks: Iterable[bytes], part: str, source_name: str, xml: bool = False) -> None:
    """Refuse a part holding a DOCTYPE or ENTITY declaration anywhere.

    With `xml=True` the part must also be UTF-8 XML: a NUL byte (UTF-16 or UTF-32 text, which
    our byte scans cannot read but an XML parser might) or another declared encoding is refused.
    """
    tail = b""
    first = True
    for chunk in chunks:
        window = tail + chunk
        if _DECLARATION.search(window):
            raise refuse("REF-XML", source_name, part=shown(part, 60))
        if xml and (b"\x00" in chunk or (first and _foreign_encoding(chunk))):
            raise refuse("REF-CORRUPT", source_name, format="spreadsheet (.xlsx)")
        first = False
        tail = window[-_OVERLAP:]


_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


def _foreign_encoding(head: bytes) -> bool:
    declared = _ENCODING.match(head.removeprefix(b"\xef\xbb\xbf")[:512])
    if declared is None:
        return False
    return declared.group(1).lower().replace(b"-", b"").replace(b"_", b"") not in (b"utf8", b"usascii")


SST_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sst(?=[\s/>])([^>]*)>")
_UNIQUE_COUNT = re.compile(rb"""(?:^|\s)uniqueCount\s*=\s*["']\s*(\d{1,20})\s*["']""")
_COUNT = re.compile(rb"""(?:^|\s)count\s*=\s*["']\s*(\d{1,20})\s*["']""")


_ITEM = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?si(?=[\s/>])[^>]*?(?:/>|>(.*?)</(?:[A-Za-z_][\w.\-]*:)?si\s*>)", re.DOTALL
)
_TEXT = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?t(?=[\s>])[^>]*>([^<]*)")
_PHONETIC = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?rPh(?=[\s>]).*?</(?:[A-Za-z_][\w.\-]*:)?rPh\s*>", re.DOTALL)


def text_chars(raw: bytes) -> int:
    """Characters of XML text as a reader gives them (`&amp;` is one character)."""
    chars = len(raw) if raw.isascii() else len(raw.decode("utf-8", "replace"))
    if b"&" in raw:
        chars -= sum(len(entity) - 1 for entity in re.findall(rb"&#?\w{1,10};", raw))
    return chars


def check_shared_strings(
    chunks: Iterable[bytes], part: str, source_name: str, *, max_references: int, max_cell_chars: int = 2_000
) -> array.array[int]:
    """The shared-strings table may not claim more distinct strings than it holds, nor more
    references than a plausible return has cells: readers reserve memory for the claimed
    counts up front (calamine aborts on uniqueCount="2000000000").

    `count` is the number of cells that refer to the table, so it is rightly larger than the
    number of strings held (LibreOffice writes count="124" uniqueCount="108" for a template):
    only `uniqueCount` is compared with what the table holds.

    Returns the length in characters of every text, in order: what each cell that uses one
    costs once read (calamine and Python copy the text into every such cell)."""
    unique = 0
    references = 0
    seen_root = False
    tail = b""
    pending = b""
    lengths: array.array[int] = array.array("L")
    for chunk in chunks:
        window = tail + chunk
        if _DECLARATION.search(window):
            raise refuse("REF-XML", source_name, part=shown(part, 60))
        if _hides_markup(window, first=not tail):
            raise refuse("REF-XML-HIDDEN", source_name, part="the table of texts")
        if b"\x00" in chunk:
            raise refuse("REF-CORRUPT", source_name, format="spreadsheet (.xlsx)")
        if not seen_root:
            root = SST_ROOT.search(window)
            if root:
                seen_root = True
                unique = max([0, *(int(n) for n in _UNIQUE_COUNT.findall(root.group(1)))])
                references = max([0, *(int(n) for n in _COUNT.findall(root.group(1)))])
        tail = window[-_OVERLAP:]
        buffer = pending + chunk
        end = 0
        for item in _ITEM.finditer(buffer):
            end = item.end()
            body = _PHONETIC.sub(b"", item.group(1) or b"")
            length = sum(text_chars(text) for text in _TEXT.findall(body))
            if length > max_cell_chars:
                _too_much_text(
                    source_name, "A text of the workbook", f"{length:,} characters; at most {max_cell_chars:,}"
                )
            lengths.append(length)
            if len(lengths) > max_references:
                _too_many_texts(source_name, len(lengths), max_references)
        pending = buffer[end:]
        if len(pending) > MAX_TAG_BYTES + 8 * max_cell_chars:
            _too_much_text(source_name, "A text of the workbook", f"more than {max_cell_chars:,} characters")
    held = len(lengths)
    if unique > held + 1:
        raise refuse(
            "REF-TOO-LARGE",
            source_name,
            what="The workbook's table of texts",
            detail=f"it claims {unique:,} texts and holds {held:,}",
        )
    if references > max_references:
        _too_many_texts(source_name, references, max_references)
    return lengths


def _too_many_texts(source_name: str, references: int, max_references: int) -> None:
    raise refuse(
        "REF-TOO-LARGE",
        source_name,
        what="The workbook's table of texts",
        detail=f"it claims {references:,} uses of its texts; no return has more than {max_references:,} cells",
    )


def _too_much_text(source_name: str, what: str, detail: str) -> NoReturn:
    raise refuse("REF-TEXT", source_name, what=what, detail=detail)


class TextBudget:
    """The characters a workbook's cells will hold once read, counted before any reader runs:
    inline texts and values as written, a shared text once for every cell that uses it."""

    def __init__(self, shared: array.array[int], max_cell_chars: int, max_text_chars: int, source_name: str) -> None:
        self.shared = shared
        self.longest = max(shared, default=0)
        self.max_cell_chars = max_cell_chars
        self.max_text_chars = max_text_chars
        self.source_name = source_name
        self.used = 0

    def spend(self, sheet: str, chars: int) -> None:
        self.check(sheet, chars)
        self.used += chars

    def check(self, sheet: str, chars: int) -> None:
        """Refuse as soon as what is spent plus `chars` more is over the limit."""
        if self.used + chars > self.max_text_chars:
            _too_much_text(
                self.source_name,
                "The workbook",
                f"more than {self.max_text_chars:,} characters once its shared texts are filled in, "
                f"reached on the {shown(sheet, 40)} sheet",
            )


_P = rb"(?:[A-Za-z_][\w.\-]*:)?"
_SHARED_OPEN = re.compile(rb"<" + _P + rb"""c(?=\s)[^>]*?\st\s*=\s*["']\s*s\s*["'][^>]*>""")
_SHARED_CELL = re.compile(
    rb"<" + _P + rb"""c(?=\s)[^>]*?\st\s*=\s*["']\s*s\s*["'][^>]*>\s*<""" + _P + rb"v(?:\s[^>]*)?>\s*(\d{1,12})\s*<"
)
_ESCAPED_TYPE = re.compile(rb"""(?:^|\s)t\s*=\s*["'][^"'<>]*&#""")
_INLINE_OR_VALUE = re.compile(rb"<" + _P + rb"(?:t|v)(?=[\s>])[^>]*>([^<]*)")


def cell_text(buffer: bytes, budget: TextBudget) -> int:
    """The characters the cells in `buffer` (whole tags) will hold once read. Regexes and
    counters only (no Python call per cell): a 50,000-row sheet is two million cells."""
    chars = 0
    if b"&#" in buffer and _ESCAPED_TYPE.search(buffer):
        # a cell type spelled with character references (t="&#115;" is "s" to a reader that
        # unescapes, and nothing to our scans): no program writes one
        raise refuse("REF-CORRUPT", budget.source_name, format="spreadsheet (.xlsx)")
    # a reader takes a cell for a shared text only when its type is exactly "s": look for that first
    if b'"s"' in buffer or b"'s'" in buffer:
        indexes = Counter(_SHARED_CELL.findall(buffer))
        shared = budget.shared
        size = len(shared)
        matched = 0
        for index, uses in indexes.items():
            number = int(index)
            matched += uses
            chars += (shared[number] if number < size else 0) * uses
        # a shared-text cell written unusually (its value not next to it) costs the longest text
        chars += (len(_SHARED_OPEN.findall(buffer)) - matched) * budget.longest
    texts = _INLINE_OR_VALUE.findall(buffer)
    chars += sum(map(len, texts))
    limit = budget.max_cell_chars
    if max(map(len, texts), default=0) > limit and any(len(t) > limit and text_chars(t) > limit for t in texts):
        _too_much_text(budget.source_name, "A cell", f"more than {limit:,} characters")
    return chars


@dataclass
class SheetLimits:
    sheet: str  # the sheet's name as the workbook shows it (for messages)
    max_rows: int  # including the header row
    max_columns: int


class _Unusual(Exception):
    """The fast scan met something it does not judge itself; the careful scan decides."""


def greater_than(number: int) -> str:
    """A regex matching decimal numerals (no sign) for integers greater than `number`."""
    digits = str(number)
    width = len(digits)
    alternatives = [rf"[1-9]\d{{{width},}}"]
    for position, digit in enumerate(digits):
        if digit != "9":
            rest = width - position - 1
            alternatives.append(digits[:position] + f"[{int(digit) + 1}-9]" + rf"\d{{{rest}}}")
    return "0*(?:" + "|".join(alternatives) + r")(?!\d)"


def letters_greater_than(number: int) -> str:
    """A regex matching column letters for columns greater than `number` (1 = A)."""
    letters = column_letter(number - 1)
    width = len(letters)
    alternatives = [rf"[A-Za-z]{{{width + 1},}}"]
    for position, letter in enumerate(letters):
        if letter != "Z":
            following = chr(ord(letter) + 1)
            rest = width - position - 1
            alternatives.append(letters[:position] + f"[{following}-Z{following.lower()}-z]" + rf"[A-Za-z]{{{rest}}}")
    return "(?:" + "|".join(alternatives) + r")(?![A-Za-z])"


QUICK_COLUMNS = 182  # FZ
QUICK_ROWS = 99_999
_QUICK_CELLS = re.compile(rb'<c(?! r="[A-F]?[A-Z][1-9][0-9]{0,4}")[\s/>]')


class _FastChecks:
    """Single-pass checks for sheets written the usual way (Excel, openpyxl, LibreOffice):
    unprefixed tags, `r="..."` written first in every cell and row. Each is a regex with a
    literal prefix or a bytes count, so the pass runs at C speed; anything unusual is handed
    to the careful scan instead of being judged here."""

    def __init__(self, limits: SheetLimits) -> None:
        row_over = greater_than(limits.max_rows)
        column_over = letters_greater_than(limits.max_columns)
        good_row = rf'(?!{row_over})[1-9]\d{{0,6}}"'
        good_cell = rf"(?!{column_over})[A-Z]{{1,3}}{good_row}"
        self.patterns = [
            re.compile(rb"<f[\s/>]"),  # a formula (the careful scan names its cell)
            re.compile(rf'<row(?:(?! r=")[\s/>]| r="(?!{good_row}))'.encode()),
            # a namespace prefix on a sheet-data tag (`<x:c`): looked for from the rare `:` (a
            # text holding ":v " only sends the sheet to the careful scan)
            re.compile(rb":(?:c|row|f|sheetData|is|v)[\s/>]"),
            re.compile(rb"r(?:\s+=|=\s|=')"),  # an r attribute written unusually
        ]
        # a cell without r="..." first, or whose reference is oddly written or beyond the limits
        self.cells = re.compile(rf'<c(?:(?! r=")[\s/>]| r="(?!{good_cell}))'.encode())
        # where the limits allow column FZ and row 99,999, a plain pattern for any reference
        # beyond those looks first (twice as fast); only a sheet it finds gets the exact test
        roomy = limits.max_columns >= QUICK_COLUMNS and limits.max_rows >= QUICK_ROWS
        self.cells_quick = _QUICK_CELLS if roomy else self.cells

    def unusual(self, data: bytes) -> bool:
        if any(pattern.search(data) for pattern in self.patterns):
            return True
        if self.cells_quick.search(data) and self.cells.search(data):
            return True
        # every r="..." opens a cell or a row (no cell carries a second reference)
        return data.count(b' r="') != data.count(b'<c r="') + data.count(b'<row r="')


@dataclass
class SheetNotes:
    """What a worksheet's cells do not say by their values: Excel error cells (which readers
    give as blank) and hidden rows and columns (read like any other). Collected while scanning."""

    error_cells: dict[str, str] = field(default_factory=dict)  # "B2" -> "#REF!"
    hidden_rows: list[int] = field(default_factory=list)
    hidden_columns: list[tuple[int, int]] = field(default_factory=list)  # (first, last), 1 = A

    def clear(self) -> None:
        self.error_cells.clear()
        self.hidden_rows.clear()
        self.hidden_columns.clear()


MAX_NOTES = 10_000  # per kind and sheet: enough to report, never a copy of a hostile sheet
_ERROR_TYPE = re.compile(rb"""(?:^|\s)t\s*=\s*["']\s*e\s*["']""")
_ERROR_CELL = re.compile(rb"<" + _P + rb"c(?=\s)([^>]*)>\s*<" + _P + rb"v(?:\s[^>]*)?>\s*([^<\s]{1,40})\s*<")
_HIDDEN = re.compile(rb"""(?:^|\s)hidden\s*=\s*["']\s*(?:1|true)\s*["']""")
_ROW_OPEN = re.compile(rb"<" + _P + rb"row(?=\s)([^>]*)>")
_COL = re.compile(rb"<" + _P + rb"col(?=\s)([^>]*)>")
_ATTR_MIN = re.compile(rb"""(?:^|\s)min\s*=\s*["']\s*(\d{1,7})\s*["']""")
_ATTR_MAX = re.compile(rb"""(?:^|\s)max\s*=\s*["']\s*(\d{1,7})\s*["']""")


def note_cells(buffer: bytes, notes: SheetNotes) -> None:
    """Error cells and hidden rows and columns in `buffer` (whole tags), into `notes`."""
    # a reader takes a cell for an error only when its type is exactly "e": look for that first
    if (b'"e"' in buffer or b"'e'" in buffer) and _ERROR_TYPE.search(buffer):
        for attributes, text in _ERROR_CELL.findall(buffer):
            reference = _ATTR_R.search(attributes)
            if _ERROR_TYPE.search(attributes) and reference and len(notes.error_cells) < MAX_NOTES:
                notes.error_cells[reference.group(1).decode("ascii", "replace").strip().upper()] = text.decode(
                    "utf-8", "replace"
                )
    if b"hidden" in buffer:
        for attributes in _ROW_OPEN.findall(buffer):
            number = _ATTR_R.search(attributes)
            if (
                _HIDDEN.search(attributes)
                and number
                and number.group(1).isdigit()
                and len(notes.hidden_rows) < MAX_NOTES
            ):
                notes.hidden_rows.append(int(number.group(1)))
        for attributes in _COL.findall(buffer):
            first, last = _ATTR_MIN.search(attributes), _ATTR_MAX.search(attributes)
            if _HIDDEN.search(attributes) and first and last and len(notes.hidden_columns) < MAX_NOTES:
                notes.hidden_columns.append((int(first.group(1)), int(last.group(1))))


_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s[^>]*>")


class WorksheetScanner:
    """Feed a worksheet part chunk by chunk; refuses on the first formula or limit breach.

    With `fast=True` it checks each chunk with a few regex passes and raises `_Unusual` on
    anything it does not judge itself (a formula, an over-limit or unusual reference); the
    caller then rescans the part with `fast=False`, which tracks every row and cell.
    """

    def __init__(
        self, limits: SheetLimits, source_name: str, fast: bool = False, budget: TextBudget | None = None
    ) -> None:
        self.limits = limits
        self.budget = budget
        self.text = 0  # characters the cells will hold once read (with `budget`)
        self.notes = SheetNotes()
        self.source_name = source_name
        self._fast = _FastChecks(limits) if fast else None
        self._pending = b""
        self._tail = b""
        self._row = 0
        self._column = 0
        self._in_data = False
        self._done = False  # after </sheetData>: nothing else in the part is a cell
        self._seen_data = False

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        if _DECLARATION.search(window):
            raise refuse("REF-XML", self.source_name, part=f"the {shown(self.limits.sheet, 40)} sheet")
        if _hides_markup(window, first=not self._tail):
            raise refuse("REF-XML-HIDDEN", self.source_name, part=f"the {shown(self.limits.sheet, 40)} sheet")
        if b"\x00" in chunk or (not self._tail and _foreign_encoding(chunk)):
            raise refuse("REF-CORRUPT", self.source_name, format="spreadsheet (.xlsx)")
        self._tail = window[-_OVERLAP:]
        if self._done:
            return
        buffer = self._pending + chunk
        cut = buffer.rfind(b"<")
        if cut < 0 or buffer.find(b">", cut) >= 0:
            self._pending = b""
        else:
            self._pending = buffer[cut:]
            buffer = buffer[:cut]
            if len(self._pending) > MAX_TAG_BYTES:
                raise refuse("REF-CORRUPT", self.source_name, format="spreadsheet (.xlsx)")
        note_cells(buffer, self.notes)
        if self.budget is not None:
            self.text += cell_text(buffer, self.budget)
            self.budget.check(self.limits.sheet, self.text)
        if self._fast is None:
            self._tags(buffer)
        else:
            self._fast_tags(buffer, self._fast)

    def finish(self) -> None:
        if self._fast is not None and not self._seen_data:
            raise _Unusual  # no plain <sheetData>: let the careful scan look

    def _fast_tags(self, buffer: bytes, checks: _FastChecks) -> None:
        start = 0
        if not self._in_data:
            opening = buffer.find(b"<sheetData")
            before = buffer if opening < 0 else buffer[:opening]
            for dimension in _DIMENSION.finditer(before):
                self._tags(dimension.group(0))
            if opening < 0:
                return
            self._seen_data = True
            end = buffer.find(b">", opening)
            if buffer[opening + len(b"<sheetData") : end + 1].strip() not in (b">", b"/>"):
                raise _Unusual
            if buffer[end - 1 : end] == b"/":
                self._done = True
                return
            self._in_data = True
            start = end + 1
        closing = buffer.find(b"</sheetData", start)
        data = buffer[start:] if closing < 0 else buffer[start:closing]
        if closing >= 0:
            self._in_data = False
            self._done = True
        if checks.unusual(data):
            raise _Unusual

    def _tags(self, buffer: bytes) -> None:
        limits = self.limits
        for match in _TAG.finditer(buffer):
            closing, name, attributes = match.groups()
            if name == b"c":
                if closing or not self._in_data:
                    continue
                reference = _ATTR_R.search(attributes)
                if reference:
                    row, column = self._cell(reference.group(1))
                    if row > limits.max_rows:
                        self._too_many_rows(row)
                    self._column = column
                else:
                    self._column += 1
                if self._column > limits.max_columns:
                    self._too_many_columns(self._column)
            elif name == b"row":
                if closing or not self._in_data:
                    continue
                number = _ATTR_R.search(attributes)
                self._row = int(number.group(1)) if number and number.group(1).isdigit() else self._row + 1
                self._column = 0
                if self._row > limits.max_rows:
                    self._too_many_rows(self._row)
            elif name == b"f":
                if not closing and self._in_data:
                    cell = f"{shown(limits.sheet, 40)}!{column_letter(max(self._column, 1) - 1)}{self._row}"
                    raise refuse("REF-FORMULA", self.source_name, cell=cell)
            elif name == b"sheetData":
                if closing:
                    self._in_data = False
                    self._done = True
                    return
                self._in_data = not attributes.rstrip().endswith(b"/")
                self._done = not self._in_data
            elif name == b"dimension" and not closing:
                ref = _ATTR_REF.search(attributes)
                if ref:
                    self._dimension(ref.group(1))

    def _cell(self, reference: bytes) -> tuple[int, int]:
        parsed = _CELL_REF.match(reference.strip())
        if not parsed:
            raise refuse("REF-CORRUPT", self.source_name, format="spreadsheet (.xlsx)")
        row = int(parsed.group(2))
        self._row = max(self._row, row)  # a cell may name a later row than its <row> did
        return row, column_number(parsed.group(1))

    def _dimension(self, ref: bytes) -> None:
        last = ref.split(b":")[-1].strip()
        parsed = _CELL_REF.match(last)
        if not parsed:
            return  # a malformed dimension is only a hint; the cells are checked one by one
        row, column = int(parsed.group(2)), column_number(parsed.group(1))
        if row > self.limits.max_rows:
            self._too_many_rows(row, claimed=True)
        if column > self.limits.max_columns:
            self._too_many_columns(column, claimed=True)

    def _too_many_rows(self, row: int, claimed: bool = False) -> None:
        verb = "claims" if claimed else "reaches"
        raise refuse(
            "REF-TOO-LARGE",
            self.source_name,
            what=f"The {shown(self.limits.sheet, 40)} sheet",
            detail=f"it {verb} row {row:,}; at most {self.limits.max_rows:,} rows with the header",
        )

    def _too_many_columns(self, column: int, claimed: bool = False) -> None:
        verb = "claims" if claimed else "reaches"
        raise refuse(
            "REF-TOO-LARGE",
            self.source_name,
            what=f"The {shown(self.limits.sheet, 40)} sheet",
            detail=f"it {verb} column {column:,}; at most {self.limits.max_columns:,} columns",
        )


def scan_worksheet(
    chunks: Callable[[], Iterable[bytes]], limits: SheetLimits, source_name: str, budget: TextBudget | None = None
) -> SheetNotes:
    """Check one worksheet part: the fast scan, and the careful one only when needed."""
    scanner = WorksheetScanner(limits, source_name, fast=True, budget=budget)
    try:
        for chunk in chunks():
            scanner.feed(chunk)
        scanner.finish()
    except _Unusual:
        scanner = WorksheetScanner(limits, source_name, budget=budget)
        for chunk in chunks():
            scanner.feed(chunk)
    if budget is not None:
        budget.spend(limits.sheet, scanner.text)
    return scanner.notes


_PROLOG_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
# what can hide tags from a tag scan: a comment, a CDATA section, a processing instruction.
# Excel, LibreOffice and openpyxl write none of them in worksheets or shared strings.
_HIDING = re.compile(rb"<!--|<!\[CDATA\[|<\?")
ROOT_SEARCH_BYTES = 8 * 1_048_576  # a prolog longer than this is not a spreadsheet part
_FORMULA_TEXT = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?(f|formula|formula1|formula2|definedName)(?=[\s>])[^>]*>([^<]*)(?=<)"
)
# every tag `_FORMULA_TEXT` matches holds one of these (checked first: plain bytes searches)
_FORMULA_MARKERS = (b"<f", b":f", b"formula", b"definedName")
_FORMULA_OPEN = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?(?:f|formula|formula1|formula2|definedName)(?=[\s>])[^>]*>[^<]*\Z"
)


def check_formula_texts(chunks: Iterable[bytes], part: str, source_name: str) -> None:
    """Refuse a part where a formula outside the cells (a chart's series, a data validation's
    list, a defined name) does more than name cells: a DDE call, another workbook, a function."""
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if not any(marker in window for marker in _FORMULA_MARKERS):
            tail = window[-_OVERLAP:]
            continue
        for match in _FORMULA_TEXT.finditer(window):
            if active_formula(match.group(2)):
                raise refuse("REF-FORMULA-PART", source_name, part=shown(part, 60))
        unfinished = _FORMULA_OPEN.search(window, max(0, len(window) - MAX_TAG_BYTES))
        if unfinished is not None:
            tail = window[unfinished.start() :]
            if len(tail) >= MAX_TAG_BYTES:
                raise refuse("REF-CORRUPT", source_name, format="spreadsheet (.xlsx)")
        else:
            tail = window[-_OVERLAP:]


def root_element(chunks: Iterable[bytes]) -> bytes | None:
    """The local name of a part's root element, past any prolog (declaration, comments,
    processing instructions, whitespace) however long: what a reader takes the part to be,
    whatever its name. None when the part is not XML (or has no element)."""
    buffer = b""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        buffer += chunk
        while True:
            buffer = buffer.lstrip(b" \t\r\n\xef\xbb\xbf")
            if buffer.startswith(b"<!--"):
                end = buffer.find(b"-->", 4)
                if end < 0:
                    buffer = b"<!--" + buffer[-2:]  # keep only what could start the terminator
                    break
                buffer = buffer[end + 3 :]
            elif buffer.startswith(b"<?"):
                end = buffer.find(b"?>", 2)
                if end < 0:
                    if len(buffer) > MAX_TAG_BYTES:
                        return None
                    break
                buffer = buffer[end + 2 :]
            elif buffer.startswith(b"<"):
                name = re.match(rb"<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)", buffer)
                if name is None:
                    if len(buffer) > 256:
                        return None
                    break
                return name.group(1)
            elif buffer:
                return None  # text before any element: not XML
            else:
                break
        if seen > ROOT_SEARCH_BYTES:
            return None
    return None


def _hides_markup(window: bytes, *, first: bool) -> bool:
    """True when a part holds a comment, CDATA section or processing instruction (after its
    XML declaration): a tag scan cannot see inside them, a parser skips or reads them as text,
    and the two could then disagree on where the cells are."""
    if first:
        declaration = _PROLOG_DECLARATION.match(window)
        if declaration:
            window = window[declaration.end() :]
    return _HIDING.search(window) is not None


# a DDE call (`cmd|' /c calc'!A0`), another workbook (`[1]Sheet!A1`, `'C:\...'`), a function
_ACTIVE = re.compile(rb"\||\[|[A-Za-z_][\w.]*\s*\(")
_STRING_LITERAL = re.compile(rb'"(?:[^"]|"")*"')


def active_formula(text: bytes) -> bool:
    """True when a formula text does more than name cells or hold constants: a DDE call, a
    reference to another workbook or a function. String literals do not count."""
    return bool(_ACTIVE.search(_STRING_LITERAL.sub(b'""', text)))
