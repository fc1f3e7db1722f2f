"""Excel workbooks (.xlsx, .xlsm, .xls, .ods), read with python-calamine for speed.

A plain .xlsx sheet (every column of one kind) is read straight into typed columns
(`xlsx_columns`). Any other sheet is taken from calamine as Python values and each column
is typed once (numbers as float64, dates as datetime64, anything mixed left as it was for
the core's parsers), instead of going through ``pandas.read_excel``, which converts every
cell in Python first: at the benchmark's large size that conversion was 40% of the read.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pandas as pd
import python_calamine

from connectors.base import SourceFormatError, SourceNotFound
from connectors.files import read_bytes, read_files
from connectors.tabular import column_letter, frame_from_columns, grid_frame
from connectors.xlsx_columns import typed_frame
from connectors.xlsx_scan import MergedRange, SheetCells, merged_ranges, scan_cells, sheet_xml
from sheetsync.core.model import SourceConfig
from sheetsync.core.sources import SourceData
from sheetsync.core.suggest import did_you_mean

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: .xls, or an encrypted .xlsx
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_SHOWN_CELLS = 5


def _not_a_zip(data: bytes) -> str:
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED in data:
            return "is password-protected (encrypted); save a copy without a password, or export the sheet as CSV"
        return "is an old-style .xls workbook named .xlsx; rename it to .xls"
    return "is not an Excel workbook (.xlsx files are zip archives; this one is not)"


def _mark_cells(rows: list[list[object]], cells: SheetCells) -> list[str]:
    """Error cells back into the grid as their text (so they are named like a CSV's), and a
    warning for formulas that have no saved result (calamine shows both as empty)."""
    for (row, column), text in cells.errors.items():
        if row - 1 < len(rows) and column < len(rows[row - 1]):
            rows[row - 1][column] = text
    if not cells.uncached:
        return []
    return [
        f"{len(cells.uncached)} formula cells have no saved result ({_refs(cells.uncached)}) and read as empty:"
        " the file was saved by a program that does not calculate; open and save it in Excel or LibreOffice"
    ]


def _data_merges(merges: list[MergedRange], header_row: int) -> list[MergedRange]:
    """Merged cells that start below the headers and span rows: a label or date shown for each row."""
    return [m for m in merges if m[0] > header_row and m[2] > m[0]]


def _fill_merged(rows: list[list[object]], merges: list[MergedRange]) -> list[str]:
    """A merged cell's text or date in every cell it covers, as the sheet shows it; a number once.

    calamine gives a merged range's value to its first cell only, so a filter on a region
    merged down six rows matched one of them. A number is not copied: a total merged over
    three rows would count three times.
    """
    kept: list[str] = []
    for top, left, bottom, right in merges:
        ref = f"{column_letter(left)}{top}:{column_letter(right)}{bottom}"
        if top > len(rows) or left >= len(rows[top - 1]):
            continue
        value = rows[top - 1][left]
        if value is None or value == "":
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            kept.append(ref)
            continue
        for index in range(top - 1, min(bottom, len(rows))):
            row = rows[index]
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            row[left : right + 1] = [value] * (right + 1 - left)
    if not kept:
        return []  # labels read as the sheet shows them: nothing to warn about
    return [f"merged cells {_refs(kept)} hold a number: it counts once, in the range's first row"]


def _refs(refs: list[str]) -> str:
    """'A3:A8, C2:C4 and 7 more': cell references in a warning, never sprawling."""
    more = f" and {len(refs) - _SHOWN_CELLS} more" if len(refs) > _SHOWN_CELLS else ""
    return ", ".join(refs[:_SHOWN_CELLS]) + more


def _read_one(config: SourceConfig, path: str) -> tuple[pd.DataFrame, str, list[str]]:
    def fail(message: str, sheet: str | None = None) -> SourceFormatError:
        return SourceFormatError(message, source=config.name, location=path, sheet=sheet)

    data = read_bytes(config, path, what="workbook")  # once: header, body and scan from one version
    zipped = zipfile.is_zipfile(io.BytesIO(data))
    if path.lower().endswith((".xlsx", ".xlsm")) and not zipped:
        raise fail(_not_a_zip(data))
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types (CalamineError, ...) for broken files
        if data.startswith(_OLE_MAGIC) and _ENCRYPTED in data:
            raise fail(_not_a_zip(data)) from None
        raise fail(f"is not a readable workbook: {str(exc).splitlines()[0][:200]}") from None
    warnings: list[str] = []
    try:
        sheets = [s for s in book.sheets_metadata if s.typ == python_calamine.SheetTypeEnum.WorkSheet]
        names = [str(s.name) for s in sheets]
        if not names:
            raise fail("the workbook has no sheets")
        if config.sheet:
            sheet = config.sheet
        else:
            visible = [str(s.name) for s in sheets if s.visible == python_calamine.SheetVisibleEnum.Visible]
            if not visible:
                raise fail("every sheet is hidden; name one with sheet = \"...\"")
            sheet = visible[0]
            if sheet != names[0]:
                hidden = [n for n in names[: names.index(sheet)]]
                warnings.append(
                    f"no sheet named: read {sheet!r}, the first visible sheet (hidden before it:"
                    f" {', '.join(repr(n) for n in hidden[:3])}{' ...' if len(hidden) > 3 else ''})"
                )
        if sheet not in names:
            raise SourceNotFound(
                f"no sheet named {sheet!r}{did_you_mean(sheet, names)}; the workbook has"
                f" {', '.join(repr(n) for n in names[:10])}"
                f"{' ...' if len(names) > 10 else ''}",
                source=config.name,
                location=path,
                sheet=sheet,
            )
        xml = sheet_xml(data, sheet) if zipped else None
        merges = _data_merges(merged_ranges(xml), config.header_row) if xml is not None else []
        typed = typed_frame(data, sheet, config.header_row, xml) if xml is not None and not merges else None
        if typed is not None:
            headers, columns, height = typed
            frame, grid_warnings = frame_from_columns(
                headers, columns, height, first_row=config.header_row + 1, rename=config.rename
            )
            return frame, sheet, [*warnings, *grid_warnings]
        try:
            grid = book.get_sheet_by_name(sheet)
            rows = grid.to_python(skip_empty_area=False)
            if xml is None:  # .xls, .ods: calamine knows their merged cells (0-based corners)
                found = grid.merged_cell_ranges or []
                merges = _data_merges([(r0 + 1, c0, r1 + 1, c1) for (r0, c0), (r1, c1) in found], config.header_row)
        except Exception as exc:  # calamine's own error types for a sheet it cannot decode
            raise fail(f"cannot read the sheet: {str(exc).splitlines()[0][:200]}", sheet) from None
    finally:
        book.close()
    if xml is not None:
        warnings.extend(_mark_cells(rows, scan_cells(xml)))
    warnings.extend(_fill_merged(rows, merges))
    frame, grid_warnings = grid_frame(rows, header_row=config.header_row, rename=config.rename)
    return frame, sheet, [*warnings, *grid_warnings]


def read_xlsx_source(config: SourceConfig) -> SourceData:
    """Read one sheet of a workbook (or that sheet of every workbook a glob matches)."""
    sheets: list[str] = []

    def read_one(path: str) -> tuple[pd.DataFrame, list[str]]:
        frame, sheet, warnings = _read_one(config, path)
        sheets.append(sheet)
        return frame, warnings

    frame, warnings, location = read_files(config, read_one)
    sheet = " / ".join(dict.fromkeys(sheets))  # a glob's workbooks may each have their first sheet named otherwise
    return SourceData(config.name, "xlsx", location, sheet, datetime.now(UTC), frame, warnings)
