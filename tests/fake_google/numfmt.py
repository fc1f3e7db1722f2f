"""Number formats and serial dates, enough to render cells the way Google's FORMATTED_VALUE does.

Google stores dates as serial numbers (days since 1899-12-30) and shows them through the cell's
number format; the code under test must cope with both renderings, so the fake renders both.
Only the pattern features real tracker sheets use are supported: date/time tokens, ``0``/``#``
digit placeholders, thousands separators, decimals, percent, and literal prefixes/suffixes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from sheetsync.core.dates import EXCEL_EPOCH

EPOCH = dt.datetime.combine(EXCEL_EPOCH, dt.time())  # Google's day 0: the same epoch sheetsync reads with
DATE_TYPES = frozenset({"DATE", "TIME", "DATE_TIME"})
DEFAULT_PATTERNS = {
    "DATE": "yyyy-mm-dd",
    "TIME": "hh:mm:ss",
    "DATE_TIME": "yyyy-mm-dd hh:mm:ss",
    "PERCENT": "0%",
    "CURRENCY": "$#,##0.00",
    "NUMBER": "#,##0.00",
    "SCIENTIFIC": "0.00E+00",
    "TEXT": "@",
}
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DATE_TOKEN_RE = re.compile(r'(yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|"[^"]*"|\\.|.)', re.I)


def to_serial(value: dt.date | dt.datetime) -> int | float:
    """A date or datetime as Google's serial number (whole days for plain dates)."""
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        delta = naive - EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (value - EPOCH.date()).days


def from_serial(serial: float) -> dt.datetime:
    """Serial number -> naive datetime, rounded to the second like Sheets' display."""
    return EPOCH + dt.timedelta(seconds=round(serial * 86400))


def general(value: float) -> str:
    """Render a number with no explicit format (Google's "Automatic")."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return str(int(value))
    text = f"{value:.10g}"
    return text.replace("e+", "E+").replace("e-", "E-")


def format_value(value: Any, number_format: dict[str, Any] | None) -> str:
    """FORMATTED_VALUE of a stored value under a cell's numberFormat."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if not number_format:
        return general(value)
    kind = number_format.get("type", "NUMBER")
    pattern = number_format.get("pattern") or DEFAULT_PATTERNS.get(kind, "")
    if kind == "TEXT" or pattern == "@":
        return general(value)
    if kind in DATE_TYPES:
        return format_date(value, pattern)
    if not pattern:
        return general(value)
    return format_number(value, pattern)


def format_number(value: float, pattern: str) -> str:
    """Apply a ``#,##0.00``-style pattern; a ``;`` negative section (e.g. ``(#,##0)``) is honoured."""
    sections = _split_sections(pattern)
    if value < 0 and len(sections) > 1 and sections[1]:
        return _format_section(-value, sections[1])  # the section spells the sign itself
    return _format_section(value, sections[0])


def _format_section(value: float, section: str) -> str:
    prefix, body, suffix = _split_literals(section)
    if not body:
        return prefix + general(value) + suffix
    if "E" in body.upper():
        mantissa_decimals = _decimals(body.upper().split("E")[0])
        text = f"{abs(value):.{mantissa_decimals}E}"
        mant, exp = text.split("E")
        return ("-" if value < 0 else "") + prefix + f"{mant}E{exp[0]}{exp[1:].zfill(2)}" + suffix
    scaled = abs(value) * (100 ** (prefix + suffix).count("%"))
    decimals = _decimals(body)
    grouping = "," in body.split(".")[0]
    rounded = _round_half_up(scaled, decimals)
    text = f"{rounded:,.{decimals}f}" if grouping else f"{rounded:.{decimals}f}"
    required = body.split(".", 1)[1].count("0") if "." in body else 0
    while decimals > required and text.endswith("0"):  # "#" decimals are optional digits
        text = text[:-1]
        decimals -= 1
    int_part = body.split(".")[0]
    if not int_part.replace(",", "").count("0") and text.startswith("0") and rounded < 1:
        text = text[1:]  # "#.##" shows .5, not 0.5
    sign = "-" if value < 0 and rounded != 0 else ""
    return sign + prefix + text + suffix


def _round_half_up(value: float, decimals: int) -> float:
    factor = 10**decimals
    return math.floor(value * factor + 0.5 + 1e-9) / factor


def _split_sections(pattern: str) -> list[str]:
    sections, current, quoted = [], "", False
    for char in pattern:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            sections.append(current)
            current = ""
        else:
            current += char
    sections.append(current)
    return sections


def _split_literals(section: str) -> tuple[str, str, str]:
    """Split a pattern section into literal prefix, digit body and literal suffix."""
    tokens = re.findall(r'"[^"]*"|\\.|\[[^\]]*\]|.', section)
    literal = [not re.fullmatch(r"[0#?.,Ee+\-]", tok) for tok in tokens]
    digit_positions = [i for i, tok in enumerate(tokens) if tok in ("0", "#", "?")]
    if not digit_positions:
        return _literal_text(tokens), "", ""
    first, last = digit_positions[0], digit_positions[-1]
    while last + 1 < len(tokens) and not literal[last + 1]:
        last += 1
    while first > 0 and not literal[first - 1] and tokens[first - 1] in (".", ","):
        first -= 1
    return (
        _literal_text(tokens[:first]),
        "".join(tokens[first : last + 1]),
        _literal_text(tokens[last + 1 :]),
    )


def _literal_text(tokens: list[str]) -> str:
    out = []
    for tok in tokens:
        if tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        elif tok.startswith("[") or tok in ("_", "*"):
            continue
        else:
            out.append(tok)
    return "".join(out)


def _decimals(body: str) -> int:
    if "." not in body:
        return 0
    return sum(1 for char in body.split(".", 1)[1] if char in "0#?")


def format_date(serial: float, pattern: str) -> str:
    """Apply a date/time pattern such as ``yyyy-mm-dd`` or ``M/d/yyyy h:mm``."""
    moment = from_serial(float(serial))
    tokens = _DATE_TOKEN_RE.findall(pattern)
    lowered = [tok.lower() for tok in tokens]
    has_ampm = "am/pm" in lowered
    out: list[str] = []
    for i, tok in enumerate(lowered):
        if tok in ("m", "mm") and _is_minute(lowered, i):
            out.append(f"{moment.minute:02d}" if tok == "mm" else str(moment.minute))
        elif tok == "yyyy":
            out.append(f"{moment.year:04d}")
        elif tok == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif tok == "mmmm":
            out.append(_MONTHS[moment.month - 1])
        elif tok == "mmm":
            out.append(_MONTHS[moment.month - 1][:3])
        elif tok == "mm":
            out.append(f"{moment.month:02d}")
        elif tok == "m":
            out.append(str(moment.month))
        elif tok == "dddd":
            out.append(_DAYS[moment.weekday()])
        elif tok == "ddd":
            out.append(_DAYS[moment.weekday()][:3])
        elif tok == "dd":
            out.append(f"{moment.day:02d}")
        elif tok == "d":
            out.append(str(moment.day))
        elif tok in ("hh", "h"):
            hour = moment.hour % 12 or 12 if has_ampm else moment.hour
            out.append(f"{hour:02d}" if tok == "hh" else str(hour))
        elif tok in ("ss", "s"):
            out.append(f"{moment.second:02d}" if tok == "ss" else str(moment.second))
        elif tok == "am/pm":
            out.append("AM" if moment.hour < 12 else "PM")
        elif tok.startswith('"'):
            out.append(tokens[i][1:-1])
        elif tok.startswith("\\"):
            out.append(tokens[i][1:])
        else:
            out.append(tokens[i])
    return "".join(out)


def _is_minute(tokens: list[str], index: int) -> bool:
    """``m`` means minutes right after an hour token or right before a seconds token."""
    for prev in reversed(tokens[:index]):
        if prev in ("h", "hh"):
            return True
        if prev.isalpha() or prev in ("yyyy", "yy", "dd", "d"):
            break
    for nxt in tokens[index + 1 :]:
        if nxt in ("s", "ss"):
            return True
        if nxt.isalpha():
            break
    return False
