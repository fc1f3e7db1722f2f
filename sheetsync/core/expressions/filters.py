"""Row filters: a pandas.query-like condition checked when the config loads, applied per row.

`parse_filter` checks the tree against the filter whitelist and gives each node a static
kind, so nonsense such as ``a + 1 and b`` fails at load. `Filter.apply` interprets the tree
over a DataFrame with Kleene logic: a missing cell never matches, except for isna/notna.
Text columns are compared as what they say ("$1,200" is a number, "2026-10-01" a date).
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_complex_dtype,
    is_numeric_dtype,
)

from sheetsync.core.dates import excel_serial, parse_date, parse_dates
from sheetsync.core.display import bounded_names
from sheetsync.core.distinct import Distinct, distinct_values, is_string_column
from sheetsync.core.expressions.syntax import (
    ARITH_OPS,
    OPERATOR_TEXT,
    ExpressionError,
    Source,
    check_identifier,
    number_literal,
    parse,
    prepare,
    reject,
)
from sheetsync.core.numbers import MISSING_TOKENS, NumberFormatError, parse_number, parse_numbers
from sheetsync.core.parsed_text import ParsedText
from sheetsync.core.sources import ROW_COLUMN
from sheetsync.core.suggest import did_you_mean

__all__ = ["FALSE_TEXT", "FILTER_FUNCTIONS", "TRUE_TEXT", "Filter", "literal_value", "parse_filter", "scalar_kind"]

FILTER_FUNCTIONS: Mapping[str, int] = {"isna": 1, "notna": 1, "contains": 2, "startswith": 2, "lower": 1}

# Static kinds, used to reject nonsense (``a + 1 and b``) when the config is loaded.
_BOOL, _NUM, _TEXT, _COL, _LIST, _NONE = "condition", "number", "text", "column", "list", "None"

_COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
FALSE_TEXT = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True, eq=False)
class Filter(ParsedText):
    """A validated row filter; ``apply`` returns a boolean mask aligned with the frame."""

    text: str
    columns: frozenset[str]
    _source: Source = field(repr=False, compare=False)
    _tree: ast.expr = field(repr=False, compare=False)
    _column_order: tuple[str, ...] = field(repr=False, compare=False)

    @property
    def tree(self) -> ast.expr:
        """The validated syntax tree, for compilers to other engines (connectors/ibis_filter.py)."""
        return self._tree

    def name_of(self, identifier: str) -> str:
        """The column an identifier in `tree` stands for (backtick names are placeholders)."""
        return self._source.name(identifier)

    def show(self, node: ast.AST) -> str:
        """A tree node as the user wrote it, for messages."""
        return self._source.show(node)

    def apply(self, df: pd.DataFrame, cells: CellReader | None = None) -> pd.Series:
        """Rows where the condition holds; missing values never match (only isna/notna see them).

        `cells` reads the frame's columns as numbers and dates the way KPIs do (the source's
        decimal and thousands separators, its date order, its currency rule), so a filter and
        the KPIs it selects for can never read one cell two ways.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Filter.apply expects a DataFrame, got {type(df).__name__}")
        lookup = _column_lookup(df)
        for name in self._column_order:
            if name not in lookup:
                raise ExpressionError(_unknown_column_message(name, lookup))
        evaluator = _FilterEvaluator(self._source, df, lookup, cells)
        try:
            result = evaluator.condition(self._tree, top=True)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            raise ExpressionError(f"cannot evaluate filter {self.text!r}: {exc}") from exc
        if isinstance(result, bool | np.bool_):
            return pd.Series(bool(result), index=df.index, dtype=bool)
        mask = result.to_numpy(dtype=bool, na_value=False)
        return pd.Series(mask, index=df.index, dtype=bool, copy=False)


def parse_filter(text: str) -> Filter:
    """Parse and validate a pandas.query-like row filter; raises ExpressionError when not allowed."""
    source = prepare(text, what="filter", words_for_bitwise=True)
    tree = parse(source, "filter")
    columns: list[str] = []
    kind = _FilterChecker(source, columns).check(tree)
    if kind not in (_BOOL, _COL):
        raise ExpressionError(
            f"a filter must be a condition (true/false for each row), got {kind}: {source.show(tree)}"
        )
    order = tuple(dict.fromkeys(columns))
    return Filter(text, frozenset(order), source, tree, order)


class _FilterChecker:
    """Whitelist walk for filters, returning a static kind for each node."""

    def __init__(self, source: Source, columns: list[str]) -> None:
        self.source = source
        self.columns = columns

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(f"{message}: {self.source.show(node)}")

    def check(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            self.columns.append(check_identifier(self.source, node, "filter"))
            return _COL
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.need_condition(value, "and" if isinstance(node.op, ast.And) else "or")
            return _BOOL
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op not in ARITH_OPS:
                raise self.fail(f"operator {OPERATOR_TEXT.get(op, op.__name__)} is not allowed in filters", node)
            for side in (node.left, node.right):
                kind = self.check(side)
                if kind not in (_NUM, _COL):
                    raise self.fail(f"{kind} cannot be used in arithmetic", node)
            return _NUM
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.List | ast.Tuple):
            raise self.fail("a list is only allowed after 'in' / 'not in'", node)
        raise reject(self.source, node)

    def constant(self, node: ast.Constant) -> str:
        value = node.value
        if value is None:
            return _NONE
        if isinstance(value, bool):
            return _BOOL
        if isinstance(value, int | float):
            number_literal(self.source, node)
            return _NUM
        if isinstance(value, str):
            return _TEXT
        raise self.fail(f"{type(value).__name__} literals are not allowed in filters", node)

    def need_condition(self, node: ast.AST, op: str) -> None:
        kind = self.check(node)
        if kind not in (_BOOL, _COL):
            raise self.fail(f"'{op}' needs conditions, got {kind}", node)

    def unary(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.Not | ast.Invert):
            self.need_condition(node.operand, "not" if isinstance(node.op, ast.Not) else "~")
            return _BOOL
        kind = self.check(node.operand)
        if kind not in (_NUM, _COL):
            raise self.fail(f"{OPERATOR_TEXT[type(node.op)]} needs a number, got {kind}", node)
        return _NUM

    def compare(self, node: ast.Compare) -> str:
        operands = [node.left, *node.comparators]
        # Each operand is checked exactly once: re-checking chain members would be exponential
        # in the nesting depth of comparisons inside comparisons.
        list_positions: set[int] = set()
        for i, op in enumerate(node.ops):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(operands[i + 1], ast.List | ast.Tuple):
                    raise self.fail("'in' needs a list of values like [\"a\", \"b\"]", node)
                list_positions.add(i + 1)
            elif type(op) not in _COMPARE_OPS:
                raise self.fail(f"operator '{OPERATOR_TEXT.get(type(op), type(op).__name__)}' is not allowed", node)
        for i, operand in enumerate(operands):
            if i in list_positions and i == len(operands) - 1:
                self.literal_list(operand)  # type: ignore[arg-type]
            elif isinstance(operand, ast.List | ast.Tuple):
                raise self.fail("a list is only allowed after 'in' / 'not in'", node)
            elif self.check(operand) == _NONE:
                raise self.fail("comparing with None is not allowed; use isna(col) or notna(col)", node)
        return _BOOL

    def literal_list(self, node: ast.List | ast.Tuple) -> None:
        for item in node.elts:
            value = item
            if isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub | ast.UAdd):
                value = item.operand
                if not (isinstance(value, ast.Constant) and type(value.value) in (int, float)):
                    raise self.fail("list items must be plain values", item)
            if not isinstance(value, ast.Constant):
                raise self.fail("list items must be plain values (text or numbers)", item)
            kind = self.constant(value)
            if kind == _NONE:
                raise self.fail("None is not allowed in a list; use isna(col) or notna(col)", item)

    def call(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name):
            self.check(node.func)  # names the real problem, e.g. attribute access
            raise self.fail("only the filter functions may be called", node)
        name = node.func.id
        allowed = ", ".join(sorted(FILTER_FUNCTIONS))
        if name not in FILTER_FUNCTIONS:
            raise self.fail(f"function '{self.source.name(name)}' is not allowed (allowed: {allowed})", node)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{name}() takes plain positional arguments", node)
        if len(node.args) != FILTER_FUNCTIONS[name]:
            raise self.fail(f"{name}() takes {FILTER_FUNCTIONS[name]} argument(s)", node)
        kind = self.check(node.args[0])
        if kind not in (_COL, _TEXT, _NUM):
            raise self.fail(f"{name}() needs a column, got {kind}", node)
        if name in ("contains", "startswith"):
            needle = node.args[1]
            if not (isinstance(needle, ast.Constant) and isinstance(needle.value, str)):
                raise self.fail(f"the second argument of {name}() must be quoted text", node)
            return _BOOL
        return _TEXT if name == "lower" else _BOOL


def _column_lookup(df: pd.DataFrame) -> dict[str, Hashable]:
    """Names usable in filters -> column labels (non-text labels are reachable by their str())."""
    lookup: dict[str, Hashable] = {}
    labels = df.columns.tolist()  # a list: an arrow Index iterates slowly
    for label in labels:
        lookup.setdefault(str(label), label)
    for label in labels:
        if isinstance(label, str):
            lookup[label] = label
    return lookup


def _unknown_column_message(name: str, lookup: Mapping[str, Hashable]) -> str:
    names = [str(n) for n in lookup if n != ROW_COLUMN]  # row numbers kept for messages, not a column of the sheet
    hint = did_you_mean(name, names)
    return f"unknown column {name!r}{hint}; available columns: {bounded_names(names)}"


@dataclass
class _Operand:
    """A value during filter evaluation: per-row array or a literal scalar, plus its kind."""

    kind: str  # "number", "text", "bool", "datetime"
    _values: Any  # np.ndarray (per row) or scalar; None for a coded text column until asked for
    missing: Any  # np.ndarray of bool or False
    label: str  # for messages
    cache_key: str | None = None  # set for raw columns, whose coercions are worth reusing
    # A text column also as codes into its distinct texts (`values` == texts[codes]), so a
    # comparison with a literal is made once per distinct text, not once per row, and the
    # per-row texts are only made for the comparisons that need them (column to column). Code -1
    # (a missing cell) is the last text, a blank one.
    codes: np.ndarray | None = None
    texts: np.ndarray | None = None

    @property
    def values(self) -> Any:
        if self._values is None and self.codes is not None:
            self._values = self.texts[self.codes]  # type: ignore[index]
        return self._values

    @property
    def is_scalar(self) -> bool:
        return self.codes is None and not isinstance(self._values, np.ndarray)


_NO_DAY = np.iinfo(np.int64).min
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MICROS_PER_DAY = 86_400_000_000


class CellReader(Protocol):
    """How a source's cells read as numbers and dates (`core.kpis.ColumnCache` is one)."""

    def numbers(self, column: str) -> tuple[np.ndarray, list[tuple[object, object]]]: ...

    def dates(self, column: str) -> tuple[np.ndarray, list[tuple[object, object]]]: ...

    def operands(self, frame: pd.DataFrame) -> dict[tuple[str, str], Any]:
        """Where `frame`'s columns, as filters read them, are kept for every filter over it."""
        ...

    def distinct_in(self, frame: pd.DataFrame, column: str) -> Distinct | None:
        """`frame`'s column factorized, shared with the KPIs reading it (None if not kept for `frame`)."""
        ...


class _FilterEvaluator:
    """Interprets a validated filter tree over one DataFrame (Kleene logic for missing values)."""

    def __init__(
        self, source: Source, df: pd.DataFrame, lookup: Mapping[str, Hashable], cells: CellReader | None = None
    ) -> None:
        self.source = source
        self.df = df
        self.lookup = lookup
        self.cells = cells
        self.n = len(df)
        # Shared by every filter over this frame (forty KPIs' four filters read Status once).
        self._cache: dict[tuple[str, str], _Operand] = cells.operands(df) if cells is not None else {}

    # ---- conditions (BooleanArray with NA, or a Python bool)

    def condition(self, node: ast.AST, top: bool = False) -> Any:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v) for v in node.values]
            result = parts[0]
            for part in parts[1:]:
                result = (result & part) if isinstance(node.op, ast.And) else (result | part)
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
                return pd.arrays.BooleanArray(column.values.astype(bool), column.missing.copy())
            raise ExpressionError(
                f"column {column.label} holds {column.kind}, not true/false; compare it instead,"
                f" e.g. {column.label} == ..."
            )
        raise ExpressionError(f"expected a condition: {self.source.show(node)}")  # pragma: no cover

    def compare(self, node: ast.Compare) -> Any:
        operands = [node.left, *node.comparators]
        result: Any = True
        left = self.value(operands[0])
        for op, right_node in zip(node.ops, operands[1:], strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                assert isinstance(right_node, ast.List | ast.Tuple)
                part = self.membership(left, right_node, node)
                if isinstance(op, ast.NotIn):
                    part = ~part if not isinstance(part, bool) else not part
                right = left
            else:
                right = self.value(right_node)
                part = self.compare_pair(_COMPARE_OPS[type(op)], left, right, node)
            result = part if result is True else result & part
            left = right
        return result

    def compare_pair(self, op: Callable[[Any, Any], Any], left: _Operand, right: _Operand, node: ast.AST) -> Any:
        domain = self.domain(left, right, node)
        ordering = op not in (operator.eq, operator.ne)
        coded = left if left.codes is not None and right.is_scalar else None
        coded = right if right.codes is not None and left.is_scalar else coded
        if domain == "text" and coded is not None:
            # Once per distinct text, spread to the rows by code (missing rows are masked below).
            literal = right if coded is left else left
            per_text = op(coded.texts, literal.values) if coded is left else op(literal.values, coded.texts)
            hits = np.asarray(per_text, dtype=bool)[coded.codes]
            # A literal is not missing: the column's own mask, shared (BooleanArray operations copy it).
            missing = coded.missing if literal.missing is False else coded.missing | literal.missing
            return pd.arrays.BooleanArray(hits, missing)
        lv, lm = self.coerce(left, domain, node, ordering)
        rv, rm = self.coerce(right, domain, node, ordering)
        if lv is _UNREADABLE or rv is _UNREADABLE:
            # A literal that can't be a number/boolean never equals a value of that type.
            hit = op is operator.ne
            missing = lm if not isinstance(lm, bool) else rm
            if isinstance(missing, bool):
                return hit
            return pd.arrays.BooleanArray(np.full(self.n, hit), np.asarray(missing, dtype=bool).copy())
        if domain == "text" and ordering:
            lv, rv = self._text_for_ordering(lv, lm), self._text_for_ordering(rv, rm)
        with np.errstate(invalid="ignore"):
            hits = op(lv, rv)
        missing = np.logical_or(lm, rm)
        if isinstance(hits, np.ndarray):
            return pd.arrays.BooleanArray(hits.astype(bool), np.broadcast_to(missing, hits.shape).copy())
        return bool(hits)

    @staticmethod
    def _text_for_ordering(values: Any, missing: Any) -> Any:
        if isinstance(values, np.ndarray):
            return np.where(missing, "", values)  # missing cells are masked out afterwards
        return values

    def membership(self, left: _Operand, items_node: ast.List | ast.Tuple, node: ast.AST) -> Any:
        items = [literal_value(item) for item in items_node.elts]
        hits: Any = False
        for item in items:
            literal = _Operand(scalar_kind(item), item, False, repr(item))
            part = self.compare_pair(operator.eq, left, literal, node)
            hits = part if hits is False else hits | part
        if hits is False and not left.is_scalar:
            return pd.arrays.BooleanArray(np.zeros(self.n, dtype=bool), np.asarray(left.missing, bool).copy())
        return hits

    def call_condition(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        arg = self.value(node.args[0])
        if name in ("isna", "notna"):
            missing = np.broadcast_to(np.asarray(arg.missing, dtype=bool), (self.n,))
            result = missing if name == "isna" else ~missing
            return pd.arrays.BooleanArray(result.copy(), np.zeros(self.n, dtype=bool))
        needle = node.args[1].value  # type: ignore[attr-defined]
        values, missing = self.coerce(arg, "text", node, False)
        if not isinstance(values, np.ndarray):
            text = str(values)
            return needle.casefold() in text.casefold() if name == "contains" else text.startswith(needle)
        texts = pd.Series(np.where(missing, "", values), dtype=object)
        if name == "contains":
            hits = texts.str.casefold().str.contains(needle.casefold(), regex=False)
        else:
            hits = texts.str.startswith(needle)
        return pd.arrays.BooleanArray(hits.to_numpy(dtype=bool), np.asarray(missing, dtype=bool).copy())

    # ---- values

    def value(self, node: ast.AST) -> _Operand:
        if isinstance(node, ast.Name):
            return self.column(node)
        if isinstance(node, ast.Constant):
            return _Operand(scalar_kind(node.value), node.value, False, repr(node.value))
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.value(node.operand)
            values, missing = self.coerce(operand, "number", node, True)
            if values is _UNREADABLE:  # pragma: no cover - only literals can be unreadable
                raise ExpressionError(f"expected a number: {self.source.show(node)}")
            values = -values if isinstance(node.op, ast.USub) else values
            return _Operand("number", values, missing, self.source.show(node))
        if isinstance(node, ast.Call) and node.func.id == "lower":  # type: ignore[attr-defined]
            arg = self.value(node.args[0])
            values, missing = self.coerce(arg, "text", node, False)
            if isinstance(values, np.ndarray):
                lowered = np.array([v.lower() if not m else "" for v, m in zip(values, missing, strict=True)],
                                   dtype=object)
                return _Operand("text", lowered, missing, self.source.show(node))
            return _Operand("text", str(values).lower(), False, self.source.show(node))
        # Conditions used as values, e.g. (a > 1) == (b > 1)
        result = self.condition(node)
        if isinstance(result, bool):
            return _Operand("bool", result, False, self.source.show(node))
        return _Operand("bool", result.to_numpy(dtype=bool, na_value=False), result.isna(),
                        self.source.show(node))

    def _dates_as_text(self, left: _Operand, right: _Operand) -> bool:
        """`Date >= '2026-10-01'` on a column of text dates ('05/10/2026'): compare dates, not text.

        Only with the source's cell reading (which decides the column's day/month order), for
        an ISO date literal against a raw column whose cells read as dates.
        """
        if self.cells is None:
            return False
        column, literal = (left, right) if right.is_scalar else (right, left)
        if column.is_scalar or column.cache_key is None or not literal.is_scalar:
            return False
        if not _ISO_DATE.fullmatch(str(literal.values).strip()):
            return False
        days = np.asarray(self.cells.dates(self.lookup[column.cache_key])[0])
        return bool((days != _NO_DAY).any())

    def _read(self, name: str, domain: str, label: str) -> _Operand:
        """A raw column as the source's cell reading sees it (what KPIs aggregate)."""
        assert self.cells is not None
        column = self.lookup[name]
        if domain == "number":
            values = np.asarray(self.cells.numbers(column)[0], dtype=float)
            return _Operand("number", values, np.isnan(values), label)
        days = np.asarray(self.cells.dates(column)[0], dtype=np.int64)
        missing = days == _NO_DAY
        return _Operand("datetime", np.where(missing, 0, days) * _MICROS_PER_DAY, missing, label)

    def column(self, node: ast.Name) -> _Operand:
        name = self.source.name(node.id)
        key = (name, "raw")
        if key in self._cache:
            return self._cache[key]
        data = self.df[self.lookup[name]]
        if isinstance(data, pd.DataFrame):
            raise ExpressionError(f"column {name!r} appears more than once in the sheet")
        cells, column = self.cells, self.lookup[name]
        shared = (lambda: cells.distinct_in(self.df, column)) if cells is not None else None
        operand = _column_operand(data, f"{name!r}", shared)
        if self.cells is not None and operand.kind in ("number", "datetime"):
            operand = self._read(name, operand.kind, operand.label)  # inf, currencies, day precision: as KPIs read
        operand.cache_key = name
        self._cache[key] = operand
        return operand

    def arithmetic(self, node: ast.BinOp) -> _Operand:
        left, right = self.value(node.left), self.value(node.right)
        lv, lm = self.coerce(left, "number", node, True)
        rv, rm = self.coerce(right, "number", node, True)
        if lv is _UNREADABLE or rv is _UNREADABLE:  # pragma: no cover - text literals rejected at parse
            raise ExpressionError(f"arithmetic needs numbers: {self.source.show(node)}")
        op = ARITH_OPS[type(node.op)]
        label = self.source.show(node)
        if isinstance(lv, np.ndarray) or isinstance(rv, np.ndarray):
            with np.errstate(all="ignore"):
                result = np.asarray(op(np.asarray(lv, dtype=float), np.asarray(rv, dtype=float)), dtype=float)
            missing = np.logical_or(lm, rm) | ~np.isfinite(result)  # x / 0 never matches
            result = np.where(missing, np.nan, result)
            return _Operand("number", result, missing, label)
        try:
            scalar = float(op(lv, rv))
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero: {label}") from None
        if not math.isfinite(scalar):
            raise ExpressionError(f"result is too large: {label}")
        return _Operand("number", scalar, False, label)

    # ---- coercion

    def domain(self, left: _Operand, right: _Operand, node: ast.AST) -> str:
        kinds = {left.kind, right.kind}
        if kinds == {"text"} and self._dates_as_text(left, right):
            return "datetime"
        if len(kinds) == 1:
            return left.kind
        if kinds == {"number", "text"}:
            return "number"
        if kinds == {"datetime", "text"}:
            return "datetime"
        if kinds == {"bool", "text"} and (left.is_scalar or right.is_scalar):
            return "bool"
        raise ExpressionError(
            f"cannot compare {left.kind} ({left.label}) with {right.kind} ({right.label}):"
            f" {self.source.show(node)}"
        )

    def coerce(self, operand: _Operand, domain: str, node: ast.AST, ordering: bool) -> tuple[Any, Any]:
        """Return (values, missing) of ``operand`` in ``domain``; literals may come back _UNREADABLE."""
        if operand.kind == domain:
            return operand.values, operand.missing
        if operand.kind == "bool" and domain != "bool":
            raise ExpressionError(f"{operand.label} holds true/false, not {domain}: {self.source.show(node)}")
        if operand.kind != "text":
            raise ExpressionError(f"{operand.label} is {operand.kind}, not {domain}: {self.source.show(node)}")
        if operand.is_scalar:
            return self._coerce_literal(operand, domain, node, ordering)
        key = (operand.cache_key or "", domain)
        cached = self._cache.get(key) if operand.cache_key is not None else None
        if cached is None and operand.cache_key is not None and self.cells is not None and domain != "bool":
            cached = self._read(operand.cache_key, domain, operand.label)
            self._cache[key] = cached
        if cached is None:
            series = pd.Series(np.where(operand.missing, None, operand.values), dtype=object)
            if domain == "number":
                parsed, _ = parse_numbers(series)
                values = parsed.to_numpy(dtype=float)
                cached = _Operand(domain, values, np.isnan(values), operand.label)
            elif domain == "datetime":
                parsed, _ = parse_dates(series)
                values = parsed.to_numpy().astype("datetime64[us]").view(np.int64)
                cached = _Operand(domain, values, parsed.isna().to_numpy(), operand.label)
            elif domain == "bool":  # "yes"/"TRUE"/"1" vs True; anything else never matches
                folded = series.str.strip().str.casefold()
                truthy = folded.isin(TRUE_TEXT).to_numpy()
                readable = truthy | folded.isin(FALSE_TEXT).to_numpy()
                cached = _Operand(domain, truthy, ~readable, operand.label)
            else:
                raise ExpressionError(f"cannot use {operand.label} as {domain}: {self.source.show(node)}")
            if operand.cache_key is not None:
                self._cache[key] = cached
        return cached.values, cached.missing

    def _coerce_literal(self, operand: _Operand, domain: str, node: ast.AST, ordering: bool) -> tuple[Any, Any]:
        text = str(operand.values)
        try:
            if domain == "number":
                number = parse_number(text)
                if number is None:
                    raise NumberFormatError("empty")
                return number, False
            if domain == "datetime":
                date = parse_date(text)
                if date is None:
                    raise ValueError("empty")
                return _date_micros(date), False
            if domain == "bool":
                folded = text.strip().casefold()
                if folded in TRUE_TEXT | FALSE_TEXT and not ordering:
                    return folded in TRUE_TEXT, False
                raise ValueError("not a boolean")
        except ValueError:
            serial = _serial_of_date(text) if domain == "number" else None
            if serial is not None:
                return serial, False
            if ordering or domain == "datetime":
                raise ExpressionError(
                    f"cannot compare {domain} with text {operand.values!r}: {self.source.show(node)}"
                ) from None
            return _UNREADABLE, False
        raise ExpressionError(f"cannot use {operand.label} as {domain}: {self.source.show(node)}")


_UNREADABLE: Any = object()


def _serial_of_date(text: str) -> float | None:
    """A date literal as a spreadsheet serial number, for number columns that hold dates.

    Google Sheets sources arrive as serial numbers (one metadata read cannot tell which
    columns are dates), so `Date >= '2026-10-01'` compares serials with the date's serial.
    """
    try:
        day = parse_date(text)
    except ValueError:
        return None
    return None if day is None else excel_serial(day)


def literal_value(node: ast.AST) -> Any:
    """A literal of a checked filter (a constant, or a negated one) as its Python value.

    Shared with the SQL compiler (connectors/ibis_filter.py), so a filter's literals mean the
    same on a sheet and in a warehouse.
    """
    if isinstance(node, ast.UnaryOp):
        value = literal_value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    assert isinstance(node, ast.Constant)
    return node.value


def scalar_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _date_micros(date: Any) -> int:
    return int((pd.Timestamp(date) - pd.Timestamp(0)) // pd.Timedelta(microseconds=1))


def _column_operand(
    data: pd.Series, label: str, shared: Callable[[], Distinct | None] | None = None
) -> _Operand:
    """Classify a column and expose it as numpy values + missing mask.

    `shared` gives the column factorized once for every reader of it (the KPIs' distinct
    counts and date parsing, `ColumnCache.distinct`), asked for only if it reads as text.
    """
    dtype = data.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        data, dtype, shared = data.astype(object), np.dtype(object), None
    if is_bool_dtype(dtype):
        missing = data.isna().to_numpy()
        return _Operand("bool", data.to_numpy(dtype=bool, na_value=False), missing, label)
    if is_numeric_dtype(dtype) and not is_complex_dtype(dtype):
        values = data.to_numpy(dtype="float64", na_value=np.nan)
        return _Operand("number", values, np.isnan(values), label)
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        naive = data.dt.tz_localize(None) if isinstance(dtype, pd.DatetimeTZDtype) else data
        values = naive.to_numpy().astype("datetime64[us]").view(np.int64)
        return _Operand("datetime", values, naive.isna().to_numpy(), label)
    if is_string_column(data):
        # A string column (a CSV's): its distinct texts straight from its own storage.
        distinct = (shared() if shared is not None else None) or distinct_values(data)
        return _text_operand(distinct.codes, distinct.values(), None, label)
    arr = data.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(arr), dtype=bool)
    kind = infer_dtype(arr, skipna=True)
    if kind == "boolean":
        return _Operand("bool", np.where(missing, False, arr).astype(bool), missing, label)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        parsed, _ = parse_numbers(pd.Series(arr, dtype=object))
        values = parsed.to_numpy(dtype=float)
        return _Operand("number", values, np.isnan(values), label)
    if kind in ("datetime", "datetime64", "date"):
        parsed, _ = parse_dates(pd.Series(arr, dtype=object))
        values = parsed.to_numpy().astype("datetime64[us]").view(np.int64)
        return _Operand("datetime", values, parsed.isna().to_numpy(), label)
    # Text: blank cells are missing. Placeholders such as "N/A" or "-" are missing in a column
    # of numbers (the README's rule for number cells), but in a column of text they are text:
    # Region == 'NA' (North America) matches. Each distinct value is classified once.
    distinct = (shared() if shared is not None else None) or distinct_values(arr)
    return _text_operand(distinct.codes, distinct.values(), missing, label)


def _text_operand(codes: np.ndarray, uniques: list[Any], missing: np.ndarray | None, label: str) -> _Operand:
    """A text column from its factorized cells (code -1: a missing cell), each distinct text classified once.

    Code -1 indexes the last slot of the per-text arrays, a blank text that is missing, so the
    codes serve as they are (no pass over the rows to move them) and a cell is missing where its
    text is; `missing`, when given, adds the cells missing otherwise.
    """
    unique_texts = np.array([v if isinstance(v, str) else str(v) for v in uniques] + [""], dtype=object)
    folded = [t.strip().casefold() for t in unique_texts[:-1]]
    unique_missing = np.array([not t for t in folded] + [True])
    if _holds_numbers(unique_texts[:-1], folded):
        unique_missing |= np.array([t in MISSING_TOKENS for t in folded] + [True])
    per_cell = unique_missing[codes]
    return _Operand("text", None, per_cell if missing is None else missing | per_cell, label, codes=codes,
                    texts=unique_texts)


def _holds_numbers(texts: np.ndarray, folded: list[str]) -> bool:
    """Whether a text column is a column of numbers: most of its distinct real values read as one."""
    real = tuple(t for t, f in zip(texts, folded, strict=True) if f and f not in MISSING_TOKENS)
    if not real:
        return bool(folded)  # only placeholders: nothing in it is text
    if len(real) <= _FEW_TEXTS:  # Status's four values, in each of a hundred sources: decided once
        return _reads_as_numbers(tuple(sorted(real)))  # in whatever order each source's rows list them
    return _reads_as_numbers.__wrapped__(real)


_FEW_TEXTS = 64


@functools.lru_cache(maxsize=256)
def _reads_as_numbers(real: tuple[str, ...]) -> bool:
    _, bad = parse_numbers(pd.Series(real, dtype=object))
    return len(bad) * 2 < len(real)
