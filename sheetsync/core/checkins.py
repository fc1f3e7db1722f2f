"""What owners' check-ins mean: confidence, the week they belong to, and which one counts.

A check-in is a KR owner's weekly word next to the computed number: a confidence
(on track, at risk, off track), a sentence on why, and for manual key results the value
itself. They arrive as rows, from the tracker's Check-ins tab or from any configured source
(a Google Form's response sheet, a sheet, a CSV), and this module turns those rows into
`CheckIn`s, strictly: a row it cannot read is a warning naming the row, never a guess.

A check-in belongs to the ISO week of its date (a Check-ins tab row to the week it was
written for); the latest one per KR and week wins, and every one is kept in the history.

Pure: rows in, check-ins and warnings out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from sheetsync.core.dates import DateFormatError, excel_serial_to_timestamp, parse_date
from sheetsync.core.model import ObjectiveConfig
from sheetsync.core.numbers import NumberFormatError, is_missing, parse_number
from sheetsync.core.periods import Period
from sheetsync.core.sheet_range import column_letter
from sheetsync.core.snapshot import week_key
from sheetsync.core.sources import BOOKKEEPING_COLUMNS, FILE_COLUMN
from sheetsync.errors import ExitCode, SheetsyncError

CONFIDENCES = ("on_track", "at_risk", "off_track")
"""Owner confidence levels, best first (the same words as the computed statuses)."""

CONFIDENCE_LABELS = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
"""What a person picks in the Check-ins tab's drop-down, and what the outputs show."""

MAX_COMMENT = 500
"""Characters kept of a comment: a check-in is a sentence, not a report (longer text is cut, with a warning)."""
MAX_NAME = 100

TRACKER_ORIGIN = "tracker"
"""The origin of check-ins typed into the tracker's own Check-ins tab."""

_WORDS = {
    "on track": "on_track", "green": "on_track", "good": "on_track", "g": "on_track",
    "at risk": "at_risk", "yellow": "at_risk", "amber": "at_risk", "orange": "at_risk", "y": "at_risk",
    "off track": "off_track", "red": "off_track", "r": "off_track",
    "🟢": "on_track", "🟡": "at_risk", "🟠": "at_risk", "🔴": "off_track",
}  # fmt: skip
_SEPARATORS = re.compile(r"[\s_\-]+")
_OUT_OF_TEN = re.compile(r"^(?P<n>\d+(?:[.,]\d+)?)\s*(?:/\s*10)?$")
_WEEK = re.compile(r"^\s*(?P<year>\d{4})-?W(?P<week>\d{1,2})\s*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CheckInError(SheetsyncError, ValueError):
    """One cell of a check-in cannot be read; the message says what was expected."""

    exit_code = ExitCode.STALE


class CheckinsTabError(SheetsyncError):
    """The tracker's Check-ins tab holds rows under no header sheetsync can read: the sync stops
    before the tracker is rewritten, or the owners' rows would be replaced by blank ones."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class CheckIn:
    """One owner's check-in on one key result."""

    kr_id: str
    week: str  # ISO week key, 2026-W48
    when: dt.datetime  # naive, in the project's time zone; orders check-ins within a week
    confidence: str | None = None  # on_track | at_risk | off_track
    comment: str | None = None
    value: float | None = None
    by: str | None = None
    origin: str = TRACKER_ORIGIN  # "tracker", or the name of the source it came from
    row: int | None = None  # the row in its sheet, for messages

    @property
    def date(self) -> dt.date:
        return self.when.date()

    @property
    def empty(self) -> bool:
        return self.confidence is None and self.comment is None and self.value is None

    def to_dict(self) -> dict[str, Any]:
        """The results JSON's `key_results[].checkin`."""
        return {
            "week": self.week,
            "date": self.date.isoformat(),
            "confidence": self.confidence,
            "comment": self.comment,
            "value": self.value,
            "by": self.by,
        }


@dataclass(frozen=True)
class CheckInColumns:
    """The column holding each part of a check-in, by header name."""

    kr: str = "Key result"
    date: str = "Date"
    confidence: str = "Confidence"
    comment: str = "Comment"
    value: str = "Value"
    by: str = "By"


# --- cells ---------------------------------------------------------------------------------


def parse_confidence(value: object) -> str | None:
    """'on track', 'Green', 8 or '8/10' -> 'on_track'; None for an empty cell.

    Accepted: on track / at risk / off track (any case, spaces, _ or -), green / yellow
    (amber) / red, and 1-10 with 7-10 on track, 4-6 at risk, 1-3 off track.
    """
    if value is None or isinstance(value, bool) or is_missing(value):
        if isinstance(value, bool):
            raise CheckInError(f"expected on track, at risk or off track, got {value!r}")
        return None
    if isinstance(value, int | float):
        return _out_of_ten(float(value), value)
    text = _SEPARATORS.sub(" ", str(value).strip().casefold()).strip()
    if text in _WORDS:
        return _WORDS[text]
    if text.replace(" ", "") in {w.replace(" ", "") for w in _WORDS}:
        return next(v for w, v in _WORDS.items() if w.replace(" ", "") == text.replace(" ", ""))
    match = _OUT_OF_TEN.match(text)
    if match:
        return _out_of_ten(float(match["n"].replace(",", ".")), value)
    raise CheckInError(f"expected on track, at risk or off track (or green/yellow/red, or 1-10), got {value!r}")


def _out_of_ten(number: float, original: object) -> str:
    if not math.isfinite(number) or not 1 <= number <= 10:
        raise CheckInError(f"a confidence score is between 1 and 10, got {original!r}")
    if number >= 7:
        return "on_track"
    if number >= 4:
        return "at_risk"
    return "off_track"


def clean_text(value: object, limit: int, what: str) -> tuple[str | None, str | None]:
    """Typed text as data: control characters dropped, trimmed, cut at `limit` (and a warning)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None, None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _CONTROL.sub("", str(value)).strip()
    if not text:
        return None, None
    if len(text) > limit:
        return text[: limit - 1].rstrip() + "…", f"{what} cut to {limit} characters (it had {len(text)})"
    return text, None


def parse_when(value: object, *, dayfirst: bool = False, tz: str | None = None) -> dt.datetime | None:
    """A check-in's date or timestamp (a Form's `12/1/2026 14:03:22`), None when empty.

    A timestamp with a UTC offset (`2026-11-29T20:00:00Z`, an export's) is the project's
    wall-clock time in `tz`, so it falls on the day and in the week its owner lived it.
    """
    if value is None or is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, str) and (aware := _with_offset(value)) is not None:
        value = aware
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and tz is not None:
            value = value.astimezone(ZoneInfo(tz))
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return excel_serial_to_timestamp(value).to_pydatetime().replace(microsecond=0)
        except DateFormatError as exc:
            raise CheckInError(str(exc)) from None
    try:
        day = parse_date(value, dayfirst=dayfirst)
    except DateFormatError as exc:
        raise CheckInError(str(exc)) from None
    if day is None:
        return None
    return dt.datetime.combine(day, _time_of(str(value)))


def _with_offset(text: str) -> dt.datetime | None:
    """An ISO 8601 timestamp that carries its UTC offset (or Z); None for anything else."""
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


_TIME = re.compile(r"(?<!\d)(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?", re.IGNORECASE)


def _time_of(text: str) -> dt.time:
    """The time of day in a timestamp's text (for ordering check-ins on the same day)."""
    match = _TIME.search(text)
    if not match:
        return dt.time()
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if match["ampm"]:
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        return dt.time()
    return dt.time(hour, minute, second)


def parse_week(value: object) -> str | None:
    """'2026-W48' (also '2026W48', '2026-w48') -> '2026-W48'; None when it is not a week."""
    if value is None or not isinstance(value, str):
        return None
    match = _WEEK.match(value)
    if not match:
        return None
    year, week = int(match["year"]), int(match["week"])
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return None
    return f"{year}-W{week:02d}"


def week_end(week: str) -> dt.date:
    """The Sunday that ends an ISO week."""
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 7)


# --- rows ----------------------------------------------------------------------------------


class KRMatcher:
    """Finds the KR a row names: its id, its title, or text that starts with its id ("O1-KR1: ...")."""

    def __init__(self, krs: Mapping[str, str]) -> None:
        self.by_id = {kr_id.casefold(): kr_id for kr_id in krs}
        self.by_title = {title.strip().casefold(): kr_id for kr_id, title in krs.items() if title}
        self.ids = sorted(krs, key=len, reverse=True)

    def find(self, value: object) -> str | None:
        if value is None or is_missing(value):
            return None
        text = str(value).strip()
        key = text.casefold()
        if key in self.by_id:
            return self.by_id[key]
        if key in self.by_title:
            return self.by_title[key]
        for kr_id in self.ids:
            if key.startswith(kr_id.casefold()) and not key[len(kr_id) : len(kr_id) + 1].isalnum():
                return kr_id
        return None


@dataclass(frozen=True)
class RowCells:
    """One row's raw cells, by check-in part (missing parts None), and its sheet row number."""

    row: int | None
    kr: object = None
    when: object = None
    confidence: object = None
    comment: object = None
    value: object = None
    by: object = None
    week: object = None  # the Check-ins tab's Week column


def read_row(
    cells: RowCells,
    matcher: KRMatcher,
    *,
    where: str,
    origin: str,
    default_when: dt.datetime | None = None,
    default_week: str | None = None,
    dayfirst: bool = False,
    decimal: str = ".",
    thousands: str | None = None,
    tz: str | None = None,
) -> tuple[CheckIn | None, list[str]]:
    """One row as a check-in, with a warning per cell it could not read.

    `where` names the place for messages ("checkins source 'form' row 7"). Rows with no
    confidence, comment or value are not check-ins (None, no warning). A row whose KR or
    date cannot be read is skipped with a warning; a bad confidence or value is dropped
    from an otherwise good check-in, with a warning.
    """
    warnings: list[str] = []
    confidence: str | None = None
    try:
        confidence = parse_confidence(cells.confidence)
    except CheckInError as exc:
        warnings.append(f"{where}: Confidence: {exc}")
    value: float | None = None
    try:
        value = parse_number(cells.value, decimal=decimal, thousands=thousands)
    except NumberFormatError as exc:
        warnings.append(f"{where}: Value: {exc}")
    comment, cut = clean_text(cells.comment, MAX_COMMENT, "Comment")
    if cut:
        warnings.append(f"{where}: {cut}")
    by, cut = clean_text(cells.by, MAX_NAME, "By")
    if cut:
        warnings.append(f"{where}: {cut}")
    if confidence is None and comment is None and value is None:
        return None, warnings
    kr_id = matcher.find(cells.kr)
    if kr_id is None:
        shown = "an empty cell" if cells.kr is None or is_missing(cells.kr) else repr(str(cells.kr)[:80])
        warnings.append(f"{where}: no key result matches {shown}; the check-in is skipped")
        return None, warnings
    week = parse_week(cells.week) if isinstance(cells.week, str) else None
    when: dt.datetime | None = None
    try:
        when = _typed_when(cells.when, dayfirst, week, tz)
    except CheckInError as exc:
        if default_when is None:
            warnings.append(f"{where}: Date: {exc}; the check-in is skipped")
            return None, warnings
        # A tab row belongs to its Week cell's week whatever its Date says: keep what was typed.
        warnings.append(f"{where}: Date: {exc}; dated {default_when:%Y-%m-%d} instead")
    if when is None:
        when = default_when
    if week is None:
        week = week_key(when.date()) if when is not None and cells.week is None else default_week
    if week is None or when is None:
        warnings.append(f"{where}: the check-in has no date; it is skipped")
        return None, warnings
    if week_key(when.date()) != week:
        # a tab row belongs to the week it was written for, whenever its Date says it was typed
        moved = _inside(when, week)
        if moved > when:  # late is ordinary (checked in after the week ended); before it is a typo
            typed = f"{cells.when!r} ({when:%Y-%m-%d})" if isinstance(cells.when, str) else f"{when:%Y-%m-%d}"
            warnings.append(f"{where}: Date {typed} is before the row's week {week}; dated {moved:%Y-%m-%d}")
        when = moved
    return CheckIn(kr_id, week, when, confidence, comment, value, by, origin, cells.row), warnings


def _typed_when(value: object, dayfirst: bool, week: str | None, tz: str | None) -> dt.datetime | None:
    """`parse_when`, except that a text date with both readings possible (05/11/2026) is read
    the way that falls in `week`, the row's own, when only one does; and one that only the
    other order can read (18/11/2026) is read that way."""
    try:
        when = parse_when(value, dayfirst=dayfirst, tz=tz)
    except CheckInError as first:
        if not isinstance(value, str):
            raise
        try:
            return parse_when(value, dayfirst=not dayfirst, tz=tz)
        except CheckInError:  # both orders were tried: no advice to set dayfirst
            raise CheckInError(str(first).replace("; check dayfirst", "")) from None
    if week is None or when is None or not isinstance(value, str) or week_key(when.date()) == week:
        return when
    try:
        other = parse_when(value, dayfirst=not dayfirst, tz=tz)
    except CheckInError:
        return when
    return other if other is not None and week_key(other.date()) == week else when


def read_frame(
    frame: pd.DataFrame,
    columns: CheckInColumns,
    krs: Mapping[str, str],
    *,
    origin: str,
    row_column: str | None = None,
    dayfirst: bool = False,
    decimal: str = ".",
    thousands: str | None = None,
    tz: str | None = None,
) -> tuple[list[CheckIn], list[str]]:
    """Check-ins from a source's rows (a Form's responses, a sheet, a CSV).

    `krs` maps KR ids to titles. A missing KR column is one warning; without a Date column
    a Form's `Timestamp` is used.
    """
    names = list(frame.columns)
    listed = ", ".join(str(n) for n in names if n not in BOOKKEEPING_COLUMNS)
    where = f"checkins source {origin!r}"
    date_column = columns.date
    if date_column not in names and columns.date == CheckInColumns.date and "Timestamp" in names:
        date_column = "Timestamp"
    missing = [c for c in (columns.kr, date_column) if c not in names]
    if missing:
        return [], [f"{where}: no column {', '.join(repr(m) for m in missing)} (columns: {listed})"]
    if not any(c in names for c in (columns.confidence, columns.comment, columns.value)):
        return [], [
            f"{where}: none of the columns {columns.confidence!r}, {columns.comment!r}, {columns.value!r} "
            f"is there (columns: {listed})"
        ]
    matcher = KRMatcher(krs)
    out: list[CheckIn] = []
    warnings: list[str] = []

    def col(name: str) -> Sequence[object]:
        return frame[name].tolist() if name in names else [None] * len(frame)

    rows = frame[row_column].tolist() if row_column and row_column in names else list(range(2, len(frame) + 2))
    files = [f" of {name}" for name in frame[FILE_COLUMN]] if FILE_COLUMN in names else [""] * len(frame)
    for row, file, kr, when, confidence, comment, value, by in zip(
        rows, files, col(columns.kr), col(date_column), col(columns.confidence), col(columns.comment),
        col(columns.value), col(columns.by), strict=True,
    ):  # fmt: skip
        checkin, row_warnings = read_row(
            RowCells(_int(row), kr, when, confidence, comment, value, by),
            matcher, where=f"{where} row {row}{file}", origin=origin, dayfirst=dayfirst, decimal=decimal,
            thousands=thousands, tz=tz,
        )  # fmt: skip
        warnings += row_warnings
        if checkin is not None:
            out.append(checkin)
    return out, warnings


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


# --- which one counts ----------------------------------------------------------------------


def checkin_order(checkin: CheckIn) -> tuple[dt.datetime, int]:
    """What orders one KR's check-ins within a week: the date and time, then the row."""
    return (checkin.when, checkin.row or 0)


def latest_per_week(checkins: Iterable[CheckIn]) -> dict[tuple[str, str], CheckIn]:
    """(KR id, week) -> the check-in that counts for that week: the latest by date, then by row."""
    best: dict[tuple[str, str], CheckIn] = {}
    for checkin in checkins:
        key = (checkin.kr_id, checkin.week)
        if key not in best or checkin_order(checkin) >= checkin_order(best[key]):
            best[key] = checkin
    return best


def latest(checkins: Iterable[CheckIn], kr_id: str, as_of: dt.date) -> CheckIn | None:
    """The KR's check-in that counts as of a day: the winner of its latest week up to that day's week."""
    week = week_key(as_of)
    found = [c for c in checkins if c.kr_id == kr_id and c.week <= week]
    return max(found, key=lambda c: (c.week, *checkin_order(c))) if found else None


def by_kr(checkins: Iterable[CheckIn]) -> dict[str, list[CheckIn]]:
    """Check-ins grouped by KR id, so per-KR lookups over a large organisation stay linear."""
    grouped: dict[str, list[CheckIn]] = {}
    for checkin in checkins:
        grouped.setdefault(checkin.kr_id, []).append(checkin)
    return grouped


def latest_value(checkins: Iterable[CheckIn], kr_id: str, as_of: dt.date) -> CheckIn | None:
    """The latest check-in carrying a value, up to `as_of`'s week (what a manual KR's value is)."""
    return latest((c for c in checkins if c.value is not None), kr_id, as_of)


def merge(
    known: Iterable[CheckIn],
    fresh: Iterable[CheckIn],
    *,
    restated: Iterable[tuple[str, str, str]] = (),
    since: dt.date | None = None,
) -> list[CheckIn]:
    """History plus newly read check-ins, each once.

    `restated` lists (origin, week, KR id) whose check-in `fresh` states afresh: a Check-ins
    tab row shows one KR's week, so what it holds now replaces what it held before (an
    owner's edit is one check-in, not two; a cleared row withdraws it). Identical check-ins
    read again, as a source's rows are on every sync, are kept once. A tab shows the current
    period's check-ins only (from `since`): one dated before, in a week the period change split,
    is never restated.
    """
    replaced = set(restated)
    keep = [c for c in known
            if (c.origin, c.week, c.kr_id) not in replaced or (since is not None and c.date < since)]
    seen = {_identity(c) for c in keep}
    out = list(keep)
    for checkin in fresh:
        key = _identity(checkin)
        if key not in seen:
            seen.add(key)
            out.append(checkin)
    return out


def _identity(c: CheckIn) -> tuple[Any, ...]:
    return (c.origin, c.kr_id, c.week, c.when, c.confidence, c.comment, c.value, c.by)


# --- the tracker's Check-ins tab ---------------------------------------------------------------

TAB_COLUMNS = {
    "week": "Week", "kr": "Key result", "title": "Title", "by": "Owner", "confidence": "Confidence",
    "comment": "Comment", "value": "Value", "when": "Date",
}  # fmt: skip
"""The Check-ins tab's columns sheetsync reads back, by header (the others are for reading)."""

TAB_HEADER = (
    "Week", "Objective", "Key result", "Title", "Owner", "Status", "Current", "Last check-in", "Confidence",
    "Comment", "Value", "Date",
)  # fmt: skip
"""Every column of the tab as sheetsync writes it: it fills the first ones, owners the last four."""

OWNER_PARTS = ("confidence", "comment", "value", "when")


def _header_index(header: Sequence[object]) -> dict[str, int]:
    """Where each column `TAB_COLUMNS` names is in a header row; a header an owner added words to
    ("Confidence (owner)") still names its column."""
    names = [str(h).strip().casefold() if h is not None else "" for h in header]
    index = {part: names.index(title.casefold()) for part, title in TAB_COLUMNS.items() if title.casefold() in names}
    known = {title.casefold() for title in TAB_HEADER}
    for part in OWNER_PARTS:
        if part not in index:
            title = re.escape(TAB_COLUMNS[part].casefold())
            found = next((i for i, n in enumerate(names) if n not in known and re.match(rf"{title}\b", n)), None)
            if found is not None:
                index[part] = found
    return index


def text_columns(header: Sequence[object]) -> list[int]:
    """The positions of the tab's free-text columns (Comment): read as the sheet shows them, since
    a spreadsheet stores a comment typed as `100%` or `3/4` as a number or a date."""
    index = _header_index(header)
    return [index[part] for part in ("comment",) if part in index]


def is_tab_header(row: Sequence[object]) -> bool:
    """Whether a row is the Check-ins tab's header: a Key result column and an owner's column."""
    return _readable(_header_index(row))


def _readable(index: Mapping[str, int]) -> bool:
    """Whether a header's columns say which key result a row is for, and what its owner said."""
    return "kr" in index and any(p in index for p in ("confidence", "comment", "value"))


def _tab_columns(tab: TabRows) -> tuple[dict[str, int], list[str]]:
    """Where each column `TAB_COLUMNS` names is (`_header_index`), and what is wrong with the header.

    A column the tab does not have, holding cells, would be dropped by the rewrite: with one of
    the owner's columns missing it is most likely that column retitled (CheckinsTabError, the
    tracker is not rewritten); otherwise a warning says its cells are not kept.
    """
    names = [str(h).strip().casefold() if h is not None else "" for h in tab.header]
    index = _header_index(tab.header)
    known = {title.casefold() for title in TAB_HEADER}
    if not _readable(index):
        return index, []
    used = set(index.values())
    extra = [i for i, n in enumerate(names) if i not in used and n not in known
             and any(i < len(r) and not _blank(r[i]) for r in tab.rows)]  # fmt: skip
    shown = [repr(str(tab.header[i])) if names[i] else f"{column_letter(i)} (no header)" for i in extra]
    lost = [TAB_COLUMNS[p] for p in OWNER_PARTS if p not in index]
    if extra and lost:
        raise CheckinsTabError(
            f"{tab.where}: no {' or '.join(repr(t) for t in lost)} column, and column {', '.join(shown)} holds "
            "cells sheetsync does not read; the tracker was not rewritten, so nothing typed there is lost: give "
            f"the column its header back ({', '.join(repr(t) for t in lost)}), then sync again", sheet=tab.where,
        )  # fmt: skip
    return index, [f"{tab.where}: column {name} is not one of the tab's, and its cells are not kept when the "
                   "tab is rewritten (write notes in Comment)" for name in shown]


@dataclass(frozen=True)
class TabRows:
    """The Check-ins tab as a writer read it back: its header and rows of cell values.

    `first_row` is the sheet row of the first data row, so warnings name real rows.
    """

    header: tuple[object, ...]
    rows: tuple[tuple[object, ...], ...]
    first_row: int = 2
    where: str = "Check-ins tab"


@dataclass(frozen=True)
class TypedCells:
    """The owner's cells of a Check-ins tab row as typed, for a row sheetsync could not read in
    full: the rewritten tab shows them as they were (with the warning), never blanks them."""

    confidence: object
    comment: object
    value: object
    when: object
    row: int | None = None  # the sheet row it was typed in


def read_tab(
    tab: TabRows,
    krs: Mapping[str, str],
    known: Iterable[CheckIn],
    *,
    now: dt.datetime,
    week: str,
    tz: str | None = None,
) -> tuple[list[CheckIn], set[tuple[str, str, str]], list[str], dict[tuple[str, str], TypedCells]]:
    """Check-ins typed into the tracker's Check-ins tab: (check-ins, restated keys, warnings, and
    the typed cells of each row with a cell it could not read, by (key result, week)).

    Each row belongs to the week in its Week cell (else `week`, the one the tab was written
    for). A row's date is the one typed in its Date cell; without one (or when the owner
    changed the row but not the date sheetsync wrote there) it is `now`, kept inside the
    row's week. A row re-read unchanged keeps its date, so re-runs never move it.
    """
    index, header_warnings = _tab_columns(tab)
    if not _readable(index):
        missing = f"{tab.where}: no header row with 'Key result' and 'Confidence' columns" + (
            f" (its header: {', '.join(repr(str(h)) for h in tab.header if h is not None)})" if tab.header else "")
        if any(not _blank(v) for r in tab.rows for v in r):
            raise CheckinsTabError(
                f"{missing}; the tracker was not rewritten, so nothing typed there is lost: "
                "restore the header, or delete the tab to start it afresh", sheet=tab.where,
            )  # fmt: skip
        return [], set(), [f"{missing} and no rows: the tab is written afresh"], {}
    before: dict[tuple[str, str], list[CheckIn]] = {}
    for c in known:
        if c.origin == TRACKER_ORIGIN:
            before.setdefault((c.kr_id, c.week), []).append(c)
    matcher = KRMatcher(krs)
    out: list[CheckIn] = []
    restated: set[tuple[str, str, str]] = set()
    warnings: list[str] = list(header_warnings)
    typed: dict[tuple[str, str], TypedCells] = {}

    def cell(row: tuple[object, ...], part: str) -> object:
        i = index.get(part)
        return row[i] if i is not None and i < len(row) else None

    def dated_week(row: tuple[object, ...]) -> str:
        """A row's week with the Week column gone: its Date's, else the one the tab is read for."""
        if "week" in index:
            return week
        try:
            when = parse_when(cell(row, "when"), tz=tz)
        except CheckInError:
            when = None
        return week_key(when.date()) if when is not None else week

    if "week" not in index and tab.rows:
        warnings.append(f"{tab.where}: no 'Week' column: each row counts for the week of its Date (else {week})")

    for offset, row in enumerate(tab.rows):
        number = tab.first_row + offset
        named, renamed = cell(row, "kr"), None
        if matcher.find(named) is None and matcher.find(cell(row, "title")) is not None:
            # A key result whose id changed in config.toml since the tab was written: found by its title.
            named, renamed = cell(row, "title"), matcher.find(cell(row, "title"))
            warnings.append(f"{tab.where} row {number}: key result {str(cell(row, 'kr'))!r} is {renamed!r} now"
                            " (found by its title); its check-in is kept under the new id")
        cells = RowCells(number, named, cell(row, "when"), cell(row, "confidence"), cell(row, "comment"),
                         cell(row, "value"), cell(row, "by"), cell(row, "week") or dated_week(row))  # fmt: skip
        row_week = parse_week(cells.week) or week
        kr_id = matcher.find(cells.kr)
        if kr_id is not None:
            restated.add((TRACKER_ORIGIN, row_week, kr_id))
        checkin, row_warnings = read_row(
            cells, matcher, where=f"{tab.where} row {number}", origin=TRACKER_ORIGIN,
            default_when=_inside(now, row_week), default_week=row_week, tz=tz,
        )  # fmt: skip
        warnings += row_warnings
        if row_warnings and kr_id is not None:
            typed[(kr_id, row_week)] = TypedCells(cells.confidence, cells.comment, cells.value, cells.when, number)
        if checkin is None:
            continue
        # A row re-read as it was keeps its date; one whose owner changed it but not the date
        # sheetsync wrote there is dated now. A KR may have several rows in a week (an owner
        # copied its row to check in again): each is compared with its own earlier reading.
        prevs = before.get((checkin.kr_id, checkin.week), [])
        content = (checkin.confidence, checkin.comment, checkin.value)
        same = next((p for p in prevs if (p.confidence, p.comment, p.value) == content), None)
        prev = next((p for p in prevs if p.row == checkin.row), prevs[0] if len(prevs) == 1 else None)
        if same is not None:
            if cells.when is None or checkin.date == same.date:  # else the owner corrected the Date alone
                checkin = replace(checkin, when=same.when)
        elif prev is not None and cells.when is not None and checkin.date == prev.date:
            checkin = replace(checkin, when=_inside(now, checkin.week))
        out.append(checkin)
    return out, restated, warnings, typed


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _inside(moment: dt.datetime, week: str) -> dt.datetime:
    """`moment` moved into `week` (a row read after its week ended is dated that week's last second)."""
    year, number = week.split("-W")
    start = dt.datetime.combine(dt.date.fromisocalendar(int(year), int(number), 1), dt.time())
    end = dt.datetime.combine(week_end(week), dt.time(23, 59, 59))
    return min(max(moment.replace(microsecond=0), start), end)


# --- compared with the numbers ---------------------------------------------------------------

_STEP = {"done": 0, "on_track": 0, "at_risk": 1, "off_track": 2}


def disagreement(confidence: str | None, status: str) -> int:
    """Steps between the owner's confidence and the computed status (0, 1 or 2; 0 without data)."""
    if confidence is None or status not in _STEP or confidence not in _STEP:
        return 0
    return abs(_STEP[confidence] - _STEP[status])


def confidence_label(confidence: str | None) -> str:
    return CONFIDENCE_LABELS.get(confidence or "", "")


# --- manual key results ------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualValue:
    """A manual KR's current value, and why it may be old or missing."""

    value: float | None
    checkin: CheckIn | None
    stale: str | None = None  # no value came in this week: the last one is shown, with its date
    note: str | None = None  # no value at all yet


def in_period(checkins: Iterable[CheckIn], period: Period) -> list[CheckIn]:
    """The check-ins dated within `period` (from its first day on): a new quarter's key results
    start with none, as their KPIs start with no last good value."""
    return [c for c in checkins if c.date >= period.start]


def manual_value(checkins: Iterable[CheckIn], kr_id: str, as_of: dt.date) -> ManualValue:
    """The latest check-in Value up to `as_of`'s week; stale when it is from an earlier week.

    The stale reason does not repeat the value's date: every output names it once, from the
    key result's `value_as_of` ("stale: no check-in value this week; showing the value from 24 Nov 2026").
    """
    found = latest_value(checkins, kr_id, as_of)
    if found is None:
        return ManualValue(None, None, note="manual key result: no check-in has given a value yet")
    if found.week == week_key(as_of):
        return ManualValue(found.value, found)
    return ManualValue(found.value, found, stale="no check-in value this week")


# --- reminders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One owner's nudge: the key results they own with no check-in this week."""

    email: str
    name: str
    key_results: tuple[tuple[str, str], ...]  # (id, title)


def due_reminders(
    objectives: Iterable[ObjectiveConfig], checkins: Iterable[CheckIn], as_of: dt.date
) -> tuple[list[Reminder], list[str]]:
    """Who to remind this week, and the KRs that have no one to remind (no owner_email anywhere).

    A KR's reminder goes to its own `owner_email`, else its objective's; KRs with a check-in
    in `as_of`'s week are left out.
    """
    week = week_key(as_of)
    done = {c.kr_id for c in checkins if c.week == week}
    by_email: dict[str, tuple[str, str, list[tuple[str, str]]]] = {}
    nobody: list[str] = []
    for objective in objectives:
        for kr in objective.key_results:
            if kr.id in done:
                continue
            email = kr.owner_email or objective.owner_email
            if not email:
                nobody.append(kr.id)
                continue
            by_email.setdefault(email.casefold(), (email, kr.owner or objective.owner, []))[2].append((kr.id, kr.title))
    reminders = [Reminder(email, name, tuple(krs)) for email, name, krs in by_email.values()]
    return reminders, nobody
