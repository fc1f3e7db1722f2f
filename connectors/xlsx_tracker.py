"""Write the tracker as an .xlsx workbook, filled into a template that carries its styling.

The template (built-in, or the user's restyled copy) decides fonts, fills, widths, number
formats, frozen panes, conditional formats, data bars and the Dashboard chart; this
module only puts values in, where `connectors.tracker_layout` placed them (the same layout
the Google Sheets writer renders). The file is replaced atomically: on any failure the
previous tracker is untouched.
"""

from __future__ import annotations

import errno
import logging
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from copy import copy
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell as OpenpyxlCell
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from connectors.atomic import OutputError, describe_os_error, staged_write
from connectors.tracker_layout import DataCell, TableLayout, TrackerLayout, plan_layout, span_ref
from connectors.xlsx_rows import SheetCells, save_workbook, stored_text
from sheetsync.core.checkins import TabRows, is_tab_header
from sheetsync.core.tracker import CHECKINS_TAB, Cell, TrackerContent

log = logging.getLogger("sheetsync")


def render(content: TrackerContent, template: str | Path | None = None) -> tuple[Workbook, dict[str, SheetCells]]:
    """The filled workbook, in memory: the template, and each sheet's table cells (`save_workbook` writes both)."""
    layout = plan_layout(content, template)
    drop_unused_tabs(layout.workbook, content)
    cells: dict[str, SheetCells] = {}
    for sheet in layout.sheets.values():
        ws = sheet.worksheet
        sheet_cells = cells.setdefault(ws.title, SheetCells(ws))
        for table in sheet.tables:
            fill_table(ws, table, sheet_cells)
            add_choices(ws, table)
        stretched = ConditionalFormattingList()
        for spans, rules in sheet.conditional_formats:
            for rule in rules:
                stretched.add(" ".join(span_ref(s) for s in spans), rule)
        ws.conditional_formatting = stretched
        if sheet.filter is not None:
            ws.auto_filter.ref = span_ref(sheet.filter)
    for ws in layout.workbook.worksheets:
        stretch_charts(ws, layout)
    layout.workbook.properties.title = content.dashboard.project + " OKR tracker"
    return layout.workbook, cells


def drop_unused_tabs(wb: Workbook, content: TrackerContent) -> None:
    """Remove the template's Check-ins sheet when check-ins do not come from the tracker."""
    if any(tab.name == CHECKINS_TAB for tab in content.tabs) or CHECKINS_TAB not in wb.sheetnames:
        return
    if len(wb.sheetnames) > 1:
        wb.remove(wb[CHECKINS_TAB])
        if "sheetsync_checkins" in wb.defined_names:
            del wb.defined_names["sheetsync_checkins"]


def add_choices(ws: Worksheet, layout: TableLayout) -> None:
    """A drop-down list on each column with choices, over the table's rows."""
    table, placed = layout.table, layout.placed
    for offset, options in table.choices:
        letter = get_column_letter(placed.first_col + offset)
        listed = ",".join(o.replace('"', "") for o in options)
        rule = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True, showDropDown=False)
        rule.error = f"Pick one of: {', '.join(options)}"
        rule.errorTitle = table.header[offset] if offset < len(table.header) else "Value"
        rule.errorStyle = "warning"  # a typed "7" or "green" is still read: warn, do not refuse
        rule.add(f"{letter}{placed.first_row}:{letter}{placed.last_row}")
        ws.add_data_validation(rule)


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
        raise OutputError(f"{target}: cannot write: it is a folder", file=str(target))
    lock = lock_file(target)
    if target.exists():
        try:
            with open(target, "r+b"):
                pass
        except OSError as exc:
            if lock is not None or exc.errno in (errno.EBUSY, errno.ETXTBSY) or getattr(exc, "winerror", 0) == 32:
                held = f" (lock file {lock.name})" if lock is not None else ""
                raise OutputError(
                    f"{target}: cannot write: the file is open in another program{held}; close it and run again",
                    file=str(target),
                ) from None
            raise OutputError(f"{target}: cannot write: {describe_os_error(exc)}", file=str(target)) from None
    if lock is not None:
        log.warning("%s looks open in another program (lock file %s): it shows the old tracker until reopened",
                    target, lock.name)


def write_xlsx_tracker(content: TrackerContent, path: str | Path, template: str | Path | None = None) -> Path:
    """Render `content` into the template and replace `path` with it, all or nothing.

    Raises OutputError (one line naming the file) when the file is open in a program that
    locks it, read-only, or the disk is full; ConfigError for a bad template.
    """
    with staged_xlsx_tracker(content, path, template) as target:
        return target


@contextmanager
def staged_xlsx_tracker(
    content: TrackerContent, path: str | Path, template: str | Path | None = None
) -> Iterator[Path]:
    """`write_xlsx_tracker` that the block after it can undo (`staged_write`): the old tracker is put
    back if the block fails."""
    target = Path(path)
    check_writable(target)
    wb, cells = render(content, template)
    # Saved into memory first: if openpyxl writes straight to disk and the disk fills, its
    # zip archive is left open and Python prints a traceback at exit.
    data = save_workbook(wb, cells)
    with staged_write(target, lambda tmp: tmp.write_bytes(data)):
        yield target


# --- filling tables ---------------------------------------------------------------------


def fill_table(ws: Worksheet, table: TableLayout, cells: SheetCells) -> None:
    """Write one table: its header labels as openpyxl cells, its data cells into `cells` (XML text).

    A data cell takes the template cell's own style where it has one, else the first data
    row's look; a template cell with a comment or a link stays an openpyxl cell, and keeps them.
    Rows with no template cell under them (all but the first, in a template as it comes) are
    written by `SheetCells.put_row` in one loop each; the others cell by cell.
    """
    for label in table.labels:
        cell = ws.cell(label.row, label.col)
        cell.value = label.text
        if label.bold:
            cell.font = Font(bold=True)
    for row, height in table.heights():
        ws.row_dimensions[row].height = height
    template, placed, rows = ws._cells, table.placed, table.table.rows
    busy = table.own_rows() | {r for r, c in template if placed.first_row <= r <= placed.last_row
                               and placed.first_col <= c <= placed.last_col}  # fmt: skip
    plain = [cells.columns([(col, look.array if look is not None else None, fmt)
                            for col, look, fmt in table.columns(index)]) for index in (0, 1)]  # fmt: skip
    for index in range(table.height):
        row = placed.first_row + index
        if row in busy:
            _fill_cells(template, table.row_cells(index), cells)
        else:
            cells.put_row(row, rows[index] if index < len(rows) else (), plain[min(index, 1)])


def _fill_cells(template: dict[tuple[int, int], OpenpyxlCell], data: Iterable[DataCell], cells: SheetCells) -> None:
    """Cells with a template cell under them: it lends its style, or stays (with its comment or link)."""
    for row, col, content, look, number_format, _ in data:
        base = look.array if look is not None else None
        existing = template.get((row, col))
        if existing is not None:
            if existing._comment is not None or existing.hyperlink is not None:
                if base is not None and not existing.has_style:
                    existing._style = copy(base)
                put(existing, content, number_format)
                continue
            del template[(row, col)]
            if existing.has_style:
                base = existing._style
        value, quote = stored(content)
        cells.put(row, col, value, base, number_format, quote)


def stored(cell: Cell) -> tuple[object, bool]:
    """A cell's value as the file keeps it, and whether it needs the quote prefix (`stored_text`)."""
    value = cell.value
    if isinstance(value, str):
        return stored_text(value)
    return value, False


def put(target: OpenpyxlCell, cell: Cell, number_format: str | None = None) -> None:
    """Write one value into an openpyxl cell; text is always stored as text, never parsed as a formula."""
    value, quote = stored(cell)
    target.value = value
    if isinstance(value, str):
        target.data_type = "s"  # "=1+1" from a sheet stays the text "=1+1"
        if quote:
            target.quotePrefix = True  # and stays text when someone edits the cell
    if number_format:
        target.number_format = number_format  # also undoes openpyxl's own choice for a date


def stretch_charts(ws: Worksheet, layout: TrackerLayout) -> None:
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
                            ref.f = layout.stretch_ref(ref.f, ws.title)
                            setattr(ref, cache_name, None)


# --- reading the Check-ins tab back ------------------------------------------------------

MAX_HEADER_SCAN = 20  # rows searched for the Check-ins header when its defined name is gone


def read_xlsx_checkins(path: str | Path) -> TabRows | None:
    """The Check-ins tab of the tracker at `path` as its owners left it; None without one.

    The file may have been saved by Excel or LibreOffice since sheetsync wrote it: the tab is
    found by its defined name `sheetsync_checkins`, else by its title, and its columns by
    their header text. A tracker that exists but cannot be read stops the sync (OutputError)
    rather than be overwritten with what owners typed into it.
    """
    target = Path(path)
    if not target.is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            wb = load_workbook(target, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise OutputError(
            f"{target}: cannot read the Check-ins tab back before rewriting the tracker ({exc}); "
            "the file is left as it is: repair or move it, then sync again", file=str(target), sheet=CHECKINS_TAB,
        ) from None
    try:
        return _checkins_table(wb, target)
    finally:
        wb.close()


def _checkins_table(wb: Workbook, path: Path) -> TabRows | None:
    sheet, header_row, first_col = None, None, 1
    defn = wb.defined_names.get("sheetsync_checkins")
    if defn is not None:
        for title, ref in defn.destinations:
            if title in wb.sheetnames:
                min_col, min_row, _, _ = range_boundaries(ref.replace("$", ""))
                sheet, header_row, first_col = wb[title], int(min_row), int(min_col)
                break
    if sheet is None and CHECKINS_TAB in wb.sheetnames:
        sheet = wb[CHECKINS_TAB]
    if sheet is None:
        return None
    rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    if header_row is None:
        found = next((i for i, r in enumerate(rows[:MAX_HEADER_SCAN], 1) if is_tab_header(r)), None)
        if found is None:  # no header: its rows are still handed over, so a tab with rows is never overwritten
            return TabRows((), tuple(rows), where=f"{path.name}: tab {sheet.title!r}")
        header_row, first_col = found, 1
    header = rows[header_row - 1][first_col - 1 :] if header_row <= len(rows) else ()
    body = [r[first_col - 1 :] for r in rows[header_row:]]
    while body and all(v is None or (isinstance(v, str) and not v.strip()) for v in body[-1]):
        body.pop()
    return TabRows(tuple(header), tuple(body), header_row + 1, f"{path.name}: tab {sheet.title!r}")
