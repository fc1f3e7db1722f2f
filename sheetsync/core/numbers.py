"""Parse the numbers people type into spreadsheets.

Sheets and CSV exports hold numbers as text in every local style: ``92%``,
``$1,200.50``, ``(1,200)``, ``1.234,56``, ``1 234``.  This module turns such
cells into floats, strictly: text that could mean two different numbers (``1,5``
with a ``.`` decimal point) is refused rather than guessed, because a silently
wrong KPI is worse than a reported bad cell.

Pure computation: no I/O, no logging.
"""

from __future__ import annotations

import decimal as _decimal
import math
import numbers as _numbers
import re
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_complex_dtype,
    is_numeric_dtype,
)

from sheetsync.core.distinct import Distinct, distinct_values, is_string_column
from sheetsync.errors import ExitCode, SheetsyncError

__all__ = [
    "MISSING_TOKENS",
    "NumberFormatError",
    "currency_marker",
    "is_missing",
    "mixed_currencies",
    "parse_number",
    "parse_number_array",
    "parse_numbers",
]


class NumberFormatError(SheetsyncError, ValueError):
    """A cell holds something that is not a readable number (the message says what was expected)."""

    exit_code = ExitCode.STALE

    def __init__(self, message: str, value: object = None, **location: Any) -> None:
        super().__init__(message, **location)
        self.value = value


#: Texts that mean "no value" in spreadsheets (compared case-insensitively, after stripping).
MISSING_TOKENS: frozenset[str] = frozenset(
    {"", "n/a", "na", "#n/a", "-", "–", "—", "null", "none", "nan"}
)

# Whitespace Python's str.strip() does not remove but spreadsheets leak (zero-width, BOM, bidi marks).
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\ufe63": "-", "\uff0d": "-"})
_SPACE_SEPARATORS = frozenset({" ", "\xa0", "\u202f", "\u2009"})
_DEFAULT_THOUSANDS = frozenset({",", ".", "'", "\u2019", *_SPACE_SEPARATORS})
#: Characters that may be named explicitly as ``thousands`` (the defaults plus Python-style "_").
_ALLOWED_THOUSANDS = _DEFAULT_THOUSANDS | {"_"}

#: Active ISO 4217 codes; only these count as a currency next to a number, so "5 MIN" stays unreadable.
_ISO_CODES_TEXT = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
    UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
"""
_ISO_CURRENCIES = frozenset(_ISO_CODES_TEXT.split())
_SYMBOLS = "$€£¥₹₩₽₺₪₫฿₦₱"
_CURRENCY_PREFIX = re.compile(rf"^(?:[A-Z]{{1,2}}\$|[{_SYMBOLS}]|(?P<iso>[A-Z]{{3}})(?![A-Za-z]))\s*")
_CURRENCY_SUFFIX = re.compile(rf"\s*(?:[{_SYMBOLS}]|(?<![A-Za-z])(?P<iso>[A-Z]{{3}}))$")
_SIGN_PREFIX = re.compile(r"^([+-])\s*")
_PERCENT_SUFFIX = re.compile(r"\s*%$")
_EXAMPLES = {".": "1,234.5, 12%, $1,200 or (1,200)", ",": "1.234,5, 12%, 1.200 € or (1.200)"}


_SAME_CURRENCY = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "RUB": "₽", "TRY": "₺"}


def currency_marker(value: object) -> str | None:
    """The currency a numeric text is written in ('$', '€', 'CHF', 'US$'), or None.

    ISO codes with a symbol of their own count as that symbol ('EUR 5' and '5 €' agree).
    """
    if not isinstance(value, str):
        return None
    text = _clean_text(value).translate(_MINUS_SIGNS).lstrip("+-( ").rstrip(") ")
    text = _PERCENT_SUFFIX.sub("", text)
    for pattern in (_CURRENCY_PREFIX, _CURRENCY_SUFFIX):
        m = pattern.search(text)
        if m and (m["iso"] is None or m["iso"] in _ISO_CURRENCIES):
            marker = m[0].strip().lstrip("+-").strip()
            return _SAME_CURRENCY.get(marker, marker)
    return None


def mixed_currencies(values: pd.Series, *, distinct: Distinct | None = None) -> dict[str, list[int]]:
    """Positions of a text column's cells per currency, when it holds more than one; else {}.

    `distinct` is the column already factorized (`core.distinct`), when its reader has it.
    """
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        return {}
    if values.dtype == object and infer_dtype(values, skipna=True) not in ("string", "mixed", "mixed-integer"):
        return {}  # an .xlsx or Google column of numbers (or dates): no cell is text with a currency
    distinct = distinct if distinct is not None else distinct_values(values)
    codes = distinct.codes
    markers = _markers(distinct)
    if markers is None:
        return {}
    out: dict[str, list[int]] = {}
    for position, code in enumerate(codes.tolist()):
        if code >= 0 and markers[code] is not None:
            out.setdefault(markers[code], []).append(position)
    return out


# The money text most exports write ("$1,234.50", "1234.5", "€12"): no sign, space, percent or
# exponent, so it reads as exactly this without the general parser (`_parse_text` agrees:
# tests/test_read_compute.py). Most money columns are all such text, nearly one value per row.
_PLAIN_SYMBOLS = "$€£¥₹₩₽₺₪₫฿₦₱"
_PLAIN_NUMBER = re.compile(
    rf"([{_PLAIN_SYMBOLS}]?)((?:[1-9][0-9]{{0,2}}(,)[0-9]{{3}}(?:,[0-9]{{3}})*|[0-9]+)(?:\.[0-9]+)?)"
)


# The same plain money text as RE2 (pyarrow's regex engine) matches it over a column's distinct
# texts at once: with grouping by "," (when "," may group) or without.
_PLAIN_RE2 = {
    True: rf"^[{_PLAIN_SYMBOLS}]?(?:[1-9][0-9]{{0,2}}(?:,[0-9]{{3}})+|[0-9]+)(?:\.[0-9]+)?$",
    False: rf"^[{_PLAIN_SYMBOLS}]?[0-9]+(?:\.[0-9]+)?$",
}


def _plain_texts(texts: pa.Array, grouped: bool) -> np.ndarray:
    """Which of `texts` are plain money text (`_PLAIN_NUMBER`), as bools."""
    return np.asarray(pc.match_substring_regex(texts, _PLAIN_RE2[grouped]).to_numpy(zero_copy_only=False), dtype=bool)


def _markers(distinct: Distinct) -> list[str | None] | None:
    """`_plain_currency` of each distinct text, or None when they hold fewer than two currencies.

    A string column's plain texts are read at once in Arrow (their marker is their first
    character, if a symbol); only the others go through `currency_marker`.
    """
    texts = distinct.arrow_texts()
    if texts is None:
        markers = [_plain_currency(u) for u in distinct.values()]
        return markers if len({m for m in markers if m is not None}) >= 2 else None
    plain = _plain_texts(texts, grouped=True)
    lead = pc.utf8_slice_codeunits(texts, 0, 1)
    symbol = plain & np.asarray(pc.is_in(lead, value_set=pa.array(list(_PLAIN_SYMBOLS))).to_numpy(
        zero_copy_only=False), dtype=bool)  # fmt: skip
    found = set(pc.unique(lead.filter(pa.array(symbol))).to_pylist()) if symbol.any() else set()
    others = np.flatnonzero(~plain)
    other_markers = [currency_marker(t) for t in distinct.uniques.take(others).tolist()] if len(others) else []
    if len(found | {m for m in other_markers if m is not None}) < 2:
        return None
    markers: list[str | None] = [None] * len(texts)
    for j, lead_text in zip(np.flatnonzero(symbol).tolist(), lead.filter(pa.array(symbol)).to_pylist(), strict=True):
        markers[j] = lead_text
    for j, marker in zip(others.tolist(), other_markers, strict=True):
        markers[j] = marker
    return markers


def _plain_values(texts: pa.Array, decimal: str, seps: frozenset[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(which distinct texts are plain money, their values: NaN elsewhere), read at once in Arrow.

    Arrow reads decimal text correctly rounded, as float() does (tests/test_read_compute.py);
    a text too long for a float is left to the general parser, which says so. None when the
    column's decimal separator is not ".", or Arrow cannot read them.
    """
    if decimal != ".":
        return None
    plain = _plain_texts(texts, "," in seps)
    values = np.full(len(texts), np.nan)
    if plain.any():
        digits = pc.replace_substring_regex(texts.filter(pa.array(plain)), rf"[{_PLAIN_SYMBOLS},]", "")
        try:
            values[plain] = pc.cast(digits, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        finite = np.isfinite(values)
        values[~finite] = np.nan
        plain &= finite
    return plain, values


def _plain_currency(value: object) -> str | None:
    """`currency_marker`, without its general rules for the plain money text most cells hold."""
    m = _PLAIN_NUMBER.fullmatch(value) if isinstance(value, str) else None
    if m is not None:
        return m[1] or None
    return currency_marker(value)


def _plain_number(text: str, decimal: str, seps: frozenset[str]) -> float | None:
    """The value of a plain money text (see `_PLAIN_NUMBER`), or None for any other text."""
    if decimal != ".":
        return None
    m = _PLAIN_NUMBER.fullmatch(text)
    if m is None or (m[3] is not None and "," not in seps):
        return None
    number = float(m[2].replace(",", "")) if m[3] is not None else float(m[2])
    return number if math.isfinite(number) else None


def is_missing(value: object) -> bool:
    """True for None/NaN/NA/NaT and for the spreadsheet placeholder texts in MISSING_TOKENS."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, str):
        return _clean_text(value).casefold() in MISSING_TOKENS
    return False


def parse_number(value: object, *, decimal: str = ".", thousands: str | None = None) -> float | None:
    """Read one cell as a float; None when the cell is empty/a missing marker.

    Raises NumberFormatError when the cell holds something else (a boolean, a unit like
    ``5 min``, ambiguous grouping like ``1,5``), so callers can report the exact cell.
    """
    seps = _separators(decimal, thousands)
    return _parse_value(value, decimal, seps)


def parse_numbers(
    values: pd.Series, *, decimal: str = ".", thousands: str | None = None, distinct: Distinct | None = None
) -> tuple[pd.Series, list[tuple[Hashable, object]]]:
    """Parse a whole column; returns (float64 Series with NaN for missing/unreadable, unreadable cells).

    The unreadable list holds (index label, original value) so a report can point at rows;
    missing cells are not listed.  Numeric columns take a vectorised path; text columns go
    through ``pandas.to_numeric`` first and only the leftovers are parsed one by one (each
    distinct text once). A string column's `distinct` values (`core.distinct`, when the
    caller has them) are parsed instead of its cells, and the results spread by code.
    """
    out, bad = parse_number_array(values, decimal=decimal, thousands=thousands, distinct=distinct)
    return pd.Series(out, index=values.index, name=values.name, dtype="float64", copy=False), bad


def parse_number_array(
    values: pd.Series, *, decimal: str = ".", thousands: str | None = None, distinct: Distinct | None = None
) -> tuple[np.ndarray, list[tuple[Hashable, object]]]:
    """`parse_numbers` as a new float64 array, the caller's to change (what the KPIs keep: no Series around it)."""
    if not isinstance(values, pd.Series):
        raise TypeError(f"parse_numbers expects a pandas Series, got {type(values).__name__}")
    seps = _separators(decimal, thousands)
    dtype = values.dtype
    bad_positions: list[int]
    if distinct is not None and is_string_column(values):
        # Only a string column: in an object column pd.factorize makes 1, 1.0 and True one value.
        arrow = distinct.arrow_texts()
        fast = _plain_values(arrow, decimal, seps) if arrow is not None else None
        if fast is None:
            texts = np.empty(len(distinct.values()), dtype=object)
            texts[:] = distinct.values()
            parsed, bad_texts = _parse_object_array(texts, decimal, seps)
        else:  # plain money read at once; only the other texts one by one
            plain, parsed = fast
            others = np.flatnonzero(~plain)
            texts = np.empty(len(others), dtype=object)
            texts[:] = distinct.uniques.take(others).tolist()
            parsed[others], bad_others = _parse_object_array(texts, decimal, seps)
            bad_texts = others[bad_others].tolist()
        unreadable = np.zeros(len(parsed) + 1, dtype=bool)  # last slot: a missing cell (code -1)
        unreadable[bad_texts] = True
        out = np.append(parsed, np.nan)[distinct.codes]
        bad_positions = np.flatnonzero(unreadable[distinct.codes]).tolist()
        index = values.index
        return out, [(index[i], values.iloc[i]) for i in bad_positions]
    if isinstance(dtype, pd.CategoricalDtype):
        out, bad_positions, originals = _parse_categorical(values, decimal, thousands)
    elif is_bool_dtype(dtype):
        originals = values.to_numpy(dtype=object)
        out = np.full(len(values), np.nan)
        bad_positions = [i for i, v in enumerate(originals) if not is_missing(v)]
    elif is_numeric_dtype(dtype) and not is_complex_dtype(dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan, copy=True), []
    else:
        originals = values.to_numpy(dtype=object)
        out, bad_positions = _parse_object_array(originals, decimal, seps)
    index = values.index
    return out, [(index[i], originals[i]) for i in bad_positions]


# ---------------------------------------------------------------------------------------------
# internals


def _separators(decimal: str, thousands: str | None) -> frozenset[str]:
    """Validate the options once and return the accepted grouping characters."""
    if decimal not in (".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    if thousands is None:
        return _DEFAULT_THOUSANDS - {decimal}
    if thousands not in _ALLOWED_THOUSANDS or thousands == decimal:
        allowed = ", ".join(repr(c) for c in sorted(_ALLOWED_THOUSANDS - {decimal}))
        raise ValueError(
            f"thousands must be one of {allowed} (not the decimal {decimal!r}), got {thousands!r}"
        )
    # Locales that group with a space emit NBSP or narrow NBSP; treat all spaces alike.
    return _SPACE_SEPARATORS if thousands in _SPACE_SEPARATORS else frozenset({thousands})


def _clean_text(text: str) -> str:
    return text.strip().strip(_INVISIBLE).strip()


def _parse_value(value: object, decimal: str, seps: frozenset[str]) -> float | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _parse_text(value, decimal, seps)
    if isinstance(value, bool | np.bool_):
        raise NumberFormatError(f"expected a number, got a boolean ({value})", value)
    if isinstance(value, _numbers.Real | _decimal.Decimal):
        try:
            result = float(value)
        except (OverflowError, ValueError) as exc:
            raise NumberFormatError(f"expected a number within float range, got {value!r}", value) from exc
        return None if math.isnan(result) else result
    raise NumberFormatError(f"expected a number or numeric text, got {type(value).__name__} {value!r}", value)


def _parse_text(raw: str, decimal: str, seps: frozenset[str]) -> float | None:
    text = _clean_text(raw).translate(_MINUS_SIGNS)
    if text.casefold() in MISSING_TOKENS:
        return None
    body, negative, percent = _strip_affixes(text)
    if body is None:
        raise NumberFormatError(_expected(raw, decimal), raw)
    number = _read_core(body, decimal, seps)
    if number is None:
        raise NumberFormatError(_expected(raw, decimal, hint=_hint(body, decimal, seps)), raw)
    if percent:
        number /= 100.0
    if not math.isfinite(number):
        raise NumberFormatError(f"expected a number within float range, got {raw!r}", raw)
    return -number if negative else number


def _strip_affixes(text: str) -> tuple[str | None, bool, bool]:
    """Peel sign, parentheses, currency and percent (in any sensible order) off the digits.

    Returns (digits part or None when the affixes themselves are malformed, negative, percent).
    """
    negative = percent = currency = signed = paren = False
    changed = True
    while changed and text:
        changed = False
        if not currency and not percent:
            for pattern in (_CURRENCY_PREFIX, _CURRENCY_SUFFIX):
                m = pattern.search(text)
                if m and (m["iso"] is None or m["iso"] in _ISO_CURRENCIES):
                    text = (text[: m.start()] + text[m.end() :]).strip()
                    currency = changed = True
                    break
        if not percent and not currency:
            m = _PERCENT_SUFFIX.search(text)
            if m:
                text = text[: m.start()]
                percent = changed = True
        if not signed and not paren:
            m = _SIGN_PREFIX.match(text)
            if m:
                text = text[m.end() :]
                negative = m[1] == "-"
                signed = changed = True
            elif len(text) >= 2 and text[0] == "(" and text[-1] == ")":
                text = text[1:-1].strip()
                negative = paren = changed = True
    return (text or None), negative, percent


def _read_core(body: str, decimal: str, seps: frozenset[str]) -> float | None:
    """Read unsigned digits with optional grouping, decimal part and exponent; None if malformed."""
    m = _CORE_PATTERNS[decimal].fullmatch(body)
    if m is None:
        return None
    sep = m["sep"]
    if sep is not None and sep not in seps:
        return None
    int_part = m["int"] or ""
    if sep is not None:
        int_part = int_part.replace(sep, "")
    frac = m["frac"] or ""
    if not int_part and not frac:
        return None
    exp = m["exp"]
    return float(f"{int_part or '0'}.{frac or '0'}e{exp or '0'}")


def _core_pattern(decimal: str) -> re.Pattern[str]:
    dec = re.escape(decimal)
    seps = "".join(re.escape(c) for c in sorted(_ALLOWED_THOUSANDS - {decimal}))
    grouped = rf"[1-9][0-9]{{0,2}}(?P<sep>[{seps}])[0-9]{{3}}(?:(?P=sep)[0-9]{{3}})*"
    return re.compile(
        rf"(?P<int>{grouped}|[0-9]+)?(?:{dec}(?P<frac>[0-9]*))?"
        rf"(?:(?<=[0-9.,])[eE](?P<exp>[+-]?[0-9]+))?"
    )


_CORE_PATTERNS = {d: _core_pattern(d) for d in (".", ",")}


def _expected(raw: str, decimal: str, hint: str = "") -> str:
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    return f"expected a number like {_EXAMPLES[decimal]}, got {shown!r}{hint}"


def _hint(body: str, decimal: str, seps: frozenset[str]) -> str:
    other = "," if decimal == "." else "."
    if other in body and re.fullmatch(rf"[0-9]+(?:{re.escape(other)}[0-9]+)+", body):
        return (
            f" (thousands separators must group 3 digits; if {other!r} is the decimal separator here,"
            f" set decimal={other!r})"
        )
    if any(c in body for c in _DEFAULT_THOUSANDS - seps - {decimal}):
        return f" (only {''.join(sorted(seps))!r} is accepted as thousands separator)"
    return ""


def _parse_categorical(
    values: pd.Series, decimal: str, thousands: str | None
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Parse each category once, then spread the results by code."""
    cat = values.array
    assert isinstance(cat, pd.Categorical)
    parsed, bad = parse_numbers(pd.Series(cat.categories, dtype=object), decimal=decimal, thousands=thousands)
    codes = cat.codes
    cat_values = np.append(parsed.to_numpy(dtype="float64"), np.nan)  # code -1 -> NaN
    out = cat_values[codes]
    bad_codes = np.zeros(len(cat.categories) + 1, dtype=bool)
    bad_codes[[int(label) for label, _ in bad]] = True
    bad_positions = np.flatnonzero(bad_codes[codes]).tolist()
    return out, bad_positions, values.to_numpy(dtype=object)


def _parse_object_array(arr: np.ndarray, decimal: str, seps: frozenset[str]) -> tuple[np.ndarray, list[int]]:
    """Parse an object array: pandas.to_numeric for the easy cells, per distinct value for the rest."""
    n = len(arr)
    out = np.full(n, np.nan)
    kind = infer_dtype(arr, skipna=True)
    todo: np.ndarray
    if kind == "empty":
        todo = np.zeros(0, dtype=np.intp)
    elif kind in ("integer", "floating", "mixed-integer-float") or (kind == "string" and decimal == "."):
        # Plain numerals and real numbers read identically here and in parse_number; the
        # rest (NaN from to_numeric, or inf, which parse_number refuses in text) is redone per cell.
        cast = _real_numbers(arr) if kind != "string" else None
        if cast is not None:  # every cell a number (inf too) or missing: each is its own float
            return cast, []
        try:
            fast = np.asarray(pd.to_numeric(arr, errors="coerce"), dtype="float64")
        except (TypeError, ValueError, OverflowError):
            fast = np.full(n, np.nan)
        ok = np.isfinite(fast)
        if kind == "string" and ok.any():
            # pandas < 3 rounds some decimal strings 1 ulp off; float() is exact, so let
            # to_numeric only pick the plain numerals and convert those with float().
            try:
                fast[ok] = arr[ok].astype(np.float64)
            except (TypeError, ValueError):
                ok[:] = False
        out[ok] = fast[ok]
        todo = np.flatnonzero(~ok)
    else:
        todo = np.arange(n)
    if len(todo) == 0:
        return out, []
    if kind == "string":
        return out, _parse_strings(arr, todo, out, decimal, seps)
    bad: list[int] = []
    cache: dict[str, float | NumberFormatError | None] = {}
    for i in todo.tolist():
        value = arr[i]
        if isinstance(value, str):
            result = cache.get(value)
            if result is None and value not in cache:
                result = cache[value] = _safe_parse(value, decimal, seps)
        else:
            result = _safe_parse(value, decimal, seps)
        if isinstance(result, NumberFormatError):
            bad.append(i)
        elif result is not None:
            out[i] = result
    return out, bad


def _real_numbers(arr: np.ndarray) -> np.ndarray | None:
    """An object array of Python/numpy numbers (and None/NaN) as floats, by C casts; None if any cell is not one.

    What an .xlsx or Google sheet's number column holds: a fifth of pandas.to_numeric's time,
    and the same floats (every int and float converts to its nearest float either way).
    """
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError, OverflowError):  # pd.NA, or anything float() refuses: the general path
        return None


def _parse_strings(
    arr: np.ndarray, todo: np.ndarray, out: np.ndarray, decimal: str, seps: frozenset[str]
) -> list[int]:
    """Parse string cells at ``todo`` once per distinct text (hash-based, so repeats are cheap)."""
    codes, uniques = pd.factorize(arr[todo], use_na_sentinel=True)
    parsed = np.full(len(uniques) + 1, np.nan)  # last slot: missing (code -1)
    unreadable = np.zeros(len(uniques) + 1, dtype=bool)
    for j, text in enumerate(uniques):
        plain = _plain_number(text, decimal, seps) if isinstance(text, str) else None
        if plain is not None:
            parsed[j] = plain
            continue
        result = _safe_parse(text, decimal, seps)
        if isinstance(result, NumberFormatError):
            unreadable[j] = True
        elif result is not None:
            parsed[j] = result
    out[todo] = parsed[codes]
    return todo[unreadable[codes]].tolist()


def _safe_parse(value: object, decimal: str, seps: frozenset[str]) -> float | NumberFormatError | None:
    try:
        return _parse_value(value, decimal, seps)
    except NumberFormatError as exc:
        # Kept as a value: without its traceback, which would hold every caller's frame (and
        # the rows in them) alive in a reference cycle until a full garbage collection.
        return exc.with_traceback(None)
