"""How figures and labels read as text: units, signs, percentages, one-line text.

The digest's HTML and plain-text parts, the PDF report and the tracker's Recent column all
format through these functions, so every output states the same facts in the same words.
Status words and colours are the theme's (`sheetsync.core.theme`).
"""

from __future__ import annotations

import math
import re

from sheetsync.core.theme import STATUS_LABELS as STATUS_LABELS  # re-exported: the words live in the theme
from sheetsync.core.theme import status_label as status_label

CURRENCIES = frozenset({"$", "€", "£", "¥"})
"""Units written before the number ($1,200) instead of after it (12 min)."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def one_line(text: object, limit: int = 250) -> str:
    """`text` with line breaks and control characters turned into single spaces.

    Subjects and display names come from config and sheets; a newline in one must never
    reach a mail header, where it could start a header of its own.
    """
    flat = _SPACES.sub(" ", _CONTROL.sub(" ", str(text))).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


_SECRETS = (
    # PEM key material, up to its END line (or the end of the text: a header cut it short)
    (re.compile(r"-----BEGIN [A-Z0-9 ]*(?:KEY|CERTIFICATE)[A-Z ]*-----.*?(?:-----END [A-Z0-9 ]*-----|$)", re.S),
     "[redacted key]"),
    # a JSON credential's secret fields: "private_key": "...", "refresh_token": "..."
    (re.compile(r'("(?:private_key(?:_id)?|client_secret|refresh_token|access_token|token|password|api_key|secret)"'
                r'\s*:\s*)"[^"]*"?', re.I), r'\1"[redacted]"'),
    (re.compile(r"\bya29\.[0-9A-Za-z_.-]+"), "[redacted token]"),  # Google OAuth access tokens
    (re.compile(r"\bxox[abprs]-[0-9A-Za-z-]+"), "[redacted token]"),  # Slack tokens
    (re.compile(r"https://(?:hooks\.slack\.com|[\w.-]+\.webhook\.office\.com)/[^\s'\"<>]+"), "[redacted webhook]"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[redacted key]"),  # AWS access key ids
    # key ids (32+ hex digits) and base64 key material (60+ characters, as in a PEM body, with
    # a digit: random text of that length almost always has one). Spreadsheet keys (44) stay
    # readable, and so do paths and URLs: a run that starts with "/" (/home/...), or with a
    # host's last label and a "/" (docs.google.com/spreadsheets/d/<key>), is a path, not a key.
    (re.compile(r"(?<![0-9A-Za-z])(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{32,}(?![0-9A-Za-z])"), "[redacted]"),
    (re.compile(r"(?<![A-Za-z0-9+/])(?!/)(?!(?<=\.)[a-z]{2,10}/)(?=[A-Za-z0-9+/]*[0-9])[A-Za-z0-9+/]{60,}={0,2}"),
     "[redacted]"),
)


def redact(text: str) -> str:
    """`text` with anything shaped like a key, token or webhook URL replaced by [redacted].

    Messages quote sheet cells and headers; a service-account JSON read by mistake as a
    CSV must not print its private key in the terminal, the tracker, the JSON or the digest.
    """
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def escape_lines(text: str) -> str:
    """One line, reversibly: line breaks and control characters shown as escapes (\\n, \\x07)."""
    return _CONTROL_CHAR.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def shown(value: object, limit: int = 60) -> str:
    """A cell, header or name quoted in a message: redacted, on one line, at most `limit` characters."""
    text = escape_lines(redact(str(value)))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bounded_names(names: list[str] | tuple[str, ...], shown_names: int = 8) -> str:
    """"'a', 'b', 'c' and 19,997 more": a list quoted in a message, never sprawling."""
    head = ", ".join(f"'{shown(n, 40)}'" for n in names[:shown_names])
    rest = len(names) - shown_names
    return f"{head} and {rest:,} more" if rest > 0 else head or "(none)"


_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9_.-]+")


def file_slug(name: str) -> str:
    """A name reduced to characters safe in any file system ('Sales/EMEA' -> 'Sales_EMEA').

    Two names can reduce to one slug: whoever names files by slug checks they stay unique.
    """
    return _UNSAFE_IN_FILE_NAMES.sub("_", name).strip("._") or "team"


def number(x: float) -> str:
    """Few enough digits to read at a glance: 1,234 · 87.3 · 2.93 · 0.05 · 0.0004.

    Below 0.01 two significant digits are kept: a defect ratio of 0.0004 is not "0".
    """
    if not math.isfinite(x):
        return "n/a"
    size = abs(x)
    if size >= 100 or x == int(x):
        text = f"{x:,.0f}"
    elif size >= 10:
        text = f"{x:,.1f}"
    elif size >= 0.01:
        text = f"{x:.2f}"
    else:
        text = f"{x:.{min(1 - math.floor(math.log10(size)), 12)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def value(x: float | None, unit: str = "", *, missing: str = "—") -> str:
    """A value in its unit: '%' values are fractions (0.873 -> 87.3%); `missing` when there is none.

    The one formatter of figures as text: the digest, the PDF and the tracker's Recent column.
    """
    if x is None:
        return missing
    if unit == "%":
        return f"{number(x * 100)}%"
    if unit in CURRENCIES:
        return f"-{unit}{number(-x)}" if x < 0 else f"{unit}{number(x)}"
    return f"{number(x)} {unit}" if unit else number(x)


def change(x: float | None, unit: str = "") -> str:
    """A signed difference: +2.1 pts for percentages, +$1,200, -0.5 min; '—' when missing."""
    if x is None:
        return "—"
    if unit == "%":
        x, unit = x * 100, "pts"
    if number(x) == "0":
        return f"±0 {unit}".rstrip() if unit not in CURRENCIES else "±0"
    sign = "+" if x > 0 else "-"
    body = value(abs(x), unit) if unit != "pts" else f"{number(abs(x))} pts"
    return f"{sign}{body}"


def percent(x: float | None) -> str:
    """A share as a whole percentage: 0.598 -> 60%; short of 1, never 100% (0.996 -> 99%: not done yet)."""
    if x is None:
        return "—"
    shown = round(x * 100)
    return f"{99 if shown == 100 and x < 1 else shown}%"


def points(x: float | None) -> str:
    """A change of a share in percentage points: 0.031 -> +3 pts."""
    if x is None:
        return "—"
    pts = round(x * 100)
    return "±0 pts" if pts == 0 else f"{pts:+d} pts"


def score(x: float | None) -> str:
    """A score on the 0.0-1.0 scale OKR tools grade by: 0.61; '—' when missing."""
    return "—" if x is None else f"{x:.2f}"


def more(count: int, thing: str, things: str | None = None) -> str:
    """What a bounded list left out: 'and 1 more key result in the tracker', 'and 1,204 more KPIs ...'."""
    name = thing if count == 1 else things or thing + "s"
    return f"and {count:,} more {name} in the tracker"
