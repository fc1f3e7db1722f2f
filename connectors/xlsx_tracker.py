"""Write the tracker as an .xlsx workbook, filled into a template that carries its styling.

The template (built-in, or the user's restyled copy) decides fonts, fills, widths, number
formats, frozen panes, conditional formats, data bars and the Dashboard chart; this
module only puts values in. Each table's header is found through the template's defined
name `sheetsync_<key>` (else at the table's default anchor), and the style of the
template's first data row is copied down to every row written. Conditional formats,
chart series and filters that start at a table's first data row are stretched to its last
row. The file is replaced atomically: on any failure the previous tracker is untouched.
"""

from __future__ import annotations

import errno
import io
import logging
import re
import warnings
import zipfile
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as OpenpyxlCell
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from connectors.atomic import OutputError, atomic_write_bytes, describe_os_error
from sheetsync import resources
from sheetsync.core.tracker import Cell, Tab, Table, TrackerContent, number_format
from sheetsync.errors import ConfigError

log = logging.getLogger("sheetsync")

TEMPLATE_NAME = "okr_tracker.xlsx"
FORMULA_PREFIXES = ("=", "+", "-", "@")
"""Text starting with these is what spreadsheets read as a formula when typed in."""
MAX_TEXT = 32767  # Excel's limit for one cell
_REF = re.compile(r"^(?P<sheet>(?:'[^']*(?:''[^']*)*'|[^!]+)!)?\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+)"
                  r"(?::\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+))?$")


@dataclass(frozen=True)
class Placed:
    """Where a table landed: its first and last data rows and its columns."""

    sheet: str
    first_row: int
    last_row: int
    first_col: int
    last_col: int
    header_row: int | None


def default_template() -> Path:
    return resources.template(TEMPLATE_NAME)


def load_template(template: str | Path | None) -> Workbook:
    """The template workbook; a missing or broken template is a config problem."""
    path = Path(template) if template else default_template()
    if not path.is_file():
        raise ConfigError(f"tracker.template: {path}: file not found")
    try:
        with warnings.catch_warnings():
            # Features openpyxl cannot keep (Excel 2010 data bar extensions, slicers) are
            # dropped with a warning per file: the README says which.
            warnings.simplefilter("ignore", UserWarning)
            return load_workbook(path, rich_text=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"tracker.template: {path}: not an .xlsx workbook ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"tracker.template: {path}: cannot read: {exc.strerror or exc}") from None


def render(content: TrackerContent, template: str | Path | None = None) -> Workbook:
    """The filled workbook, in memory: the template with every tab's tables written in."""
    wb = load_template(template)
    placed: dict[str, list[Placed]] = {}
    for tab in content.tabs:
        for table in tab.tables:
            where = fill_table(wb, tab, table)
            placed.setdefault(where.sheet, []).append(where)
    for title, tables in placed.items():
        ws = wb[title]
        stretch_conditional_formats(ws, tables)
        stretch_filter(ws, tables)
    for ws in wb.worksheets:
        stretch_charts(ws, placed)
    wb.properties.title = content.dashboard.project + " OKR tracker"
    return wb


def lock_file(path: Path) -> Path | None:
    """The lock file Excel (`~$name`) or LibreOffice (`.~lock.name#`) keeps while it has `path` open."""
    for candidate in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if candidate.exists():
            return candidate
    return None


def check_writable(target: Path) -> None:
    """Fail early, and say why, when the tracker cannot be replaced.

    Opening the file for update (without changing it) fails while Excel on Windows has it
    open, or when it is read-only. A lock file alone does not stop the write: Excel and
    LibreOffice leave stale ones behind after a crash, and on Linux and macOS their locks do
    not stop a replace; it is logged instead.
    """
    if target.is_dir():
        raise OutputError(f"{target}: cannot write: it is a folder")
    lock = lock_file(target)
    if target.exists():
        try:
            with open(target, "r+b"):
                pass
        except OSError as exc:
            if lock is not None or exc.errno in (errno.EBUSY, errno.ETXTBSY) or getattr(exc, "winerror", 0) == 32:
                held = f" (lock file {lock.name})" if lock is not None else ""
                raise OutputError(
                    f"{target}: cannot write: the file is open in another program{held}; close it and run again"
                ) from None
            raise OutputError(f"{target}: cannot write: {describe_os_error(exc)}") from None
    if lock is not None:
        log.warning("%s looks open in another program (lock file %s): it shows the old tracker until reopened",
                    target, lock.name)


def write_xlsx_tracker(content: TrackerContent, path: str | Path, template: str | Path | None = None) -> Path:
    """Render `content` into the template and replace `path` with it, all or nothing.

    Raises OutputError (one line naming the file) when the file is open in a program that
    locks it, read-only, or the disk is full; ConfigError for a bad template.
    """
    target = Path(path)
    check_writable(target)
    wb = render(content, template)
    # Saved into memory first: if openpyxl writes straight to disk and the disk fills, its
    # zip archive is left open and Python prints a traceback at exit.
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(target, buffer.getvalue())
    return target


# --- filling tables ---------------------------------------------------------------------


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


def fill_table(wb: Workbook, tab: Tab, table: Table) -> Placed:
    ws, row, col = locate(wb, tab, table)
    header_row = None
    if table.header:
        header_row = row
        for offset, label in enumerate(table.header):
            cell = ws.cell(row, col + offset)
            if cell.value in (None, "") and label:
                cell.value = label
                if not cell.has_style:
                    cell.font = Font(bold=True)
        row += 1
    width = table.width
    model = [ws.cell(row, col + offset) for offset in range(width)]
    styles = [copy(cell._style) if cell.has_style else None for cell in model]
    height = ws.row_dimensions[row].height
    for index, values in enumerate(table.rows):
        r = row + index
        if index and height is not None and ws.row_dimensions[r].height is None:
            ws.row_dimensions[r].height = height
        for offset in range(width):
            target = ws.cell(r, col + offset)
            if index and not target.has_style and styles[offset] is not None:
                target._style = copy(styles[offset])
            put(target, values[offset] if offset < len(values) else Cell(None))
    if not table.rows:
        for cell in model:
            cell.value = None
    last = row + max(len(table.rows), 1) - 1
    return Placed(ws.title, row, last, col, col + max(width, 1) - 1, header_row)


def put(target: OpenpyxlCell, cell: Cell) -> None:
    """Write one value; text is always stored as text, never parsed as a formula."""
    template_format = target.number_format
    value = cell.value
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_TEXT]
        target.value = value
        target.data_type = "s"  # "=1+1" from a sheet stays the text "=1+1"
        if value.startswith(FORMULA_PREFIXES):
            target.quotePrefix = True  # and stays text when someone edits the cell
    else:
        target.value = value
    if template_format == "General" or template_format is None:
        chosen = number_format(cell)
        if chosen:
            target.number_format = chosen
    elif target.number_format != template_format:
        target.number_format = template_format  # openpyxl changes it when given a date


# --- stretching what the template set up for one data row -------------------------------


def _stretch(min_col: int, min_row: int, max_col: int, max_row: int, tables: list[Placed]) -> int:
    """The new last row of a range: a range starting on a table's first data row, within its
    columns, grows to the table's last row (it never shrinks: a whole-column rule stays)."""
    for t in tables:
        if min_row == t.first_row and t.first_col <= min_col and max_col <= t.last_col:
            return max(max_row, t.last_row)
    return max_row


def stretch_conditional_formats(ws: Worksheet, tables: list[Placed]) -> None:
    stretched = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        ranges = []
        for cr in cf.sqref.ranges:
            last = _stretch(cr.min_col, cr.min_row, cr.max_col, cr.max_row, tables)
            ranges.append(f"{get_column_letter(cr.min_col)}{cr.min_row}:{get_column_letter(cr.max_col)}{last}")
        for rule in cf.rules:
            stretched.add(" ".join(ranges), rule)
    ws.conditional_formatting = stretched


def stretch_filter(ws: Worksheet, tables: list[Placed]) -> None:
    if not ws.auto_filter.ref:
        return
    min_col, min_row, max_col, _ = range_boundaries(ws.auto_filter.ref)
    for t in tables:
        if min_row == t.header_row and t.first_col <= min_col and max_col <= t.last_col:
            ws.auto_filter.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{t.last_row}"


def stretch_ref(formula: str, placed: dict[str, list[Placed]], home: str) -> str:
    """"'Dashboard'!$E$16" -> "'Dashboard'!$E$16:$E$18" when row 16 starts a table of 3 rows."""
    match = _REF.match(formula.strip())
    if not match:
        return formula
    prefix = match["sheet"] or ""
    sheet = prefix[:-1].strip("'").replace("''", "'") if prefix else home
    c1, r1 = match["c1"], int(match["r1"])
    c2, r2 = match["c2"] or c1, int(match["r2"] or r1)
    col1, col2 = range_boundaries(f"{c1}1:{c2}1")[0::2]
    last = _stretch(col1, r1, col2, r2, placed.get(sheet, []))
    if last == r2:
        return formula
    return f"{prefix}${c1}${r1}:${c2}${last}"


def stretch_charts(ws: Worksheet, placed: dict[str, list[Placed]]) -> None:
    """Point chart series at every written row, and drop cached points from the template."""
    for chart in ws._charts:
        for plot in getattr(chart, "_charts", [chart]):
            for series in plot.series:
                for source in (series.val, series.cat, series.xVal, series.yVal):
                    if source is None:
                        continue
                    for ref_name, cache_name in (("numRef", "numCache"), ("strRef", "strCache")):
                        ref = getattr(source, ref_name, None)
                        if ref is not None and ref.f:
                            ref.f = stretch_ref(ref.f, placed, ws.title)
                            setattr(ref, cache_name, None)
