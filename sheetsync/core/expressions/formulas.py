"""KPI formulas: arithmetic over other KPIs' values, checked when the config loads.

`parse_formula` allows numbers, KPI ids, + - * / and ** with a constant exponent, and
min/max/abs/round; constant exponents are evaluated at load so ``9 ** 9 ** 9`` fails
there. `Formula.evaluate` propagates a missing input as None, and raises
FormulaValueError when the inputs make the value uncomputable (dividing by a KPI that is 0).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

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
from sheetsync.core.parsed_text import ParsedText
from sheetsync.core.suggest import did_you_mean
from sheetsync.errors import ExitCode

__all__ = ["FORMULA_FUNCTIONS", "MAX_EXPONENT", "Formula", "FormulaValueError", "parse_formula"]

#: Largest allowed |exponent| in formulas: enough for compounding (x ** 52), too small to hang.
MAX_EXPONENT = 100
FORMULA_FUNCTIONS: Mapping[str, tuple[int, int]] = {
    "min": (1, 64),
    "max": (1, 64),
    "abs": (1, 1),
    "round": (1, 2),
}


class FormulaValueError(ExpressionError):
    """A valid formula cannot be computed from these values (division by zero, overflow...).

    The run goes on with the value left empty, so it ends as a run with missing numbers.
    """

    exit_code = ExitCode.STALE



@dataclass(frozen=True, eq=False)
class Formula(ParsedText):
    """A validated KPI formula over other KPIs' values."""

    text: str
    names: frozenset[str]
    _source: Source = field(repr=False, compare=False)
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, float | None]) -> float | None:
        """Compute the formula; None if any value it uses is missing (None/NaN).

        Raises FormulaValueError when the inputs make it uncomputable (e.g. dividing by a KPI
        that is 0) and ExpressionError when a referenced KPI is not in ``values``.
        """
        unknown = sorted(name for name in self.names if name not in values)
        if unknown:
            hint = did_you_mean(unknown[0], values)
            raise ExpressionError(f"unknown KPI {unknown[0]!r} in formula {self.text!r}{hint}")
        return _FormulaEvaluator(self._source, values).eval(self._tree)


def parse_formula(text: str) -> Formula:
    """Parse and validate a formula (arithmetic over KPI ids); raises ExpressionError when not allowed."""
    source = prepare(text, what="formula", words_for_bitwise=False)
    tree = parse(source, "formula")
    names: list[str] = []
    _check_formula(source, tree, names)
    return Formula(text, frozenset(names), source, tree)


def _check_formula(source: Source, node: ast.AST, names: list[str]) -> None:
    """Whitelist walk for formulas; constant exponents are evaluated here so 9**9**9 fails early."""

    def fail(message: str, at: ast.AST) -> ExpressionError:
        return ExpressionError(f"{message}: {source.show(at)}")

    if isinstance(node, ast.Name):
        names.append(check_identifier(source, node, "formula"))
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            kind = "true/false" if isinstance(node.value, bool) else type(node.value).__name__
            raise fail(f"{kind} values are not allowed in formulas (only numbers)", node)
        number_literal(source, node)
    elif isinstance(node, ast.BinOp):
        op = type(node.op)
        if op not in ARITH_OPS and op is not ast.Pow:
            raise fail(f"operator {OPERATOR_TEXT.get(op, op.__name__)} is not allowed in formulas", node)
        _check_formula(source, node.left, names)
        before = len(names)
        _check_formula(source, node.right, names)
        if op is ast.Pow:
            if len(names) > before:
                raise fail("the exponent must be a constant number, not a KPI", node)
            _check_exponent(source, node)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise fail(f"{OPERATOR_TEXT[type(node.op)]} is not allowed in formulas", node)
        _check_formula(source, node.operand, names)
    elif isinstance(node, ast.Call):
        _check_formula_call(source, node, names)
    elif isinstance(node, ast.Compare | ast.BoolOp):
        raise fail("comparisons and and/or are not allowed in formulas", node)
    elif isinstance(node, ast.List | ast.Tuple):
        raise fail("lists are not allowed in formulas", node)
    else:
        raise reject(source, node)


def _check_exponent(source: Source, node: ast.BinOp) -> None:
    exponent = _FormulaEvaluator(source, {}).eval(node.right)
    if exponent is None or abs(exponent) > MAX_EXPONENT:
        raise ExpressionError(f"exponents must be between -{MAX_EXPONENT} and {MAX_EXPONENT}: {source.show(node)}")


def _check_formula_call(source: Source, node: ast.Call, names: list[str]) -> None:
    if not isinstance(node.func, ast.Name):
        _check_formula(source, node.func, [])  # names the real problem, e.g. attribute access
    if not isinstance(node.func, ast.Name) or node.func.id not in FORMULA_FUNCTIONS:
        shown = source.show(node.func)
        allowed = ", ".join(sorted(FORMULA_FUNCTIONS))
        raise ExpressionError(f"function '{shown}' is not allowed (allowed: {allowed}): {source.show(node)}")
    name = node.func.id
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ExpressionError(f"{name}() takes plain positional arguments: {source.show(node)}")
    low, high = FORMULA_FUNCTIONS[name]
    if not low <= len(node.args) <= high:
        count = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"{name}() takes {count} argument(s): {source.show(node)}")
    for arg in node.args:
        _check_formula(source, arg, names)
    if name == "round" and len(node.args) == 2:
        digits = node.args[1]
        literal = digits.operand if isinstance(digits, ast.UnaryOp) else digits
        if not (isinstance(literal, ast.Constant) and type(literal.value) is int and literal.value <= 15):
            raise ExpressionError(f"round() digits must be a whole number up to 15: {source.show(node)}")


class _FormulaEvaluator:
    """Interprets a validated formula tree with None propagation."""

    def __init__(self, source: Source, values: Mapping[str, float | None]) -> None:
        self.source = source
        self.values = values

    def fail(self, message: str) -> FormulaValueError:
        return FormulaValueError(message)

    def eval(self, node: ast.AST) -> float | None:
        result = self._eval(node)
        if result is not None and not math.isfinite(result):
            raise self.fail(f"result is too large to represent: {self.source.show(node)}")
        return result

    def _eval(self, node: ast.AST) -> float | None:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return self._lookup(node)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand)
            if operand is None:
                return None
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left), self._eval(node.right)
            if left is None or right is None:
                return None
            return self._binop(node, left, right)
        if isinstance(node, ast.Call):
            args = [self._eval(arg) for arg in node.args]
            if any(a is None for a in args):
                return None
            return self._call(node.func.id, args)  # type: ignore[attr-defined, arg-type]
        raise self.fail(f"cannot evaluate: {self.source.show(node)}")  # pragma: no cover

    def _lookup(self, node: ast.Name) -> float | None:
        name = self.source.name(node.id)
        value = self.values.get(name)
        if value is None or value is pd.NA:
            return None
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number | Decimal):
            raise self.fail(f"value of {name!r} is not a number: {value!r}")
        try:
            number = float(value)
        except (OverflowError, ValueError, TypeError):
            raise self.fail(f"value of {name!r} is not a usable number: {value!r}") from None
        if math.isnan(number):
            return None
        return number

    def _binop(self, node: ast.BinOp, left: float, right: float) -> float:
        if isinstance(node.op, ast.Div) and right == 0:
            raise self.fail(f"division by zero: {self.source.show(node.right)} is 0")
        if isinstance(node.op, ast.Pow):
            if left == 0 and right < 0:
                raise self.fail(f"division by zero: 0 to a negative power: {self.source.show(node)}")
            if left < 0 and not float(right).is_integer():
                raise self.fail(f"negative number to a fractional power: {self.source.show(node)}")
            try:
                return float(left**right)
            except OverflowError:
                raise self.fail(f"result is too large to represent: {self.source.show(node)}") from None
        return float(ARITH_OPS[type(node.op)](left, right))

    @staticmethod
    def _call(name: str, args: Sequence[float]) -> float:
        if name == "min":
            return min(args)
        if name == "max":
            return max(args)
        if name == "abs":
            return abs(args[0])
        digits = int(args[1]) if len(args) > 1 else 0
        return _round_half_up(args[0], digits)


def _round_half_up(value: float, digits: int) -> float:
    """Round like spreadsheets' ROUND (halves away from zero), not Python's banker's rounding."""
    if not math.isfinite(value):
        return value
    try:
        quantum = Decimal(1).scaleb(-digits)
        return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # too many digits for the decimal context: already "rounded"
        return value
