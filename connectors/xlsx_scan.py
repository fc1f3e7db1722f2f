"""What calamine does not say about an .xlsx sheet: error cells and formulas with no saved result.

python-calamine reads an error cell (``#DIV/0!``, ``#REF!``) and a formula whose result was
never saved (a file written by a program that does not calculate) as an empty string, so a
sum silently loses them. One pass over the sheet's XML, from the bytes already read, finds
both, so the reader can name them like a CSV's bad cells. The same bytes say where the used
range starts and how many cells hold a value, which the typed-column reader checks its
answer against (`xlsx_columns`).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_STRICT = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
_REL_ATTR = re.compile(r"\}id$")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/?)>")
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_IS_ERROR = re.compile(rb'\bt="e"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_HELD_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)>")  # a cell's saved value or inline string
_HEADER_ROW = rb'<row\b[^>]*?\br="%d"[^>]*?(/?)>'  # one row, by number; (/?) tells an empty one
_ROW_START = re.compile(rb"<(?:\w+:)?row\b")
_ROW_NUMBER = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="([0-9]+)"')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})([0-9]+):([A-Z]{1,3})([0-9]+)"')

MergedRange = tuple[int, int, int, int]
"""Merged cells: first row, first column, last row, last column (rows 1-based, columns 0-based)."""


@dataclass
class SheetCells:
    """Cells the values calamine returns do not show: by (row, column), 1-based row, 0-based column."""

    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    uncached: list[str] = field(default_factory=list)  # A1 references of formulas with no saved result


def _column_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


def _sheet_part(book: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding `sheet`, from workbook.xml and its relationships."""
    try:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    for element in workbook.iter():
        if element.tag in (f"{_MAIN}sheet", f"{_STRICT}sheet") and element.get("name") == sheet:
            rid = next((v for k, v in element.attrib.items() if _REL_ATTR.search(k)), None)
            target = targets.get(rid)
            if not target:
                return None
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


def first_value_row(xml: bytes) -> int | None:
    """The first sheet row (1-based) with a value, where calamine's range starts; None if not known.

    Rows are in order in the XML, so it is the row of the first saved value or inline string.
    """
    value = _HELD_VALUE.search(xml)
    if value is None:
        return None
    rows = list(_ROW_NUMBER.finditer(xml, 0, value.start()))  # usually one: the value's own row
    row = rows[-1] if rows else None
    if row is None or _ROW_START.search(xml, row.end(), value.start()):
        return None  # the value's row has no r= (optional in the format): not known
    return int(row[1])


def cells_below(xml: bytes, header_row: int) -> int | None:
    """How many cells under `header_row` hold something (close with ``</c>``); None if not counted.

    Every cell with a value, an inline string, an error or a formula closes so, an empty
    one is written ``<c .../>``: one count over the bytes instead of a pass per cell.
    """
    if b"<sheetData" not in xml:
        return None  # names with a namespace prefix (<x:c>): not counted
    row = re.search(_HEADER_ROW % header_row, xml)
    if row is None or row[1]:
        return None
    end = xml.find(b"</row>", row.end())
    return None if end < 0 else xml.count(b"</c>", end)


def merged_ranges(xml: bytes) -> list[MergedRange]:
    """The sheet's merged cells, from the <mergeCells> list that follows its cell data."""
    end = xml.rfind(b"sheetData>")
    found = _MERGE.finditer(xml, max(end, 0))
    return [(int(m[2]), _column_index(m[1]), int(m[4]), _column_index(m[3])) for m in found]


def sheet_xml(data: bytes, sheet: str) -> bytes | None:
    """The XML of one sheet of an .xlsx held in memory; None when it cannot be found."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            part = _sheet_part(book, sheet)
            return None if part is None else book.read(part)
    except (zipfile.BadZipFile, KeyError, OSError):
        return None


def scan_cells(xml: bytes) -> SheetCells:
    """Error cells and uncached formulas in a sheet's XML."""
    found = SheetCells()
    if b'"e"' not in xml and b"<f" not in xml and b":f" not in xml:
        return found  # the common case: nothing to look for, no per-cell pass
    for cell in _CELL.finditer(xml):
        attrs, empty = cell.group(1), cell.group(2)
        if empty:
            continue
        ref = _REF.search(attrs)
        end = _CELL_END.search(xml, cell.end())
        if ref is None or end is None:
            continue
        body = xml[cell.end() : end.start()]
        value = _VALUE.search(body)
        position = (int(ref[2]), _column_index(ref[1]))
        if _IS_ERROR.search(attrs):
            found.errors[position] = (value[1] if value else b"#ERROR").decode("utf-8", "replace")
        elif _FORMULA.search(body) and (value is None or not value[1].strip()):
            found.uncached.append((ref[1] + ref[2]).decode())
    return found
