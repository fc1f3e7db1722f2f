"""Tests for sheetsync.core.expressions: filter/formula semantics and the sandbox whitelist."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetsync.core.expressions import (
    MAX_LENGTH,
    ExpressionError,
    Filter,
    Formula,
    FormulaValueError,
    parse_filter,
    parse_formula,
)


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Channel": ["Email", "Ads", None, "email", "N/A", "Social"],
            "Revenue": ["$1,200", "300", "abc", None, "5", "12%"],
            "Count": [1, 2, 3, np.nan, 5, 0],
            "First response (min)": [10, 20, 30, 40, 50, 60],
            "Active": [True, False, None, True, False, True],
            "Date": pd.to_datetime(["2026-10-01", "2026-10-05", None, "2026-11-01", "2026-09-01", "2026-10-02"]),
            "Flag": [True, False, True, False, True, False],
        },
        index=[f"r{i}" for i in range(6)],
    )


def rows(df: pd.DataFrame, text: str) -> list[str]:
    mask = parse_filter(text).apply(df)
    assert mask.dtype == bool and mask.index.equals(df.index)
    return [label for label, hit in mask.items() if hit]


# ---------------------------------------------------------------------------------------------
# filters: semantics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('Channel == "Email"', ["r0"]),
        ("Channel == 'Email'", ["r0"]),
        ('Channel != "Email"', ["r1", "r3", "r4", "r5"]),  # missing (None) never matches; "N/A" is text
        ('Channel < "B"', ["r1"]),
        ('"Email" == Channel', ["r0"]),
        ("Count > 2", ["r2", "r4"]),
        ("Count >= 2", ["r1", "r2", "r4"]),
        ("Count <= 1", ["r0", "r5"]),
        ("Count == 0", ["r5"]),
        ("Count != 1", ["r1", "r2", "r4", "r5"]),  # NaN is not "not 1"
        ("1 < Count < 5", ["r1", "r2"]),
        ("0 <= Count < 2 <= 2", ["r0", "r5"]),
        ("Count > 1 and Count < 5", ["r1", "r2"]),
        ("Count > 1 & Count < 5", ["r1", "r2"]),  # & binds like `and`, as in pandas.query
        ("(Count > 1) & (Count < 5)", ["r1", "r2"]),
        ("Count < 1 or Count > 4", ["r4", "r5"]),
        ("Count < 1 | Count > 4", ["r4", "r5"]),
        ("not Count > 2", ["r0", "r1", "r5"]),
        ("~(Count > 2)", ["r0", "r1", "r5"]),
        ("not (Count > 2 or Count < 1)", ["r0", "r1"]),
        ('Channel in ["Email", "Ads"]', ["r0", "r1"]),
        ('Channel in ("Email", "Ads")', ["r0", "r1"]),
        ('Channel not in ["Email"]', ["r1", "r3", "r4", "r5"]),
        ("Channel in []", []),
        ("Count in [1, 5.0, -2]", ["r0", "r4"]),
        ("Count not in [1, 5]", ["r1", "r2", "r5"]),
        ('Count in [1, "2"]', ["r0", "r1"]),
        ("-Count < -2", ["r2", "r4"]),
        ("+Count > 2", ["r2", "r4"]),
        ("Count * 2 > 4", ["r2", "r4"]),
        ("Count + 1 >= 4", ["r2", "r4"]),
        ("Count - 1 == 0", ["r0"]),
        ("Count / 2 == 1.5", ["r2"]),
        ("Count / Count == 1", ["r0", "r1", "r2", "r4"]),  # 0/0 is missing
        ("10 / Count > 5", ["r0"]),  # x / 0 never matches
        ("`First response (min)` <= 20", ["r0", "r1"]),
        ("`First response (min)` > Count * 10", ["r5"]),  # NaN (r3) never compares
        ("`First response (min)` / 10 == Count", ["r0", "r1", "r2", "r4"]),
        ("isna(Channel)", ["r2"]),  # "N/A" is missing only in a number cell; as text it is text
        ("notna(Channel)", ["r0", "r1", "r3", "r4", "r5"]),
        ('Channel == "N/A"', ["r4"]),
        ("isna(Count)", ["r3"]),
        ("isna(Count) or Count > 4", ["r3", "r4"]),
        ("isna(Active)", ["r2"]),
        ('contains(Channel, "MAIL")', ["r0", "r3"]),
        ('not contains(Channel, "mail")', ["r1", "r4", "r5"]),
        ('startswith(Channel, "E")', ["r0"]),
        ('startswith(lower(Channel), "e")', ["r0", "r3"]),
        ('lower(Channel) == "email"', ["r0", "r3"]),
        ('lower(Channel) in ["ads", "social"]', ["r1", "r5"]),
        ("Active", ["r0", "r3", "r5"]),
        ("not Active", ["r1", "r4"]),  # missing stays unmatched
        ("Active == True", ["r0", "r3", "r5"]),
        ("Active != True", ["r1", "r4"]),
        ("Active and Count > 0", ["r0"]),
        ("Flag & Active", ["r0"]),
        ("Flag | Active", ["r0", "r2", "r3", "r4", "r5"]),
        ("True", ["r0", "r1", "r2", "r3", "r4", "r5"]),
        ("False", []),
        ("1 == 1", ["r0", "r1", "r2", "r3", "r4", "r5"]),
        ('Date >= "2026-10-02"', ["r1", "r3", "r5"]),
        ('Date == "Oct 5, 2026"', ["r1"]),
        ('Date < "2026-10-01" or isna(Date)', ["r2", "r4"]),
        ("(Count > 2) == (Count > 4)", ["r0", "r1", "r4", "r5"]),
    ],
)
def test_filter_semantics(df: pd.DataFrame, text: str, expected: list[str]) -> None:
    assert rows(df, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Revenue > 100", ["r0", "r1"]),  # text column coerced with parse_numbers
        ("Revenue == 300", ["r1"]),
        ("Revenue != 300", ["r0", "r4", "r5"]),  # unreadable "abc" and missing never match
        ("Revenue < 1", ["r5"]),  # 12% -> 0.12
        ("Revenue * 2 > 1000", ["r0"]),
        ("Revenue >= Count", ["r0", "r1", "r4", "r5"]),
        ('Revenue == "300"', ["r1"]),  # text vs text
        ('Count == "2"', ["r1"]),  # number column vs numeric text literal
        ('Count > "1,000"', []),
        ('Count == "many"', []),
        ('Count != "many"', ["r0", "r1", "r2", "r4", "r5"]),
    ],
)
def test_number_literal_coerces_text_column(df: pd.DataFrame, text: str, expected: list[str]) -> None:
    assert rows(df, text) == expected


def test_text_with_numbers_from_str_dtype_column() -> None:
    df = pd.DataFrame({"NPS": pd.Series(["10", "7", "n/a", "9.5"], dtype="string")})
    assert rows(df, "NPS >= 9") == [0, 3]


def test_text_boolean_column_against_boolean_literal() -> None:
    df = pd.DataFrame({"Done": ["yes", "no", "TRUE", None, "maybe"]})
    assert rows(df, "Done == True") == [0, 2]
    assert rows(df, "Done != True") == [1]


def test_categorical_and_nullable_columns() -> None:
    df = pd.DataFrame(
        {
            "Team": pd.Series(["a", "b", None], dtype="category"),
            "N": pd.Series([1, None, 3], dtype="Int64"),
            "B": pd.Series([True, None, False], dtype="boolean"),
        }
    )
    assert rows(df, 'Team == "a"') == [0]
    assert rows(df, "N >= 1") == [0, 2]
    assert rows(df, "B") == [0]
    assert rows(df, "not B") == [2]


def test_non_string_column_labels_are_reachable_by_backticks() -> None:
    df = pd.DataFrame({0: [1, 2], "x": [3, 4]})
    assert rows(df, "`0` > 1") == [1]


def test_tz_aware_datetime_column() -> None:
    df = pd.DataFrame({"At": pd.to_datetime(["2026-10-05 10:00", "2026-10-04 10:00"]).tz_localize("UTC")})
    assert rows(df, 'At >= "2026-10-05"') == [0]


def test_empty_frame() -> None:
    df = pd.DataFrame({"Count": pd.Series([], dtype=float)})
    assert parse_filter("Count > 1").apply(df).tolist() == []


def test_columns_attribute() -> None:
    f = parse_filter('`First response (min)` > 5 and Channel == "x" or isna(Channel) and lower(Team) == "a"')
    assert isinstance(f, Filter)
    assert f.columns == frozenset({"First response (min)", "Channel", "Team"})
    assert parse_filter("True").columns == frozenset()


def test_filter_is_reusable_and_does_not_modify_the_frame(df: pd.DataFrame) -> None:
    before = df.copy()
    f = parse_filter("Revenue > 100 and Count > 0")
    first = f.apply(df)
    second = f.apply(df)
    assert first.equals(second)
    pd.testing.assert_frame_equal(df, before)


def test_multiline_filter(df: pd.DataFrame) -> None:
    assert rows(df, 'Count > 1\n  and Channel == "Ads"') == ["r1"]


def test_unknown_column_suggests_and_lists(df: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_filter('Chanel == "Email"').apply(df)
    message = str(info.value)
    assert "unknown column 'Chanel' (did you mean 'Channel'?)" in message
    assert "'Revenue'" in message and "'First response (min)'" in message
    with pytest.raises(ExpressionError, match="did you mean 'Channel'"):
        parse_filter('channel == "Email"').apply(df)
    with pytest.raises(ExpressionError, match="unknown column 'zzz';"):
        parse_filter("zzz > 1").apply(df)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Channel", "holds text, not true/false"),
        ("Count", "holds number, not true/false"),
        ("Channel and Count > 1", "holds text"),
        ("Date > 5", "cannot compare datetime"),
        ('Date > "someday"', "cannot compare datetime with text"),
        ('Count > "many"', "cannot compare number with text"),
        ("Active > 1", "cannot compare bool"),
        ("Active + 1 > 1", "true/false, not number"),
        ("Channel > Count", "cannot compare text"),  # text column vs number column: coerced
        ('contains(Count, "1")', "is number, not text"),
    ],
)
def test_filter_apply_errors(df: pd.DataFrame, text: str, message: str) -> None:
    if text == "Channel > Count":
        assert rows(df, text) == []  # coerced: no Channel value reads as a number
        return
    with pytest.raises(ExpressionError, match=message):
        parse_filter(text).apply(df)


def test_duplicate_column_names() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ExpressionError, match="more than once"):
        parse_filter("a > 1").apply(df)


def test_apply_requires_a_frame() -> None:
    with pytest.raises(TypeError):
        parse_filter("a > 1").apply([1, 2])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# filters: what parse_filter refuses (the sandbox)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('x')", "attribute access is not allowed"),
        ("__import__('os')", "function '__import__' is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "attribute access is not allowed"),
        ("x.__class__", "attribute access is not allowed: x.__class__"),
        ("[c for c in ()]", "comprehension is not allowed"),
        ("(c for c in ())", "generator expression is not allowed"),
        ("{c: 1 for c in ()}", "comprehension is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("open('x')", "function 'open' is not allowed"),
        ("eval('1')", "function 'eval' is not allowed"),
        ("getattr(x,'y')", "function 'getattr' is not allowed"),
        ("x[0]", "indexing is not allowed: x\\[0\\]"),
        ("x[0:1] == 1", "indexing is not allowed"),
        ('f"{x}" == "a"', "f-string is not allowed"),
        ("(x := 1)", "assignment \\(:=\\) is not allowed"),
        ("a @ b", "operator @"),
        ("9**9**9", "operator \\*\\* is not allowed"),
        ("a % 2 == 0", "operator % is not allowed"),
        ("a // 2 == 0", "operator // is not allowed"),
        ("a ^ b", "operator \\^ is not allowed"),
        ("a << 2", "operator << is not allowed"),
        ("a is None", "operator 'is' is not allowed"),
        ("1 if a else 0", "conditional expression is not allowed"),
        ("{'a': 1}", "dict literal is not allowed"),
        ("{1, 2}", "set literal is not allowed"),
        ("b'x' == a", "bytes literals are not allowed"),
        ("a == 1j", "complex literals are not allowed"),
        ("a == ...", "ellipsis literals are not allowed"),
        ("contains(*a)", "plain positional arguments"),
        ("contains(a, text='x')", "plain positional arguments"),
        ("contains(a)", "takes 2 argument"),
        ("contains(a, b)", "must be quoted text"),
        ("a.lower() == 'x'", "attribute access is not allowed"),
        ("__builtins__ == 1", "names starting with '__' are not allowed"),
        ("a == None", "use isna\\(col\\) or notna\\(col\\)"),
        ("a != None", "use isna"),
        ("a in [1, None]", "None is not allowed in a list"),
        ("a in b", "'in' needs a list"),
        ("a in [b]", "list items must be plain values"),
        ("a in [-b]", "list items must be plain values"),
        ("[1] == a", "a list is only allowed after 'in'"),
        ("[1, 2]", "a list is only allowed after 'in'"),
        ("a + 1", "a filter must be a condition"),
        ("'text'", "a filter must be a condition"),
        ("lower(a)", "a filter must be a condition"),
        ("5", "a filter must be a condition"),
        ("None", "a filter must be a condition"),
        ("a + 'x' == 'y'", "text cannot be used in arithmetic"),
        ("-'x' == a", "unary - needs a number"),
        ("not 'x'", "'not' needs conditions"),
        ("a > 1 and 5", "'and' needs conditions"),
        ("isna(a > 1)", "isna\\(\\) needs a column"),
        ("a ==", "invalid filter syntax"),
        ("a = 1", "invalid filter syntax"),
        ("import os", "invalid filter syntax"),
        ("a == 1; b", "invalid filter syntax"),
        ("`unclosed == 1", "unclosed backtick"),
        ("`` == 1", "empty or multi-line column name"),
        ("", "filter is empty"),
        ("   ", "filter is empty"),
        ("a\x00 == 1", "filter"),
        ("a " + "x" * MAX_LENGTH, "too long"),
        ("-" * 200 + "a > 1", "nested too deeply"),
        ("(" * 60 + "a > 1" + ")" * 60, "nested too deeply"),
        ("a" + " + a" * 60 + " > 1", "nested too deeply"),
        ("not " * 60 + "a", "nested too deeply"),
        ("a == 1" + "e999", "number is too large"),
        ("a == " + "9" * 400, "number is too large"),
    ],
)
def test_filter_rejected_at_parse_time(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_filter(text)


def test_backtick_names_do_not_collide_with_placeholders() -> None:
    df = pd.DataFrame({"__col_0": [1], "x y": [2]})
    with pytest.raises(ExpressionError, match="names starting with '__'"):
        parse_filter("__col_0 == 1 and `x y` == 2")
    assert rows(df, "`__col_0` == 1 and `x y` == 2") == [0]


def test_backticks_inside_strings_are_text() -> None:
    df = pd.DataFrame({"a": ["x`y", "z"]})
    assert rows(df, 'a == "x`y"') == [0]
    assert rows(df, "a == 'x`y' | a == 'q&r'") == [0]


def test_error_message_shows_backtick_names(df: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError, match=r"`First response \(min\)`.__class__"):
        parse_filter("`First response (min)`.__class__")


def test_text_is_never_evaluated_by_python(monkeypatch: pytest.MonkeyPatch, df: pd.DataFrame) -> None:
    import builtins

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    monkeypatch.setattr(pd, "eval", boom)
    monkeypatch.setattr(pd.DataFrame, "query", boom)
    monkeypatch.setattr(pd.DataFrame, "eval", boom)
    assert rows(df, "Count > 2") == ["r2", "r4"]
    assert parse_formula("a / b").evaluate({"a": 1, "b": 2}) == 0.5


# ---------------------------------------------------------------------------------------------
# formulas


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("signups / sessions", {"signups": 5, "sessions": 50}, 0.1),
        ("signups / sessions * 100", {"signups": 5, "sessions": 50}, 10.0),
        ("a + b - c", {"a": 1, "b": 2, "c": 4}, -1.0),
        ("a * (b + c)", {"a": 2, "b": 3, "c": 4}, 14.0),
        ("-a", {"a": 2}, -2.0),
        ("+a", {"a": 2}, 2.0),
        ("--a", {"a": 2}, 2.0),
        ("a ** 2", {"a": 3}, 9.0),
        ("a ** 0.5", {"a": 9}, 3.0),
        ("a ** -1", {"a": 4}, 0.25),
        ("(1 + g) ** 12", {"g": 0.0}, 1.0),
        ("a ** (1 / 2)", {"a": 16}, 4.0),
        ("(-2) ** 3", {}, -8.0),
        ("2 ** 3 ** 2", {}, 512.0),
        ("min(a, b, 3)", {"a": 5, "b": 4}, 3.0),
        ("max(a, b)", {"a": 5, "b": 4}, 5.0),
        ("min(a)", {"a": 5}, 5.0),
        ("abs(a - b)", {"a": 1, "b": 4}, 3.0),
        ("round(a)", {"a": 2.5}, 3.0),  # like spreadsheets, not banker's rounding
        ("round(a)", {"a": -2.5}, -3.0),
        ("round(a, 2)", {"a": 1.005}, 1.01),
        ("round(a, 1)", {"a": 0.25}, 0.3),
        ("round(a, -2)", {"a": 1250}, 1300.0),
        ("round(a / b * 100, 1)", {"a": 1, "b": 3}, 33.3),
        ("1.5e3", {}, 1500.0),
        ("`nps-score` * 2", {"nps-score": 21}, 42.0),
        ("a", {"a": np.float64(2.5)}, 2.5),
        ("a", {"a": np.int64(7)}, 7.0),
        ("a + 1", {"a": 2}, 3.0),
    ],
)
def test_formula_values(text: str, values: dict[str, float], expected: float) -> None:
    result = parse_formula(text).evaluate(values)
    assert isinstance(result, float)
    assert result == pytest.approx(expected, rel=1e-12)


def test_formula_names() -> None:
    formula = parse_formula("round(signups / sessions * 100, 1) + max(`nps-score`, 0)")
    assert isinstance(formula, Formula)
    assert formula.names == frozenset({"signups", "sessions", "nps-score"})
    assert parse_formula("1 + 2").names == frozenset()


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA])
def test_formula_missing_input_gives_none(missing: object) -> None:
    formula = parse_formula("a / b + max(a, c)")
    assert formula.evaluate({"a": missing, "b": 0, "c": 1}) is None  # type: ignore[dict-item]
    assert formula.evaluate({"a": 1, "b": 2, "c": missing}) is None  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("signups / sessions", {"signups": 5, "sessions": 0}, "division by zero: sessions is 0"),
        ("a / (b - c)", {"a": 1, "b": 2, "c": 2}, "division by zero: b - c is 0"),
        ("a ** -1", {"a": 0}, "division by zero"),
        ("a ** 0.5", {"a": -4}, "negative number to a fractional power"),
        ("a * 10", {"a": 1e308}, "too large"),
        ("a ** 100", {"a": 1e10}, "too large"),
        ("a", {"a": float("inf")}, "too large"),
        ("a + 1", {"a": "5"}, "not a number"),
        ("a + 1", {"a": True}, "not a number"),
    ],
)
def test_formula_value_errors(text: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(FormulaValueError, match=message):
        parse_formula(text).evaluate(values)  # type: ignore[arg-type]


def test_formula_value_error_is_an_expression_error() -> None:
    assert issubclass(FormulaValueError, ExpressionError)
    assert issubclass(ExpressionError, ValueError)


def test_formula_unknown_kpi() -> None:
    formula = parse_formula("signups / sesions")
    with pytest.raises(ExpressionError, match=r"unknown KPI 'sesions'.*did you mean 'sessions'") as info:
        formula.evaluate({"signups": 1, "sessions": 2})
    assert not isinstance(info.value, FormulaValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a > b", "comparisons and and/or are not allowed in formulas"),
        ("a == 1", "comparisons"),
        ("a and b", "comparisons and and/or"),
        ("not a", "not is not allowed in formulas"),
        ("~a", "~ is not allowed in formulas"),
        ("'x'", "str values are not allowed"),
        ("a + 'x'", "str values are not allowed"),
        ("True + 1", "true/false values are not allowed"),
        ("None", "NoneType values are not allowed"),
        ("[a, b]", "lists are not allowed"),
        ("a % 2", "operator % is not allowed"),
        ("a // 2", "operator // is not allowed"),
        ("a & b", "operator & is not allowed"),
        ("a @ b", "operator @"),
        ("9**9**9", "exponents must be between -100 and 100"),
        ("2 ** 101", "exponents must be between"),
        ("a ** b", "exponent must be a constant number, not a KPI"),
        ("a ** (1 / 0)", "division by zero"),
        ("sum(a, b)", "function 'sum' is not allowed"),
        ("open('x')", "function 'open' is not allowed"),
        ("__import__('os').system('x')", "attribute access is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "attribute access is not allowed"),
        ("[c for c in ()]", "comprehension is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("getattr(a, 'b')", "function 'getattr' is not allowed"),
        ("a[0]", "indexing is not allowed"),
        ('f"{a}"', "f-string is not allowed"),
        ("(a := 1)", "assignment"),
        ("min()", "min\\(\\) takes 1 to 64 argument"),
        ("abs(a, b)", "abs\\(\\) takes 1 argument"),
        ("round(a, b)", "round\\(\\) digits must be a whole number"),
        ("round(a, 1.5)", "round\\(\\) digits"),
        ("round(a, 99)", "round\\(\\) digits"),
        ("max(*a)", "plain positional"),
        ("round(a, ndigits=2)", "plain positional"),
        ("__a + 1", "names starting with '__'"),
        ("a +", "invalid formula syntax"),
        ("", "formula is empty"),
        ("a" + " + a" * 60, "nested too deeply"),
        ("a + " + "9" * 400, "number is too large"),
        ("1" * (MAX_LENGTH + 1), "too long"),
        ("a & b", "is not allowed in formulas"),
    ],
)
def test_formula_rejected_at_parse_time(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_formula(text)


def test_non_text_input() -> None:
    with pytest.raises(ExpressionError, match="must be text"):
        parse_filter(42)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="must be text"):
        parse_formula(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# properties

_FUZZ_FRAME = pd.DataFrame(
    {
        "a": [1, 2, None, 4],
        "b": ["x", "1,200", None, "N/A"],
        "c": [True, False, None, True],
        "d": pd.to_datetime(["2026-01-01", None, "2026-02-01", "2026-03-01"]),
        "e e": [0.0, -1.5, 2.0, np.nan],
    }
)
_TOKENS = [
    "a", "b", "c", "d", "`e e`", "zz", "1", "0", "-2.5", "'x'", '"1,200"', "'2026-01-15'", "True", "None",
    "==", "!=", "<", ">=", "+", "-", "*", "/", "**", "%", "and", "or", "not", "&", "|", "~", "in", "not in",
    "(", ")", "[", "]", ",", "isna(", "notna(", "contains(", "startswith(", "lower(", "open(", ".", "__class__",
    "lambda", ":", "if", "else", "for", "`", "'", "1e999", "[1, 'x']",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join), st.text(max_size=40)))
def test_filters_only_raise_expression_error(text: str) -> None:
    try:
        result = parse_filter(text).apply(_FUZZ_FRAME)
    except ExpressionError:
        return
    assert result.dtype == bool and len(result) == len(_FUZZ_FRAME)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join), st.text(max_size=40)))
def test_formulas_only_raise_expression_error(text: str) -> None:
    try:
        formula = parse_formula(text)
        result = formula.evaluate(dict.fromkeys(formula.names, 1.5))
    except ExpressionError:
        return
    assert result is None or math.isfinite(result)


@st.composite
def arithmetic(draw: st.DrawFn, depth: int = 0) -> tuple[str, float]:
    """A formula over a=2, b=-3, c=0.5 with its value computed alongside."""
    values = {"a": 2.0, "b": -3.0, "c": 0.5}
    if depth >= 4 or draw(st.booleans()):
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(values)))
            return name, values[name]
        number = draw(st.integers(min_value=-50, max_value=50))
        return f"({number})", float(number)
    kind = draw(st.sampled_from(["+", "-", "*", "/", "neg", "abs", "max", "min"]))
    left_text, left = draw(arithmetic(depth + 1))
    if kind == "neg":
        return f"-({left_text})", -left
    if kind == "abs":
        return f"abs({left_text})", abs(left)
    right_text, right = draw(arithmetic(depth + 1))
    if kind in ("max", "min"):
        return f"{kind}({left_text}, {right_text})", (max if kind == "max" else min)(left, right)
    if kind == "/" and right == 0:
        return f"({left_text}) + ({right_text})", left + right
    result = {"+": left + right, "-": left - right, "*": left * right, "/": left / right if right else 0.0}[kind]
    return f"({left_text}) {kind} ({right_text})", result


@settings(max_examples=200, deadline=None)
@given(arithmetic())
def test_formula_arithmetic_matches_python(case: tuple[str, float]) -> None:
    text, expected = case
    result = parse_formula(text).evaluate({"a": 2.0, "b": -3.0, "c": 0.5})
    assert result == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_nested_chained_comparisons_are_checked_in_linear_time() -> None:
    text = "a"
    for _ in range(24):
        text = f"a < ({text}) < b"
    start = time.perf_counter()
    parse_filter(text)
    assert time.perf_counter() - start < 1.0


def test_date_literals_compare_with_serial_number_columns():
    """Google Sheets dates arrive as serials: Date >= '2026-10-01' must still filter them."""
    df = pd.DataFrame({"Date": [46295.0, 46296.0, 46296.5, 46297.0]})  # 2026-09-30 .. 2026-10-02
    assert parse_filter("Date >= '2026-10-01'").apply(df).tolist() == [False, True, True, True]
    assert parse_filter("Date == '2026-10-02'").apply(df).tolist() == [False, False, False, True]


def test_a_text_columns_kind_is_decided_once_for_its_set_of_texts():
    """Status's values, listed in another order by each of a hundred sources, are classified once."""
    from sheetsync.core.expressions import filters as module

    module._reads_as_numbers.cache_clear()
    paid = parse_filter("Channel != 'spam'")
    for channels in (["web", "store", "spam"], ["spam", "web", "store"], ["store", "spam", "web"]):
        frame = pd.DataFrame({"Channel": pd.Series(channels * 2, dtype="str")})
        assert paid.apply(frame).tolist() == [c != "spam" for c in channels * 2]
    info = module._reads_as_numbers.cache_info()
    assert (info.misses, info.hits) == (1, 2)
