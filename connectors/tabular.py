"""Turn a raw grid of cells into a frame with clean, unique headers.

Shared by every connector so that a blank or duplicate header, a header row further
down, or trailing empty rows behave the same whether the grid came from a CSV file,
a workbook or a Google Sheet. Grids of Python values (a workbook's cells, a Google Sheet's
values) become frames column by column (`grid_frame`), each column typed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import zip_longest
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from sheetsync.core.display import shown
from sheetsync.core.sheet_range import column_letter
from sheetsync.core.sources import BOOKKEEPING_COLUMNS, ROW_COLUMN
from sheetsync.core.suggest import did_you_mean
from sheetsync.errors import ExitCode, SheetsyncError

_ODD_SPACES = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " "})


def header_name(text: str) -> str:
    """A header as a user types it: no-break spaces (Excel's and Sheets' exports hold them) made
    plain spaces, the ends trimmed. 'Gross\u00a0Amount' looks like 'Gross Amount' everywhere;
    `column = "Gross Amount"` finds it, and so does a `rename` key written either way."""
    return text.translate(_ODD_SPACES).strip()


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def unique_headers(headers: list[object]) -> tuple[list[str], list[str]]:
    """Column names from a header row: blanks named by column letter, repeats suffixed."""
    names: list[str] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for position, header in enumerate(headers):
        letter = column_letter(position)
        if _is_blank(header):
            name = letter
        elif isinstance(header, float) and header.is_integer():
            name = str(int(header))
        else:
            name = header_name(str(header))
        if name in seen:
            seen[name] += 1
            unique = f"{name}_{seen[name]}"
            while unique in seen:
                seen[name] += 1
                unique = f"{name}_{seen[name]}"
            warnings.append(f"duplicate header '{shown(name)}' in column {letter} renamed to '{shown(unique)}'")
            name = unique
        seen.setdefault(name, 1)
        names.append(name)
    return names, warnings


class HeaderError(SheetsyncError, ValueError):
    """The header row cannot give every column one name (the caller adds source and file)."""

    exit_code = ExitCode.STALE


def _checked_rename(rename: Mapping[str, str], columns: list[str]) -> dict[str, str]:
    """`rename` (its keys as `header_name` makes headers), refused when it would give two columns one name."""
    rename = {header_name(old): new for old, new in rename.items()}
    after = [rename.get(c, c) for c in columns]
    for old, new in rename.items():
        if old in columns and after.count(new) > 1:
            raise HeaderError(f"rename {old!r} -> {new!r}: the sheet already has a column {new!r}")
    return dict(rename)


def frame_from_rows(
    headers: list[object],
    data: pd.DataFrame,
    *,
    first_row: int,
    rename: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Name `data`'s columns from a header row; `first_row` is the sheet row of data's first row.

    Empty rows are dropped (sheets pad with them; CSV exports end with them), and so are
    unnamed columns holding nothing. Returns the frame, with `ROW_COLUMN` holding each
    row's sheet row number, and warnings for the user. The frame is built once from the
    columns' arrays: every source of every sync comes through here, and pandas' per-call
    costs (a concat, a column lookup per test, a reset index) were 2 ms a source.
    """
    columns = [_values(column) for _, column in data.items()]
    return frame_from_columns(headers, columns, len(data), first_row=first_row, rename=rename)


def frame_from_columns(
    headers: list[object],
    columns: list[Any],
    count: int,
    *,
    first_row: int,
    rename: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """`frame_from_rows` for a body given as one array per column, each `count` long.

    Numpy arrays of dtype object stay objects; other numpy and pandas arrays keep their
    dtype. Readers that build their columns themselves (`grid_frame`) skip a frame that
    would only be taken apart again.
    """
    width = max(len(headers), len(columns))
    headers = list(headers) + [None] * (width - len(headers))
    names, warnings = unique_headers(headers)
    if kept := BOOKKEEPING_COLUMNS.intersection(names):
        raise HeaderError(f"a column is named {min(kept)!r}, which sheetsync keeps for its messages; rename it")
    columns = list(columns)
    columns += [np.full(count, None, dtype=object) for _ in range(width - len(columns))]  # a header wider than any row
    rows = np.arange(first_row, first_row + count)
    filled: np.ndarray | None = None
    # A row is kept when any cell holds something: one column with every cell filled decides,
    # and a typed column answers that cheaply (missing values only), text must also be compared
    # with "", so typed columns are asked first.
    for values in sorted(columns, key=_is_text):
        present = _present(values)
        filled = present if filled is None else filled | present
        if filled.all():
            break
    if filled is not None and not filled.all():
        kept = np.flatnonzero(filled)
        columns = [values.take(kept) for values in columns]
        rows = rows[kept]
    named = {
        name: values
        for position, (name, values) in enumerate(zip(names, columns, strict=True))
        if not (_is_blank(headers[position]) and pd.isna(values).all())
    }
    if rename:
        renames = _checked_rename(rename, list(named))
        named = {renames.get(name, name): values for name, values in named.items()}
        for old, new in renames.items():
            if old not in names and new not in names:  # a typo in `rename` must not pass in silence
                warnings.append(f"rename {old!r} -> {new!r}: the sheet has no column {old!r}"
                                f"{did_you_mean(old, names)}")
    # Python objects stay objects: given as an array, pandas would infer `str` for text.
    kept_types = {name: pd.Series(v, dtype=object, copy=False) if v.dtype == object else v for name, v in named.items()}
    frame = pd.DataFrame({**kept_types, ROW_COLUMN: rows}, copy=False)
    if frame.empty:
        warnings.append("the sheet has a header but no data rows")
    return frame, warnings


def _values(column: pd.Series) -> Any:
    """A column's own array: numpy's for numpy dtypes, the extension array otherwise."""
    values = column.array
    return values.to_numpy() if isinstance(values, pd.arrays.NumpyExtensionArray) else values


def _is_text(values: Any) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)


def _present(values: Any) -> np.ndarray:
    """Which cells hold something: not missing, and for text not the empty string."""
    present = ~np.asarray(pd.isna(values), dtype=bool)
    if len(values) and _is_text(values):
        present &= np.asarray(values != "", dtype=bool)
    return present


def frame_from_grid(
    grid: pd.DataFrame,
    *,
    header_row: int = 1,
    rename: Mapping[str, str] | None = None,
    skipped_rows: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """Split a headerless grid into its header row and the data rows under it.

    `header_row` is 1-based, as a person counts rows in a sheet; `skipped_rows` says how
    many sheet rows were dropped before the grid started (so row numbers stay the sheet's).
    """
    if len(grid) < header_row:
        return pd.DataFrame({ROW_COLUMN: pd.Series([], dtype="int64")}), [
            "the sheet is empty: no header row" if len(grid) == 0 else f"no header at row {header_row}"
        ]
    headers = grid.iloc[header_row - 1].tolist()
    data = grid.iloc[header_row:].reset_index(drop=True)
    data.columns = range(len(data.columns))
    return frame_from_rows(headers, data, first_row=skipped_rows + header_row + 1, rename=rename)


_NUMBER_KINDS = frozenset({"floating", "integer", "mixed-integer-float"})
_DATE_KINDS = frozenset({"date", "datetime"})


def typed_column(cells: Sequence[object]) -> np.ndarray | ExtensionArray:
    """One sheet column: blanks ("" or None) as missing, one dtype where every cell agrees.

    Numbers become float64, dates datetime64 and text pandas' ``str`` (the core then reads
    them without a Python loop); booleans and anything mixed stay Python values for the
    core's parsers.
    """
    values = np.array(cells, dtype=object)
    if not len(values):
        return values
    blank = values == ""
    if blank.any():
        values[blank] = None
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in _NUMBER_KINDS:
        return values.astype(np.float64)  # None -> NaN
    if kind == "string":
        return pd.array(values, dtype="str")
    if kind in _DATE_KINDS:
        try:
            return np.asarray(pd.to_datetime(values))
        except (ValueError, TypeError, OverflowError):  # out of pandas' range: the core parser decides
            return values
    return values


def grid_frame(
    rows: Sequence[Sequence[object]],
    *,
    header_row: int = 1,
    rename: Mapping[str, str] | None = None,
    skipped_rows: int = 0,
    lead_columns: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """`frame_from_grid` for a grid of Python values given row by row, built column by column.

    Rows may be ragged (Google trims each row's trailing blanks): short ones read as blank.
    `lead_columns` blank columns come first, for a range that starts right of column A, so
    blank headers are named after the sheet's own column letters.
    """
    columns = list(zip_longest(*rows, fillvalue=""))  # transposed and padded in one pass
    return _typed_frame(columns, len(rows), header_row, rename, skipped_rows, lead_columns)


def columns_frame(
    columns: Sequence[Sequence[object]],
    *,
    header_row: int = 1,
    rename: Mapping[str, str] | None = None,
    skipped_rows: int = 0,
    lead_columns: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """`grid_frame` for a grid given column by column (Google's ``majorDimension=COLUMNS``).

    Columns may be ragged (each trimmed of its trailing blanks): the grid is as tall as the
    longest, an empty column in between is ``[]``.
    """
    height = max(map(len, columns), default=0)
    return _typed_frame(columns, height, header_row, rename, skipped_rows, lead_columns)


def _typed_frame(
    columns: Sequence[Sequence[object]],
    height: int,
    header_row: int,
    rename: Mapping[str, str] | None,
    skipped_rows: int,
    lead_columns: int,
) -> tuple[pd.DataFrame, list[str]]:
    """The frame of a grid `height` rows tall given as (possibly short) columns."""
    if height < header_row:  # no header row: frame_from_grid says so (only the height matters)
        return frame_from_grid(pd.DataFrame(index=range(height)), header_row=header_row, skipped_rows=skipped_rows)
    size = height - header_row
    headers: list[object] = [None] * lead_columns
    data: list[Any] = [np.full(size, None, dtype=object) for _ in range(lead_columns)]
    for column in columns:
        header = column[header_row - 1] if len(column) >= header_row else None
        headers.append(None if header == "" else header)
        cells = column[header_row:]
        if len(cells) < size:
            cells = [*cells, *[""] * (size - len(cells))]
        data.append(typed_column(cells))
    return frame_from_columns(headers, data, size, first_row=skipped_rows + header_row + 1, rename=rename)
