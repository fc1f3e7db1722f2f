"""The tracker's table cells written straight as worksheet XML; the rest of the workbook by openpyxl.

openpyxl keeps a Python object per cell and serializes each through an XML library: about
40 µs a cell to fill and save, most of a large tracker's write (380,000 cells at 5,000 key
results). A table's cell is plain: a value, the look it copies and a number format. So
`SheetCells` keeps each one as the text of its `<c>` element, made in one pass, and
`save_workbook` splices them into their sheet's `<sheetData>` while openpyxl writes the file.
The template's own cells (labels, formulas, comments, links) are still serialized by openpyxl,
row by row beside them, and so is everything else: styles (each cell's style is registered in
the workbook's own style table), conditional formats, validations, charts, defined names.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell._writer import etree_write_cell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, BUILTIN_FORMATS_REVERSE
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.functions import Element, tostring

from sheetsync.core.tracker import BLANK, Cell, number_format

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
"""Text starting with these is what spreadsheets read as a formula when typed in (or pasted:
a leading tab or CR, or a full-width ＝, is dropped or folded by some, leaving the formula)."""
MAX_TEXT = 32767  # Excel's limit for one cell

DATE_DEFAULT = "yyyy-mm-dd"
DATETIME_DEFAULT = "yyyy-mm-dd h:mm:ss"
"""What openpyxl shows a date or time in when nothing else sets a format (as it does for its own cells)."""

_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;",
                               "\n": "&#10;", "\t": "&#9;"})  # fmt: skip
_PLACEHOLDER = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")


Column = tuple[int, str, StyleArray | None, str | None, dict[str | None, str]]
"""A table column as `SheetCells.put_row` writes it (`SheetCells.columns` makes them): its number,
letters, the style its cells copy, the template's number format (None: each cell's kind's,
`tracker.number_format`) and its cells' ` s="…"` attributes by number format, once each."""


def stored_text(value: str) -> tuple[str, bool]:
    """Text as the file keeps it, and whether it needs the quote prefix.

    It loses the characters XML cannot hold and stops at Excel's limit; text a spreadsheet
    would read as a formula gets the quote prefix, so it stays text when someone edits it.
    """
    if not value.isprintable():  # the control characters XML cannot hold are not printable
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT]
    return value, value.startswith(FORMULA_PREFIXES)


class SheetCells:
    """The table cells of one worksheet, each kept as its `<c>` element's text, by row and column."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.rows: dict[int, dict[int, str]] = defaultdict(dict)
        self._styles: dict[tuple[int, str | None, bool], tuple[int | None, str, StyleArray | None]] = {}
        self._letters: dict[int, str] = {}
        self._texts: dict[str, str] = {}  # a text's `<is>` element, made once: owners, statuses and units repeat
        self._stored: dict[str, tuple[str, bool]] = {}  # `put_row`'s: a text's `<c>` tail and quote flag
        self._epoch = ws.parent.epoch  # a property that compares dates on every read

    def style_id(self, base: StyleArray | None, number_format: str | None, quote: bool) -> int | None:
        """The workbook's index of `base` with `number_format` and the quote prefix; None when unstyled."""
        return self._style(base, number_format, quote)[0]

    def _style(self, base: StyleArray | None, number_format: str | None, quote: bool) -> tuple[int | None, str]:
        """(style index, the cell's ` s="…"` attribute), registered in the workbook the first time."""
        key = (id(base), number_format, quote)  # `base` is kept with the answer: its id stays its own
        found = self._styles.get(key)
        if found is not None:
            return found[0], found[1]
        style = StyleArray(base) if base is not None else StyleArray()
        wb = self.ws.parent
        if number_format:  # as openpyxl's own `cell.number_format = ...` registers it
            if number_format in BUILTIN_FORMATS_REVERSE:
                style.numFmtId = BUILTIN_FORMATS_REVERSE[number_format]
            else:
                style.numFmtId = wb._number_formats.add(number_format) + BUILTIN_FORMATS_MAX_SIZE
        if quote:
            style.quotePrefix = 1
        sid = wb._cell_styles.add(style) if any(style) else None
        attr = "" if sid is None else f' s="{sid}"'
        self._styles[key] = (sid, attr, base)
        return sid, attr

    def put(self, row: int, col: int, value: object, base: StyleArray | None, number_format: str | None,
            quote: bool = False) -> None:  # fmt: skip
        """One cell; text is stored as text (never a formula), a date as Excel's serial day number."""
        kind = type(value)  # text and numbers first: nearly every cell, without the isinstance chain
        if kind is not str and kind is not float and kind is not int and isinstance(value, datetime.date) \
                and not number_format:  # fmt: skip
            number_format = DATETIME_DEFAULT if isinstance(value, datetime.datetime) else DATE_DEFAULT
        found = self._styles.get((id(base), number_format, quote))
        sid, attr = (found[0], found[1]) if found is not None else self._style(base, number_format, quote)
        if value is None and sid is None:
            self.rows[row].pop(col, None)
            return
        letter = self._letter(col)
        if kind is float or kind is int:  # as `_number`, inline: the commonest cell
            xml = f'<c r="{letter}{row}"{attr} t="n"><v>{value:.16g}</v></c>'
        elif value is None or value == "":
            xml = f'<c r="{letter}{row}"{attr}/>'
        elif kind is str or isinstance(value, str):
            xml = f'<c r="{letter}{row}"{attr} t="inlineStr">{self._inline(value)}</c>'
        elif isinstance(value, bool):
            xml = f'<c r="{letter}{row}"{attr} t="b"><v>{int(value)}</v></c>'
        elif isinstance(value, datetime.date | datetime.time | datetime.timedelta):
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                raise TypeError("Excel does not support time zones in dates: make the value naive first")
            xml = f'<c r="{letter}{row}"{attr} t="n"><v>{_number(to_excel(value, self._epoch))}</v></c>'
        elif isinstance(value, int | float):
            xml = f'<c r="{letter}{row}"{attr} t="n"><v>{_number(value)}</v></c>'
        else:
            raise TypeError(f"cannot write a {type(value).__name__} into a cell")
        self.rows[row][col] = xml

    def put_row(self, row: int, values: Sequence[Cell], columns: Sequence[Column]) -> None:
        """One table row whose cells have no template cell under them: each as `put` writes it, with
        its text as `stored_text` keeps it and the number format its column's, else its kind's.

        One loop for the row (a medium tracker has 38,000 cells): the text of each distinct text's
        element is made once, numbers and blanks inline, anything else through `put`. A row shorter
        than its columns is padded with blank cells.
        """
        out, texts, number = self.rows[row], self._stored, str(row)
        if len(values) < len(columns):
            values = (*values, *(BLANK,) * (len(columns) - len(values)))
        for (col, letter, base, fmt, attrs), content in zip(columns, values, strict=True):
            if fmt is None:
                shown = content.kind
                if shown != "text" and shown != "status":  # as `number_format` answers those
                    fmt = number_format(content)
            value = content.value
            kind = type(value)
            if kind is float or kind is int:
                ending, quote = f' t="n"><v>{value:.16g}</v></c>', False
            elif value is None:
                ending, quote = "/>", False
            elif isinstance(value, str):
                tail = texts.get(value)
                if tail is None:
                    tail = texts[value] = self._text_tail(value)
                ending, quote = tail
            else:  # dates, booleans: rare
                self.put(row, col, value, base, fmt)
                continue
            attr = None if quote else attrs.get(fmt)  # the column's: no id() and key tuple per cell
            if attr is None:
                attr = self._style(base, fmt, quote)[1]
                if not quote:
                    attrs[fmt] = attr
            if value is None and not attr:
                out.pop(col, None)
            else:
                out[col] = f'<c r="{letter}{number}"{attr}{ending}'

    def _text_tail(self, value: str) -> tuple[str, bool]:
        """A text cell's `<c>` after its attributes, as `put` writes it, and its quote flag."""
        text, quote = stored_text(value)
        if text == "":
            return "/>", quote
        return f' t="inlineStr">{self._inline(text)}</c>', quote

    def _inline(self, text: str) -> str:
        """A text's `<is>` element, made once per distinct text: owners, statuses and units repeat."""
        inline = self._texts.get(text)
        if inline is None:
            space = ' xml:space="preserve"' if text != text.strip() else ""
            inline = self._texts[text] = f"<is><t{space}>{_escaped(text)}</t></is>"
        return inline

    def _letter(self, col: int) -> str:
        """A column's letters ("AB"), worked out once per column."""
        letter = self._letters.get(col)
        if letter is None:
            letter = self._letters[col] = get_column_letter(col)
        return letter

    def columns(self, specs: Iterable[tuple[int, StyleArray | None, str | None]]) -> list[Column]:
        """`put_row`'s columns for (column, the style its cells copy, the template's number format or None)."""
        return [(col, self._letter(col), base, fmt, {}) for col, base, fmt in specs]

    def bounds(self) -> tuple[int, int, int, int] | None:
        """(min_col, min_row, max_col, max_row) of the cells kept here; None without any."""
        rows = [r for r, cells in self.rows.items() if cells]
        if not rows:
            return None
        cols = [c for r in rows for c in self.rows[r]]
        return min(cols), min(rows), max(cols), max(rows)


def _escaped(text: str) -> str:
    """Text as XML element content. Chained `replace` calls: `str.translate` looks up every
    character in a mapping, about 1.8 µs for a 45-character title against a tenth of that."""
    if "&" in text:
        text = text.replace("&", "&amp;")  # first: the entities below bring their own
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _number(value: float | int) -> str:
    return f"{value:.16g}"  # openpyxl's own text for a number (`safe_string`)


class _SheetWriter(WorksheetWriter):
    """openpyxl's worksheet writer, with `<sheetData>` made here: the template's cells and the tables'."""

    def __init__(self, ws: Worksheet, cells: SheetCells) -> None:
        self.cells = cells
        self.sheet_data = b""
        super().__init__(ws, io.BytesIO())  # in memory, not openpyxl's temporary file (see `_Writer`)

    def write_dimensions(self) -> None:
        ours = self.cells.bounds()
        theirs = [(c, r) for r, c in self.ws._cells]
        if ours is None and not theirs:
            return super().write_dimensions()
        cols = [c for c, _ in theirs] + ([ours[0], ours[2]] if ours else [])
        rows = [r for _, r in theirs] + ([ours[1], ours[3]] if ours else [])
        ref = f"{get_column_letter(min(cols))}{min(rows)}:{get_column_letter(max(cols))}{max(rows)}"
        self.xf.send(Element("dimension", ref=ref))

    def write_rows(self) -> None:
        ws, ours = self.ws, self.cells.rows
        template: dict[int, dict[int, Any]] = defaultdict(dict)
        for (row, col), cell in ws._cells.items():
            template[row][col] = cell
        dims = ws.row_dimensions
        out = ["<sheetData>"]
        for row in sorted(set(template) | {r for r, cells in ours.items() if cells} | set(dims.keys())):
            attrs = {"r": str(row), **dict(dims.get(row, {}))}
            out.append("<row " + " ".join(f'{k}="{str(v).translate(_ATTR_ESCAPES)}"' for k, v in attrs.items()) + ">")
            mine, theirs = ours.get(row, {}), template.get(row, {})
            for col in sorted(mine.keys() | theirs.keys()):
                if col in mine:
                    out.append(mine[col])
                else:
                    out.append(self._template_cell(theirs[col]))
            out.append("</row>")
        out.append("</sheetData>")
        self.sheet_data = "".join(out).encode("utf-8")
        self.xf.send(Element("sheetData"))  # the placeholder `xml()` replaces

    def _template_cell(self, cell: Any) -> str:
        """A template cell as openpyxl writes it (formulas, rich text, comments and links included)."""
        if cell._comment is not None:
            self.ws._comments.append(CommentRecord.from_cell(cell))
        if cell._value is None and not cell.has_style and cell._comment is None:
            return ""
        written: list[Any] = []
        etree_write_cell(_Collect(written), self.ws, cell, cell.has_style)
        return "".join(tostring(el).decode("utf-8") for el in written)

    def xml(self) -> bytes:
        """The worksheet's XML, its `<sheetData>` in place."""
        text = self.out.getvalue()
        match = _PLACEHOLDER.search(text)
        if match is None:  # openpyxl changed how it writes: nothing may be lost silently
            raise RuntimeError(f"{self.ws.title}: no <sheetData> placeholder in the written worksheet")
        return text[: match.start()] + self.sheet_data + text[match.end() :]


class _Collect:
    """Stands in for openpyxl's XML stream: keeps the elements written to it."""

    def __init__(self, into: list[Any]) -> None:
        self.write = into.append


class _Writer(ExcelWriter):
    """openpyxl's workbook writer; sheets with table cells of their own go through `_SheetWriter`."""

    def __init__(self, workbook: Workbook, archive: zipfile.ZipFile, cells: dict[str, SheetCells]) -> None:
        super().__init__(workbook, archive)
        self.cells = cells

    def write_worksheet(self, ws: Worksheet) -> None:
        """As `ExcelWriter.write_worksheet` does, but each sheet's XML made in memory: openpyxl's temporary
        file per sheet (created, written, read back, removed) took 8 of the 25 ms of a small tracker's save."""
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        cells = self.cells.get(ws.title)
        if cells is None:
            plain = WorksheetWriter(ws, io.BytesIO())
            plain.write()
            ws._rels, xml = plain._rels, plain.read()
        else:
            writer = _SheetWriter(ws, cells)
            writer.write()
            ws._rels, xml = writer._rels, writer.xml()
        self._archive.writestr(ws.path[1:], xml)
        self.manifest.append(ws)


COMPRESS_LEVEL = 1
"""zlib's fastest level for the file's parts: at its default (6) deflating took 30 ms of the save at
500 key results, at 1 10 ms, for a file a third larger (217 to 287 KB)."""


def save_workbook(wb: Workbook, cells: dict[str, SheetCells]) -> bytes:
    """The workbook as .xlsx bytes, each sheet's table cells from `cells` (by sheet title)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=COMPRESS_LEVEL) as archive:
        wb.properties.modified = datetime.datetime.now(tz=datetime.UTC).replace(tzinfo=None)
        _Writer(wb, archive, cells).save()
    return buffer.getvalue()
