"""Tests for sheetsync.core.numbers: every documented cell format, the column API and its fast paths."""

from __future__ import annotations

import math
import time
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetsync.core.numbers import MISSING_TOKENS, NumberFormatError, is_missing, parse_number, parse_numbers

# ---------------------------------------------------------------------------------------------
# parse_number: missing values


@pytest.mark.parametrize(
    "value",
    [
        None,
        float("nan"),
        np.nan,
        np.float64("nan"),
        pd.NA,
        pd.NaT,
        "",
        "   ",
        "\xa0",
        "N/A",
        "n/a",
        "NA",
        "#N/A",
        "-",
        "–",
        "—",
        "null",
        "NULL",
        "none",
        "None",
        "nan",
        "NaN",
        " \xa0N/A\u202f ",
    ],
)
def test_missing_values_are_none(value: object) -> None:
    assert parse_number(value) is None
    assert parse_number(value, decimal=",") is None


def test_missing_tokens_are_lowercase() -> None:
    assert all(token == token.casefold() for token in MISSING_TOKENS)


@pytest.mark.parametrize("value", [None, np.nan, pd.NA, "N/A", " - ", "nan"])
def test_is_missing(value: object) -> None:
    assert is_missing(value)


@pytest.mark.parametrize("value", [0, 0.0, "0", "abc", False])
def test_is_not_missing(value: object) -> None:
    assert not is_missing(value)


# ---------------------------------------------------------------------------------------------
# parse_number: numbers that are already numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0),
        (-3, -3.0),
        (2.5, 2.5),
        (np.int64(7), 7.0),
        (np.int8(-2), -2.0),
        (np.uint32(9), 9.0),
        (np.float32(1.5), 1.5),
        (np.float64(0.25), 0.25),
        (Decimal("1.25"), 1.25),
        (float("inf"), float("inf")),
    ],
)
def test_numbers_pass_through(value: object, expected: float) -> None:
    result = parse_number(value)
    assert isinstance(result, float)
    assert result == expected


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False)])
def test_booleans_are_refused(value: object) -> None:
    with pytest.raises(NumberFormatError, match="boolean"):
        parse_number(value)


@pytest.mark.parametrize("value", [object(), [1], b"1", complex(1, 2), np.datetime64("2026-01-01"), 10**400])
def test_other_objects_are_refused(value: object) -> None:
    with pytest.raises(NumberFormatError, match="expected a number"):
        parse_number(value)


# ---------------------------------------------------------------------------------------------
# parse_number: text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("92%", 0.92),
        ("12.5 %", 0.125),
        ("$1,200.50", 1200.5),
        ("USD 1,200", 1200.0),
        ("USD1,200", 1200.0),
        ("1,200 USD", 1200.0),
        ("1.200 EUR", 1.2),  # with decimal "." the dot is the decimal point
        ("€5", 5.0),
        ("5 €", 5.0),
        ("£3.50", 3.5),
        ("¥100", 100.0),
        ("₹1,200", 1200.0),
        ("US$ 10", 10.0),
        ("1,234", 1234.0),
        ("1,234,567.89", 1234567.89),
        ("(1,200)", -1200.0),
        ("($1,200)", -1200.0),
        ("$(1,200)", -1200.0),
        ("(12%)", -0.12),
        ("-5", -5.0),
        ("+5", 5.0),
        ("−5", -5.0),  # U+2212 minus sign
        ("-$5", -5.0),
        ("$-5", -5.0),
        ("-12.5%", -0.125),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("2.5e+2", 250.0),
        ("1 234", 1234.0),
        ("1\xa0234", 1234.0),  # NBSP
        ("1\u202f234", 1234.0),  # narrow NBSP
        ("1 234 567", 1234567.0),
        ("1'234", 1234.0),  # Swiss
        ("1'234.50", 1234.5),
        ("1’234", 1234.0),
        ("42", 42.0),
        (" 42 ", 42.0),
        ("\xa042\u202f", 42.0),
        ("\ufeff42", 42.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("007", 7.0),
        ("0", 0.0),
        ("1.234", 1.234),
    ],
)
def test_text_formats(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", 1234.56),
        ("12,5%", 0.125),
        ("1.200 EUR", 1200.0),
        ("1 234,5", 1234.5),
        ("1\xa0234,5", 1234.5),
        ("1'234,5", 1234.5),
        ("1,5", 1.5),
        ("1,234", 1.234),
        ("(1.200,00 €)", -1200.0),
        ("-0,5", -0.5),
        ("42", 42.0),
    ],
)
def test_decimal_comma(text: str, expected: float) -> None:
    assert parse_number(text, decimal=",") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "5 min",
        "abc",
        "1.2.3",
        "1,5",  # not 15: groups must have 3 digits
        "1,23",
        "12,34,567",  # Indian grouping is not 3-digit grouping
        "1,2345",
        "0,500",  # a leading group can't be 0
        "1.234,56",  # decimal comma needs decimal=","
        "--5",
        "+-5",
        "(-5)",
        "(5",
        "5)",
        "1e400",
        "inf",
        "-Infinity",
        "$",
        "%",
        "()",
        "$5%",
        "5 MIN",  # not an ISO currency
        "5 usd",  # currency codes are upper case
        "TRUE",
        "#DIV/0!",
        "#VALUE!",
        "1_000",
        "0x10",
        "١٢",  # non-ASCII digits
        "5-",
        "e3",
        ".",
        "1 2",
        "12 34",
    ],
)
def test_unreadable_text(text: str) -> None:
    with pytest.raises(NumberFormatError, match="expected a number"):
        parse_number(text)


def test_error_message_says_what_was_expected() -> None:
    with pytest.raises(NumberFormatError) as info:
        parse_number("5 min")
    message = str(info.value)
    assert "expected a number like" in message
    assert "'5 min'" in message
    assert info.value.value == "5 min"
    assert isinstance(info.value, ValueError)


def test_error_message_hints_at_decimal_comma() -> None:
    with pytest.raises(NumberFormatError, match="decimal=','"):
        parse_number("1,5")


def test_explicit_thousands_separator_is_the_only_one_accepted() -> None:
    assert parse_number("1,234", thousands=",") == 1234.0
    assert parse_number("1234.5", thousands=",") == 1234.5
    with pytest.raises(NumberFormatError, match="thousands"):
        parse_number("1 234", thousands=",")
    with pytest.raises(NumberFormatError):
        parse_number("1'234", thousands=",")
    assert parse_number("1.234,5", decimal=",", thousands=".") == 1234.5
    with pytest.raises(NumberFormatError):
        parse_number("1 234,5", decimal=",", thousands=".")
    # a space separator accepts all the spaces locales emit
    assert parse_number("1\u202f234,5", decimal=",", thousands=" ") == 1234.5
    assert parse_number("1_000", thousands="_") == 1000.0


@pytest.mark.parametrize(
    ("decimal", "thousands"),
    [(";", None), ("", None), ("..", None), (".", "."), (",", ","), (".", "5"), (".", "ab"), (".", "x")],
)
def test_invalid_options(decimal: str, thousands: str | None) -> None:
    with pytest.raises(ValueError, match=r"decimal|thousands"):
        parse_number("1", decimal=decimal, thousands=thousands)
    with pytest.raises(ValueError, match=r"decimal|thousands"):
        parse_numbers(pd.Series(["1"]), decimal=decimal, thousands=thousands)


# ---------------------------------------------------------------------------------------------
# parse_numbers


def test_parse_numbers_float_column_fast_path() -> None:
    s = pd.Series([1.5, np.nan, 3.0], index=["a", "b", "c"], name="kpi")
    out, bad = parse_numbers(s)
    assert out.dtype == np.float64
    assert out.index.equals(s.index)
    assert out.name == "kpi"
    assert out.tolist()[0] == 1.5 and math.isnan(out["b"]) and out["c"] == 3.0
    assert bad == []
    out.iloc[0] = 99.0  # the result is independent of the input
    assert s.iloc[0] == 1.5


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint16", "float32", "Int64", "Float64"])
def test_parse_numbers_numeric_dtypes(dtype: str) -> None:
    s = pd.Series([1, 2, 3], dtype=dtype)
    out, bad = parse_numbers(s)
    assert out.dtype == np.float64
    assert out.tolist() == [1.0, 2.0, 3.0]
    assert bad == []


def test_parse_numbers_nullable_missing() -> None:
    out, bad = parse_numbers(pd.Series([1, None, 3], dtype="Int64"))
    assert math.isnan(out.iloc[1]) and bad == []


def test_parse_numbers_mixed_object_column() -> None:
    values = ["92%", None, "abc", 5, True, "N/A", "1,234", np.nan, "5 min", 2.5, pd.NA]
    index = [f"r{i}" for i in range(len(values))]
    s = pd.Series(values, index=index, dtype=object)
    out, bad = parse_numbers(s)
    expected = [0.92, None, None, 5.0, None, None, 1234.0, None, None, 2.5, None]
    for got, want in zip(out.tolist(), expected, strict=True):
        assert (math.isnan(got) and want is None) or got == pytest.approx(want)
    assert bad == [("r2", "abc"), ("r4", True), ("r8", "5 min")]
    assert out.index.equals(s.index)


@pytest.mark.parametrize("dtype", [None, "string", object])
def test_parse_numbers_text_column(dtype: object) -> None:
    s = pd.Series(["1", "2.5", None, "$3", "x", "", "1e3", "inf"], dtype=dtype)
    out, bad = parse_numbers(s)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.to_numpy(), [1.0, 2.5, np.nan, 3.0, np.nan, np.nan, 1000.0, np.nan])
    assert bad == [(4, "x"), (7, "inf")]


def test_parse_numbers_decimal_comma_column() -> None:
    s = pd.Series(["1.234,5", "12,5%", "1,5", "1.5", None])
    out, bad = parse_numbers(s, decimal=",")
    np.testing.assert_allclose(out.to_numpy(), [1234.5, 0.125, 1.5, np.nan, np.nan])
    assert bad == [(3, "1.5")]


def test_parse_numbers_thousands_column() -> None:
    out, bad = parse_numbers(pd.Series(["1,234", "1 234", "7"]), thousands=",")
    np.testing.assert_array_equal(out.to_numpy(), [1234.0, np.nan, 7.0])
    assert bad == [(1, "1 234")]


def test_parse_numbers_categorical() -> None:
    s = pd.Series(["1", "x", None, "3", "x"], dtype="category", index=[10, 11, 12, 13, 14])
    out, bad = parse_numbers(s)
    np.testing.assert_array_equal(out.to_numpy(), [1.0, np.nan, np.nan, 3.0, np.nan])
    assert bad == [(11, "x"), (14, "x")]


@pytest.mark.parametrize("dtype", [bool, "boolean"])
def test_parse_numbers_boolean_column_is_unreadable(dtype: object) -> None:
    s = pd.Series([True, False], dtype=dtype)
    out, bad = parse_numbers(s)
    assert out.isna().all()
    assert [label for label, _ in bad] == [0, 1]


def test_parse_numbers_boolean_column_with_missing() -> None:
    out, bad = parse_numbers(pd.Series([True, None], dtype="boolean"))
    assert out.isna().all()
    assert [label for label, _ in bad] == [0]


def test_parse_numbers_empty_and_all_missing() -> None:
    for s in (pd.Series([], dtype=object), pd.Series([None, None]), pd.Series([], dtype=float)):
        out, bad = parse_numbers(s)
        assert len(out) == len(s) and out.isna().all() and bad == []


def test_parse_numbers_does_not_modify_input() -> None:
    s = pd.Series(["1", "x", None])
    before = s.copy()
    parse_numbers(s)
    pd.testing.assert_series_equal(s, before)


def test_parse_numbers_requires_series() -> None:
    with pytest.raises(TypeError):
        parse_numbers(["1", "2"])  # type: ignore[arg-type]


def test_parse_numbers_fast_on_a_million_numeric_rows() -> None:
    s = pd.Series(np.random.default_rng(0).random(1_000_000))
    start = time.perf_counter()
    out, bad = parse_numbers(s)
    assert time.perf_counter() - start < 1.0
    assert bad == [] and len(out) == len(s)


def test_parse_numbers_text_column_takes_the_to_numeric_path() -> None:
    s = pd.Series(np.random.default_rng(1).random(300_000)).astype(str)
    s.iloc[5] = "1,234"
    start = time.perf_counter()
    out, bad = parse_numbers(s)
    assert time.perf_counter() - start < 3.0
    assert out.iloc[5] == 1234.0 and bad == []
    assert out.iloc[0] == float(s.iloc[0])


def test_parse_numbers_repeated_text_is_cheap() -> None:
    s = pd.Series(["$1,200", "12%", "N/A", "abc"] * 50_000)
    start = time.perf_counter()
    out, bad = parse_numbers(s)
    assert time.perf_counter() - start < 3.0
    assert len(bad) == 50_000 and out.iloc[0] == 1200.0


# ---------------------------------------------------------------------------------------------
# properties

_SEPARATORS = [",", " ", "\xa0", "\u202f", "'"]


@st.composite
def formatted_numbers(draw: st.DrawFn) -> tuple[str, str, float]:
    """A float written the way a spreadsheet might show it, with the number it means."""
    magnitude = draw(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
    digits = draw(st.integers(min_value=0, max_value=6))
    decimal = draw(st.sampled_from([".", ","]))
    sep = draw(st.sampled_from([s for s in [*_SEPARATORS, "."] if s != decimal]))
    plain = f"{magnitude:,.{digits}f}"  # "1,234,567.89"
    expected = float(plain.replace(",", ""))
    body = plain.replace(",", "\0").replace(".", decimal).replace("\0", sep)
    if draw(st.booleans()):
        body += draw(st.sampled_from(["%", " %"]))
        expected /= 100
    elif draw(st.booleans()):
        symbol = draw(st.sampled_from(["$", "€", "£", "¥", "₹", "USD", "EUR", "CHF"]))
        space = draw(st.sampled_from(["", " ", "\xa0"]))
        body = f"{symbol}{space}{body}" if draw(st.booleans()) else f"{body}{space}{symbol}"
    negative = draw(st.sampled_from(["", "-", "−", "+", "()"]))
    body = f"({body})" if negative == "()" else negative + body
    if negative in ("-", "−", "()"):
        expected = -expected
    pad = draw(st.sampled_from(["", " ", "\xa0", "\t"]))
    return pad + body + pad, decimal, expected


@settings(max_examples=300, deadline=None)
@given(formatted_numbers())
def test_formatted_numbers_round_trip(case: tuple[str, str, float]) -> None:
    text, decimal, expected = case
    result = parse_number(text, decimal=decimal)
    assert result is not None
    assert math.isclose(result, expected, rel_tol=1e-9, abs_tol=1e-12), (text, result, expected)


_CELL_ALPHABET = "0123456789.,-+eE %$€()'\xa0\u202f−_abcNA/#"
cells = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=_CELL_ALPHABET, max_size=12),
    st.floats().map(repr),
    st.integers().map(str),
    st.none(),
    st.floats(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.sampled_from(["N/A", "-", "", "nan", "1,234", "12%", "(5)", "1e400", "inf"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cells, max_size=30), st.sampled_from([".", ","]))
def test_parse_numbers_never_raises_and_agrees_with_parse_number(values: list[object], decimal: str) -> None:
    s = pd.Series(values, dtype=object, index=[f"i{k}" for k in range(len(values))])
    out, bad = parse_numbers(s, decimal=decimal)
    assert len(out) == len(s) and out.index.equals(s.index) and out.dtype == np.float64
    bad_labels = {label for label, _ in bad}
    for label, value in s.items():
        try:
            expected = parse_number(value, decimal=decimal)
        except NumberFormatError:
            assert label in bad_labels and math.isnan(out[label])
            continue
        assert label not in bad_labels
        if expected is None:
            assert math.isnan(out[label])
        else:
            assert out[label] == expected or (math.isnan(expected) and math.isnan(out[label]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=10), max_size=20))
def test_parse_numbers_on_str_dtype_never_raises(values: list[str]) -> None:
    s = pd.Series(values, dtype="string") if values else pd.Series([], dtype="string")
    out, bad = parse_numbers(s)
    assert len(out) == len(values)
    assert all(isinstance(v, str) for _, v in bad)


def test_text_numbers_are_read_exactly_like_float() -> None:
    """pandas < 3 rounds some decimal strings 1 ulp off; parse_numbers must not inherit that."""
    rng = np.random.default_rng(7)
    floats = rng.uniform(-1e6, 1e6, 20_000) * 10.0 ** rng.integers(-30, 30, 20_000)
    texts = [repr(float(x)) for x in floats] + [f"{x:.6f}" for x in floats[:5000]] + ["0.1", "0.3", "1.1", "2.675"]
    out, bad = parse_numbers(pd.Series(texts))
    assert bad == []
    assert out.tolist() == [float(t) for t in texts]
