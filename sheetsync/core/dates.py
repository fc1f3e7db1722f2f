"""Parse the dates people keep in spreadsheets into calendar days.

A date column may hold real datetimes (xlsx), Excel/Sheets serial numbers (an unformatted
cell shows 46300), ISO text from an API, and ``05/10/2026`` typed by hand, all at once.
OKR progress is tracked per day, so every cell becomes a naive midnight timestamp.
Ambiguous text is never guessed: ``05/10/2026`` follows ``dayfirst`` and an impossible
day/month under that order is reported as unreadable instead of silently swapped.

Pure computation: no I/O, no logging.
"""

from __future__ import annotations

import datetime as dt
import decimal as _decimal
import functools
import math
import numbers as _numbers
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_complex_dtype, is_numeric_dtype

from sheetsync.core.distinct import Distinct, distinct_values, is_string_column
from sheetsync.core.numbers import MISSING_TOKENS
from sheetsync.errors import ExitCode, SheetsyncError

__all__ = [
    "EXCEL_EPOCH",
    "MAX_SERIAL",
    "MIN_SERIAL",
    "DateFormatError",
    "DateOrder",
    "excel_serial",
    "excel_serial_to_timestamp",
    "infer_date_order",
    "parse_date",
    "parse_dates",
    "parse_day_numbers",
]


class DateFormatError(SheetsyncError, ValueError):
    """A cell holds something that is not a readable date (the message says what was expected)."""

    exit_code = ExitCode.STALE


#: Day 0 of Excel/Sheets serial dates (Sheets' definition; Excel agrees from 1900-03-01 on).
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_SERIAL = 1
MAX_SERIAL = 2958465  # 9999-12-31
#: Numeric *text* is only read as a serial in this range (1954..2119), so "5" or "2026" is not a date.
TEXT_SERIAL_RANGE = (20000, 80000)

_DATE_MISSING = MISSING_TOKENS | {"nat", "<na>"}
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_NS_PER_DAY = 86_400 * 10**9
_UNIX_EPOCH = dt.date(1970, 1, 1)
_EXCEL_EPOCH_DAYS = (EXCEL_EPOCH - _UNIX_EPOCH).days  # -25569
# Calendar days a datetime64[ns] can hold at midnight.
_MIN_DAY = (dt.date(1677, 9, 22) - _UNIX_EPOCH).days
_MAX_DAY = (dt.date(2262, 4, 11) - _UNIX_EPOCH).days
_NAT = np.iinfo(np.int64).min

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAY_NAMES = "mon monday tue tues tuesday wed wednesday thu thur thurs thursday fri friday"
_WEEKDAYS = frozenset([*_WEEKDAY_NAMES.split(), "sat", "saturday", "sun", "sunday"])
_TIME = (
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)
_OPT_TIME = rf"(?:(?:T|\s+|,\s*){_TIME})?"
_WEEKDAY_PREFIX = r"(?:(?P<wd>[A-Za-z]+)\.?,?\s+)?"
_ORDINAL = r"(?:st|nd|rd|th)?"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 2026-10-05, 2026/10/05, 2026.10.05, with optional time and offset
    ("ymd", re.compile(rf"(?P<y>\d{{4}})(?P<sep>[-/.])(?P<a>\d{{1,2}})(?P=sep)(?P<b>\d{{1,2}}){_OPT_TIME}")),
    # 05/10/2026, 5.10.26, 05-10-2026 (dayfirst decides)
    (
        "dmy?",
        re.compile(rf"(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}}){_OPT_TIME}"),
    ),
    # Oct 5, 2026 / Monday, October 5th 2026
    (
        "mdy",
        re.compile(
            rf"{_WEEKDAY_PREFIX}(?P<mon>[A-Za-z]+)\.?[\s-]+(?P<d>\d{{1,2}}){_ORDINAL},?[\s-]+(?P<y>\d{{4}})"
            rf"{_OPT_TIME}"
        ),
    ),
    # 5 October 2026 / 05-Oct-26 / Mon, 5 Oct 2026 10:00 +0000
    (
        "dmy",
        re.compile(
            rf"{_WEEKDAY_PREFIX}(?P<d>\d{{1,2}}){_ORDINAL}[\s-]+(?:of\s+)?(?P<mon>[A-Za-z]+)\.?,?[\s-]+"
            rf"(?P<y>\d{{4}}|\d{{2}}){_OPT_TIME}"
        ),
    ),
    # 2026-Oct-05
    ("ymond", re.compile(rf"(?P<y>\d{{4}})[\s-](?P<mon>[A-Za-z]+)\.?[\s-](?P<d>\d{{1,2}}){_OPT_TIME}")),
)
_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_EXPECTED = "expected a date like 2026-10-05, 05/10/2026, Oct 5, 2026 or a spreadsheet serial number"


_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})([-/.])(\d{1,2})[-/.](?:\d{4}|\d{2})(?!\d)")


@dataclass(frozen=True)
class DateOrder:
    """What a column's own values say about day/month order in dates like ``05/10/2026``.

    Any first part above 12 can only be a day (day-first); any second part above 12 only a
    day (month-first). Both in one column is a contradiction; neither, with some value that
    reads two ways (``05/10``), means the values cannot tell and the source must say, unless
    every such value is written with dots (``05.10.2026``): nobody writes month-first that way.
    """

    dayfirst: bool | None  # what the values prove; None when they prove nothing (or contradict)
    day_first_at: tuple[int, ...] = ()  # positions of cells whose first part is above 12
    month_first_at: tuple[int, ...] = ()  # positions of cells whose second part is above 12
    ambiguous_at: tuple[int, ...] = ()  # positions of cells that read two ways

    @property
    def contradicts(self) -> bool:
        return bool(self.day_first_at and self.month_first_at)


def infer_date_order(values: pd.Series, *, distinct: Distinct | None = None) -> DateOrder:
    """Decide the day/month order of a column's numeric dates from the evidence in it.

    Only text cells of the form ``a/b/yyyy`` (or ``-``, ``.``; two-digit years too) count;
    real dates, serial numbers, ISO and month-name text are unambiguous and ignored.
    `distinct` is `distinct_values(values)` when the caller already has it.
    """
    if not isinstance(values, pd.Series):
        raise TypeError(f"infer_date_order expects a pandas Series, got {type(values).__name__}")
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        return DateOrder(None)
    distinct = distinct if distinct is not None else distinct_values(values)
    codes, uniques = distinct.codes, distinct.values()
    kinds = np.zeros(len(uniques) + 1, dtype=np.int8)  # 1 day-first, 2 month-first, 3 ambiguous
    for j, text in enumerate(uniques):
        m = _NUMERIC_DATE.match(text) if isinstance(text, str) else None
        if m is None:
            continue
        first, second = int(m[1]), int(m[3])
        if first > 12 >= second:
            kinds[j] = 1
        elif second > 12 >= first:
            kinds[j] = 2
        elif first != second and first <= 12 and second <= 12 and first and second:
            kinds[j] = 4 if m[2] == "." else 3
    per_cell = kinds[codes]  # code -1 picks the last slot (0)
    day_first = tuple(np.flatnonzero(per_cell == 1).tolist())
    month_first = tuple(np.flatnonzero(per_cell == 2).tolist())
    ambiguous = tuple(np.flatnonzero(per_cell >= 3).tolist())
    decided = None if bool(day_first) == bool(month_first) else bool(day_first)
    if decided is None and ambiguous and not day_first and not (per_cell == 3).any():
        decided = True  # 01.10.2026 is 1 October wherever dots separate a date's parts
    return DateOrder(decided, day_first, month_first, ambiguous)


def excel_serial_to_timestamp(x: float) -> pd.Timestamp:
    """Convert an Excel/Sheets serial (days since 1899-12-30, fraction = time of day) to a Timestamp.

    Accepts 1..2958465 (1899-12-31 .. 9999-12-31); the result may be outside the datetime64[ns]
    range, so it carries microsecond resolution.  Excel's fictitious 1900-02-29 (serial 60) is
    not reproduced: serials below 61 follow Sheets.
    """
    if isinstance(x, bool | np.bool_) or not isinstance(x, _numbers.Real | _decimal.Decimal):
        raise DateFormatError(f"expected a serial number, got {type(x).__name__} {x!r}")
    value = float(x)
    if not (MIN_SERIAL <= value < MAX_SERIAL + 1):
        raise DateFormatError(f"expected a serial number between {MIN_SERIAL} and {MAX_SERIAL}, got {x!r}")
    days = math.floor(value)
    micros = round((value - days) * 86_400 * 10**6)
    moment = dt.datetime.combine(EXCEL_EPOCH, dt.time()) + dt.timedelta(days=days, microseconds=micros)
    return pd.Timestamp(moment)


def excel_serial(value: dt.date | dt.datetime) -> float:
    """A date (whole days) or a naive wall-clock datetime (the time as a fraction) as an
    Excel/Sheets serial: the inverse of `excel_serial_to_timestamp`."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - dt.datetime.combine(EXCEL_EPOCH, dt.time())
        return round(delta.total_seconds() / 86400, 10)
    return float((value - EXCEL_EPOCH).days)


def parse_date(value: object, *, dayfirst: bool = False, tz: str | None = None) -> dt.date | None:
    """Read one cell as a calendar date; None when missing, DateFormatError when unreadable."""
    return _parse_one(value, dayfirst, _zone(tz))


def parse_dates(
    values: pd.Series, *, dayfirst: bool = False, tz: str | None = None
) -> tuple[pd.Series, list[tuple[Hashable, object]]]:
    """Parse a column into naive datetime64[ns] at midnight; returns (dates, unreadable cells).

    Missing cells become NaT and are not listed; unreadable ones become NaT and are listed as
    (index label, original value).  Time-zone aware values are converted to ``tz`` when given,
    otherwise their own wall-clock date is kept; naive values are taken as already local.
    Datetime and numeric (serial) columns are handled without a Python loop.
    """
    days, bad = parse_day_numbers(values, dayfirst=dayfirst, tz=tz)
    return _finish(values, days, bad)


def parse_day_numbers(
    values: pd.Series, *, dayfirst: bool = False, tz: str | None = None, distinct: Distinct | None = None
) -> tuple[np.ndarray, list[int]]:
    """`parse_dates` as day numbers since 1970-01-01 (int64, its minimum for NaT) and the unreadable cells' positions.

    What the KPIs keep (no datetime64 Series made and taken apart again); `distinct` is
    `distinct_values(values)` when the caller already has it (a text column is parsed once
    per distinct value).
    """
    if not isinstance(values, pd.Series):
        raise TypeError(f"parse_dates expects a pandas Series, got {type(values).__name__}")
    zone = _zone(tz)
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        days = _days_from_datetime64(values, zone)
    elif is_bool_dtype(dtype):
        originals = values.to_numpy(dtype=object)
        days = np.full(len(values), _NAT, dtype=np.int64)
        return days, [i for i, v in enumerate(originals) if not (v is None or v is pd.NA or v != v)]
    elif is_numeric_dtype(dtype) and not (is_complex_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)):
        serials = values.to_numpy(dtype="float64", na_value=np.nan)
        days = _days_from_serials(serials)
        return days, np.flatnonzero((days == _NAT) & ~np.isnan(serials)).tolist()
    elif is_string_column(values):
        # A string column (a CSV's): each distinct text parsed once, taken from its own storage.
        return _days_of_distinct(distinct if distinct is not None else distinct_values(values), dayfirst, zone)
    else:
        return _days_from_objects(values.to_numpy(dtype=object), dayfirst, zone, distinct)
    missing = values.isna().to_numpy()
    return days, np.flatnonzero((days == _NAT) & ~missing).tolist()


# ---------------------------------------------------------------------------------------------
# internals


def _zone(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz!r} (expected an IANA name like 'Europe/Berlin')") from exc


def _finish(values: pd.Series, days: np.ndarray, bad: list[int]) -> tuple[pd.Series, list[tuple[Hashable, object]]]:
    """Turn day numbers (since 1970-01-01, NaT sentinel) into the datetime64[ns] result."""
    nat = days == _NAT
    ns = np.where(nat, 0, days) * _NS_PER_DAY
    ns[nat] = _NAT
    out = pd.Series(ns.view("datetime64[ns]"), index=values.index, name=values.name)
    index = values.index
    originals = values.to_numpy(dtype=object) if bad else None
    unreadable = [(index[i], originals[i]) for i in bad] if originals is not None else []
    return out, unreadable


def _in_range(days: np.ndarray) -> np.ndarray:
    return (days >= _MIN_DAY) & (days <= _MAX_DAY)


def _days_from_datetime64(values: pd.Series, zone: ZoneInfo | None) -> np.ndarray:
    """Vectorised: datetime64 (any unit, naive or aware) -> day numbers; beyond datetime64[ns] -> NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        if zone is not None:
            values = values.dt.tz_convert(zone)
        values = values.dt.tz_localize(None)
    days = values.to_numpy().astype("datetime64[D]").view(np.int64).copy()
    days[~_in_range(days) & (days != _NAT)] = _NAT
    return days


def _days_from_serials(serials: np.ndarray) -> np.ndarray:
    """Vectorised: serial numbers -> day numbers; NaN, out-of-range and unrepresentable -> NaT."""
    with np.errstate(invalid="ignore"):
        ok = (serials >= MIN_SERIAL) & (serials < MAX_SERIAL + 1)
    days = np.full(len(serials), _NAT, dtype=np.int64)
    days[ok] = np.floor(serials[ok]).astype(np.int64) + _EXCEL_EPOCH_DAYS
    days[~_in_range(days)] = _NAT
    return days


def _days_from_objects(
    arr: np.ndarray, dayfirst: bool, zone: ZoneInfo | None, distinct: Distinct | None = None
) -> tuple[np.ndarray, list[int]]:
    """Per cell, but each distinct string is parsed once (date columns repeat a lot)."""
    n = len(arr)
    days = np.full(n, _NAT, dtype=np.int64)
    bad: list[int] = []
    if infer_dtype(arr, skipna=True) == "string":
        return _days_of_distinct(distinct if distinct is not None else distinct_values(arr), dayfirst, zone)
    for i, value in enumerate(arr):
        day = _safe_day(value, dayfirst, zone)
        if day is False:
            bad.append(i)
        elif day is not None:
            days[i] = day
    return days, bad


def _days_of_distinct(distinct: Distinct, dayfirst: bool, zone: ZoneInfo | None) -> tuple[np.ndarray, list[int]]:
    """Day numbers of a factorized column's cells and its unreadable cells (each distinct text parsed once)."""
    unique_days, unreadable = _days_of_texts(distinct.values(), dayfirst, zone)
    return unique_days[distinct.codes], np.flatnonzero(unreadable[distinct.codes]).tolist()


def _days_of_texts(texts: Sequence[object], dayfirst: bool, zone: ZoneInfo | None) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of distinct texts and which are unreadable; one more slot (missing) for code -1."""
    unique_days = np.full(len(texts) + 1, _NAT, dtype=np.int64)
    unreadable = np.zeros(len(texts) + 1, dtype=bool)
    for j, text in enumerate(texts):
        day = _text_day(text, dayfirst, zone) if isinstance(text, str) else _safe_day(text, dayfirst, zone)
        if day is False:
            unreadable[j] = True
        elif day is not None:
            unique_days[j] = day
    return unique_days, unreadable


@functools.lru_cache(maxsize=1 << 16)
def _text_day(text: str, dayfirst: bool, zone: ZoneInfo | None) -> int | bool | None:
    """`_safe_day` of a text, remembered: the same dates recur in every source of an organisation."""
    return _safe_day(text, dayfirst, zone)


def _safe_day(value: object, dayfirst: bool, zone: ZoneInfo | None) -> int | bool | None:
    """Day number, None for missing, False for unreadable (including dates datetime64[ns] can't hold)."""
    try:
        date = _parse_one(value, dayfirst, zone)
    except DateFormatError:
        return False
    if date is None:
        return None
    day = (date - _UNIX_EPOCH).days
    return day if _MIN_DAY <= day <= _MAX_DAY else False


def _parse_one(value: object, dayfirst: bool, zone: ZoneInfo | None) -> dt.date | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _parse_text(value, dayfirst, zone)
    if isinstance(value, bool | np.bool_):
        raise DateFormatError(f"{_EXPECTED}, got a boolean ({value})")
    if isinstance(value, dt.datetime):  # includes pd.Timestamp
        if value.tzinfo is not None and value.utcoffset() is not None and zone is not None:
            value = value.astimezone(zone)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        day = int(value.astype("datetime64[D]").view(np.int64))
        return _UNIX_EPOCH + dt.timedelta(days=day)
    if isinstance(value, _numbers.Real | _decimal.Decimal):
        if math.isnan(value):
            return None
        return excel_serial_to_timestamp(value).date()
    raise DateFormatError(f"{_EXPECTED}, got {type(value).__name__} {value!r}")


def _parse_text(raw: str, dayfirst: bool, zone: ZoneInfo | None) -> dt.date | None:
    text = raw.strip().strip(_INVISIBLE).strip()
    if text.casefold() in _DATE_MISSING:
        return None
    try:
        if _NUMERIC_TEXT.fullmatch(text):
            return _numeric_text(text)
        for kind, pattern in _PATTERNS:
            m = pattern.fullmatch(text)
            if m:
                return _from_match(kind, m, dayfirst, zone)
        return _iso_fallback(text, zone)
    except (ValueError, OverflowError) as exc:  # datetime rejects day 31 in June etc.
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        reason = f" ({exc})" if str(exc) else ""
        raise DateFormatError(f"{_EXPECTED}, got {shown!r}{reason}") from exc


def _numeric_text(text: str) -> dt.date:
    if len(text) == 8 and text.isdigit():  # ISO basic 20261005
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    value = float(text)
    low, high = TEXT_SERIAL_RANGE
    if not low <= value <= high:
        raise DateFormatError(f"numeric text is read as a serial only between {low} and {high}")
    return excel_serial_to_timestamp(value).date()


def _from_match(kind: str, m: re.Match[str], dayfirst: bool, zone: ZoneInfo | None) -> dt.date:
    groups = m.groupdict()
    if groups.get("wd") and groups["wd"].casefold() not in _WEEKDAYS:
        raise DateFormatError("unknown weekday")
    year = int(m["y"])
    if len(m["y"]) == 2:  # POSIX pivot, as strptime's %y
        year += 2000 if year < 69 else 1900
    if "mon" in groups:
        month = _MONTHS.get(m["mon"].casefold())
        if month is None:
            raise DateFormatError(f"unknown month name {m['mon']!r}")
        day = int(m["d"])
    elif kind == "ymd":
        month, day = int(m["a"]), int(m["b"])
    else:
        first, second = int(m["a"]), int(m["b"])
        day, month = (first, second) if dayfirst else (second, first)
        if month > 12 and day <= 12:
            order = "day/month" if dayfirst else "month/day"
            raise DateFormatError(f"month {month} is impossible when reading {order}; check dayfirst")
    date = dt.date(year, month, day)
    if m["H"] is None:
        return date
    return _apply_time(date, m, zone)


def _apply_time(date: dt.date, m: re.Match[str], zone: ZoneInfo | None) -> dt.date:
    """Validate the time of day; only an explicit offset (converted to ``zone``) can move the date."""
    hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise DateFormatError("hour must be 1..12 with AM/PM")
        hour = hour % 12 + (12 if m["ampm"][0] in "Pp" else 0)
    moment = dt.datetime.combine(date, dt.time(hour, minute, second))
    offset = m["tz"]
    if offset is None or zone is None:
        return date
    if offset in ("Z", "UTC", "GMT"):
        delta = dt.timedelta(0)
    else:
        digits = offset[1:].replace(":", "")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset[0] == "-":
            delta = -delta
    return moment.replace(tzinfo=dt.timezone(delta)).astimezone(zone).date()


def _iso_fallback(text: str, zone: ZoneInfo | None) -> dt.date:
    """Other ISO 8601 spellings (week dates, basic format, microseconds): let the stdlib decide."""
    if not text[:4].isdigit():
        raise DateFormatError("")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DateFormatError("") from None
    if moment.tzinfo is not None and zone is not None:
        moment = moment.astimezone(zone)
    return moment.date()
