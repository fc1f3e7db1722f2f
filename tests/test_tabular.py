"""Grids of Python values (a workbook's cells, a Google Sheet's values) into frames: one typed array a column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.tabular import columns_frame, frame_from_columns, frame_from_rows, grid_frame, typed_column
from sheetsync.core.sources import ROW_COLUMN


def test_typed_column_one_dtype_where_every_cell_agrees() -> None:
    assert typed_column([1, "", 2.5]).dtype == np.float64  # numbers, a blank between
    text = typed_column(["a", "", None, "b"])
    assert pd.api.types.is_string_dtype(text) and pd.isna(text[1]) and pd.isna(text[2])
    mixed = typed_column([3, "n/a", ""])
    assert mixed.dtype == object and list(mixed) == [3, "n/a", None]  # left for the core's parsers
    assert typed_column([True, "", False]).dtype == object
    assert typed_column(["", ""]).dtype == object and pd.isna(typed_column(["", ""])).all()


def test_ragged_rows_and_a_range_right_of_column_a() -> None:
    rows = [["Day", "", "Name"], [46342, 1, "Ann"], [46343], [], [None, 2]]
    frame, warnings = grid_frame(rows, lead_columns=2, skipped_rows=4)
    assert list(frame.columns) == ["Day", "D", "Name", ROW_COLUMN]  # blank header after the sheet's letter
    assert frame["Day"].dtype == np.float64
    assert frame["D"].tolist()[0::2] == [1.0, 2.0] and pd.isna(frame["D"][1])
    assert frame[ROW_COLUMN].tolist() == [6, 7, 9]  # the empty row dropped, sheet rows kept
    assert warnings == []
    by_columns, same_warnings = columns_frame([list(c) for c in zip(*[r + [""] * (3 - len(r)) for r in rows],
                                                                     strict=True)], lead_columns=2, skipped_rows=4)
    pd.testing.assert_frame_equal(frame, by_columns)
    assert same_warnings == warnings


def test_frame_from_columns_is_frame_from_rows_without_the_frame() -> None:
    body = pd.DataFrame({0: [1.0, np.nan, 3.0], 1: pd.array(["x", None, "z"], dtype="str"),
                         2: np.array([None, None, None], dtype=object)})
    headers: list[object] = ["a", "b", None]
    via_rows = frame_from_rows(headers, body, first_row=2, rename={"b": "B"})
    columns = [body[0].to_numpy(), body[1].array, body[2].to_numpy()]
    via_columns = frame_from_columns(headers, columns, 3, first_row=2, rename={"b": "B"})
    pd.testing.assert_frame_equal(via_rows[0], via_columns[0])
    assert list(via_rows[0].columns) == ["a", "B", ROW_COLUMN] and via_rows[1] == via_columns[1]


def test_a_row_is_dropped_only_when_every_cell_is_blank_whatever_the_column_order() -> None:
    """Typed columns are asked first; a row with text in a later column alone still counts."""
    text = pd.array(["a", "", None, "", "e"], dtype="str")
    numbers = np.array([1.0, np.nan, np.nan, np.nan, 5.0])
    more_text = pd.array(["", "", "", "kept", ""], dtype="str")
    for order in ([text, numbers, more_text], [numbers, more_text, text], [more_text, text, numbers]):
        headers: list[object] = [f"c{i}" for i in range(3)]
        frame, _ = frame_from_columns(headers, order, 5, first_row=2)
        assert frame[ROW_COLUMN].tolist() == [2, 5, 6]  # rows 3 and 4 blank in every column
