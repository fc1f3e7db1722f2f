"""Write the tracker as an .xlsx workbook, filled into a template that carries its styling.

The template (built-in, or the user's restyled copy) decides fonts, fills, widths, number
formats, frozen panes, conditional formats, data bars and the Dashboard chart; this
module only puts values in, where `connectors.tracker_layout` placed them (the same layout
the Google Sheets writer renders). The file is replaced atomically: on any failure the
previous tracker is untouched.
"""

from __future__ import annotations

import errno
import io
import logging
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as OpenpyxlCell
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from connectors.atomic import OutputError, atomic_write_bytes, describe_os_error
from connectors.tracker_layout import TableLayout, TrackerLayout, plan_layout, span_ref
from sheetsync.core.tracker import Cell, TrackerContent

log = logging.getLogger("sheetsync")

FORMULA_PREFIXES = ("=", "+", "-", "@")
"""Text starting with these is what spreadsheets read as a formula when typed in."""
MAX_TEXT = 32767  # Excel's limit for one cell


def render(content: TrackerContent, template: str | Path | None = None) -> Workbook:
    """The filled workbook, in memory: the template with every tab's tables written in."""
    layout = plan_layout(content, template)
    for sheet in layout.sheets.values():
        ws = sheet.worksheet
        for table in sheet.tables:
            fill_table(ws, table)
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
    return layout.workbook


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


def fill_table(ws: Worksheet, table: TableLayout) -> None:
    for label in table.labels:
        cell = ws.cell(label.row, label.col)
        cell.value = label.text
        if label.bold:
            cell.font = Font(bold=True)
    for row, height in table.heights():
        ws.row_dimensions[row].height = height
    for data in table.cells():
        target = ws.cell(data.row, data.col)
        if data.look is not None and not target.has_style:
            target._style = copy(data.look.array)
        put(target, data.content, data.number_format)


def put(target: OpenpyxlCell, cell: Cell, number_format: str | None = None) -> None:
    """Write one value; text is always stored as text, never parsed as a formula."""
    value = cell.value
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_TEXT]
        target.value = value
        target.data_type = "s"  # "=1+1" from a sheet stays the text "=1+1"
        if value.startswith(FORMULA_PREFIXES):
            target.quotePrefix = True  # and stays text when someone edits the cell
    else:
        target.value = value
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
