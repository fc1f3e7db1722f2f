"""One root for every error sheetsync raises on purpose, each with its exit code.

Like gspread's `GSpreadException`, `SheetsyncError` lets a caller catch everything sheetsync
means to report with one `except`, while each subclass says how the run ends (`exit_code`) and
where the problem is (`file`, `key`, `source`, `sheet`, `row`), so the CLI and the scheduler
turn any of them into the same one-line message and exit status. Anything else that escapes
is a bug.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, Self


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
    #: The fields that say where the problem is, in the order `where` lists them; a subclass
    #: with places of its own (a mail server, a spreadsheet) adds its names to these.
    location_fields: ClassVar[tuple[str, ...]] = ("file", "key", "source", "sheet", "row")
    file: str | None = None
    key: str | None = None
    source: str | None = None
    sheet: str | None = None
    row: int | None = None

    def __init__(
        self,
        *args: object,
        file: str | None = None,
        key: str | None = None,
        source: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(*args)
        self.locate(file=file, key=key, source=source, sheet=sheet, row=row)

    def locate(self, **where: object) -> Self:
        """Record where the problem is (names from `location_fields`; None leaves one as it was)."""
        for name, value in where.items():
            if name not in self.location_fields:
                raise TypeError(f"{type(self).__name__} has no location field {name!r}")
            if value is not None:  # a subclass may have set it already
                setattr(self, name, value)
        return self

    @property
    def where(self) -> dict[str, object]:
        """Where the problem is, as far as it is known (for logs and the JSON)."""
        return {
            name: value
            for name in self.location_fields
            if (value := getattr(self, name, None)) is not None and value != ()
        }

    def __reduce__(self) -> tuple[Any, ...]:
        """Copied and pickled as it is, without calling `__init__` again.

        Subclasses take arguments of their own (a lock's holder, a webhook's `transient`), which
        the default (`cls(*args)`) would not pass: one failure kept for several messages is
        copied so each copy can name its own outbox file, and errors cross process pools.
        """
        return (_restore, (type(self), self.args, dict(vars(self))))


def _restore(cls: type[SheetsyncError], args: tuple[object, ...], state: dict[str, Any]) -> SheetsyncError:
    error = cls.__new__(cls)
    error.args = args
    vars(error).update(state)
    return error


class ConfigError(SheetsyncError, ValueError):
    """A config problem, already phrased as one line for the user."""

    exit_code = ExitCode.CONFIG


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit status a failure ends a command with: the CLI and the scheduler both ask here.

    A `SheetsyncError` says its own; anything else is a bug, and the run could not finish.
    """
    return exc.exit_code if isinstance(exc, SheetsyncError) else ExitCode.FAILED


_SAYS_MOST = (ExitCode.OK, ExitCode.STALE, ExitCode.FAILED, ExitCode.CONFIG, ExitCode.BUSY)


def worst(*codes: int) -> ExitCode:
    """The exit code of steps run one after another (a sync, then the digest): the one that says most.

    Stale numbers (3) outrank success, a step that could not finish (1) outranks stale numbers.
    """
    return max((ExitCode(code) for code in codes), key=_SAYS_MOST.index, default=ExitCode.OK)
