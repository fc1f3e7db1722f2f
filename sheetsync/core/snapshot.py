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


@dataclass(frozen=True)
class LastGoodValues:
    """What the history knows of the current period, for the numbers a run could not compute.

    `key_results` holds each KR's latest known (start, target), for a baseline that cannot be
    computed while its source is down.
    """

    kpis: dict[str, LastGood]
    key_results: dict[str, tuple[float | None, float | None]]
