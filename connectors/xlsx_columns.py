"""The common .xlsx sheet read straight into typed columns, with no Python value per cell.

calamine's Python values cost an object per cell, then a pass per column to type them: at
the benchmark's sizes that was two thirds of reading a workbook. fastexcel parses with the
same calamine and types each column in Rust, handing over Arrow arrays. Its answer is taken
only where it is the general reader's (`xlsx_source`): every column of one kind under a
header cell of text, the header row inside the sheet's used range, and a value for every
cell the sheet's XML fills (`xlsx_scan`). fastexcel reads an error cell, a formula with no
saved result, and "N/A", "NULL" and the like in a typed column as blanks, where the general
reader names them. Anything else (numbers mixed with text, a blank or date header, times of
day) returns None and the general reader takes the sheet.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.xlsx_scan import cells_below, first_value_row

# fastexcel logs (through `logging`) each column it cannot type from its values alone, an
# all-empty one: not news to a sheetsync user, whose reader decides what such a column is.
logging.getLogger("fastexcel.types.dtype").setLevel(logging.ERROR)

_RENAMED = re.compile(r"(.+)_[0-9]+")  # fastexcel's suffix for a repeated header: the name is not the cell's
_EXCEL_EPOCH_MS = -2_208_988_800_000  # 1900-01-01: below it a "datetime" is a time of day or a duration
_DAY_MS = 86_400_000


def typed_frame(data: bytes, sheet: str, header_row: int, xml: bytes) -> tuple[list[str], list[object], int] | None:
    """The header names, the columns' arrays under them and their height, or None for the general reader.

    `xml` is the sheet's own XML (`xlsx_scan.sheet_xml`), which the answer is checked against.
    """
    first = first_value_row(xml)
    if first is None or header_row < first:
        return None  # above the used range fastexcel would take the range's first row as the header
    expected = cells_below(xml, header_row)
    if expected is None:
        return None
    import fastexcel

    try:
        loaded = fastexcel.read_excel(data).load_sheet(
            sheet, header_row=header_row - 1, schema_sample_rows=None, dtype_coercion="strict"
        )
        batch = loaded.to_arrow()
    except Exception:  # FastExcelError and its kinds: a column of mixed cells above all
        return None
    columns = loaded.selected_columns
    names = [column.name for column in columns]
    if any(column.column_name_from != "looked_up" for column in columns) or not _plain_names(names):
        return None
    held = sum(len(values) - values.null_count for values in batch.columns)
    if held != expected:
        return None  # a cell read as blank: an error, an unsaved formula, "N/A" or "NULL" in a typed column
    typed = [_typed(column.dtype, values) for column, values in zip(columns, batch.columns, strict=True)]
    if any(values is None for values in typed):
        return None
    return names, typed, batch.num_rows


def _plain_names(names: list[str]) -> bool:
    """Names that are their header cells' text: not a number, not renamed for a repeat."""
    present = set(names)
    for name in names:
        repeat = _RENAMED.fullmatch(name)
        if repeat and repeat[1] in present:
            return False
        try:
            float(name)
        except ValueError:
            continue
        return False  # a number cell's text is fastexcel's rendering, not the general reader's
    return True


def _typed(kind: str, values: pa.Array) -> object:
    """One column as the general reader types it (`tabular.typed_column`), or None."""
    if kind in ("float", "int"):
        numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if kind == "float" and pc.any(pc.is_nan(values)).as_py():
            return None  # no Excel number is NaN: the text "nan" was read as one
        return numbers
    if kind == "string":
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        if values.null_count == len(values):
            return np.full(len(values), None, dtype=object)
        return pd.array(values, dtype="str")  # as `typed_column` and the CSV reader give text
    if kind == "boolean":
        return np.array(values.to_pylist(), dtype=object)
    if kind in ("date", "datetime"):
        stamps = values.cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False)
        ms = stamps[~np.isnat(stamps)].astype(np.int64)
        if len(ms) and ms.min() < _EXCEL_EPOCH_MS:
            return None  # calamine gives these as times and timedeltas
        # calamine hands a midnight as a date, and pandas gives dates seconds, datetimes microseconds.
        unit = "s" if not (ms % _DAY_MS).any() else "us"
        return stamps.astype(f"datetime64[{unit}]")
    return None  # durations, and any kind fastexcel may add
