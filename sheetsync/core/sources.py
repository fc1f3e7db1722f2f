"""What a source connector hands the core: the rows it read, and where and when it read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c != ROW_COLUMN]
