"""Where the tracker's tables land in its template, worked out once for both tracker writers.

The .xlsx writer fills a copy of the template; the Google Sheets writer translates the same
template into API requests. Both must agree on where each table sits (at the template's
defined name ``sheetsync_<key>``, else at the table's default anchor), which template cell
lends its look to each written cell (the cell's own style, else the style of the table's
first data row), which number format a cell shows (the template's, else its kind's) and how
far each conditional format, filter and chart range stretches. `plan_layout` decides all of
that in one pass over the template; the writers only render the `TrackerLayout` it returns.

Rows and columns here are 1-based and inclusive, as spreadsheets and openpyxl count them.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.formatting.rule import Rule
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from connectors import xlsx_template_cache
from sheetsync import resources
from sheetsync.core.tracker import BLANK, Cell, Tab, Table, TrackerContent, number_format
from sheetsync.errors import ConfigError

TEMPLATE_NAME = "okr_tracker.xlsx"

Span = tuple[int, int, int, int]
"""A cell range as (min_col, min_row, max_col, max_row), openpyxl's `range_boundaries` order."""

_REF = re.compile(r"^(?P<sheet>(?:'[^']*(?:''[^']*)*'|[^!]+)!)?\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+)"
                  r"(?::\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+))?$")


def default_template() -> Path:
    return resources.template(TEMPLATE_NAME)


def load_template(template: str | Path | None) -> Workbook:
    """The template workbook; a missing or broken template is a config problem."""
    path = Path(template) if template else default_template()
    if not path.is_file():
        raise ConfigError(f"tracker.template: {path}: file not found", file=str(path), key="tracker.template")
    try:
        return xlsx_template_cache.load(path, _parse)  # loaded once per template, then kept
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"tracker.template: {path}: not an .xlsx workbook ({exc})", file=str(path), key="tracker.template"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"tracker.template: {path}: cannot read: {exc.strerror or exc}", file=str(path), key="tracker.template"
        ) from None


def _parse(path: Path) -> Workbook:
    with warnings.catch_warnings():
        # Features openpyxl cannot keep (Excel 2010 data bar extensions, slicers) are
        # dropped with a warning per file: the README says which.
        warnings.simplefilter("ignore", UserWarning)
        return load_workbook(path, rich_text=False)


def locate(wb: Workbook, tab: Tab, table: Table) -> tuple[Worksheet, int, int]:
    """The sheet and (row, column) of a table's anchor: its defined name, else the default."""
    name = f"sheetsync_{table.key}"
    found = [wb.defined_names.get(name)] + [ws.defined_names.get(name) for ws in wb.worksheets]
    for defn in filter(None, found):
        for title, ref in defn.destinations:
            if title in wb.sheetnames:
                min_col, min_row, _max_col, _max_row = range_boundaries(ref.replace("$", ""))
                return wb[title], int(min_row), int(min_col)
    ws = wb[tab.name] if tab.name in wb.sheetnames else wb.create_sheet(tab.name)
    return ws, table.anchor[0], table.anchor[1]


@dataclass(frozen=True)
class Placed:
    """Where a table landed: its header row (None without one), data rows and columns."""

    key: str
    sheet: str
    header_row: int | None
    first_row: int
    last_row: int  # the first data row when the table is empty: one blank row is written
    first_col: int
    last_col: int


def stretch(span: Span, tables: Iterable[Placed], *, from_header: bool = False) -> Span:
    """`span` grown down to a table's last row when it starts on that table's first data row
    (its header row, `from_header`) within its columns. It never shrinks: a rule the template
    set on a whole column stays on the whole column."""
    min_col, min_row, max_col, max_row = span
    for t in tables:
        start = t.header_row if from_header else t.first_row
        if start is not None and min_row == start and t.first_col <= min_col and max_col <= t.last_col:
            return (min_col, min_row, max_col, max(max_row, t.last_row))
    return span


@dataclass(frozen=True)
class Look:
    """A template cell's style, captured before anything is written into the workbook."""

    cell: XlCell  # the template cell, for writers that translate its fonts, fills and borders
    array: StyleArray  # openpyxl's style indices, for writers that copy it onto other cells
    number_format: str | None  # its own number format; None when it leaves that to the cell's kind


def _look(cell: XlCell | None) -> Look | None:
    if cell is None or not cell.has_style:
        return None
    fmt = cell.number_format
    return Look(cell, copy(cell._style), fmt if fmt and fmt != "General" else None)


@dataclass(frozen=True)
class HeaderLabel:
    """A header label to write: where the template's header cell has no text of its own."""

    row: int
    col: int
    text: str
    bold: bool  # the template left the cell unstyled: the label is made bold


class DataCell(NamedTuple):
    """One written cell: its content, the look it takes on and the number format it shows.

    A named tuple: a large tracker makes hundreds of thousands of them.
    """

    row: int
    col: int
    content: Cell
    look: Look | None  # the first data row's look, copied onto a cell the template did not style
    number_format: str | None  # None: the cell shows its value as it is (text, status)
    format_from_template: bool  # False when the format is the cell kind's (`tracker.number_format`)


@dataclass
class TableLayout:
    """One table of the tracker placed in the template, with the template cells it copies."""

    table: Table
    placed: Placed
    labels: tuple[HeaderLabel, ...]
    model: tuple[Look | None, ...]  # the first data row's look, per column of the table
    own: dict[tuple[int, int], Look]  # template cells below the first data row that are styled
    model_height: float | None  # the first data row's height (points), copied to rows without one
    sized_rows: frozenset[int] = frozenset()  # rows the template gives a height of their own

    def cells(self) -> Iterator[DataCell]:
        """Every cell to write, row by row; an empty table writes one blank row."""
        for index in range(self.height):
            yield from self.row_cells(index)

    @property
    def height(self) -> int:
        """How many data rows are written: an empty table writes one blank row."""
        return max(len(self.table.rows), 1)

    def row_cells(self, index: int) -> Iterator[DataCell]:
        """The cells of the table's data row `index` (0 is the first), column by column."""
        table, placed = self.table, self.placed
        row, col0 = placed.first_row + index, placed.first_col
        values = table.rows[index] if index < len(table.rows) else ()
        count = len(values)
        own, model = self.own, self.model
        new_cell = tuple.__new__  # a DataCell as its own __new__ makes it, without that call per cell
        for offset in range(table.width):
            content = values[offset] if offset < count else BLANK
            mine = own.get((row, col0 + offset)) if index and own else None
            copied = None
            if mine is not None:
                source: Look | None = mine
            else:
                source = model[offset]
                copied = source if index else None
            if source is not None and source.number_format is not None:
                fmt, from_template = source.number_format, True
            else:
                fmt, from_template = number_format(content), False
            yield new_cell(DataCell, (row, col0 + offset, content, copied, fmt, from_template))

    def columns(self, index: int) -> tuple[tuple[int, Look | None, str | None], ...]:
        """Per column, what `row_cells(index)` gives a cell with no template look of its own:
        (column, the look it copies, the template's number format; None: its kind's)."""
        col0 = self.placed.first_col
        return tuple(
            (col0 + offset, look if index else None, look.number_format if look is not None else None)
            for offset, look in enumerate(self.model)
        )

    def own_rows(self) -> frozenset[int]:
        """The data rows holding a template cell with a look of its own."""
        return frozenset(row for row, _ in self.own)

    def heights(self) -> Iterator[tuple[int, float]]:
        """(row, height in points) for the data rows that take the first data row's height."""
        if self.model_height is None:
            return
        for row in range(self.placed.first_row + 1, self.placed.last_row + 1):
            if row not in self.sized_rows:
                yield row, self.model_height


@dataclass
class SheetLayout:
    """One template sheet: its tables and its ranges stretched over them."""

    worksheet: Worksheet
    tables: list[TableLayout] = field(default_factory=list)
    conditional_formats: list[tuple[tuple[Span, ...], list[Rule]]] = field(default_factory=list)
    filter: Span | None = None

    @property
    def title(self) -> str:
        return str(self.worksheet.title)

    @property
    def placed(self) -> list[Placed]:
        return [t.placed for t in self.tables]


@dataclass
class TrackerLayout:
    """The whole tracker in its template: the workbook and, per sheet, what goes where."""

    workbook: Workbook
    sheets: dict[str, SheetLayout]

    def table(self, key: str) -> Placed | None:
        for sheet in self.sheets.values():
            for t in sheet.tables:
                if t.placed.key == key:
                    return t.placed
        return None

    def stretch_ref(self, formula: str, home: str) -> str:
        """A chart's range formula grown over the table it starts on:
        "'Dashboard'!$E$16" -> "'Dashboard'!$E$16:$E$18" when row 16 starts a table of 3 rows."""
        match = _REF.match(formula.strip())
        if not match:
            return formula
        prefix = match["sheet"] or ""
        sheet = prefix[:-1].strip("'").replace("''", "'") if prefix else home
        c1, r1 = match["c1"], int(match["r1"])
        c2, r2 = match["c2"] or c1, int(match["r2"] or r1)
        col1, col2 = range_boundaries(f"{c1}1:{c2}1")[0::2]
        placed = self.sheets[sheet].placed if sheet in self.sheets else []
        last = stretch((col1, r1, col2, r2), placed)[3]
        if last == r2:
            return formula
        return f"{prefix}${c1}${r1}:${c2}${last}"


def plan_layout(content: TrackerContent, template: str | Path | None = None) -> TrackerLayout:
    """Place every table of `content` in the template (loaded once) and stretch its ranges.

    Raises ConfigError for a missing or broken template.
    """
    wb = load_template(template)
    sheets: dict[str, SheetLayout] = {}
    for tab in content.tabs:
        for table in tab.tables:
            ws, row, col = locate(wb, tab, table)
            sheet = sheets.setdefault(ws.title, SheetLayout(ws))
            sheet.tables.append(_place(ws, table, row, col))
    for sheet in sheets.values():
        _own_looks(sheet)
        ws, placed = sheet.worksheet, sheet.placed
        for cf in ws.conditional_formatting:
            spans = tuple(stretch((cr.min_col, cr.min_row, cr.max_col, cr.max_row), placed)
                          for cr in cf.sqref.ranges)  # fmt: skip
            sheet.conditional_formats.append((spans, list(cf.rules)))
        if ws.auto_filter.ref:
            bounds = range_boundaries(ws.auto_filter.ref)
            sheet.filter = stretch((int(bounds[0]), int(bounds[1]), int(bounds[2]), int(bounds[3])), placed,
                                   from_header=True)  # fmt: skip
    return TrackerLayout(wb, sheets)


def _place(ws: Worksheet, table: Table, row: int, col: int) -> TableLayout:
    labels: list[HeaderLabel] = []
    header_row = None
    if table.header:
        header_row = row
        for offset, label in enumerate(table.header):
            existing = ws._cells.get((row, col + offset))  # ws.cell() would add empty cells
            if label and (existing is None or existing.value in (None, "")):
                labels.append(HeaderLabel(row, col + offset, label, existing is None or not existing.has_style))
        row += 1
    width = table.width
    model = tuple(_look(ws._cells.get((row, col + offset))) for offset in range(width))
    last = row + max(len(table.rows), 1) - 1
    placed = Placed(table.key, ws.title, header_row, row, last, col, col + max(width, 1) - 1)
    dim = ws.row_dimensions.get(row)  # .get: indexing would add an empty row entry
    height = dim.height if dim is not None else None
    return TableLayout(table, placed, tuple(labels), model, {}, height)


def _own_looks(sheet: SheetLayout) -> None:
    """Template cells below a table's first data row that carry a style of their own keep it."""
    ws = sheet.worksheet
    sized = frozenset(r for r, dim in ws.row_dimensions.items() if dim.height is not None)
    for t in sheet.tables:
        t.sized_rows = sized
        p = t.placed
        for (row, col), cell in ws._cells.items():
            if p.first_row < row <= p.last_row and p.first_col <= col <= p.last_col and cell.has_style:
                look = _look(cell)
                if look is not None:
                    t.own[(row, col)] = look


def span_ref(span: Span) -> str:
    """A span as an A1 range: (1, 2, 3, 4) -> "A2:C4"."""
    min_col, min_row, max_col, max_row = span
    return f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"


__all__ = [
    "DataCell",
    "HeaderLabel",
    "Look",
    "Placed",
    "SheetLayout",
    "Span",
    "TableLayout",
    "TrackerLayout",
    "default_template",
    "load_template",
    "locate",
    "plan_layout",
    "span_ref",
    "stretch",
]
