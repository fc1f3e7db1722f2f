"""What filters and formulas share: the size limits, the parse, and the whitelist's words.

Config text comes from users, so it is never handed to eval/exec/pandas.eval/DataFrame.query.
`prepare` swaps `backtick names` for placeholders, `parse` runs ``ast.parse(mode="eval")``
with the depth checked before any recursive walk, and `Source.show` turns a node back
into the words the user wrote, for messages. `filters` and `formulas` each check the tree
against their own whitelist.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sheetsync.errors import ExitCode, SheetsyncError

MAX_LENGTH = 2000
MAX_DEPTH = 50


class ExpressionError(SheetsyncError, ValueError):
    """A filter or formula is malformed, uses something not allowed, or names an unknown column/KPI."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True)
class Source:
    """Prepared source: the text ast.parse saw plus how to show its pieces in user terms."""

    original: str
    prepared: str
    placeholders: Mapping[str, str]  # placeholder identifier -> backtick-quoted name

    def show(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.prepared, node) or ast.unparse(node)
        for placeholder, name in self.placeholders.items():
            segment = segment.replace(placeholder, f"`{name}`")
        return segment if len(segment) <= 80 else segment[:77] + "..."

    def name(self, identifier: str) -> str:
        return self.placeholders.get(identifier, identifier)


def prepare(text: object, *, what: str, words_for_bitwise: bool) -> Source:
    """Check size, swap `backtick names` for placeholders and (filters) & | for and/or.

    pandas.query gives & and | the precedence of and/or so ``a == 1 & b == 2`` means what it
    says; replacing them before parsing gives the same reading.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"{what} must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{what} is too long ({len(text)} characters, at most {MAX_LENGTH})")
    if not text.strip():
        raise ExpressionError(f"{what} is empty")
    prefix = "__col_"
    while prefix in text:
        prefix = "_" + prefix
    out: list[str] = []
    placeholders: dict[str, str] = {}
    i, n, depth = 0, len(text), 0
    while i < n:
        ch = text[i]
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
        elif ch in ")]}":
            depth -= 1
        if ch in "'\"":
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif ch == "`":
            close = text.find("`", i + 1)
            if close < 0:
                raise ExpressionError(f"unclosed backtick at character {i + 1} of {what}: {text[i : i + 30]}")
            name = text[i + 1 : close]
            if not name.strip() or "\n" in name:
                raise ExpressionError(f"empty or multi-line column name in backticks at character {i + 1}")
            placeholder = f"{prefix}{len(placeholders)}"
            placeholders[placeholder] = name
            out.append(placeholder)
            i = close + 1
        elif words_for_bitwise and ch in "&|":
            out.append(" and " if ch == "&" else " or ")
            i += 1
        elif ch in "\r\n\t\f\v":  # allow multi-line config values without parentheses
            out.append(" ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return Source(text, "".join(out).strip(), placeholders)


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal starting at ``start`` (or len(text) if unterminated)."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        end = text.find(quote * 3, start + 3)
        return len(text) if end < 0 else end + 3
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        else:
            i += 1
    return len(text)


def parse(source: Source, what: str) -> ast.expr:
    try:
        tree = ast.parse(source.prepared, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid {what} syntax{_where(source, exc)}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot parse {what}: {type(exc).__name__}") from None
    # Depth is checked iteratively before any recursive walk, so deep input can't blow the stack.
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree.body


_HINTS = (  # what people type from SQL, Excel or other languages, and what to write instead
    (re.compile(r"=(?![=])"), "use == to compare"),
    (re.compile(r"<>"), "use != for 'not equal'"),
    (re.compile(r"(AND|OR|NOT)\b"), "write and, or, not in lower case"),
)


def _where(source: Source, exc: SyntaxError) -> str:
    """' near "= 'paid'": use == to compare', or ' (it ends too early)': the spot, not the whole text again."""
    line = source.prepared
    said = (exc.msg or "").split(" (detected")[0]  # Python's own words, when they say more than "invalid syntax"
    detail = f" ({said})" if said and said != "invalid syntax" else ""
    offset = (exc.offset or 0) - 1
    if offset < 0 or offset >= len(line):
        return detail or " (it ends too early)"
    fragment = line[offset : offset + 20]
    for placeholder, name in source.placeholders.items():
        fragment = fragment.replace(placeholder, f"`{name}`")
    hint = next((f": {text}" for pattern, text in _HINTS if pattern.match(line, offset)), "")
    if not hint and ("&&" in source.original or "||" in source.original):  # & and | were made words already
        hint = ": write and, or instead of && and ||"
    return f"{detail} near {fragment.rstrip()!r}{hint}"


_NOT_ALLOWED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Slice: "slicing",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.NamedExpr: "assignment (:=)",
    ast.IfExp: "conditional expression",
    ast.Dict: "dict literal",
    ast.Set: "set literal",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
OPERATOR_TEXT: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@ (matrix multiplication)",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
    ast.UAdd: "unary +",
    ast.USub: "unary -",
    ast.Is: "is",
    ast.IsNot: "is not",
}


def reject(source: Source, node: ast.AST) -> ExpressionError:
    what = _NOT_ALLOWED.get(type(node), f"{type(node).__name__} expression")
    return ExpressionError(f"{what} is not allowed: {source.show(node)}")


def check_identifier(source: Source, node: ast.Name, what: str) -> str:
    if node.id in source.placeholders:
        return source.placeholders[node.id]
    if node.id.startswith("__"):
        raise ExpressionError(f"names starting with '__' are not allowed in {what}s: {node.id}")
    return node.id


def number_literal(source: Source, node: ast.Constant) -> float:
    try:
        value = float(node.value)
    except OverflowError:
        raise ExpressionError(f"number is too large: {source.show(node)[:30]}") from None
    if not math.isfinite(value):
        raise ExpressionError(f"number is too large: {source.show(node)[:30]}")
    return value


#: The arithmetic both filters and formulas allow (formulas add ** with a constant exponent).
ARITH_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
