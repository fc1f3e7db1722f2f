"""OKR periods and KPI grain buckets.

An OKR period is a closed range of calendar dates (both ends inclusive). The pace a key
result is measured against is the share of the period elapsed by the as-of date, so every
date rule in sheetsync lives here, in one place.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sheetsync.errors import ExitCode, SheetsyncError

GRAINS = ("day", "week", "month", "quarter")

_PERIOD_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<q>[Qq][1-4])|(?P<h>[Hh][12])|(?P<m>0[1-9]|1[0-2])))?$"
)


class PeriodError(SheetsyncError, ValueError):
    """A period string or date range that cannot be understood."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True)
class Period:
    """A named range of dates, `start` and `end` both inclusive."""

    name: str
    start: date
    end: date
    kind: str  # quarter | half | year | month | custom

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def expected(self, as_of: date) -> float:
        """Share of the period elapsed through `as_of` (inclusive), in [0, 1]."""
        elapsed = (as_of - self.start).days + 1
        return min(max(elapsed / self.days, 0.0), 1.0)

    def previous(self) -> Period:
        """The whole previous period of the same kind (Q3 for Q4, 2025 for 2026).

        A custom period of whole months (a fiscal quarter, 1 Feb to 30 Apr) follows as many whole
        months (1 Nov to 31 Jan: not the 89 days before it, which would start on 3 Nov); any other
        custom period follows as many days.
        """
        if self.kind == "custom":
            end = self.start - timedelta(days=1)
            months = _whole_months(self.start, self.end)
            start = shift(self.start, "month", -months) if months else end - timedelta(days=self.days - 1)
            return Period(f"{start.isoformat()}..{end.isoformat()}", start, end, "custom")
        return parse_period(_previous_name(self))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _whole_months(start: date, end: date) -> int:
    """How many whole calendar months start..end spans (0 unless it runs from a 1st to a month's end)."""
    if start.day != 1 or (end + timedelta(days=1)).day != 1:
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def parse_period(text: str) -> Period:
    """Parse `YYYY-Qn`, `YYYY-Hn`, `YYYY` or `YYYY-MM`."""
    match = _PERIOD_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise PeriodError(f"{text!r} is not a period: use YYYY-Qn, YYYY-Hn, YYYY or YYYY-MM")
    year = int(match["year"])
    if not 1900 <= year <= 9998:  # 9999's last day has no next day to end a bucket on
        raise PeriodError(f"{text!r}: year {year} is out of range (1900 to 9998)")
    if match["q"]:
        q = int(match["q"][1])
        return Period(f"{year}-Q{q}", date(year, 3 * q - 2, 1), _month_end(year, 3 * q), "quarter")
    if match["h"]:
        h = int(match["h"][1])
        return Period(f"{year}-H{h}", date(year, 6 * h - 5, 1), _month_end(year, 6 * h), "half")
    if match["m"]:
        m = int(match["m"])
        return Period(f"{year}-{m:02d}", date(year, m, 1), _month_end(year, m), "month")
    return Period(str(year), date(year, 1, 1), date(year, 12, 31), "year")


def custom_period(start: date, end: date) -> Period:
    if end < start:
        raise PeriodError(f"period_end {end} is before period_start {start}")
    return Period(f"{start.isoformat()}..{end.isoformat()}", start, end, "custom")


def _previous_name(period: Period) -> str:
    year = period.start.year
    if period.kind == "quarter":
        q = (period.start.month - 1) // 3 + 1
        return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"
    if period.kind == "half":
        return f"{year - 1}-H2" if period.start.month == 1 else f"{year}-H1"
    if period.kind == "month":
        m = period.start.month
        return f"{year - 1}-12" if m == 1 else f"{year}-{m - 1:02d}"
    return str(year - 1)


# --- grain buckets -------------------------------------------------------------------


def bucket_start(day: date, grain: str) -> date:
    """First day of the grain bucket holding `day` (weeks run Monday to Sunday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise PeriodError(f"unknown grain {grain!r}: use one of {', '.join(GRAINS)}")


def bucket_end(day: date, grain: str) -> date:
    """Last day of the grain bucket holding `day`."""
    start = bucket_start(day, grain)
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        return _month_end(start.year, start.month)
    return _month_end(start.year, start.month + 2)


def shift(day: date, grain: str, steps: int) -> date:
    """Move `day` by whole grain steps, clamping to the month's end where needed."""
    if grain == "day":
        return day + timedelta(days=steps)
    if grain == "week":
        return day + timedelta(weeks=steps)
    months = steps * (3 if grain == "quarter" else 1)
    if grain not in ("month", "quarter"):
        raise PeriodError(f"unknown grain {grain!r}: use one of {', '.join(GRAINS)}")
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(day.day, _month_end(year, month0 + 1).day))


def last_complete_bucket(as_of: date, grain: str) -> tuple[date, date]:
    """The last whole grain bucket ending on or before `as_of` (inclusive)."""
    end = bucket_end(as_of, grain)
    if end == as_of:
        return bucket_start(as_of, grain), end
    previous_end = bucket_start(as_of, grain) - timedelta(days=1)
    return bucket_start(previous_end, grain), previous_end


def bucket_label(start: date, grain: str) -> str:
    """A short human label: 2026-11-16, 2026-W47, 2026-11, 2026-Q4."""
    if grain == "day":
        return start.isoformat()
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def buckets_between(first: date, last: date, grain: str) -> list[tuple[date, date]]:
    """Every grain bucket touching [first, last], in order."""
    out: list[tuple[date, date]] = []
    cursor = bucket_start(first, grain)
    while cursor <= last:
        end = bucket_end(cursor, grain)
        out.append((cursor, end))
        cursor = end + timedelta(days=1)
    return out


@functools.lru_cache(maxsize=64)
def series_buckets(first: date, last: date, grain: str) -> tuple[tuple[str, date, date, date, date], ...]:
    """A series from `first` to `last`: each bucket's label, start and end, and the days of it counted.

    A bucket counts only the days inside first..last (the first week of Q4 does not take in
    September, the current week no future-dated rows). Every KPI of one grain in a sync has
    the same series: this is worked out once, not once per KPI.
    """
    return tuple((bucket_label(start, grain), start, end, max(start, first), min(end, last))
                 for start, end in buckets_between(first, last, grain))  # fmt: skip


def span(start: date | None, end: date | None) -> str:
    """'16–22 Nov 2026', '1 Oct – 24 Nov 2026', '23 Nov 2026', or 'all rows' for undated KPIs."""
    if start is None or end is None:
        return "all rows"
    if start == end:
        return day_text(start)
    if start.year != end.year:
        return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day}–{end.day} {end:%b %Y}"


def day_text(day: date, year: bool = True) -> str:
    """'23 Nov 2026' (or '23 Nov'): a date as people write it in a sentence."""
    return f"{day.day} {day:%b %Y}" if year else f"{day.day} {day:%b}"
