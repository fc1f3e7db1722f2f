"""Row filters: a pandas.query-like condition checked when the config loads, applied per row.

`parse_filter` checks the tree against the filter whitelist and gives each node a static
kind, so nonsense such as ``a + 1 and b`` fails at load. `Filter.apply` interprets the tree
over a DataFrame with Kleene logic: a missing cell never matches, except for isna/notna.
Text columns are compared as what they say ("$1,200" is a number, "2026-10-01" a date).
What a filter means is `filter_walk`'s, shared with the engines' compiler; this module builds
its conditions with numpy and pandas.
"""

from __future__ import annotations

import ast
import functools
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

from sheetsync.core.dates import parse_dates
from sheetsync.core.distinct import Distinct, distinct_values, is_string_column
from sheetsync.core.expressions.filter_walk import (
    COMPARE_OPS,
    FALSE_TEXT,
    TRUE_TEXT,
    FilterWalk,
    Literal,
)
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
from sheetsync.core.numbers import MISSING_TOKENS, parse_numbers
from sheetsync.core.parsed_text import ParsedText

__all__ = ["FILTER_FUNCTIONS", "Filter", "parse_filter"]

FILTER_FUNCTIONS: Mapping[str, int] = {"isna": 1, "notna": 1, "contains": 2, "startswith": 2, "lower": 1}

# Static kinds, used to reject nonsense (``a + 1 and b``) when the config is loaded.
_BOOL, _NUM, _TEXT, _COL, _LIST, _NONE = "condition", "number", "text", "column", "list", "None"


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

    @property
    def column_order(self) -> tuple[str, ...]:
        """The columns named, in the order written (the first unknown one is the one reported)."""
        return self._column_order

    def name_of(self, identifier: str) -> str:
        """The column an identifier in `tree` stands for (backtick names are placeholders)."""
        return self._source.name(identifier)

    def show(self, node: ast.AST) -> str:
        """A tree node as the user wrote it, for messages."""
        return self._source.show(node)

    def apply(self, df: pd.DataFrame, cells: CellReader | None = None, notes: list[str] | None = None) -> pd.Series:
        """Rows where the condition holds; missing values never match (only isna/notna see them).

        `cells` reads the frame's columns as numbers and dates the way KPIs do (the source's
        decimal and thousands separators, its date order, its currency rule), so a filter and
        the KPIs it selects for can never read one cell two ways. `notes`, when given, receives
        what is worth telling the user: cells the filter left out that differ from one of its
        texts only in spaces or capitals.
        """
        return pd.Series(self.mask(df, cells, notes), index=df.index, dtype=bool, copy=False)

    def mask(self, df: pd.DataFrame, cells: CellReader | None = None, notes: list[str] | None = None) -> np.ndarray:
        """`apply` as a numpy array of bools, one per row (no Series around it: a KPI's mask is an array)."""
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Filter.apply expects a DataFrame, got {type(df).__name__}")
        shared = cells.operands(df) if cells is not None else {}
        lookup = shared.get(_LOOKUP_KEY)
        if lookup is None:  # the frame's names, looked up once for every filter over it
            lookup = shared[_LOOKUP_KEY] = _column_lookup(df)
        evaluator = _FilterEvaluator(self, df, lookup, cells)
        try:
            result = evaluator.run()
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            raise ExpressionError(f"cannot evaluate filter {self.text!r}: {exc}") from exc
        if isinstance(result, bool | np.bool_):
            return np.full(len(df), bool(result), dtype=bool)
        mask = result.to_numpy(dtype=bool, na_value=False)
        if notes is not None and evaluator.near:
            notes.extend(evaluator.near_miss_notes(mask))
        return mask


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
            elif type(op) not in COMPARE_OPS:
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


_LOOKUP_KEY = ("", "column lookup")  # where a frame's `_column_lookup` is kept among its shared operands


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
    folded: np.ndarray | None = None  # the distinct texts trimmed and case-folded (near misses)

    @property
    def values(self) -> Any:
        if self._values is None and self.codes is not None:
            self._values = self.texts[self.codes]  # type: ignore[index]
        return self._values



_NEAR_MISS_TEXTS = 10_000  # more distinct texts than this: ids, not categories someone mistyped
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


class _FilterEvaluator(FilterWalk[_Operand]):
    """Interprets a validated filter tree over one DataFrame (Kleene logic for missing values).

    A condition is a pandas BooleanArray (NA where a cell is missing) or a Python bool.
    """

    def __init__(
        self, flt: Filter, df: pd.DataFrame, lookup: Mapping[str, Hashable], cells: CellReader | None = None
    ) -> None:
        super().__init__(flt)
        self.df = df
        self.lookup = lookup
        self.cells = cells
        self.n = len(df)
        # Shared by every filter over this frame (forty KPIs' four filters read Status once).
        self._cache: dict[tuple[str, str], _Operand] = cells.operands(df) if cells is not None else {}
        self.near: list[tuple[_Operand, str, np.ndarray]] = []  # (column, literal, near texts): `_near_misses`

    def column_names(self) -> Mapping[str, Hashable]:
        return self.lookup

    # ---- conditions

    def compare_values(self, op: Callable[[Any, Any], Any], domain: str, left: _Operand | Literal,
                       right: _Operand | Literal, node: ast.AST) -> Any:
        if domain == "text":
            coded, literal = (left, right) if isinstance(right, Literal) else (right, left)
            if isinstance(literal, Literal) and coded.codes is not None:  # type: ignore[union-attr]
                # Once per distinct text, spread to the rows by code (missing rows are masked below).
                texts = coded.texts  # type: ignore[union-attr]
                per_text = op(texts, literal.value) if coded is left else op(literal.value, texts)
                if op is operator.eq:
                    self._near_misses(coded, literal.value)  # type: ignore[arg-type]
                hits = np.asarray(per_text, dtype=bool)[coded.codes]  # type: ignore[union-attr]
                # The column's own mask, shared (BooleanArray operations copy it).
                return pd.arrays.BooleanArray(hits, coded.missing)  # type: ignore[union-attr]
        lv, lm = _arrays(left)
        rv, rm = _arrays(right)
        if domain == "text" and op not in (operator.eq, operator.ne):
            lv, rv = _text_for_ordering(lv, lm), _text_for_ordering(rv, rm)
        with np.errstate(invalid="ignore"):
            hits = np.asarray(op(lv, rv))
        missing = np.logical_or(lm, rm)
        return pd.arrays.BooleanArray(hits.astype(bool), np.broadcast_to(missing, hits.shape).copy())

    def _near_misses(self, coded: _Operand, literal: object) -> None:
        """Remember the distinct texts that equal `literal` but for spaces or capitals ('web ', 'Web').

        Filters compare text exactly, as a sheet's own filters do; such cells are invisible in
        the sheet, and a KPI that silently leaves them out is a number nobody can trust.
        """
        if not isinstance(literal, str) or coded.folded is None or len(coded.folded) > _NEAR_MISS_TEXTS:
            return
        wanted = literal.strip().casefold()
        if not wanted:
            return
        near = (coded.folded == wanted) & (coded.texts != literal)  # type: ignore[operator]
        if near.any():
            self.near.append((coded, literal, near))

    def near_miss_notes(self, kept: np.ndarray) -> list[str]:
        """'4 rows hold 'web ', 'Web' ...': near misses the whole filter did not keep."""
        notes = []
        for coded, literal, near in self.near:
            left_out = near[coded.codes] & ~kept  # type: ignore[index]
            count = int(np.count_nonzero(left_out))
            if not count:
                continue
            shown_texts = sorted({str(coded.texts[c]) for c in np.unique(coded.codes[left_out])})  # type: ignore[index]
            listed = ", ".join(repr(t) for t in shown_texts[:3]) + (" ..." if len(shown_texts) > 3 else "")
            rows = "1 row holds" if count == 1 else f"{count} rows hold"
            notes.append(
                f"filter {self.flt.text!r}: {rows} {listed} in {coded.label}, not {literal!r} but for spaces or"
                " capitals, and the filter leaves them out (text compares exactly): correct those cells, or"
                " list those values in the filter too"
            )
        return notes

    def where_present(self, column: _Operand, hit: bool) -> Any:
        return pd.arrays.BooleanArray(np.full(self.n, hit), np.asarray(column.missing, dtype=bool).copy())

    def truth(self, column: _Operand) -> Any:
        return pd.arrays.BooleanArray(column.values.astype(bool), column.missing.copy())

    def where_missing(self, operand: _Operand, missing: bool) -> Any:
        per_row = np.broadcast_to(np.asarray(operand.missing, dtype=bool), (self.n,))
        return pd.arrays.BooleanArray(per_row.copy() if missing else ~per_row, np.zeros(self.n, dtype=bool))

    def contains(self, text: _Operand, needle: str) -> Any:
        hits = self._texts(text).str.casefold().str.contains(needle.casefold(), regex=False)
        return pd.arrays.BooleanArray(hits.to_numpy(dtype=bool), np.asarray(text.missing, dtype=bool).copy())

    def startswith(self, text: _Operand, prefix: str) -> Any:
        hits = self._texts(text).str.startswith(prefix)
        return pd.arrays.BooleanArray(hits.to_numpy(dtype=bool), np.asarray(text.missing, dtype=bool).copy())

    @staticmethod
    def _texts(text: _Operand) -> pd.Series:
        return pd.Series(np.where(text.missing, "", text.values), dtype=object)

    # ---- values

    def lower(self, text: _Operand, label: str) -> _Operand:
        lowered = np.array([v.lower() if not m else "" for v, m in zip(text.values, text.missing, strict=True)],
                           dtype=object)
        return _Operand("text", lowered, text.missing, label)

    def signed(self, number: _Operand, negative: bool, label: str) -> _Operand:
        return _Operand("number", -number.values if negative else number.values, number.missing, label)

    def arithmetic_values(self, op: Callable[[Any, Any], Any], left: _Operand | Literal, right: _Operand | Literal,
                          label: str) -> _Operand:
        lv, lm = _arrays(left)
        rv, rm = _arrays(right)
        with np.errstate(all="ignore"):
            result = np.asarray(op(np.asarray(lv, dtype=float), np.asarray(rv, dtype=float)), dtype=float)
        missing = np.logical_or(lm, rm) | ~np.isfinite(result)  # x / 0 never matches
        return _Operand("number", np.where(missing, np.nan, result), missing, label)

    def condition_value(self, condition: Any, label: str) -> _Operand:
        return _Operand("bool", condition.to_numpy(dtype=bool, na_value=False), condition.isna(), label)

    def text_as_dates(self, left: _Operand | Literal, right: _Operand | Literal) -> bool:
        """`Date >= '2026-10-01'` on a column of text dates ('05/10/2026'): compare dates, not text.

        Only with the source's cell reading (which decides the column's day/month order), for
        an ISO date literal against a raw column whose cells read as dates.
        """
        if self.cells is None:
            return False
        column, literal = (left, right) if isinstance(right, Literal) else (right, left)
        if isinstance(column, Literal) or column.cache_key is None or not isinstance(literal, Literal):
            return False
        if not _ISO_DATE.fullmatch(str(literal.value).strip()):
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
        name = self.flt.name_of(node.id)
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

    def read_text(self, operand: _Operand, domain: str, node: ast.AST) -> _Operand:
        """A text column's cells read as `domain`, once per column and domain for every filter over the frame."""
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
            else:  # pragma: no cover - the walk asks for no other kind
                raise self.fail(f"cannot use {operand.label} as {domain}", node)
            if operand.cache_key is not None:
                self._cache[key] = cached
        return cached


def _arrays(operand: _Operand | Literal) -> tuple[Any, Any]:
    """(values, missing) of an operand; a literal's date as the micro-seconds its columns hold."""
    if isinstance(operand, Literal):
        value = _date_micros(operand.value) if operand.kind == "datetime" else operand.value
        return value, False
    return operand.values, operand.missing


def _text_for_ordering(values: Any, missing: Any) -> Any:
    if isinstance(values, np.ndarray):
        return np.where(missing, "", values)  # missing cells are masked out afterwards
    return values


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
                    texts=unique_texts, folded=np.array([*folded, ""], dtype=object))


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
