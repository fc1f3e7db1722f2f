"""What a filter means, written once for every way it runs: the walk, the domain rules, the messages.

A checked filter runs two ways: interpreted over a DataFrame (`filters.Filter.apply`) and
compiled to an engine's expression (connectors/ibis_filter.py). A sheet and a warehouse must
keep the same rows and fail with the same line, so `FilterWalk` holds all of the meaning: the
dispatch over the tree, comparison chains, which kinds compare with which (text beside a number
reads as a number, beside a date as a day, beside true/false as yes/no), what a text literal
reads as, folding the parts made only of literals, Kleene and/or/not, and every message. A
backend says only how its columns are found and how comparisons, arithmetic and the calls are
built over them (the abstract methods).
"""

from __future__ import annotations

import ast
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from sheetsync.core.dates import excel_serial, parse_date
from sheetsync.core.display import bounded_names
from sheetsync.core.expressions.syntax import ARITH_OPS, ExpressionError
from sheetsync.core.numbers import parse_number
from sheetsync.core.sources import BOOKKEEPING_COLUMNS
from sheetsync.core.suggest import did_you_mean

if TYPE_CHECKING:
    from sheetsync.core.expressions.filters import Filter

COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
CONDITION_CALLS = frozenset({"isna", "notna", "contains", "startswith"})
TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
FALSE_TEXT = frozenset({"false", "no", "n", "0"})


class Column(Protocol):
    """A backend's per-row operand: its kind ("number", "text", "bool", "datetime") and label."""

    kind: str
    label: str  # for messages


@dataclass(frozen=True)
class Literal:
    """A value written in the filter, or one folded from such values, already in Python.

    Kinds as for columns; a "datetime" literal holds a `datetime.date` (filters compare days).
    """

    kind: str
    value: Any
    label: str


C = TypeVar("C", bound=Column)

#: A text literal that cannot be a number / true-false: it equals no value of that kind.
UNREADABLE: Any = object()


class FilterWalk(ABC, Generic[C]):
    """Walks a checked filter tree; a backend builds the conditions over its columns.

    A condition is a Python bool (decided by literals alone) or the backend's per-row
    condition, which must support Kleene ``&``, ``|`` and ``~`` (pandas' BooleanArray, Ibis).
    """

    error: ClassVar[type[Exception]] = ExpressionError

    def __init__(self, flt: Filter) -> None:
        self.flt = flt

    def run(self) -> Any:
        """The filter's condition; every column it names is looked up first, in the order written."""
        names = self.column_names()
        for name in self.flt.column_order:
            if name not in names:
                raise self.error(unknown_column_message(name, names))
        return self.condition(self.flt.tree)

    def fail(self, message: str, node: ast.AST) -> Exception:
        return self.error(f"{message}: {self.flt.show(node)}")

    # ---- what a backend builds

    @abstractmethod
    def column_names(self) -> Collection[str]:
        """The names of the columns there are."""

    @abstractmethod
    def column(self, node: ast.Name) -> C:
        """A column named in the filter (it is in `column_names`)."""

    @abstractmethod
    def read_text(self, operand: C, domain: str, node: ast.AST) -> C:
        """A text column read as numbers, days or true/false (or an error where that cannot run)."""

    @abstractmethod
    def compare_values(self, op: Callable[[Any, Any], Any], domain: str, left: C | Literal, right: C | Literal,
                       node: ast.AST) -> Any:
        """Both sides in `domain`, at least one a column: the per-row comparison."""

    @abstractmethod
    def where_present(self, column: C, hit: bool) -> Any:
        """`hit` where the column has a value, missing elsewhere."""

    @abstractmethod
    def truth(self, column: C) -> Any:
        """A true/false column as a condition."""

    @abstractmethod
    def where_missing(self, operand: C, missing: bool) -> Any:
        """Where the operand has no value (`missing`) or has one: isna / notna, never itself missing."""

    @abstractmethod
    def contains(self, text: C, needle: str) -> Any:
        """Whether the text holds `needle`, ignoring case."""

    @abstractmethod
    def startswith(self, text: C, prefix: str) -> Any:
        """Whether the text starts with `prefix`, case counting."""

    @abstractmethod
    def lower(self, text: C, label: str) -> C: ...

    @abstractmethod
    def signed(self, number: C, negative: bool, label: str) -> C: ...

    @abstractmethod
    def arithmetic_values(self, op: Callable[[Any, Any], Any], left: C | Literal, right: C | Literal,
                          label: str) -> C:
        """Both sides numbers, at least one a column; x / 0 is missing."""

    @abstractmethod
    def condition_value(self, condition: Any, label: str) -> C:
        """A per-row condition used as a true/false value, e.g. (a > 1) == (b > 1)."""

    def text_as_dates(self, left: C | Literal, right: C | Literal) -> bool:
        """Whether two texts compare as days (a sheet's text dates against an ISO date literal)."""
        return False

    # ---- conditions

    def condition(self, node: ast.AST) -> Any:
        if isinstance(node, ast.BoolOp):
            combine = both if isinstance(node.op, ast.And) else either
            parts = [self.condition(v) for v in node.values]
            result = parts[0]
            for part in parts[1:]:
                result = combine(result, part)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            return negate(self.condition(node.operand))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call) and node.func.id in CONDITION_CALLS:  # type: ignore[attr-defined]
            return self.call_condition(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            column = self.column(node)
            if column.kind == "bool":
                return self.truth(column)
            raise self.error(
                f"column {column.label} holds {column.kind}, not true/false; compare it instead,"
                f" e.g. {column.label} == ..."
            )
        raise self.fail("expected a condition", node)  # pragma: no cover - the checker allows no other

    def compare(self, node: ast.Compare) -> Any:
        operands = [node.left, *node.comparators]
        result: Any = True
        left = self.value(operands[0])
        for op, right_node in zip(node.ops, operands[1:], strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                assert isinstance(right_node, ast.List | ast.Tuple)
                part = self.membership(left, right_node, node)
                if isinstance(op, ast.NotIn):
                    part = negate(part)
                right = left
            else:
                right = self.value(right_node)
                part = self.compare_pair(COMPARE_OPS[type(op)], left, right, node)
            result = both(result, part)
            left = right
        return result

    def compare_pair(self, op: Callable[[Any, Any], Any], left: C | Literal, right: C | Literal,
                     node: ast.AST) -> Any:
        domain = self.domain(left, right, node)
        ordering = op not in (operator.eq, operator.ne)
        lv = self.coerce(left, domain, node, ordering)
        rv = self.coerce(right, domain, node, ordering)
        if lv is UNREADABLE or rv is UNREADABLE:
            # A literal that can't be a number/boolean never equals a value of that type.
            other = rv if lv is UNREADABLE else lv
            hit = op is operator.ne
            return hit if isinstance(other, Literal) else self.where_present(other, hit)
        if isinstance(lv, Literal) and isinstance(rv, Literal):
            return bool(op(lv.value, rv.value))
        return self.compare_values(op, domain, lv, rv, node)

    def membership(self, left: C | Literal, items_node: ast.List | ast.Tuple, node: ast.AST) -> Any:
        hits: Any = False
        for item in items_node.elts:
            value = literal_value(item)
            hits = either(hits, self.compare_pair(operator.eq, left, Literal(scalar_kind(value), value, repr(value)),
                                                  node))
        if hits is False and not isinstance(left, Literal):
            return self.where_present(left, False)
        return hits

    def call_condition(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        arg = self.value(node.args[0])
        if name in ("isna", "notna"):
            if isinstance(arg, Literal):
                return name == "notna"
            return self.where_missing(arg, name == "isna")
        needle = node.args[1].value  # type: ignore[attr-defined]
        text = self.coerce(arg, "text", node, False)
        if isinstance(text, Literal):
            value = str(text.value)
            return needle.casefold() in value.casefold() if name == "contains" else value.startswith(needle)
        return self.contains(text, needle) if name == "contains" else self.startswith(text, needle)

    # ---- values

    def value(self, node: ast.AST) -> C | Literal:
        if isinstance(node, ast.Name):
            return self.column(node)
        if isinstance(node, ast.Constant):
            return Literal(scalar_kind(node.value), node.value, repr(node.value))
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node)
        label = self.flt.show(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            number = self.number(self.value(node.operand), node)
            negative = isinstance(node.op, ast.USub)
            if isinstance(number, Literal):
                return Literal("number", -number.value if negative else number.value, label)
            return self.signed(number, negative, label)
        if isinstance(node, ast.Call) and node.func.id == "lower":  # type: ignore[attr-defined]
            text = self.coerce(self.value(node.args[0]), "text", node, False)
            if isinstance(text, Literal):
                return Literal("text", str(text.value).lower(), label)
            return self.lower(text, label)
        result = self.condition(node)
        if isinstance(result, bool):
            return Literal("bool", result, label)
        return self.condition_value(result, label)

    def arithmetic(self, node: ast.BinOp) -> C | Literal:
        left, right = self.number(self.value(node.left), node), self.number(self.value(node.right), node)
        op = ARITH_OPS[type(node.op)]
        label = self.flt.show(node)
        if not (isinstance(left, Literal) and isinstance(right, Literal)):
            return self.arithmetic_values(op, left, right, label)
        try:
            result = float(op(left.value, right.value))
        except ZeroDivisionError:
            raise self.fail("division by zero", node) from None
        except OverflowError:
            result = math.inf
        if not math.isfinite(result):
            raise self.fail("result is too large", node)
        return Literal("number", result, label)

    def number(self, operand: C | Literal, node: ast.AST) -> C | Literal:
        got = self.coerce(operand, "number", node, True)
        assert got is not UNREADABLE  # an ordering reads a literal as a number or fails
        return got

    # ---- domains

    def domain(self, left: C | Literal, right: C | Literal, node: ast.AST) -> str:
        """The kind two values compare as; which kinds compare at all."""
        kinds = {left.kind, right.kind}
        if kinds == {"text"} and self.text_as_dates(left, right):
            return "datetime"
        if len(kinds) == 1:
            return left.kind
        if kinds == {"number", "text"}:
            return "number"
        if kinds == {"datetime", "text"}:
            return "datetime"
        if kinds == {"bool", "text"} and (isinstance(left, Literal) or isinstance(right, Literal)):
            return "bool"
        raise self.fail(f"cannot compare {left.kind} ({left.label}) with {right.kind} ({right.label})", node)

    def coerce(self, operand: C | Literal, domain: str, node: ast.AST, ordering: bool) -> C | Literal:
        """`operand` in `domain`; a text literal that cannot be one may come back UNREADABLE."""
        if operand.kind == domain:
            return operand
        if operand.kind == "bool":
            raise self.fail(f"{operand.label} holds true/false, not {domain}", node)
        if operand.kind != "text":
            raise self.fail(f"{operand.label} is {operand.kind}, not {domain}", node)
        if not isinstance(operand, Literal):
            return self.read_text(operand, domain, node)
        text = str(operand.value)
        if domain == "number":
            number = _number_of(text)
            if number is not None:
                return Literal(domain, number, operand.label)
        elif domain == "datetime":
            day = _day_of(text)
            if day is None:
                raise self.fail(f"cannot compare datetime with text {operand.value!r}", node)
            return Literal(domain, day, operand.label)
        elif domain == "bool":
            folded = text.strip().casefold()
            if folded in TRUE_TEXT | FALSE_TEXT and not ordering:
                return Literal(domain, folded in TRUE_TEXT, operand.label)
        else:  # pragma: no cover - text is the only other kind
            raise self.fail(f"cannot use {operand.label} as {domain}", node)
        if ordering:
            raise self.fail(f"cannot compare {domain} with text {operand.value!r}", node)
        return UNREADABLE


def both(left: Any, right: Any) -> Any:
    """Kleene and, deciding at once where one side is a Python bool."""
    if isinstance(left, bool):
        return right if left else False
    if isinstance(right, bool):
        return left if right else False
    return left & right


def either(left: Any, right: Any) -> Any:
    """Kleene or, deciding at once where one side is a Python bool."""
    if isinstance(left, bool):
        return True if left else right
    if isinstance(right, bool):
        return True if right else left
    return left | right


def negate(condition: Any) -> Any:
    return (not condition) if isinstance(condition, bool) else ~condition


def unknown_column_message(name: str, names: Collection[str]) -> str:
    """Suggests and lists the columns, without the row numbers a sheet's frame keeps for messages."""
    usable = [str(n) for n in names if n not in BOOKKEEPING_COLUMNS]
    return f"unknown column {name!r}{did_you_mean(name, usable)}; available columns: {bounded_names(usable)}"


def literal_value(node: ast.AST) -> Any:
    """A literal of a checked filter (a constant, or a negated one) as its Python value."""
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


def _number_of(text: str) -> float | None:
    """A text literal as a number; a date literal as its spreadsheet serial number.

    Google Sheets sources arrive as serial numbers (one metadata read cannot tell which
    columns are dates), so `Date >= '2026-10-01'` compares serials with the date's serial.
    """
    try:
        number = parse_number(text)
    except ValueError:
        number = None
    if number is not None:
        return number
    day = _day_of(text)
    return None if day is None else excel_serial(day)


def _day_of(text: str) -> Any:
    try:
        return parse_date(text)
    except ValueError:
        return None
