"""What a source connector hands the core: the rows it read, and where and when it read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

ROW_COLUMN = "__row__"
"""Frame column holding each row's number in the original sheet, for messages users can act on."""


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
        return [c for c in self.frame.columns if c != ROW_COLUMN]
