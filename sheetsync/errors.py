"""One root for every error sheetsync raises on purpose, each with its exit code.

Like gspread's `GSpreadException`, `SheetsyncError` lets a caller catch everything sheetsync
means to report with one `except`, while each subclass says how the run ends (`exit_code`) and
where the problem is (`file`, `key`, `source`, `sheet`, `row`), so the CLI and the scheduler
turn any of them into the same one-line message and exit status. Anything else that escapes
is a bug.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """How a command ends, for shells, cron and systemd."""

    OK = 0
    FAILED = 1  # the run could not finish
    CONFIG = 2  # the config (or a command-line value) is wrong: nothing was run
    STALE = 3  # the run finished, but some numbers are old or missing because a source failed
    BUSY = 4  # another sheetsync holds the project's lock


class SheetsyncError(Exception):
    """Root of sheetsync's errors; `str()` is the one line shown to the user."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED
    file: str | None = None
    key: str | None = None
    source: str | None = None
    sheet: str | None = None
    row: int | None = None

    @property
    def where(self) -> dict[str, str | int]:
        """Where the problem is, as far as it is known (for logs and the JSON)."""
        names = ("file", "key", "source", "sheet", "row")
        return {name: value for name in names if (value := getattr(self, name)) is not None}


class ConfigError(SheetsyncError, ValueError):
    """A config problem, already phrased as one line for the user."""

    exit_code = ExitCode.CONFIG

