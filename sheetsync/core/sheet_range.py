"""A1 ranges as a Google Sheets source names them (``range = "'Orders'!B3:H"``), parsed once.

A source's `range` is read when the config is, into a `SheetRange` that knows its tab (if it
names one), its cells and where they start, so a typo fails `check` rather than the Monday
sync, and the reader never parses it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sheetsync.core.parsed_text import ParsedText
from sheetsync.errors import ConfigError

_CELLS_RE = re.compile(r"^(?P<c1>[A-Za-z]{1,3})?(?P<r1>\d+)?(?::(?P<c2>[A-Za-z]{1,3})?(?P<r2>\d+)?)?$")


def split_range(text: str) -> tuple[str | None, str]:
    """``'My tab'!A1:F`` -> ("My tab", "A1:F"); ``A1:F`` -> (None, "A1:F")."""
    text = text.strip()
    if "!" not in text:
        return None, text
    title, _, cells = text.rpartition("!")
    if len(title) >= 2 and title[0] == title[-1] == "'":
        title = title[1:-1].replace("''", "'")
    return title, cells.strip()


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the name a spreadsheet shows for a column."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def range_start(cells: str) -> tuple[int, int]:
    """(first row, first column), 0-based, of an A1 cell range; ConfigError when unreadable."""
    match = _CELLS_RE.match(cells)
    if not cells or not match or not (match["c1"] or match["r1"]):
        raise ConfigError(f"{cells!r} is not an A1 range such as A1:F or B3:H200")
    row = int(match["r1"]) - 1 if match["r1"] else 0
    col = _column_index(match["c1"]) if match["c1"] else 0
    if row < 0:
        raise ConfigError(f"{cells!r}: rows are counted from 1")
    return row, col


@dataclass(frozen=True, eq=False)
class SheetRange(ParsedText):
    """``'Orders'!B3:H``: the tab it names (None: the source's worksheet) and its cells."""

    text: str
    title: str | None
    cells: str  # "" for the whole tab ('Orders'!)
    start_row: int = 0  # 0-based, where the cells start
    start_col: int = 0


def parse_range(text: str) -> SheetRange:
    """A source's `range`; raises ConfigError naming what is wrong."""
    title, cells = split_range(text)
    if title is None and not cells:
        raise ConfigError("expected an A1 range such as A1:F, B3:H200 or 'Tab name'!A1:F")
    start_row, start_col = range_start(cells) if cells else (0, 0)
    return SheetRange(text.strip(), title, cells, start_row, start_col)
