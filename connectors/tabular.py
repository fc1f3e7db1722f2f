"""Turn a raw grid of cells into a frame with clean, unique headers.

Shared by every connector so that a blank or duplicate header, a header row further
down, or trailing empty rows behave the same whether the grid came from a CSV file,
a workbook or a Google Sheet.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from connectors.base import ROW_COLUMN


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the name a spreadsheet shows for a column."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def frame_from_grid(
    grid: pd.DataFrame,
    *,
    header_row: int = 1,
    rename: Mapping[str, str] | None = None,
    skipped_rows: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """Split a headerless grid into headers and data rows.

    `header_row` is 1-based, as a person counts rows in a sheet; `skipped_rows` says how
    many sheet rows were dropped before the grid started (so row numbers stay the sheet's).
    Returns the frame (with `ROW_COLUMN` holding each row's sheet row number) and warnings.
    """
    warnings: list[str] = []
    if len(grid) < header_row:
        return pd.DataFrame({ROW_COLUMN: pd.Series([], dtype="int64")}), [
            "the sheet is empty: no header row" if len(grid) == 0 else f"no header at row {header_row}"
        ]
    headers = grid.iloc[header_row - 1].tolist()
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, header in enumerate(headers):
        letter = column_letter(position)
        if _is_blank(header):
            name = letter
        elif isinstance(header, float) and header.is_integer():
            name = str(int(header))
        else:
            name = str(header).strip()
        if name in seen:
            seen[name] += 1
            unique = f"{name}_{seen[name]}"
            while unique in seen:
                seen[name] += 1
                unique = f"{name}_{seen[name]}"
            warnings.append(f"duplicate header {name!r} in column {letter} renamed to {unique!r}")
            name = unique
        seen.setdefault(name, 1)
        names.append(name)
    data = grid.iloc[header_row:].copy()
    data.columns = names
    first = skipped_rows + header_row + 1
    data[ROW_COLUMN] = range(first, first + len(data))
    # Drop rows with nothing in them (sheets pad with empty rows; CSV exports end with them).
    value_part = data.drop(columns=[ROW_COLUMN])
    if len(value_part.columns):
        filled = value_part.notna()
        for col in value_part.columns:
            if value_part[col].dtype == object or pd.api.types.is_string_dtype(value_part[col]):
                filled[col] = filled[col] & (value_part[col].astype("string").str.strip() != "").fillna(False)
        data = data[filled.any(axis=1)]
    # Blank-named columns with no values at all are padding, not data.
    for position, name in enumerate(names):
        if name == column_letter(position) and _is_blank(headers[position]) and data[name].isna().all():
            data = data.drop(columns=[name])
    if rename:
        data = data.rename(columns=dict(rename))
    if data.empty:
        warnings.append("the sheet has a header but no data rows")
    return data.reset_index(drop=True), warnings
