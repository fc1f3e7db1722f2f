"""What a source connector hands the core: the rows it read, and where and when it read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

ROW_COLUMN = "__row__"
"""Frame column holding each row's number in the original sheet, for messages users can act on."""

FILE_COLUMN = "__file__"
"""Frame column naming the file each row came from, in a source that stacks several (a glob):
"row 3" alone would not say which file's third row."""

BOOKKEEPING_COLUMNS = frozenset({ROW_COLUMN, FILE_COLUMN})
"""The columns a connector adds for messages, never the sheet's own."""


def row_name(frame: pd.DataFrame, label: Any) -> str:
    """'row 14', or 'row 14 of b.csv' in a stacked source: where the cell at index `label` is."""
    if ROW_COLUMN not in frame.columns:
        return f"row {label}"
    row = f"row {int(frame.at[label, ROW_COLUMN])}"
    return f"{row} of {frame.at[label, FILE_COLUMN]}" if FILE_COLUMN in frame.columns else row


def row_name_at(frame: pd.DataFrame, position: int) -> str:
    """`row_name` of the row at `position` (0-based) in the frame."""
    if ROW_COLUMN not in frame.columns:
        return f"row {position}"
    row = f"row {int(frame[ROW_COLUMN].iloc[position])}"
    return f"{row} of {frame[FILE_COLUMN].iloc[position]}" if FILE_COLUMN in frame.columns else row


@dataclass
class SourceData:
    """Rows read from one source, with where and when they were read."""

    name: str
    type: str
    location: str
    sheet: str | None
    fetched_at: datetime
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    # A warehouse source (sql, parquet) sends no rows: the engine computed each KPI's values
    # per window (`sheetsync.core.windows`), or the reason it could not.
    kpi_values: Mapping[str, Any] | None = None
    kpi_errors: Mapping[str, str] = field(default_factory=dict)
    row_count: int | None = None  # rows the engine read, when no frame holds them
    table_columns: tuple[str, ...] | None = None
    queries: int = 0  # statements the engine ran for this source
    # A sheet source prepared as soon as it was read (`sheetsync.runtime.pipeline.prepare_source`):
    # its KPIs' rows are in `kpi_values` and the frame is released. `unusable` says why no KPI
    # can use its rows (its filter failed); `kpi_warnings` are the cells its KPIs skipped.
    unusable: str | None = None
    kpi_warnings: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.frame) if self.row_count is None else self.row_count

    @property
    def columns(self) -> list[str]:
        if self.table_columns is not None:
            return list(self.table_columns)
        return [c for c in self.frame.columns if c not in BOOKKEEPING_COLUMNS]
