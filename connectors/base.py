"""What every source connector raises (and, from the core, what it returns)."""

from __future__ import annotations

from sheetsync.core.sources import ROW_COLUMN, SourceData
from sheetsync.errors import ExitCode, SheetsyncError

__all__ = [
    "ROW_COLUMN",
    "SourceAccessDenied",
    "SourceData",
    "SourceError",
    "SourceFormatError",
    "SourceNotFound",
    "SourceUnavailable",
]

class SourceError(SheetsyncError):
    """A source that could not be read; the message names the source, file/sheet and row.

    The run goes on without that source's numbers, so it ends as a run with stale data.
    """

    exit_code = ExitCode.STALE

    def __init__(
        self,
        message: str,
        *,
        source: str,
        location: str,
        sheet: str | None = None,
        row: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.location = location
        self.file = location  # a path, or a spreadsheet's URL
        self.sheet = sheet
        self.row = row
        super().__init__(str(self), key=key)

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
