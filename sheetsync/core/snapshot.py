"""Last week's numbers as the tracker and the digest compare against them.

The history database (`sheetsync.runtime.history`) stores these; the core only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def week_key(day: date) -> str:
    """The ISO week a date falls in, e.g. 2026-W48: the unit of history."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def measured_in_week(value_as_of: date | None, as_of: date) -> bool:
    """Whether a figure shown in `as_of`'s week was measured in it: the value is dated that week.

    A value carried from the history, an owner's check-in value from an earlier week, or
    one whose rows stopped arriving before this week was not: a change against it would be
    a change nobody measured. A figure stored without its date (older histories) counts.
    """
    return value_as_of is None or week_key(value_as_of) >= week_key(as_of)


@dataclass(frozen=True)
class KRSnapshot:
    kr_id: str
    objective: str
    current: float | None
    progress: float | None
    status: str
    value_as_of: date | None = None


@dataclass(frozen=True)
class KPISnapshot:
    kpi_id: str
    value: float | None
    status: str
    value_as_of: date | None = None


@dataclass(frozen=True)
class Snapshot:
    week: str
    as_of: date
    period: str
    overall_progress: float | None
    key_results: dict[str, KRSnapshot]
    kpis: dict[str, KPISnapshot]
    objectives: dict[str, tuple[float | None, str]]


@dataclass(frozen=True)
class LastGood:
    """A KPI's latest good value in the history, shown (marked stale) when this run has none."""

    value: float
    as_of: date  # the date the value is from
    run_as_of: date | None = None  # the as-of date of the run that measured it: its window's
    series: tuple[tuple[date, date, float], ...] = ()
    """The newest measured series' complete buckets (start, end, value): a failed read's trend
    shows them instead of blanks."""


@dataclass(frozen=True)
class LastGoodValues:
    """What the history knows of the current period, for the numbers a run could not compute.

    `key_results` holds each KR's latest known (start, target), for a baseline that cannot be
    computed while its source is down.
    """

    kpis: dict[str, LastGood]
    key_results: dict[str, tuple[float | None, float | None]]
