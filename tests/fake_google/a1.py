"""A1 notation parsed and printed the way the Sheets API v4 does it.

The fake server must accept exactly the range spellings gspread sends (quoted titles with doubled
inner quotes, open ranges such as ``A:C``, ``A5:B`` and ``2:5``) and echo ranges back in Google's
canonical form (``Sheet1!A1:Z1000``, ``'Sheet 1'!A1``), because the code under test parses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_COLUMNS = 18278  # ZZZ
_ENDPOINT_RE = re.compile(r"^\$?(?P<col>[A-Za-z]{1,3})?\$?(?P<row>[1-9][0-9]*)?$")
_PLAIN_TITLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE_RE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$")


class A1Error(ValueError):
    """Raised when a string is not valid A1 notation; the server turns it into a 400."""


@dataclass(frozen=True)
class Bounds:
    """Zero-based, half-open cell bounds; ``None`` means unbounded on that side."""

    start_row: int | None = None
    end_row: int | None = None
    start_col: int | None = None
    end_col: int | None = None

    def resolve(self, row_count: int, col_count: int) -> tuple[int, int, int, int]:
        """Fill open sides from the grid size, as Google does when it echoes a range."""
        return (
            0 if self.start_row is None else self.start_row,
            row_count if self.end_row is None else self.end_row,
            0 if self.start_col is None else self.start_col,
            col_count if self.end_col is None else self.end_col,
        )


def col_to_index(letters: str) -> int:
    """``A`` -> 0, ``AA`` -> 26."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - ord("A") + 1)
    return index - 1


def index_to_col(index: int) -> str:
    """0 -> ``A``, 26 -> ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    """Zero-based (row, col) -> ``B3``."""
    return f"{index_to_col(col)}{row + 1}"


def quote_title(title: str) -> str:
    """Quote a sheet title only when Google would (spaces, symbols, cell-like names)."""
    if _PLAIN_TITLE_RE.match(title) and not _CELL_LIKE_RE.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """Split ``'It''s'!A1:B2`` into (``It's``, ``A1:B2``).

    Returns (None, text) when there is no ``!`` and no quoting: the caller decides whether a bare
    word is a sheet title, a named range or a range on the first sheet.
    """
    if text.startswith("'"):
        title_chars: list[str] = []
        i = 1
        while i < len(text):
            char = text[i]
            if char == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title_chars.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(title_chars), None
                if rest.startswith("!"):
                    return "".join(title_chars), rest[1:]
                raise A1Error(text)
            title_chars.append(char)
            i += 1
        raise A1Error(text)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


def _endpoint(part: str) -> tuple[int | None, int | None]:
    match = _ENDPOINT_RE.match(part)
    if not match or not part or part == "$":
        raise A1Error(part)
    col = match.group("col")
    row = match.group("row")
    if col is None and row is None:
        raise A1Error(part)
    col_index = col_to_index(col) if col else None
    if col_index is not None and col_index >= MAX_COLUMNS:
        raise A1Error(part)
    return (int(row) - 1 if row else None), col_index


def parse_cells(text: str) -> Bounds:
    """Parse the cell part of a range: ``A1``, ``A1:B2``, ``A:C``, ``A5:B``, ``2:5``."""
    text = text.strip()
    if not text:
        raise A1Error(text)
    first, sep, second = text.partition(":")
    start_row, start_col = _endpoint(first)
    if not sep:
        if start_row is None or start_col is None:
            # A lone "A" or "5" is not a range (Google reads it as a named range).
            raise A1Error(text)
        return Bounds(start_row, start_row + 1, start_col, start_col + 1)
    end_row, end_col = _endpoint(second)
    rows = _span(start_row, end_row)
    cols = _span(start_col, end_col)
    return Bounds(rows[0], rows[1], cols[0], cols[1])


def _span(start: int | None, end: int | None) -> tuple[int | None, int | None]:
    if start is not None and end is not None:
        low, high = sorted((start, end))
        return low, high + 1
    if start is not None:
        return start, None
    if end is not None:
        return None, end + 1
    return None, None


def format_range(title: str, r0: int, r1: int, c0: int, c1: int) -> str:
    """Canonical echo: ``Sheet1!A1:B2``, or ``Sheet1!A1`` for a single cell."""
    start = cell_name(r0, c0)
    if r1 - r0 == 1 and c1 - c0 == 1:
        return f"{quote_title(title)}!{start}"
    return f"{quote_title(title)}!{start}:{cell_name(r1 - 1, c1 - 1)}"
