"""KPI values over date windows answered by an engine: which windows, and how partials combine.

A KPI on a warehouse table is never loaded into pandas. The sync first runs its own
computation against `WindowRecorder`s to learn exactly which date windows each KPI is asked
for (its window, the previous one, every series bucket, a previous-period baseline), then the
engine computes aggregates for those windows only, and `WindowValues` answers the same
questions from them. The windows' edges come from sheetsync's calendar (`periods`), never
from an engine's `date_trunc`, whose week start and time zone differ between engines.

Decomposable aggregations (sum, mean, count, min, max, first, last) are computed once per
`segment`: the disjoint date ranges cut at every window edge, so each row is read once and a
window is the union of its segments. `combine` merges segment partials with the same rules
as `KPIRows.value`, so a table and a CSV give the same numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sheetsync.errors import SheetsyncError

Window = tuple[date | None, date | None]
"""Inclusive first and last day; (None, None) is every row (a KPI without a date column)."""

DECOMPOSABLE = frozenset({"sum", "mean", "count", "min", "max", "first", "last"})


class UnplannedWindow(SheetsyncError, LookupError):
    """A KPI was asked for a window the plan did not include (a bug in the planning pass)."""


@dataclass
class WindowRecorder:
    """Stands in for a KPI's rows during the planning pass, noting each window asked for."""

    agg: str
    windows: set[Window] = field(default_factory=set)
    ends: set[date | None] = field(default_factory=set)  # asked how fresh the data is up to these days

    def value(self, start: date | None, end: date | None) -> float | None:
        self.windows.add((start, end))
        return None

    def data_through(self, end: date | None) -> date | None:
        """As if rows reached every day asked for: fresh data is what makes the planning pass ask
        for every window the real one may (a stale KPI asks for fewer). Answering None left a
        formula's second input never asked for the formula's window, and the real pass failed."""
        self.ends.add(end)
        return end

    def no_value_cause(self, start: date | None, end: date | None) -> str:
        self.windows.add((start, end))
        return ""


@dataclass(frozen=True)
class WindowValues:
    """A KPI's aggregates per planned window, as the engine computed them."""

    agg: str
    values: Mapping[Window, float | None]
    through: Mapping[date | None, date | None] = field(default_factory=dict)

    def value(self, start: date | None, end: date | None) -> float | None:
        try:
            return self.values[(start, end)]
        except KeyError:
            raise UnplannedWindow(f"window {start}..{end} was not planned for this KPI") from None

    def data_through(self, end: date | None) -> date | None:
        """The latest day, on or before `end`, of a row holding a value (the engine's answer)."""
        return self.through.get(end)

    def no_value_cause(self, start: date | None, end: date | None) -> str:
        from sheetsync.core.periods import span

        where = span(start, end) if start is not None else "any row"
        return f"no row dated {where} holds a value in the table"


def segments(windows: Iterable[Window]) -> list[tuple[date, date]]:
    """Disjoint, sorted day ranges such that every dated window is a union of some of them."""
    dated = [(s, e) for s, e in windows if s is not None and e is not None and s <= e]
    if not dated:
        return []
    cuts = sorted({s for s, _ in dated} | {e + timedelta(days=1) for _, e in dated})
    out = []
    for lo, hi in itertools.pairwise(cuts):
        last = hi - timedelta(days=1)
        if any(s <= lo and last <= e for s, e in dated):
            out.append((lo, last))
    return out


@dataclass(frozen=True)
class Partial:
    """One segment's aggregates for one KPI.

    `rows` counts the rows in the segment (after filters), `values` the non-missing values;
    `first`/`last` are (order key, value) of the earliest/latest dated non-missing value.
    """

    rows: int = 0
    values: int = 0
    total: float | None = None
    low: float | None = None
    high: float | None = None
    first: tuple[object, float] | None = None
    last: tuple[object, float] | None = None


def combine(agg: str, parts: Sequence[Partial]) -> float | None:
    """The aggregate over a union of segments, with `KPIRows.value`'s rules for empty windows."""
    rows = sum(p.rows for p in parts)
    values = sum(p.values for p in parts)
    if agg == "count":
        return float(values)
    if values == 0:
        # An empty window of a sum is a real 0; cells that are all missing are no data.
        return 0.0 if agg == "sum" and rows == 0 else None
    if agg in ("sum", "mean"):
        total = sum(p.total or 0.0 for p in parts if p.values)
        return total if agg == "sum" else total / values
    if agg == "min":
        return min(p.low for p in parts if p.low is not None)
    if agg == "max":
        return max(p.high for p in parts if p.high is not None)
    if agg == "first":
        return min((p.first for p in parts if p.first is not None), key=lambda kv: kv[0])[1]  # type: ignore[arg-type,return-value]
    if agg == "last":
        return max((p.last for p in parts if p.last is not None), key=lambda kv: kv[0])[1]  # type: ignore[arg-type,return-value]
    raise ValueError(f"{agg!r} does not combine across segments")


def window_values(
    agg: str, windows: Iterable[Window], parts: Mapping[tuple[date, date], Partial]
) -> dict[Window, float | None]:
    """Each window's value from its segments' partials (segments with no rows may be absent)."""
    out: dict[Window, float | None] = {}
    for start, end in windows:
        if start is None or end is None:
            raise ValueError("an open window has no segments")
        chosen = [p for (lo, hi), p in parts.items() if start <= lo and hi <= end]
        out[(start, end)] = combine(agg, chosen)
    return out


__all__ = [
    "DECOMPOSABLE",
    "Partial",
    "UnplannedWindow",
    "Window",
    "WindowRecorder",
    "WindowValues",
    "combine",
    "segments",
    "window_values",
]
