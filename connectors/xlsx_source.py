"""Excel workbooks (.xlsx, .xlsm, .xls, .ods), read with python-calamine for speed."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pandas as pd

from connectors.base import SourceFormatError, SourceNotFound
from connectors.files import read_files
from connectors.tabular import frame_from_grid
from sheetsync.core.model import SourceConfig
from sheetsync.core.sources import SourceData


def _read_one(config: SourceConfig, path: str) -> tuple[pd.DataFrame, str, list[str]]:
    def fail(message: str, sheet: str | None = None) -> SourceFormatError:
        return SourceFormatError(message, source=config.name, location=path, sheet=sheet)

    if path.lower().endswith((".xlsx", ".xlsm")) and not zipfile.is_zipfile(path):
        raise fail("is not an Excel workbook (.xlsx files are zip archives; this one is not)")
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except OSError as exc:
        raise SourceNotFound(f"cannot open: {exc.strerror or exc}", source=config.name, location=path) from None
    except Exception as exc:  # calamine raises its own error types for broken files
        raise fail(f"is not a readable workbook: {str(exc).splitlines()[0][:200]}") from None
    with book:
        names = [str(n) for n in book.sheet_names]
        if not names:
            raise fail("the workbook has no sheets")
        sheet = config.sheet or names[0]
        if sheet not in names:
            raise SourceNotFound(
                f"no sheet named {sheet!r}; the workbook has {', '.join(repr(n) for n in names)}",
                source=config.name,
                location=path,
                sheet=sheet,
            )
        try:
            grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
        except Exception as exc:
            raise fail(f"cannot read the sheet: {str(exc).splitlines()[0][:200]}", sheet) from None
    frame, warnings = frame_from_grid(grid, header_row=config.header_row, rename=config.rename)
    return frame, sheet, warnings


def read_xlsx_source(config: SourceConfig) -> SourceData:
    """Read one sheet of a workbook (or that sheet of every workbook a glob matches)."""
    sheets: list[str] = []

    def read_one(path: str) -> tuple[pd.DataFrame, list[str]]:
        frame, sheet, warnings = _read_one(config, path)
        sheets.append(sheet)
        return frame, warnings

    frame, warnings, location = read_files(config, read_one)
    return SourceData(config.name, "xlsx", location, sheets[0], datetime.now(UTC), frame, warnings)
