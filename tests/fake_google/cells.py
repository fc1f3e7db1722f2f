"""Cells as Google stores them: a typed value, an optional formula and a user-entered format.

Keeping value, formula and format apart is what lets the fake answer FORMATTED_VALUE,
UNFORMATTED_VALUE and FORMULA reads differently for the same cell, like the real API.

Formulas: the fake evaluates arithmetic (``+ - * / ^``, parentheses, unary minus, numbers),
same-sheet or cross-sheet cell references and SUM/AVERAGE/MIN/MAX/COUNT over ranges. Any
formula it cannot evaluate renders as its own text under FORMATTED_VALUE and UNFORMATTED_VALUE
(Google would compute it); ``#DIV/0!``, ``#VALUE!`` and ``#REF!`` are returned as strings.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import a1, numfmt

Scalar = int | float | str | bool | None


@dataclass
class Cell:
    """One stored cell: literal value (or cached result), formula text, userEnteredFormat, note."""

    value: Scalar = None
    formula: str | None = None
    fmt: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    @property
    def has_value(self) -> bool:
        """True when the cell holds data (values reads trim cells without it)."""
        return self.formula is not None or (self.value is not None and self.value != "")

    @property
    def number_format(self) -> dict[str, Any] | None:
        """The cell's numberFormat, if any."""
        return self.fmt.get("numberFormat")

    @property
    def is_date(self) -> bool:
        """Date/time cells render as serials or strings depending on dateTimeRenderOption."""
        nf = self.number_format
        return bool(nf) and nf.get("type") in numfmt.DATE_TYPES

    def is_blank(self) -> bool:
        """True when nothing (value, format or note) is left, so the store can drop the cell."""
        return not self.has_value and not self.fmt and self.note is None


@dataclass(frozen=True)
class Percent:
    """A number shown as a percentage: ``Percent(0.12)`` stores 0.12 and renders ``12%``."""

    value: float
    pattern: str = "0%"


@dataclass(frozen=True)
class Formula:
    """A formula cell for ``add_spreadsheet``: ``Formula("=A1*2")``."""

    text: str


@dataclass(frozen=True)
class Formatted:
    """Any value with an explicit numberFormat, e.g. ``Formatted(1200, "CURRENCY", "$#,##0")``."""

    value: Any
    type: str
    pattern: str | None = None


def normalize_number(value: float) -> int | float:
    """Integral floats become ints so JSON shows ``2`` not ``2.0``, as Google does."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def from_python(obj: Any) -> Cell:
    """Build a cell from a value as a test author would have typed or stored it."""
    if isinstance(obj, Cell):
        return copy.deepcopy(obj)
    if obj is None or obj == "":
        return Cell()
    if isinstance(obj, Percent):
        return Cell(normalize_number(obj.value), fmt={"numberFormat": {"type": "PERCENT", "pattern": obj.pattern}})
    if isinstance(obj, Formula):
        return Cell(formula=obj.text if obj.text.startswith("=") else "=" + obj.text)
    if isinstance(obj, Formatted):
        inner = from_python(obj.value)
        pattern = obj.pattern or numfmt.DEFAULT_PATTERNS.get(obj.type, "")
        inner.fmt["numberFormat"] = {"type": obj.type, "pattern": pattern}
        return inner
    if isinstance(obj, dt.datetime):
        return Cell(
            normalize_number(numfmt.to_serial(obj)),
            fmt={"numberFormat": {"type": "DATE_TIME", "pattern": numfmt.DEFAULT_PATTERNS["DATE_TIME"]}},
        )
    if isinstance(obj, dt.date):
        return Cell(
            numfmt.to_serial(obj),
            fmt={"numberFormat": {"type": "DATE", "pattern": numfmt.DEFAULT_PATTERNS["DATE"]}},
        )
    if isinstance(obj, bool | str):
        return Cell(obj)
    if isinstance(obj, int | float):
        return Cell(normalize_number(obj))
    raise TypeError(f"cannot store {type(obj).__name__} in a fake sheet cell")


def from_raw(obj: Any) -> Cell | None:
    """valueInputOption=RAW: store exactly what was sent; None (JSON null) leaves the cell alone."""
    if obj is None:
        return None
    if isinstance(obj, bool):
        return Cell(obj)
    if isinstance(obj, int | float):
        return Cell(normalize_number(obj))
    text = str(obj)
    return Cell(text if text != "" else None)


_NUMBER_RE = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_CURRENCY_RE = re.compile(r"^(-?)\$\s?([\d,]*\.?\d+)$")
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def from_user_entered(obj: Any) -> Cell | None:
    """valueInputOption=USER_ENTERED: parse text like a person typing it into the Sheets UI."""
    if obj is None:
        return None
    if not isinstance(obj, str):
        return from_raw(obj)
    text = obj
    if text == "":
        return Cell()
    if text.startswith("'"):
        return Cell(text[1:])
    if text.startswith("="):
        return Cell(formula=text)
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return Cell(stripped.upper() == "TRUE")
    if stripped.endswith("%") and _is_number(stripped[:-1].strip()):
        digits = stripped[:-1].strip()
        pattern = "0.00%" if "." in digits else "0%"
        value = normalize_number(round(float(digits.replace(",", "")) / 100, 12))
        return Cell(value, fmt={"numberFormat": {"type": "PERCENT", "pattern": pattern}})
    money = _CURRENCY_RE.match(stripped)
    if money and _is_number(money.group(2)):
        amount = float(money.group(2).replace(",", "")) * (-1 if money.group(1) else 1)
        pattern = "$#,##0.00" if "." in money.group(2) else "$#,##0"
        return Cell(normalize_number(amount), fmt={"numberFormat": {"type": "CURRENCY", "pattern": pattern}})
    if _is_number(stripped):
        return Cell(normalize_number(float(stripped.replace(",", ""))))
    parsed = _parse_date(stripped)
    if parsed is not None:
        return parsed
    return Cell(text)


def _is_number(text: str) -> bool:
    return bool(text) and bool(_NUMBER_RE.match(text)) and any(ch.isdigit() for ch in text)


def _parse_date(text: str) -> Cell | None:
    iso = _ISO_DATE_RE.match(text)
    try:
        if iso:
            year, month, day = (int(iso.group(i)) for i in (1, 2, 3))
            if iso.group(4) is not None:
                moment = dt.datetime(year, month, day, int(iso.group(4)), int(iso.group(5)), int(iso.group(6) or 0))
                return Cell(
                    normalize_number(numfmt.to_serial(moment)),
                    fmt={"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}},
                )
            return Cell(
                numfmt.to_serial(dt.date(year, month, day)),
                fmt={"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
            )
        us = _US_DATE_RE.match(text)
        if us:
            month, day, year = (int(us.group(i)) for i in (1, 2, 3))
            return Cell(
                numfmt.to_serial(dt.date(year, month, day)),
                fmt={"numberFormat": {"type": "DATE", "pattern": "M/d/yyyy"}},
            )
    except ValueError:
        return None
    return None


# --- formulas -----------------------------------------------------------------------------------

Lookup = Callable[[str | None, int, int], "Cell | None"]
RangeLookup = Callable[[str | None, a1.Bounds], list[Scalar]]


class FormulaError(Exception):
    """An evaluation error value such as ``#DIV/0!``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Unsupported(Exception):
    """The fake cannot evaluate this formula; it renders the formula text instead."""


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"
    r"|(?P<ref>(?:'(?:[^']|'')+'!|[A-Za-z_][A-Za-z0-9_]*!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
    r"|(?P<func>[A-Za-z]+)\("
    r"|(?P<op>[-+*/^(),]))"
)
_FUNCS = {
    "SUM": sum,
    "MIN": min,
    "MAX": max,
    "AVERAGE": lambda xs: sum(xs) / len(xs) if xs else _raise(FormulaError("#DIV/0!")),
    "COUNT": len,
}


def _raise(exc: Exception) -> Any:
    raise exc


class Evaluator:
    """Recursive-descent evaluator for the small formula subset documented in the module."""

    def __init__(self, lookup_range: RangeLookup, sheet: str) -> None:
        self.lookup_range = lookup_range
        self.sheet = sheet
        self.tokens: list[tuple[str, str]] = []
        self.pos = 0

    def evaluate(self, formula: str) -> Scalar:
        """Evaluate ``=...``; raise Unsupported or FormulaError."""
        text = formula[1:] if formula.startswith("=") else formula
        self.tokens = self._tokenize(text)
        self.pos = 0
        result = self._expr()
        if self.pos != len(self.tokens):
            raise Unsupported(formula)
        return normalize_number(result) if isinstance(result, float) else result

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text.rstrip()):
            match = _TOKEN_RE.match(text, pos)
            if not match:
                raise Unsupported(text)
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        if tok is None:
            raise Unsupported("unexpected end")
        self.pos += 1
        return tok

    def _expr(self) -> float:
        value = self._term()
        while (tok := self._peek()) and tok[1] in "+-" and tok[0] == "op":
            self._take()
            right = self._term()
            value = value + right if tok[1] == "+" else value - right
        return value

    def _term(self) -> float:
        value = self._power()
        while (tok := self._peek()) and tok[0] == "op" and tok[1] in "*/":
            self._take()
            right = self._power()
            if tok[1] == "*":
                value = value * right
            elif right == 0:
                raise FormulaError("#DIV/0!")
            else:
                value = value / right
        return value

    def _power(self) -> float:
        value = self._unary()
        if (tok := self._peek()) and tok == ("op", "^"):
            self._take()
            value = value ** self._power()
        return value

    def _unary(self) -> float:
        tok = self._peek()
        if tok and tok[0] == "op" and tok[1] in "+-":
            self._take()
            operand = self._unary()
            return -operand if tok[1] == "-" else operand
        return self._atom()

    def _atom(self) -> float:
        kind, text = self._take()
        if kind == "num":
            return float(text)
        if kind == "op" and text == "(":
            value = self._expr()
            if self._take() != ("op", ")"):
                raise Unsupported("missing )")
            return value
        if kind == "ref":
            if ":" in text.rsplit("!", 1)[-1]:
                raise Unsupported("range outside a function")
            values = self._range_values(text)
            return self._number(values[0] if values else None)
        if kind == "func":
            func = _FUNCS.get(text.upper())
            if func is None:
                raise Unsupported(text)
            args: list[float] = []
            while self._peek() != ("op", ")"):
                tok = self._peek()
                if tok and tok[0] == "ref":
                    self._take()
                    args.extend(
                        float(v)
                        for v in self._range_values(tok[1])
                        if isinstance(v, int | float) and not isinstance(v, bool)
                    )
                else:
                    args.append(self._expr())
                if self._peek() == ("op", ","):
                    self._take()
            self._take()
            if not args and text.upper() in ("MIN", "MAX"):
                return 0.0
            return float(func(args))
        raise Unsupported(text)

    def _range_values(self, ref: str) -> list[Scalar]:
        title, cells = a1.split_sheet(ref)
        bounds = a1.parse_cells((cells or "").replace("$", ""))
        return self.lookup_range(title if title is not None else self.sheet, bounds)

    @staticmethod
    def _number(value: Scalar) -> float:
        if value is None or value == "":
            return 0.0
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and value.startswith("#"):
            raise FormulaError(value)
        raise FormulaError("#VALUE!")
