"""sheetsync's filter language compiled to Ibis expressions, with the meaning it has on sheets.

The same validated tree that `Filter.apply` interprets over a DataFrame is turned into one
Ibis boolean expression, so the engine filters the rows and only aggregates come back. What a
filter means (the kinds that compare, what a text literal reads as, the messages) is the core's
walk (sheetsync/core/expressions/filter_walk.py); this module only builds its parts in Ibis:

- missing values never match (SQL's three-valued logic is the same Kleene logic), and a blank
  text cell counts as missing, as in a sheet (a placeholder such as "N/A" is text there);
- `contains` ignores case, `startswith` does not; `x / 0` is missing, never an error;
- a date literal compares with a DATE or TIMESTAMP column by calendar day in the project's
  time zone, the way a sheet's date cells compare.

What only sheetsync's own cell parser can decide (a number or a date stored as text in the
table) cannot run in the engine: `FilterCompileError` says so, naming the column.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from sheetsync.core.expressions.filter_walk import FilterWalk, Literal
from sheetsync.core.expressions.filters import Filter
from sheetsync.core.kpis import KPIDataError

_FLIPPED = {operator.lt: operator.gt, operator.le: operator.ge, operator.gt: operator.lt, operator.ge: operator.le}


class FilterCompileError(KPIDataError):
    """A filter that cannot be computed by the engine with the meaning it has on sheets."""


@dataclass(frozen=True)
class DayEdges:
    """Turns a calendar day into the instant it starts, for a column of one time type."""

    kind: str  # "date" | "naive" (local wall time) | "aware" (an instant)
    tz: str

    def start(self, day: dt.date) -> Any:
        if self.kind == "date":
            return ibis.date(day)
        moment = dt.datetime(day.year, day.month, day.day)
        if self.kind == "aware":
            moment = moment.replace(tzinfo=ZoneInfo(self.tz)).astimezone(dt.UTC)
        return ibis.timestamp(moment)


def time_kind(dtype: Any, backend: str) -> str | None:
    """How a column's values map to days: None when it is not a date/time column."""
    if dtype.is_date():
        return "date"
    if dtype.is_timestamp():
        # Spark's TIMESTAMP is an instant shown in the session's zone, which Ibis pins to UTC.
        return "aware" if dtype.timezone is not None or backend == "pyspark" else "naive"
    return None


def day_at_least(column: Any, day: dt.date, edges: DayEdges) -> Any:
    return column >= edges.start(day)


def day_at_most(column: Any, day: dt.date, edges: DayEdges) -> Any:
    return column < edges.start(day + dt.timedelta(days=1))


@dataclass
class _Op:
    """A column (or an expression over columns) as an Ibis value, with its kind."""

    kind: str  # number | text | bool | datetime
    value: Any  # an Ibis column expression
    label: str
    edges: DayEdges | None = None


def compile_filter(flt: Filter, table: ir.Table, *, tz: str, backend: str, key: str) -> ir.BooleanValue:
    """`flt` as a boolean expression over `table`; FilterCompileError names `key` and the problem."""
    try:
        result = _Compiler(flt, table, tz, backend).run()
    except FilterCompileError as exc:
        raise FilterCompileError(f"{key}: {exc}") from None
    return result if isinstance(result, ir.Expr) else ibis.literal(bool(result))


def _value(operand: _Op | Literal) -> Any:
    return operand.value


class _Compiler(FilterWalk[_Op]):
    error = FilterCompileError

    def __init__(self, flt: Filter, table: ir.Table, tz: str, backend: str) -> None:
        super().__init__(flt)
        self.table = table
        self.tz = tz
        self.backend = backend
        self.schema = table.schema()

    def column_names(self) -> Collection[str]:
        return self.schema.names

    # ---- conditions

    def compare_values(self, op: Callable[[Any, Any], Any], domain: str, left: _Op | Literal, right: _Op | Literal,
                       node: ast.AST) -> Any:
        if domain == "datetime":
            return self.compare_days(op, left, right, node)
        return op(_value(left), _value(right))

    def compare_days(self, op: Callable[[Any, Any], Any], left: _Op | Literal, right: _Op | Literal,
                     node: ast.AST) -> Any:
        """A date/time column against a day, by calendar day (as sheets compare dates)."""
        if isinstance(left, _Op) and isinstance(right, _Op):
            if left.edges != right.edges:
                raise self.fail("cannot compare date/time columns of different kinds in the database", node)
            return op(left.value, right.value)
        if isinstance(left, Literal):
            left, right, op = right, left, _FLIPPED.get(op, op)
        assert isinstance(left, _Op) and left.edges is not None
        column, day, edges = left.value, right.value, left.edges
        if op is operator.ge:
            return day_at_least(column, day, edges)
        if op is operator.gt:
            return day_at_least(column, day + dt.timedelta(days=1), edges)
        if op is operator.le:
            return day_at_most(column, day, edges)
        if op is operator.lt:
            return day_at_most(column, day - dt.timedelta(days=1), edges)
        same_day = day_at_least(column, day, edges) & day_at_most(column, day, edges)
        return same_day if op is operator.eq else ~same_day

    def where_present(self, column: _Op, hit: bool) -> Any:
        return ibis.ifelse(column.value.isnull(), ibis.null().cast("boolean"), ibis.literal(hit))

    def truth(self, column: _Op) -> Any:
        return column.value

    def where_missing(self, operand: _Op, missing: bool) -> Any:
        return operand.value.isnull() if missing else operand.value.notnull()

    def contains(self, text: _Op, needle: str) -> Any:
        return text.value.lower().contains(needle.lower())

    def startswith(self, text: _Op, prefix: str) -> Any:
        return text.value.startswith(prefix)

    # ---- values

    def lower(self, text: _Op, label: str) -> _Op:
        return _Op("text", text.value.lower(), label)

    def signed(self, number: _Op, negative: bool, label: str) -> _Op:
        return _Op("number", -number.value if negative else number.value, label)

    def arithmetic_values(self, op: Callable[[Any, Any], Any], left: _Op | Literal, right: _Op | Literal,
                          label: str) -> _Op:
        lv, rv = (ibis.literal(float(o.value)) if isinstance(o, Literal) else o.value.cast("float64")
                  for o in (left, right))
        if op is operator.truediv:
            rv = rv.nullif(0.0)  # x / 0 never matches, on every engine
        return _Op("number", op(lv, rv), label)

    def condition_value(self, condition: Any, label: str) -> _Op:
        return _Op("bool", condition, label)

    def column(self, node: ast.Name) -> _Op:
        name = self.flt.name_of(node.id)
        dtype = self.schema[name]
        column = self.table[name]
        label = repr(name)
        if dtype.is_boolean():
            return _Op("bool", column, label)
        if dtype.is_numeric():
            return _Op("number", column, label)
        kind = time_kind(dtype, self.backend)
        if kind is not None:
            return _Op("datetime", column, label, DayEdges(kind, self.tz))
        if dtype.is_string():
            return _Op("text", missing_as_null(column), label)
        raise FilterCompileError(f"column {label} has type {dtype}, which filters cannot use")

    def read_text(self, operand: _Op, domain: str, node: ast.AST) -> _Op:
        raise self.fail(
            f"column {operand.label} is text in the table, and reading text as {domain} is sheetsync's own"
            " parsing, which cannot run in the database: cast the column in the source's query", node)


def missing_as_null(column: Any) -> Any:
    """A text column with blank cells as NULL, as a sheet's filter reads them.

    Placeholders such as "N/A" are text in a text column (Region == 'NA' is North America), the
    same rule as `sheetsync.core.expressions.filters` applies to sheets.
    """
    return ibis.ifelse(column.strip() == "", ibis.null().cast("string"), column)
