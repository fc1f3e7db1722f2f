"""sheetsync's filter language compiled to Ibis expressions, with the meaning it has on sheets.

The same validated tree that `Filter.apply` interprets over a DataFrame is turned into one
Ibis boolean expression, so the engine filters the rows and only aggregates come back. The
rules follow the frame evaluator (sheetsync/core/expressions.py):

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from sheetsync.core.dates import parse_date
from sheetsync.core.expressions.filters import FALSE_TEXT, TRUE_TEXT, Filter, literal_value, scalar_kind
from sheetsync.core.kpis import KPIDataError
from sheetsync.core.numbers import NumberFormatError, parse_number
from sheetsync.core.suggest import did_you_mean

_SERIAL_EPOCH = dt.date(1899, 12, 30)
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_UNREADABLE: Any = object()


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
    kind: str  # number | text | bool | datetime
    value: Any  # an Ibis column expression, or a Python scalar for literals
    label: str
    edges: DayEdges | None = None

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, ir.Expr)


def compile_filter(flt: Filter, table: ir.Table, *, tz: str, backend: str, key: str) -> ir.BooleanValue:
    """`flt` as a boolean expression over `table`; FilterCompileError names `key` and the problem."""
    try:
        result = _Compiler(flt, table, tz, backend).condition(flt.tree)
    except FilterCompileError as exc:
        raise FilterCompileError(f"{key}: {exc}") from None
    return result if isinstance(result, ir.Expr) else ibis.literal(bool(result))


class _Compiler:
    def __init__(self, flt: Filter, table: ir.Table, tz: str, backend: str) -> None:
        self.flt = flt
        self.table = table
        self.tz = tz
        self.backend = backend
        self.schema = table.schema()

    def fail(self, message: str, node: ast.AST) -> FilterCompileError:
        return FilterCompileError(f"{message}: {self.flt.show(node)}")

    # ---- conditions

    def condition(self, node: ast.AST) -> Any:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v) for v in node.values]
            result = parts[0]
            for part in parts[1:]:
                result = _and(result, part) if isinstance(node.op, ast.And) else _or(result, part)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            inner = self.condition(node.operand)
            return (not inner) if isinstance(inner, bool) else ~inner
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call) and node.func.id in ("isna", "notna", "contains", "startswith"):  # type: ignore[attr-defined]
            return self.call_condition(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            column = self.column(node)
            if column.kind == "bool":
                return column.value
            raise self.fail(f"column {column.label} holds {column.kind}, not true/false; compare it instead", node)
        raise self.fail("expected a condition", node)

    def compare(self, node: ast.Compare) -> Any:
        operands = [node.left, *node.comparators]
        result: Any = True
        left = self.value(operands[0])
        for op, right_node in zip(node.ops, operands[1:], strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                assert isinstance(right_node, ast.List | ast.Tuple)
                part = self.membership(left, right_node, node)
                if isinstance(op, ast.NotIn):
                    part = (not part) if isinstance(part, bool) else ~part
                right = left
            else:
                right = self.value(right_node)
                part = self.compare_pair(_COMPARE[type(op)], left, right, node)
            result = part if result is True else _and(result, part)
            left = right
        return result

    def compare_pair(self, op: Callable[[Any, Any], Any], left: _Op, right: _Op, node: ast.AST) -> Any:
        domain = self.domain(left, right, node)
        ordering = op not in (operator.eq, operator.ne)
        if domain == "datetime":
            return self.compare_days(op, left, right, node)
        lv = self.coerce(left, domain, node, ordering)
        rv = self.coerce(right, domain, node, ordering)
        if lv is _UNREADABLE or rv is _UNREADABLE:
            # A literal that can't be a number/boolean never equals a value of that type.
            column = left if lv is not _UNREADABLE else right
            hit = op is operator.ne
            if column.is_scalar:
                return hit
            return ibis.ifelse(column.value.isnull(), ibis.null().cast("boolean"), ibis.literal(hit))
        if not isinstance(lv, ir.Expr) and not isinstance(rv, ir.Expr):
            return bool(op(lv, rv))
        return op(lv, rv)

    def compare_days(self, op: Callable[[Any, Any], Any], left: _Op, right: _Op, node: ast.AST) -> Any:
        """A date/time column against a date literal, by calendar day (as sheets compare dates)."""
        if not left.is_scalar and not right.is_scalar:
            if left.edges != right.edges:
                raise self.fail("cannot compare date/time columns of different kinds in the database", node)
            return op(left.value, right.value)
        if left.is_scalar and right.is_scalar:
            return bool(op(self.literal_day(left, node), self.literal_day(right, node)))
        flip = {operator.lt: operator.gt, operator.le: operator.ge, operator.gt: operator.lt,
                operator.ge: operator.le}
        if left.is_scalar:
            left, right, op = right, left, flip.get(op, op)
        column, day, edges = left.value, self.literal_day(right, node), left.edges
        assert edges is not None
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

    def literal_day(self, operand: _Op, node: ast.AST) -> dt.date:
        try:
            day = parse_date(str(operand.value))
        except ValueError:
            day = None
        if day is None:
            raise self.fail(f"cannot compare datetime with text {operand.value!r}", node)
        return day

    def membership(self, left: _Op, items_node: ast.List | ast.Tuple, node: ast.AST) -> Any:
        hits: Any = False
        for item in items_node.elts:
            literal = literal_value(item)
            part = self.compare_pair(operator.eq, left, _Op(scalar_kind(literal), literal, repr(literal)), node)
            hits = part if hits is False else _or(hits, part)
        if hits is False and not left.is_scalar:
            return ibis.ifelse(left.value.isnull(), ibis.null().cast("boolean"), ibis.literal(False))
        return hits

    def call_condition(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        arg = self.value(node.args[0])
        if name in ("isna", "notna"):
            if arg.is_scalar:
                return name == "notna"
            return arg.value.isnull() if name == "isna" else arg.value.notnull()
        needle = node.args[1].value  # type: ignore[attr-defined]
        text = self.coerce(arg, "text", node, False)
        if not isinstance(text, ir.Expr):
            text = str(text)
            return needle.casefold() in text.casefold() if name == "contains" else text.startswith(needle)
        if name == "contains":
            return text.lower().contains(needle.lower())
        return text.startswith(needle)

    # ---- values

    def value(self, node: ast.AST) -> _Op:
        if isinstance(node, ast.Name):
            return self.column(node)
        if isinstance(node, ast.Constant):
            return _Op(scalar_kind(node.value), node.value, repr(node.value))
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.coerce(self.value(node.operand), "number", node, True)
            if operand is _UNREADABLE:
                raise self.fail("expected a number", node)
            return _Op("number", -operand if isinstance(node.op, ast.USub) else operand, self.flt.show(node))
        if isinstance(node, ast.Call) and node.func.id == "lower":  # type: ignore[attr-defined]
            text = self.coerce(self.value(node.args[0]), "text", node, False)
            lowered = text.lower() if isinstance(text, ir.Expr) else str(text).lower()
            return _Op("text", lowered, self.flt.show(node))
        return _Op("bool", self.condition(node), self.flt.show(node))

    def column(self, node: ast.Name) -> _Op:
        name = self.flt.name_of(node.id)
        if name not in self.schema:
            names = list(self.schema.names)
            shown = ", ".join(repr(n) for n in names[:30]) + (", ..." if len(names) > 30 else "")
            raise FilterCompileError(f"unknown column {name!r}{did_you_mean(name, names)}; available columns: {shown}")
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

    def arithmetic(self, node: ast.BinOp) -> _Op:
        lv = self.coerce(self.value(node.left), "number", node, True)
        rv = self.coerce(self.value(node.right), "number", node, True)
        if lv is _UNREADABLE or rv is _UNREADABLE:
            raise self.fail("arithmetic needs numbers", node)
        label = self.flt.show(node)
        if not isinstance(lv, ir.Expr) and not isinstance(rv, ir.Expr):
            try:
                return _Op("number", float(_ARITH[type(node.op)](lv, rv)), label)
            except ZeroDivisionError:
                raise self.fail("division by zero", node) from None
        left = lv.cast("float64") if isinstance(lv, ir.Expr) else ibis.literal(float(lv))
        right = rv.cast("float64") if isinstance(rv, ir.Expr) else ibis.literal(float(rv))
        if isinstance(node.op, ast.Div):
            right = right.nullif(0.0)  # x / 0 never matches, on every engine
        return _Op("number", _ARITH[type(node.op)](left, right), label)

    # ---- coercion

    def domain(self, left: _Op, right: _Op, node: ast.AST) -> str:
        kinds = {left.kind, right.kind}
        if len(kinds) == 1:
            return left.kind
        if kinds == {"number", "text"}:
            return "number"
        if kinds == {"datetime", "text"}:
            return "datetime"
        if kinds == {"bool", "text"} and (left.is_scalar or right.is_scalar):
            return "bool"
        raise self.fail(f"cannot compare {left.kind} ({left.label}) with {right.kind} ({right.label})", node)

    def coerce(self, operand: _Op, domain: str, node: ast.AST, ordering: bool) -> Any:
        if operand.kind == domain:
            return operand.value
        if operand.kind != "text":
            raise self.fail(f"{operand.label} is {operand.kind}, not {domain}", node)
        if not operand.is_scalar:
            raise self.fail(
                f"column {operand.label} is text in the table, and reading text as {domain} is sheetsync's own"
                " parsing, which cannot run in the database: cast the column in the source's query", node)
        text = str(operand.value)
        if domain == "number":
            try:
                number = parse_number(text)
            except NumberFormatError:
                number = None
            if number is not None:
                return number
            try:
                day = parse_date(text)
            except ValueError:
                day = None
            if day is not None:  # a date literal against serial-number cells
                return float((day - _SERIAL_EPOCH).days)
        elif domain == "bool":
            folded = text.strip().casefold()
            if folded in TRUE_TEXT | FALSE_TEXT and not ordering:
                return folded in TRUE_TEXT
        if ordering:
            raise self.fail(f"cannot compare {domain} with text {operand.value!r}", node)
        return _UNREADABLE


def missing_as_null(column: Any) -> Any:
    """A text column with blank cells as NULL, as a sheet's filter reads them.

    Placeholders such as "N/A" are text in a text column (Region == 'NA' is North America), the
    same rule as `sheetsync.core.expressions.filters` applies to sheets.
    """
    return ibis.ifelse(column.strip() == "", ibis.null().cast("string"), column)


def _and(left: Any, right: Any) -> Any:
    if isinstance(left, bool):
        return right if left else False
    if isinstance(right, bool):
        return left if right else False
    return left & right


def _or(left: Any, right: Any) -> Any:
    if isinstance(left, bool):
        return True if left else right
    if isinstance(right, bool):
        return True if right else left
    return left | right
