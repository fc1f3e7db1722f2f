"""The locale number parser: no text both parses and changes value silently (issue 13, family 1).

Within a source's locale (`decimal`, `thousands`), a number written the way that locale writes
it reads back as itself, whatever the grouping, sign, percent or currency; text that could mean
two numbers there (a lone other-mark with other than three digits after it) is refused, never
guessed.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sheetsync.core.numbers import NumberFormatError, parse_number

LOCALES = [(".", ","), (",", "."), (",", " "), (".", "'"), (",", None), (".", None)]
amounts = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


def written(x: float, decimal: str, thousands: str | None, digits: int, style: str) -> str:
    """`x` as a person in that locale types it."""
    group = thousands if thousands is not None else ("," if decimal == "." else ".")
    text = f"{abs(x):,.{digits}f}".replace(",", "\0").replace(".", decimal).replace("\0", group)
    if style == "percent":
        text += "%"
    elif style == "currency":
        text = "$" + text if decimal == "." else text + " €"
    if x < 0:
        text = f"({text})" if style == "currency" else "-" + text
    return text


@settings(max_examples=400, deadline=None)
@given(amounts, st.sampled_from(LOCALES), st.integers(0, 3), st.sampled_from(["plain", "percent", "currency"]))
def test_a_number_written_in_the_sources_locale_reads_back_as_itself(x, locale, digits, style):
    decimal, thousands = locale
    x = round(x, digits)
    text = written(x, decimal, thousands, digits, style)
    got = parse_number(text, decimal=decimal, thousands=thousands)
    want = x / 100 if style == "percent" else x
    assert got is not None and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (text, got, want)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 99_999), st.sampled_from([1, 2, 4, 5]), st.sampled_from([".", ","]))
def test_a_mark_that_cannot_group_is_refused_not_guessed(whole, decimals, decimal):
    """'1,5' or '1,2345' under decimal = '.': not thousands (they group 3) and not this locale's decimal."""
    other = "," if decimal == "." else "."
    text = f"{whole}{other}{'7' * decimals}"
    with pytest.raises(NumberFormatError):
        parse_number(text, decimal=decimal)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.sampled_from(LOCALES))
def test_any_text_parses_to_a_finite_number_or_is_refused(text, locale):
    decimal, thousands = locale
    try:
        got = parse_number(text, decimal=decimal, thousands=thousands)
    except NumberFormatError:
        return
    assume(got is not None)
    assert math.isfinite(got)
