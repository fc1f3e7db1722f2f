"""What every source connector returns and raises."""

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


class SourceError(Exception):
    """A source that could not be read; the message names the source, file/sheet and row."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        location: str,
        sheet: str | None = None,
        row: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.location = location
        self.sheet = sheet
        self.row = row
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.location
        if self.sheet:
            where += f", sheet {self.sheet!r}"
        if self.row is not None:
            where += f", row {self.row}"
        return f"source {self.source!r} ({where}): {self.message}"


class SourceNotFound(SourceError):
    """The file, spreadsheet or sheet is not there."""


class SourceFormatError(SourceError):
    """The source is there but is not the kind of table we can read."""


class SourceAccessDenied(SourceError):
    """The source exists but our credentials may not read it."""


class SourceUnavailable(SourceError):
    """The service kept failing (quota, 5xx, network) until the retry budget ran out."""
