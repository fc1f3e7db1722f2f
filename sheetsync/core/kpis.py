"""KPI values over date windows, their per-bucket series and their status against a target.

Pure functions over DataFrames: connectors hand in frames, this module never reads a file.
A KPI's rows are cleaned once (`prepare_kpi_rows`) and sorted by date, so the current
value, the previous bucket, the series and a previous-period baseline are all cheap slices
of the same arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from sheetsync.core.dates import infer_date_order, parse_day_numbers
from sheetsync.core.display import bounded_names, shown
from sheetsync.core.distinct import Distinct, RangeCodes, distinct_values, is_string_column
from sheetsync.core.expressions import ExpressionError, Filter, FormulaValueError
from sheetsync.core.model import KPIConfig, SourceConfig
from sheetsync.core.numbers import mixed_currencies, parse_number, parse_number_array
from sheetsync.core.periods import (
    Period,
    bucket_end,
    bucket_start,
    day_text,
    last_complete_bucket,
    series_buckets,
    shift,
    span,
)
from sheetsync.core.snapshot import LastGood
from sheetsync.core.sources import BOOKKEEPING_COLUMNS, ROW_COLUMN, row_name, row_name_at
from sheetsync.core.suggest import did_you_mean
from sheetsync.errors import ExitCode, SheetsyncError

NUMERIC_AGGS = frozenset({"sum", "mean", "median", "min", "max", "first", "last"})

MAX_CELL_WARNINGS = 5
_EPOCH = np.datetime64("1970-01-01", "D")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class KPIDataError(SheetsyncError, ValueError):
    """A KPI whose source data does not fit its config (a missing column, a filter on one).

    The run goes on without that KPI's numbers, so it ends as a run with stale data.
    """

    exit_code = ExitCode.STALE


class AggregateOverflow(SheetsyncError, ArithmeticError):
    """The aggregate of finite cells is not a finite float (e.g. 1e308 + 1e308)."""

    exit_code = ExitCode.STALE


@dataclass(frozen=True)
class KPIRows:
    """One KPI's cleaned inputs, sorted by date.

    `days` holds each row's date as days since 1970-01-01 (None when the KPI has no date
    column: every window then covers all rows). `values` are floats for numeric
    aggregations, and integer codes of the trimmed text (-1 for a blank cell) for count and
    count_distinct. Both may be shared by every KPI on the same source and column (see
    `ColumnCache`); `index`, when given, picks this KPI's rows out of them (ascending
    positions), so forty filtered KPIs on one source hold row numbers, not forty copies.
    """

    agg: str
    values: np.ndarray | RangeCodes
    days: np.ndarray | None
    index: np.ndarray | None = None
    column: str | None = None
    filter: str | None = None  # the KPI's filter, as written: to say it matched no rows
    # `values` holds no missing cell (no NaN, no -1): a count is then the window's row count
    # and no window needs its blanks dropped. False is always safe.
    complete: bool = False
    # Window aggregates shared by the KPIs of one source (`ColumnCache.window_values`), keyed
    # by `shared_as` (the arrays' column, date column and filter) and the window: two KPIs
    # over the same rows (a weekly and a quarterly one, one per key result) compute it once.
    shared_as: tuple[object, ...] | None = None
    memo: dict[tuple[object, ...], float | None] | None = field(default=None, compare=False, repr=False)
    # No sum of `values` can overflow (their largest magnitude times their count is finite), so an
    # aggregate needs no guard against it (np.errstate costs more than a small window's sum). False is safe.
    bounded: bool = False

    def _present(self, positions: slice | np.ndarray) -> np.ndarray:
        chosen = self.values[positions]
        return ~np.isnan(chosen) if self.values.dtype.kind == "f" else chosen >= 0

    def data_through(self, end: date | None) -> date | None:
        """The latest date, on or before `end`, of one of this KPI's rows that holds a value."""
        if self.days is None:
            return None
        hi = len(self.days) if end is None else int(np.searchsorted(self.days, _day_number(end), "right"))
        stop = hi if self.index is None else int(np.searchsorted(self.index, hi, "left"))
        if self.complete and stop > 0:  # every row holds a value: the last one up to `end`
            return day_from_number(int(self.days[stop - 1 if self.index is None else self.index[stop - 1]]))
        size = 256  # scan back from the end in growing chunks: the newest rows usually hold values
        while stop > 0:
            start = max(stop - size, 0)
            positions = np.arange(start, stop) if self.index is None else self.index[start:stop]
            found = np.flatnonzero(self._present(positions))
            if len(found):
                return day_from_number(int(self.days[positions[found[-1]]]))
            stop, size = start, size * 4
        return None

    def no_value_cause(self, start: date | None, end: date | None) -> str:
        """Why the window holds no value, in one phrase for the people reading the number."""
        where = span(start, end) if self.days is not None and start is not None else "any row"
        rows = len(self.window(start, end))
        if rows == 0:
            if self.filter and self.days is not None:
                lo = 0 if start is None else int(np.searchsorted(self.days, _day_number(start), "left"))
                hi = len(self.days) if end is None else int(np.searchsorted(self.days, _day_number(end), "right"))
                if hi > lo:
                    return f"the filter {self.filter} matched none of the {hi - lo} rows dated {where}"
            return f"no rows dated {where}" if self.days is not None else "the source has no rows"
        column = f"{self.column!r} " if self.column else ""
        return f"every {column}value dated {where} is missing ({rows} row{'s' if rows != 1 else ''})"

    def _bounds(self, start: date | None, end: date | None) -> tuple[int, int]:
        """The window as positions a..b into `index` (into `values` when there is no index)."""
        size = len(self.values) if self.index is None else len(self.index)
        if self.days is None or (start is None and end is None):
            return 0, size
        if start is not None and end is not None:  # one search: right of `end` is left of the day after
            lo, hi = self.days.searchsorted((_day_number(start), _day_number(end) + 1)).tolist()
        else:
            lo = 0 if start is None else int(self.days.searchsorted(_day_number(start)))
            hi = len(self.days) if end is None else int(self.days.searchsorted(_day_number(end), "right"))
        if self.index is None:
            return lo, hi
        a, b = self.index.searchsorted((lo, hi)).tolist()
        return a, b

    def _take(self, a: int, b: int) -> np.ndarray:
        return self.values[a:b] if self.index is None else self.values[self.index[a:b]]

    def window(self, start: date | None, end: date | None) -> np.ndarray:
        return self._take(*self._bounds(start, end))

    def value(self, start: date | None, end: date | None) -> float | None:
        """The aggregate over rows dated start..end (inclusive); None when there is no data."""
        return self._shared(*self._bounds(start, end))

    def series_values(self, windows: Sequence[tuple[date, date]]) -> list[float | None]:
        """`value` of each dated window (a series' buckets), an overflowing one left empty.

        Their bounds are found in two searches for all of them, not two per window.
        """
        if self.days is None or not windows:
            return [self._value_or_none(start, end) for start, end in windows]
        edges = np.array([(_day_number(start), _day_number(end) + 1) for start, end in windows], dtype=np.int64)
        bounds = self.days.searchsorted(edges)  # left of the day after `end` is right of `end`
        if self.index is not None:
            bounds = self.index.searchsorted(bounds)
        out: list[float | None] = []
        for a, b in bounds.tolist():
            try:
                out.append(self._shared(a, b))
            except AggregateOverflow:
                out.append(None)
        return out

    def _value_or_none(self, start: date | None, end: date | None) -> float | None:
        try:
            return self.value(start, end)
        except AggregateOverflow:
            return None

    def _shared(self, a: int, b: int) -> float | None:
        """The aggregate of positions a..b, computed once for every KPI over the same rows."""
        if self.memo is None or self.shared_as is None:
            return self._aggregate(a, b)
        key = (self.shared_as, self.agg, a, b)
        if key not in self.memo:
            self.memo[key] = self._aggregate(a, b)
        return self.memo[key]

    def _aggregate(self, a: int, b: int) -> float | None:
        if self.agg == "count" and self.complete:
            return float(b - a)
        chosen = self._take(a, b)
        if self.agg == "count_distinct":
            return float(_distinct_codes(chosen))
        if self.agg == "count":
            return float(np.count_nonzero(chosen >= 0))
        numbers = chosen if self.complete else chosen[~np.isnan(chosen)]
        if len(numbers) == 0:
            # An empty window of a sum is a real 0 (nothing sold yet); cells that are all
            # missing, or any other aggregation of nothing, is no data.
            return 0.0 if self.agg == "sum" and len(chosen) == 0 else None
        if self.agg == "median" and numbers.base is not None:
            numbers = numbers.copy()  # a slice of the shared column: the median reorders its own copy
        if self.bounded:
            return float(_AGGREGATE[self.agg](numbers))
        with np.errstate(over="ignore", invalid="ignore"):
            result = float(_AGGREGATE[self.agg](numbers))
            if not np.isfinite(result) and self.agg in ("mean", "median"):
                # The mean of huge finite cells is finite; only the sum on the way overflowed.
                scale = float(np.max(np.abs(numbers)))
                result = float(_AGGREGATE[self.agg](numbers / scale)) * scale
        if not np.isfinite(result):
            raise AggregateOverflow(
                f"the {self.agg} of {len(numbers)} values is beyond ±1.8e308 (the cells are too large)"
            )
        return result


def _distinct_codes(codes: np.ndarray) -> int:
    """How many distinct codes (>= 0) there are; a blank (-1) is not counted.

    Each code flags its slot once (a blank the first slot): a bincount instead counts into a
    slot per code of the whole column (154,000 customers: 1.2 MB per window), which cost a
    week's window three times as much.
    """
    if not len(codes):
        return 0
    seen = np.zeros(int(codes.max()) + 2, dtype=bool)
    seen[codes + 1] = True
    return int(np.count_nonzero(seen[1:]))


def _median(numbers: np.ndarray) -> float:
    """np.median of NaN-free values: the same order statistics and the same mean of the middle two.

    `numbers` is the caller's own copy, which may be reordered.
    """
    size = len(numbers)
    half = size // 2
    middle = _ranked(numbers, half, half) if size % 2 else _ranked(numbers, half - 1, half)
    return float(middle[0]) if size % 2 else float(np.mean(middle))


_SAMPLED_FROM = 20_000  # values from which a sample narrows the search (below, partitioning all is as quick)


def _ranked(numbers: np.ndarray, first: int, last: int) -> np.ndarray:
    """The values of ranks first..last (0-based, ascending) of `numbers`, as np.partition places them.

    Large arrays are narrowed first: a sorted sample (8 √n values, at most 4,096) bounds where
    those ranks lie, and only the values between the bounds are partitioned (a twentieth of a
    quarter's 230,000 amounts), counting those below. Exact whatever the sample: when the bounds
    miss, the whole array is partitioned as before.
    """
    size = len(numbers)
    if size >= _SAMPLED_FROM:
        sample = np.sort(numbers[:: size // min(4096, 8 * math.isqrt(size))])
        spread = 2 * math.isqrt(len(sample)) + 8  # four standard deviations of a rank in the sample, and some
        low = sample[max(first * len(sample) // size - spread, 0)]
        high = sample[min(last * len(sample) // size + spread, len(sample) - 1)]
        at_least_low = numbers >= low
        below = size - int(np.count_nonzero(at_least_low))
        between = numbers[at_least_low & (numbers <= high)]
        if below <= first and last - below < len(between):
            between.partition((first - below, last - below))
            return between[first - below : last - below + 1]
    numbers.partition((first, last))
    return numbers[first : last + 1]


_AGGREGATE: dict[str, Callable[[np.ndarray], float]] = {  # the methods np.sum and its kin call
    "sum": np.ndarray.sum,
    "mean": np.ndarray.mean,
    "median": _median,
    "min": np.ndarray.min,
    "max": np.ndarray.max,
    "first": lambda a: a[0],
    "last": lambda a: a[-1],
}


def _text(row_filter: Filter | None) -> str | None:
    return None if row_filter is None else row_filter.text


def _day_number(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


def day_from_number(number: int) -> date:
    """The date `number` days after 1970-01-01 (how KPIRows keeps its dates)."""
    return date(1970, 1, 1) + timedelta(days=number)


_TOTALS_MIN_ROWS = 3  # rows a totals row must sum for it to be named (1 + 1 = 2 is no evidence)
_DECIMAL_PROBE = 50  # unreadable number cells tried with the other decimal separator
_HEADER_SEARCH_ROWS = 20  # how far below the headers a title row's real headers are looked for


def _header_row_hint(column: str, frame: pd.DataFrame | None, kpi: KPIConfig) -> str:
    """'; 'Headcount' is a cell of row 3: set header_row = 3 on sources.hr' when the sheet has a
    title above its headers (the first row read as headers, the real ones among the rows)."""
    if frame is None or ROW_COLUMN not in frame.columns or not len(frame):
        return ""
    top = frame.iloc[:_HEADER_SEARCH_ROWS]
    wanted = column.strip().casefold()
    columns = [top[label] for label in top.columns if label not in BOOKKEEPING_COLUMNS]
    for position in range(len(top)):  # row by row: the topmost holding it, not a totals row's label lower down
        for cells in columns:
            cell = cells.iloc[position]
            if isinstance(cell, str) and cell.strip().casefold() == wanted:
                row = top[ROW_COLUMN].iloc[position]
                where = row_name_at(top, position)
                return f"; {cell!r} is a cell of {where}: set header_row = {row} on sources.{kpi.source}"
    return ""


def _missing_column(
    kind: str, column: str, kpi: KPIConfig, available: list[str], frame: pd.DataFrame | None = None
) -> KPIDataError:
    header = _header_row_hint(column, frame, kpi)
    if header:
        return KPIDataError(
            f"kpis.{kpi.id}.{kind}: source {kpi.source!r} has no column {column!r}{header}",
            key=f"kpis.{kpi.id}.{kind}", source=kpi.source,
        )
    hint = did_you_mean(column, available)
    return KPIDataError(
        f"kpis.{kpi.id}.{kind}: source {kpi.source!r} has no column {column!r}{hint};"
        f" it has {bounded_names(available)}",
        key=f"kpis.{kpi.id}.{kind}", source=kpi.source,
    )


def _totals_row_note(values: np.ndarray, index: np.ndarray | None, frame: pd.DataFrame, kpi: KPIConfig) -> list[str]:
    """A last row holding the sum of the rows above it, as exports end: it would count twice.

    Only said, never dropped: a dated KPI leaves such a row out by itself (it has no date),
    an undated sum cannot tell it from data.
    """
    chosen = values if index is None else values[index]
    present = np.flatnonzero(~np.isnan(chosen))
    if len(present) < _TOTALS_MIN_ROWS + 1:
        return []
    last = int(present[-1])
    total = float(np.sum(chosen[present[:-1]]))
    if total == 0 or abs(float(chosen[last]) - total) > max(0.01, 1e-9 * abs(total)):
        return []
    label = last if index is None else int(index[last])
    cell = f"{float(chosen[last]):,.2f}".removesuffix(".00")
    return [
        f"kpis.{kpi.id}: source {kpi.source!r}, {row_name(frame, label)}, holds the sum of the {len(present) - 1}"
        " rows above it"
        f" in {kpi.column!r} ({cell}): a totals row, counted twice by a KPI without a date_column;"
        " leave it out with a filter on its label, or give the KPI a date_column"
    ]


def _cell_warnings(
    bad: list[tuple[object, object]], frame: pd.DataFrame, source: str, column: str, what: str
) -> list[str]:
    """'source 'x', column 'y', row 14: 'abc' is not a number (skipped)', capped."""
    out = []
    for label, value in bad[:MAX_CELL_WARNINGS]:
        quoted = f"'{shown(value)}'"
        out.append(f"source {source!r}, column {column!r}, {row_name(frame, label)}: {quoted} is not {what} (skipped)")
    if len(bad) > MAX_CELL_WARNINGS:
        out.append(
            f"source {source!r}, column {column!r}: {len(bad) - MAX_CELL_WARNINGS} more"
            f" {'cell is' if len(bad) - MAX_CELL_WARNINGS == 1 else 'cells are'} not {what} (skipped)"
        )
    return out


def apply_filter_mask(
    frame: pd.DataFrame, row_filter: Filter, key: str, cells: ColumnCache | None = None,
    notes: list[str] | None = None,
) -> np.ndarray:
    """Which rows of `frame` match a config filter; a bad column is a KPIDataError naming `key`.

    `cells` (the source's `ColumnCache`) makes the filter read numbers and dates as KPIs do;
    `notes` receives the filter's near misses (`Filter.apply`).
    """
    try:
        return row_filter.mask(frame, cells, notes)
    except ExpressionError as exc:
        raise KPIDataError(f"{key}: {exc}", key=key) from None


def apply_filter(
    frame: pd.DataFrame, row_filter: Filter | None, key: str, source: SourceConfig | None = None, tz: str | None = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Rows of `frame` that match a config filter, re-indexed 0..n-1 (read as `source` reads them)."""
    if row_filter is None:
        return frame
    frame = frame.reset_index(drop=True)
    cells = ColumnCache(frame, source, tz) if source is not None else None
    return frame[apply_filter_mask(frame, row_filter, key, cells, notes)].reset_index(drop=True)


def source_rows(
    frame: pd.DataFrame, row_filter: Filter | None, key: str, source: SourceConfig, tz: str | None = None,
    notes: list[str] | None = None,
) -> ColumnCache:
    """The `ColumnCache` of the rows a source's filter keeps (`apply_filter`'s frame, as its `frame`).

    The filter reads its columns through a cache of the whole frame. When it keeps every row,
    that is the cache; otherwise the kept rows' cache takes the texts the filter factorized from
    it (`Distinct.subset`) instead of hashing them again (`Channel != 'spam'`, then KPIs'
    `Channel == 'web'`). Anything else is read again from the kept rows only, so every warning,
    note and inference (a date column's day/month order) is the kept rows' own, as before.
    `notes` receives the filter's notes, each naming the source, as `ColumnCache.filter_notes` says a KPI filter's.
    """
    if row_filter is None:
        return ColumnCache(frame, source, tz)
    frame = frame.reset_index(drop=True)
    whole = ColumnCache(frame, source, tz)
    found: list[str] = []
    mask = apply_filter_mask(frame, row_filter, key, whole, found)
    if notes is not None:
        notes.extend(_of_source(source, found))
    if mask.all():
        return whole
    rows = np.flatnonzero(mask)
    return ColumnCache(frame.take(rows).reset_index(drop=True), source, tz, within=(whole, rows))


def _of_source(source: SourceConfig, notes: list[str]) -> list[str]:
    """A filter's notes as a sync's warnings say them: which source first."""
    return [f"source {source.name!r}, {note}" for note in notes]


class ColumnCache:
    """Each column of one source frame parsed once, however many KPIs read it.

    Five KPIs over the same sheet share its date column: parsing it five times was most
    of a sync's time. Likewise each filter is evaluated once per source (forty KPIs with
    `Status == 'paid'` share one mask), and each column is sorted by date once: KPIs
    slice the shared sorted arrays or hold row positions into them. The frame must have a
    plain 0..n-1 index (positions = labels).
    """

    def __init__(self, frame: pd.DataFrame, source: SourceConfig, tz: str | None = None, *,
                 within: tuple[ColumnCache, np.ndarray] | None = None) -> None:
        self.frame = frame
        # (the cache of a whole frame, this frame's rows' positions in it): a source filter's kept rows
        self.within = within
        self.source = source
        self.tz = tz
        self._parsed: dict[tuple[str, ...], tuple[np.ndarray, list[tuple[object, object]]]] = {}
        self._masks: dict[str, np.ndarray] = {}
        self._sorted: dict[tuple[str | None, ...], np.ndarray] = {}
        self._operands: dict[tuple[str, str], Any] = {}  # the frame's columns as filters read them
        self._distinct: dict[str, Distinct] = {}
        self._range_codes: dict[tuple[str, str], RangeCodes] = {}  # (column, date column): distinct counts' codes
        self._columns: dict[str, pd.Series] = {}
        self.window_values: dict[tuple[object, ...], float | None] = {}  # shared by this source's KPIRows
        self.notes: dict[tuple[str, str], list[str]] = {}  # (kind, column) -> said once per column

    def series(self, column: str) -> pd.Series:
        """The frame's column, taken out once (a DataFrame makes a new Series each time it is asked: 37 µs)."""
        if column not in self._columns:
            self._columns[column] = self.frame[column]
        return self._columns[column]

    def _get(self, kind: str, column: str) -> tuple[np.ndarray, list[tuple[object, object]]]:
        key = (kind, column)
        if key not in self._parsed:
            series = self.series(column)
            if kind == "date":
                typed = _typed_cells(series)
                distinct = self.distinct(column) if typed is series and _is_text(series) else None
                dayfirst = self._dayfirst(column, series, distinct)
                days, unreadable = parse_day_numbers(typed, dayfirst=dayfirst, tz=self.tz, distinct=distinct)
                bad = [(series.index[i], series.iloc[i]) for i in unreadable]  # report cells as they were
                self._parsed[key] = (days, bad)
            elif kind == "number":
                distinct = self.distinct(column) if is_string_column(series) else None
                values, bad = parse_number_array(series, decimal=self.source.decimal,
                                                 thousands=self.source.thousands, distinct=distinct)  # fmt: skip
                infinite = np.flatnonzero(np.isinf(values))  # a CSV "inf" arrives as a float
                if len(infinite):
                    bad = sorted([*bad, *((int(i), series.iloc[i]) for i in infinite)], key=lambda item: item[0])
                    values[infinite] = np.nan
                self._skip_other_currencies(column, series, values)
                self._other_decimal_note(column, bad)
                self._parsed[key] = (values, bad)
            elif kind == "present":  # for count: 0 for a cell with something in it, -1 for a blank
                known = ("text", column) in self._parsed or column in self._distinct or series.dtype == object
                self._parsed[key] = (_presence(series, self.text(column) if known else None), [])
            else:  # text codes: one per distinct trimmed value, -1 for a blank cell
                self._parsed[key] = (_text_codes(series, self.distinct(column)), [])
        return self._parsed[key]

    def distinct(self, column: str) -> Distinct:
        """The column factorized once: its day/month order, its dates, filters and distinct counts share it."""
        if column not in self._distinct:
            whole = self._whole_distinct(column)
            self._distinct[column] = (distinct_values(self.series(column)) if whole is None
                                      else whole.subset(self.within[1]))  # type: ignore[index]
            for (name, date_column), codes in self._range_codes.items():  # deferred by a distinct count: take it whole
                if name == column:
                    codes.cover_all(self.sorted_column("text", column, date_column)[self.dated_rows(date_column) :])
        return self._distinct[column]

    def _whole_distinct(self, column: str) -> Distinct | None:
        """The whole frame's factorized string column, when this cache's rows are part of it and it has one."""
        if self.within is None or column not in self.within[0]._distinct:
            return None
        return self.within[0]._distinct[column] if is_string_column(self.series(column)) else None

    def distinct_in(self, frame: pd.DataFrame, column: str) -> Distinct | None:
        """`distinct(column)` for a filter over this cache's own frame (None for any other frame)."""
        return self.distinct(column) if frame is self.frame else None

    def _dayfirst(self, column: str, series: pd.Series, distinct: Distinct | None) -> bool:
        """The source's `dayfirst`, else what the column's own values prove (see `infer_date_order`)."""
        if self.source.dayfirst is not None:
            return self.source.dayfirst
        order = infer_date_order(series, distinct=distinct)
        if order.contradicts:
            raise KPIDataError(
                f"source {self.source.name!r}, column {column!r}: dates disagree on day/month order:"
                f" {self._cells(order.day_first_at, column)} can only be day-first,"
                f" {self._cells(order.month_first_at, column)} only month-first;"
                f" fix those cells or set dayfirst on sources.{self.source.name}",
                key=f"sources.{self.source.name}.dayfirst", source=self.source.name,
            )
        if order.dayfirst is None and order.ambiguous_at:
            self.notes.setdefault(("date", column), []).append(
                f"source {self.source.name!r}, column {column!r}: dates such as"
                f" {self._cells(order.ambiguous_at[:1], column)} read two ways and no value says which;"
                f" read month-first: set dayfirst = true or false on sources.{self.source.name}"
            )
        return bool(order.dayfirst)

    def _skip_other_currencies(self, column: str, series: pd.Series, values: np.ndarray) -> None:
        """A column in '$' with a '€1,090' in it: summing both would be a silently wrong number.

        The currency most cells are in is the column's; cells in any other are skipped, named.
        """
        by_currency = mixed_currencies(series, distinct=self.distinct(column) if is_string_column(series) else None)
        if not by_currency:
            return
        main = max(by_currency, key=lambda marker: len(by_currency[marker]))
        others = sorted(p for marker, positions in by_currency.items() if marker != main for p in positions)
        values[others] = np.nan
        kinds = ", ".join(repr(m) for m in by_currency if m != main)
        self.notes.setdefault(("number", column), []).append(
            f"source {self.source.name!r}, column {column!r}: mixes currencies: {len(by_currency[main])} cells in"
            f" {main!r}, {self._cells(tuple(others), column)} in {kinds}; those are skipped (one column, one currency)"
        )

    def _other_decimal_note(self, column: str, bad: list[tuple[object, object]]) -> None:
        """'1.109,75 €' under decimal = ".": say the setting once, beside the cell warnings.

        Only when every unreadable cell looked at reads with the other separator: then the
        column is in the other style, not a column with a few typos.
        """
        probe = bad[:_DECIMAL_PROBE]  # (position, cell) pairs
        texts = [value for _, value in probe if isinstance(value, str)]
        if not texts or len(texts) < len(probe):
            return
        other = "," if self.source.decimal == "." else "."
        for text in texts:
            try:
                if parse_number(text, decimal=other) is None:
                    return
            except ValueError:
                return
        cells = self._cells(tuple(cast(int, p) for p, _ in probe[:2]), column)
        which = f"{len(bad)} cells such as {cells} are numbers" if len(bad) > 1 else f"1 cell, {cells}, is a number"
        self.notes.setdefault(("number", column), []).append(
            f"source {self.source.name!r}, column {column!r}: {which} written with {other!r} as the decimal"
            f" separator: set decimal = \"{other}\" on sources.{self.source.name}"
        )

    def _cells(self, positions: tuple[int, ...], column: str, first: int = 3) -> str:
        """"row 5 ('19/10/2026'), row 9 ('25/10/2026') and 4 more": a bounded list of cells."""
        values = self.series(column)
        parts = [f"{row_name_at(self.frame, p)} ('{shown(values.iloc[p], 40)}')" for p in positions[:first]]
        more = f" and {len(positions) - first} more" if len(positions) > first else ""
        return ", ".join(parts) + more

    def dates(self, column: str) -> tuple[np.ndarray, list[tuple[object, object]]]:
        return self._get("date", column)

    def date_notes(self, column: str) -> list[str]:
        """What reading the date column found worth saying once (e.g. an order no value tells)."""
        self.dates(column)
        return self.notes.get(("date", column), [])

    def number_notes(self, column: str) -> list[str]:
        """What reading the number column found worth saying once (e.g. mixed currencies)."""
        self.numbers(column)
        return self.notes.get(("number", column), [])

    def date_order(self, column: str) -> np.ndarray | None:
        """Row positions sorted by date (stable), computed once per date column.

        None when the rows already are in date order (a sheet appended to day by day): the
        columns are then their own date-sorted arrays, shared without a copy.
        """
        key = ("order", column)
        if key not in self._parsed:
            days = self.dates(column)[0]
            in_order = len(days) < 2 or bool((days[1:] >= days[:-1]).all())
            self._parsed[key] = (None if in_order else np.argsort(days, kind="stable"), [])  # type: ignore[assignment]
        return self._parsed[key][0]

    def _in_date_order(self, values: np.ndarray, date_column: str) -> np.ndarray:
        order = self.date_order(date_column)
        return values if order is None else values[order]

    def numbers(self, column: str) -> tuple[np.ndarray, list[tuple[object, object]]]:
        return self._get("number", column)

    def bounded(self, column: str) -> bool:
        """Whether no sum of the number column's cells can overflow (see `KPIRows.bounded`)."""
        key = ("bounded", column)
        if key not in self._sorted:
            values = self.numbers(column)[0]
            # fmax/fmin pass over NaN (a blank cell): two passes, no array of magnitudes or of NaN flags
            largest = max(float(np.fmax.reduce(values, initial=0.0)), -float(np.fmin.reduce(values, initial=0.0)))
            self._sorted[key] = np.bool_(largest * max(len(values), 1) < 1e300)
        return bool(self._sorted[key])

    def text(self, column: str) -> np.ndarray:
        """Codes of the trimmed text: equal codes for equal text, -1 for a blank cell."""
        return self._get("text", column)[0]

    def present(self, column: str) -> np.ndarray:
        """0 where a cell holds something (trimmed text not empty), -1 where it is blank."""
        return self._get("present", column)[0]

    def operands(self, frame: pd.DataFrame) -> dict[tuple[str, str], Any]:
        """The columns as filters read them, kept for every filter over this source's frame."""
        return self._operands if frame is self.frame else {}

    def mask(self, row_filter: Filter, key: str) -> np.ndarray:
        """Which rows match a filter, evaluated once per source whatever the number of KPIs."""
        normal = _filter_key(row_filter)
        if normal not in self._masks:
            notes = self.notes.setdefault(("filter", normal), [])
            self._masks[normal] = apply_filter_mask(self.frame, row_filter, key, self, notes)
        return self._masks[normal]

    def filter_notes(self, row_filter: Filter) -> list[str]:
        """What evaluating the filter found worth saying once (cells it left out by a space or a capital)."""
        return _of_source(self.source, self.notes.get(("filter", _filter_key(row_filter)), []))

    def dated_rows(self, date_column: str) -> int:
        """Where the rows with a readable date start in the date order (undated ones sort first)."""
        key = ("first", date_column)
        if key not in self._sorted:
            self._sorted[key] = np.searchsorted(self.sorted_days(date_column), _NO_DAY, "right")
        return int(self._sorted[key])

    def sorted_days(self, date_column: str) -> np.ndarray:
        key = ("days", date_column)
        if key not in self._sorted:
            self._sorted[key] = self._in_date_order(self.dates(date_column)[0], date_column)
        return self._sorted[key]

    def sorted_column(self, kind: str, column: str | None, date_column: str) -> np.ndarray:
        """A column's numbers, text codes or presence (`kind`) in date order, shared by its KPIs."""
        key = (kind, column, date_column)
        if key not in self._sorted:
            self._sorted[key] = self._in_date_order(self.column(kind, column), date_column)
        return self._sorted[key]

    def dated_column(self, kind: str, column: str | None, date_column: str) -> np.ndarray | RangeCodes:
        """`sorted_column` past the undated rows: what a dated KPI's `KPIRows.values` holds.

        A distinct count over a string column nothing else has factorized gets `RangeCodes`:
        only the rows its windows reach are factorized (a quarter's, not the whole file's).
        """
        first = self.dated_rows(date_column)
        if kind == "text" and column is not None and self._unfactorized(column):
            key = (column, date_column)
            if key not in self._range_codes:
                self._range_codes[key] = RangeCodes(self.series(column).array, self.date_order(date_column), first,
                                                    lambda texts: _text_codes(texts, distinct_values(texts)))
            return self._range_codes[key]
        return self.sorted_column(kind, column, date_column)[first:]

    def _unfactorized(self, column: str) -> bool:
        """A string column (a CSV's) that no filter, date or count has factorized yet."""
        return column not in self._distinct and ("text", column) not in self._parsed and is_string_column(
            self.series(column))

    def column(self, kind: str, column: str | None) -> np.ndarray:
        """A column as KPIs aggregate it: "number" (floats), "text" (codes) or "present" (for count)."""
        if column is None:  # a count of rows: every row counts
            return np.zeros(len(self.frame), dtype=np.int8)
        if kind == "number":
            return self.numbers(column)[0]
        return self.text(column) if kind == "text" else self.present(column)

    def complete(self, kind: str, column: str | None, date_column: str | None) -> bool:
        """Whether a column as KPIs aggregate it (dated rows, in date order) holds no blank cell."""
        key = ("complete", kind, column, date_column)
        if key not in self._sorted:
            values = self.column(kind, column) if date_column is None else self.dated_column(kind, column, date_column)
            if isinstance(values, RangeCodes):  # factorized only as windows need it: not known here
                self._sorted[key] = np.bool_(False)
            else:
                blank = np.isnan(values) if values.dtype.kind == "f" else values < 0
                self._sorted[key] = np.bool_(not blank.any())
        return bool(self._sorted[key])

    def selection(self, row_filter: Filter, key: str, date_column: str) -> np.ndarray:
        """Positions, in the date order past the undated rows, of the rows a filter keeps."""
        skey = ("selection", _filter_key(row_filter), date_column)
        if skey not in self._sorted:
            keep = self._in_date_order(self.mask(row_filter, key), date_column)
            self._sorted[skey] = np.flatnonzero(keep[self.dated_rows(date_column) :])
        return self._sorted[skey]


def _filter_key(row_filter: Filter) -> str:
    """A filter's text with its spacing normalised: the same filter however it is spaced."""
    return " ".join(row_filter.text.split())


def _presence(series: pd.Series, codes: np.ndarray | None) -> np.ndarray:
    """0 per cell with something in it, -1 per blank one (missing, or only spaces)."""
    if codes is not None:
        return np.where(codes >= 0, 0, -1).astype(np.int8)
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iub":  # numpy ints or booleans: never blank
        return np.zeros(len(series), dtype=np.int8)
    present = series.notna().to_numpy()
    if is_string_column(series):
        present = present & series.str.strip().ne("").to_numpy(dtype=bool, na_value=False)
    return np.where(present, 0, -1).astype(np.int8)


def _is_text(series: pd.Series) -> bool:
    """A column of strings (a CSV's) or of anything (an .xlsx or Google sheet's object column)."""
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _text_codes(series: pd.Series, distinct: Distinct) -> np.ndarray:
    """Integer codes of a column compared as trimmed text; -1 for a blank cell.

    Numbers need no trimming (no per-value Python); text is trimmed once per distinct value.
    """
    codes, uniques = distinct.codes, distinct.uniques
    codes = codes.astype(np.int64, copy=False)
    if pd.api.types.is_numeric_dtype(series.dtype) or not len(uniques):
        return codes
    if _untrimmed(series, distinct):  # nothing to trim (most columns): the codes are already right
        return codes
    values = distinct.values()
    trimmed = np.empty(len(values), dtype=object)
    trimmed[:] = [value.strip() if isinstance(value, str) else value for value in values]
    # Equal once trimmed, equal codes (one factorize of the distinct values, not a dict per value).
    remap = np.append(pd.factorize(trimmed)[0].astype(np.int64, copy=False), -1)
    remap[:-1][trimmed == ""] = -1
    return remap[codes]


# The UTF-8 bytes a character str.strip() removes (str.isspace) can begin or end with: the
# ASCII spaces, the lead bytes of U+0085, U+00A0, U+1680, U+2000-U+3000 (0xC2, 0xE1-0xE3) and
# their last bytes. A text whose first and last bytes are neither needs no trimming; others may
# (an 'é' ends in 0xA9 too) and are trimmed in Python, so the test may say "maybe", never "no" wrongly.
_ASCII_SPACES = [*range(0x09, 0x0E), *range(0x1C, 0x21)]
_SPACE_FIRST_BYTE = np.zeros(256, dtype=bool)
_SPACE_FIRST_BYTE[[*_ASCII_SPACES, 0xC2, 0xE1, 0xE2, 0xE3]] = True
_SPACE_LAST_BYTE = np.zeros(256, dtype=bool)
_SPACE_LAST_BYTE[[*_ASCII_SPACES, *range(0x80, 0x8B), 0x9F, 0xA0, 0xA8, 0xA9, 0xAF]] = True


def _untrimmed(series: pd.Series, distinct: Distinct) -> bool:
    """Whether a string column's distinct values need no trimming (none starts or ends with a space, none is empty).

    Read from the first and last byte of each text in the Arrow buffers: a regex over 154,000
    distinct customers took 11 ms, the bytes a fraction of one.
    """
    texts = distinct.arrow_texts() if is_string_column(series) else None
    if texts is None:
        return False
    if not len(texts):
        return True
    _, offset_buffer, data_buffer = texts.buffers()
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(offset_buffer, dtype=width)[texts.offset : texts.offset + len(texts) + 1]
    if data_buffer is None or bool((offsets[1:] == offsets[:-1]).any()):  # an empty text is blank
        return False
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    return not (_SPACE_FIRST_BYTE[data[offsets[:-1]]].any() or _SPACE_LAST_BYTE[data[offsets[1:] - 1]].any())


_NO_DAY = np.iinfo("int64").min


def _typed_cells(series: pd.Series) -> pd.Series:
    """An object column holding only naive datetimes or only numbers, as one typed column.

    .xlsx and Google Sheets frames arrive as object columns (calamine's datetimes, Sheets'
    serial numbers), which parse_dates reads cell by cell: a third of compute at the
    benchmark's medium size. Typed, they take its vectorised paths; mixed ones are left as is.
    """
    if series.dtype != object:
        return series
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float"):
        return series.astype("float64")
    if kind == "datetime":
        try:
            typed = pd.to_datetime(series)
        except (ValueError, TypeError, OverflowError):
            return series
        if isinstance(typed.dtype, np.dtype) and typed.dtype.kind == "M":
            return typed
    return series


def prepare_kpi_rows(
    frame: pd.DataFrame,
    kpi: KPIConfig,
    source: SourceConfig,
    *,
    tz: str | None = None,
    cache: ColumnCache | None = None,
) -> tuple[KPIRows, list[str]]:
    """Clean a (source-filtered) frame into one KPI's sorted values, with cell warnings."""
    columns = frame.columns
    if len(columns) == len(BOOKKEEPING_COLUMNS.intersection(columns)):
        raise KPIDataError(
            f"kpis.{kpi.id}: source {kpi.source!r} has no columns (the file or sheet is empty)",
            key=f"kpis.{kpi.id}", source=kpi.source,
        )
    for kind, column in (("column", kpi.column), ("date_column", kpi.date_column)):
        if column is not None and column not in columns:
            raise _missing_column(kind, column, kpi, [c for c in columns if c not in BOOKKEEPING_COLUMNS], frame)
    if cache is None or cache.frame is not frame:
        frame = frame.reset_index(drop=True)
        cache = ColumnCache(frame, source, tz)
    keep: np.ndarray | None = None
    if kpi.filter is not None:
        keep = cache.mask(kpi.filter, f"kpis.{kpi.id}.filter")
    warnings: list[str] = [] if kpi.filter is None else cache.filter_notes(kpi.filter)

    def note(bad: list[tuple[object, object]], column: str, what: str) -> None:
        chosen = bad if keep is None else [(label, value) for label, value in bad if keep[label]]  # type: ignore[index]
        warnings.extend(_cell_warnings(chosen, frame, source.name, column, what))

    if kpi.date_column is not None:
        note(cache.dates(kpi.date_column)[1], kpi.date_column, "a date")
        warnings.extend(cache.date_notes(kpi.date_column))
    kind = "number" if kpi.agg in NUMERIC_AGGS else "present" if kpi.agg == "count" else "text"
    if kind == "number":
        assert kpi.column is not None
        note(cache.numbers(kpi.column)[1], kpi.column, "a number")
        warnings.extend(cache.number_notes(kpi.column))
    else:
        assert kpi.column is not None or kpi.agg == "count"
    complete = cache.complete(kind, kpi.column, kpi.date_column)
    bounded = kind == "number" and cache.bounded(kpi.column)  # type: ignore[arg-type]
    shared_as = (kind, kpi.column, kpi.date_column, None if kpi.filter is None else _filter_key(kpi.filter))
    if kpi.date_column is None:  # no dates: every window is all rows, in sheet order
        values = cache.column(kind, kpi.column)
        index = None if keep is None else np.flatnonzero(keep)
        if kind == "number" and kpi.agg == "sum":
            warnings.extend(_totals_row_note(values, index, frame, kpi))
        return KPIRows(kpi.agg, values, None, index, kpi.column, _text(kpi.filter), complete, shared_as,
                       cache.window_values, bounded), warnings  # fmt: skip
    first = cache.dated_rows(kpi.date_column)  # rows without a readable date count in no window
    days = cache.sorted_days(kpi.date_column)[first:]
    values = cache.dated_column(kind, kpi.column, kpi.date_column)
    index = None if kpi.filter is None else cache.selection(kpi.filter, f"kpis.{kpi.id}.filter", kpi.date_column)
    return KPIRows(kpi.agg, values, days, index, kpi.column, _text(kpi.filter), complete, shared_as,
                   cache.window_values, bounded), warnings  # fmt: skip


# --- evaluating KPIs and formulas over windows ------------------------------------------


@dataclass
class KPIEvaluator:
    """Values of any KPI over any date window, formulas included.

    A formula's inputs are taken over the formula's own window, so
    `conversion_rate = orders / sessions` compares orders and sessions of the same week.
    """

    kpis: Mapping[str, KPIConfig]
    rows: Mapping[str, KPIRows]
    failed: Mapping[str, str] = field(default_factory=dict)  # kpi id -> why it has no data
    warnings: dict[str, None] = field(default_factory=dict)  # ordered set
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)  # for each source's fresh_within
    failed_sources: frozenset[str] = frozenset()  # sources that could not be read

    def value(self, kpi_id: str, start: date | None, end: date | None, *, warn: bool = True) -> float | None:
        """The KPI over start..end; `warn=False` for series points, where an empty week's
        0 / 0 is ordinary and a warning per bucket would only be noise."""
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            rows = self.rows.get(kpi_id)
            try:
                return None if rows is None else rows.value(start, end)
            except AggregateOverflow as exc:
                if warn:
                    span = f" for {start}..{end}" if start else ""
                    self.warnings[f"kpis.{kpi_id}: {exc}{span}; the value is left empty"] = None
                return None
        inputs = {name: self.value(name, start, end, warn=warn) for name in kpi.formula.names}
        try:
            return kpi.formula.evaluate(inputs)
        except FormulaValueError as exc:
            if warn:
                span = f" for {start}..{end}" if start else ""
                self.warnings[f"kpis.{kpi_id}.formula: {exc}{span}; the value is left empty"] = None
            return None

    def series_values(self, kpi_id: str, windows: Sequence[tuple[date, date]]) -> list[float | None]:
        """`value(kpi_id, start, end, warn=False)` of each window, as a series asks for its buckets.

        A KPI's own rows answer all the windows at once (`KPIRows.series_values`); a formula
        combines its inputs' answers window by window.
        """
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            rows = self.rows.get(kpi_id)
            if isinstance(rows, KPIRows):
                return rows.series_values(windows)
            return [self.value(kpi_id, start, end, warn=False) for start, end in windows]
        inputs = {name: self.series_values(name, windows) for name in kpi.formula.names}
        out: list[float | None] = []
        for i in range(len(windows)):
            try:
                out.append(kpi.formula.evaluate({name: values[i] for name, values in inputs.items()}))
            except FormulaValueError:
                out.append(None)
        return out

    def has_dates(self, kpi_id: str) -> bool:
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            return kpi.date_column is not None
        return any(self.has_dates(name) for name in kpi.formula.names)

    def data_through(self, kpi_id: str, end: date | None) -> date | None:
        """The newest row with a value up to `end`; for a formula, the oldest of its inputs'."""
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            rows = self.rows.get(kpi_id)
            return None if rows is None else rows.data_through(end)
        dates = [self.data_through(name, end) for name in sorted(kpi.formula.names)
                 if self.has_dates(name)]
        return None if not dates or None in dates else min(d for d in dates if d is not None)

    def freshness(self, kpi_id: str, as_of: date, end: date | None) -> tuple[date | None, str | None]:
        """(data_through, why the data is old) for a dated KPI as of `as_of`; the reason is None when fresh.

        A formula is as old as its oldest input, each input judged by its own rule (unless the
        formula KPI sets `fresh_within` itself). The rule reads the newest row up to the as-of
        date, not up to the window's end: a `latest` week ends on Sunday, and its source's rows
        since then show it is still arriving ("no rows after 29 Nov" would be untrue on a
        Wednesday with rows from Monday, and a "2 days" slack could never be met).
        """
        kpi = self.kpis[kpi_id]
        through = self.data_through(kpi_id, end)
        newest = through if end is None or end >= as_of else self.data_through(kpi_id, as_of)
        if kpi.formula is not None and kpi.fresh_within is None:
            reasons = {name: self.freshness(name, as_of, end)[1] for name in sorted(kpi.formula.names)
                       if self.has_dates(name)}
            return through, _named_reasons({self.kpis[name].title: why for name, why in reasons.items()})
        slack = kpi.fresh_within
        if slack is None and kpi.source in self.sources:
            slack = self.sources[kpi.source].fresh_within
        return through, stale_reason(newest, as_of, kpi.grain, slack)

    def no_value_cause(self, kpi_id: str, start: date | None, end: date | None) -> str:
        """Why the KPI has no value over start..end: the first cause found, in one phrase."""
        if kpi_id in self.failed:
            return self.failed[kpi_id]
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            rows = self.rows.get(kpi_id)
            return "no rows were read" if rows is None else rows.no_value_cause(start, end)
        for name in sorted(kpi.formula.names):
            if self.value(name, start, end, warn=False) is None:
                return f"{self.kpis[name].title}: {self.no_value_cause(name, start, end)}"
        return f"{kpi.formula} has no value for {span(start, end)} (division by zero)"

    def stale_sources(self, kpi_id: str) -> tuple[str, ...]:
        """The failed sources a KPI reads, itself or through its formula's inputs (sorted)."""
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            return (kpi.source,) if kpi.source in self.failed_sources else ()  # type: ignore[return-value]
        return tuple(sorted({name for i in kpi.formula.names for name in self.stale_sources(i)}))

    def stale_reason(self, kpi_id: str) -> str | None:
        """Why a KPI (or any KPI its formula uses) has no fresh data, if it has none."""
        if kpi_id in self.failed:
            return self.failed[kpi_id]
        kpi = self.kpis[kpi_id]
        if kpi.formula is None:
            return None
        reasons = (self.stale_reason(name) for name in sorted(kpi.formula.names))
        return "; ".join(dict.fromkeys(reason for reason in reasons if reason)) or None  # each failure once


# --- KPI results --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesPoint:
    label: str
    start: date
    end: date
    value: float | None
    complete: bool


@dataclass(frozen=True)
class KPIResult:
    id: str
    title: str
    unit: str
    direction: str
    target: float | None
    warn: float | None
    value: float | None
    previous: float | None
    status: str
    window_start: date | None
    window_end: date | None
    series: tuple[SeriesPoint, ...] = ()
    source: str | None = None
    stale: str | None = None  # why the number is old: a source failed, or no rows arrived lately
    data_through: date | None = None  # the newest row its window used
    value_as_of: date | None = None  # the date the value is from: the as-of date when fresh
    carried: bool = False  # the value is the last good one from the history, not from this run
    measured_as_of: date | None = None  # the as-of date of the run that measured the value (its window's)
    failed: bool = False  # its data could not be read or used this run (not merely old)
    note: str | None = None  # why there is no value, when there is none
    stale_sources: tuple[str, ...] = ()  # the failed sources that left it stale (its own, or its formula's)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def kpi_status(value: float | None, target: float | None, warn: float | None, direction: str) -> str:
    """RAG against a KPI's own target: on_track when met, at_risk past `warn`, else off_track."""
    if value is None:
        return "no_data"
    if target is None:
        return "no_target"
    sign = 1 if direction == "increase" else -1
    if sign * (value - target) >= 0:
        return "on_track"
    if warn is not None and sign * (value - warn) >= 0:
        return "at_risk"
    return "off_track"


def kpi_window(kpi: KPIConfig, period: Period, as_of: date) -> tuple[date, date]:
    """Dates a KPI's value covers: the period to date, or the last complete grain bucket."""
    if kpi.window == "latest":
        return last_complete_bucket(as_of, kpi.grain)
    return period.start, min(as_of, period.end)


def previous_window(kpi: KPIConfig, period: Period, as_of: date, start: date) -> tuple[date, date]:
    """What a KPI's value is compared with: one grain step before its window (`start` on).

    A `latest` KPI compares with the bucket before its own: shifting the as-of date back a
    month instead would turn 30 Nov into 30 Oct, whose last complete month is September. A
    to-date value compares with the period to the same point one step earlier, and from a
    bucket's last day that point is the last day of the bucket before (31 Oct from 30 Nov,
    31 Mar from 30 Jun), not the same day number clamped into it.
    """
    if kpi.window == "latest":
        prev_end = start - timedelta(days=1)
        return bucket_start(prev_end, kpi.grain), prev_end
    if as_of == bucket_end(as_of, kpi.grain):
        before = bucket_start(as_of, kpi.grain) - timedelta(days=1)
    else:
        before = shift(as_of, kpi.grain, -1)
    return kpi_window(kpi, period, before)


def _named_reasons(reasons: Mapping[str, str | None]) -> str | None:
    """Each stale input of a formula named with its reason, inputs of one reason together.

    A formula is as old as its oldest input, and a reader fixing it needs every input that
    is old, not the first in the alphabet: "Orders, Revenue: no rows after 22 Nov".
    """
    by_reason: dict[str, list[str]] = {}
    for title, reason in reasons.items():
        if reason:
            by_reason.setdefault(reason, []).append(title)
    return "; ".join(f"{', '.join(titles)}: {reason}" for reason, titles in by_reason.items()) or None


def stale_reason(through: date | None, as_of: date, grain: str, fresh_within: float | None) -> str | None:
    """Why data whose newest row is dated `through` is old as of `as_of`; None when it is fresh.

    By default the last complete grain bucket must have rows (a weekly KPI as of Tuesday
    1 Dec needs rows dated 23-29 Nov); `fresh_within` days of slack replace that rule.
    """
    if fresh_within is not None:
        if math.isinf(fresh_within) or (through is not None and (as_of - through).days <= fresh_within):
            return None
    else:
        due = last_complete_bucket(as_of, grain)[0]
        if through is not None and through >= due:
            return None
    if through is None:
        return f"no row with a value up to {day_text(as_of)}"  # rows may be there, every cell blank
    return f"no rows after {day_text(through, year=through.year != as_of.year)}"


def evaluate_kpi(
    evaluator: KPIEvaluator, kpi_id: str, period: Period, as_of: date, *, last_good: LastGood | None = None
) -> KPIResult:
    """A KPI's value, previous value (one grain step earlier), series, freshness and status.

    Past the period's end, the period's last day stands in for the as-of date. A KPI that has
    no value this run because its data failed or stopped arriving shows `last_good` (the
    latest good value in the history) instead, marked stale with the date it is from.
    """
    kpi = evaluator.kpis[kpi_id]
    as_of = min(as_of, period.end)
    dated = evaluator.has_dates(kpi_id)
    start, end = kpi_window(kpi, period, as_of)
    series: tuple[SeriesPoint, ...] = ()
    through: date | None = None
    old: str | None = None
    if dated:
        through, old = evaluator.freshness(kpi_id, as_of, end)
        # An empty window of a source that stopped is no number, not a 0 (nor a formula's 0 / 0).
        empty_and_old = bool(old) and (through is None or through < start)
        value = None if empty_and_old else evaluator.value(kpi_id, start, end)
        prev_start, prev_end = previous_window(kpi, period, as_of, start)
        previous = evaluator.value(kpi_id, prev_start, prev_end, warn=False) if prev_end >= prev_start else None
        buckets = series_buckets(period.start, as_of, kpi.grain)
        points = evaluator.series_values(kpi_id, [(first, last) for *_, first, last in buckets])
        series = tuple(
            # A bucket after the last row of a source that stopped is no number either, as its window is.
            SeriesPoint(label, b_start, b_end, None if old and (through is None or through < b_start) else point,
                        b_end <= as_of)
            for (label, b_start, b_end, *_), point in zip(buckets, points, strict=True)
        )
    else:
        value, previous, start, end = evaluator.value(kpi_id, None, None), None, None, None
    failed = evaluator.stale_reason(kpi_id)
    stale = failed or old
    if failed:
        value, previous, through = None, None, None
    value_as_of = None if value is None else (as_of if not old else through)
    measured_as_of = None if value is None else as_of
    carried = False
    note = None
    if value is None:
        if stale and last_good is not None:
            value, value_as_of, carried = last_good.value, last_good.as_of, True
            measured_as_of = last_good.run_as_of
            previous = None  # a carried value has no change of its own
            if dated and last_good.run_as_of is not None:  # the window it covers, not this run's
                start, end = kpi_window(kpi, period, min(last_good.run_as_of, period.end))
        else:
            note = failed or evaluator.no_value_cause(kpi_id, start, end)
    if failed and last_good is not None and last_good.series:
        series = carried_series(series, last_good.series)
    return KPIResult(
        id=kpi.id,
        title=kpi.title,
        unit=kpi.unit,
        direction=kpi.direction,
        target=kpi.target,
        warn=kpi.warn,
        value=value,
        previous=previous,
        status=kpi_status(value, kpi.target, kpi.warn, kpi.direction),
        window_start=start,
        window_end=end,
        series=series,
        source=kpi.source,
        stale=stale,
        data_through=through,
        value_as_of=value_as_of,
        carried=carried,
        measured_as_of=measured_as_of,
        failed=failed is not None,
        note=note,
        stale_sources=evaluator.stale_sources(kpi_id) if stale else (),
    )


def carried_series(
    series: tuple[SeriesPoint, ...], kept: tuple[tuple[date, date, float], ...]
) -> tuple[SeriesPoint, ...]:
    """`series` with each complete bucket it lacks taken from `kept`, the same bucket measured by an earlier run.

    A source that cannot be read leaves every bucket blank, though the weeks before the failure
    were measured: the trend keeps them, and the weeks since stay blank (nobody measured them).
    """
    known = {(start, end): value for start, end, value in kept}
    return tuple(
        replace(p, value=known[(p.start, p.end)]) if p.value is None and p.complete and (p.start, p.end) in known else p
        for p in series
    )


def previous_period_value(evaluator: KPIEvaluator, kpi_id: str, period: Period) -> float | None:
    """The KPI over the whole previous period of the same kind (a `previous_period` baseline)."""
    prev = period.previous()
    if not evaluator.has_dates(kpi_id):
        return None
    return evaluator.value(kpi_id, prev.start, prev.end)


__all__ = [
    "ColumnCache",
    "KPIDataError",
    "KPIEvaluator",
    "KPIResult",
    "KPIRows",
    "SeriesPoint",
    "apply_filter",
    "carried_series",
    "evaluate_kpi",
    "kpi_status",
    "kpi_window",
    "prepare_kpi_rows",
    "previous_period_value",
    "source_rows",
]
